"""Attempt throughput on PostgreSQL under gunicorn, against a bare one-insert Flask route.

    .venv/bin/python bench/run.py            # about three minutes; writes docs/benchmarks.md

1. Resets the database `civic_bench` (DROP/CREATE on 127.0.0.1:5432 as postgres), migrates it
   with the project's migrations, loads the units of province 92, a 200-question bank and a
   contest whose round is open now, creates resident accounts (one password hash shared by all)
   with a bearer token each, and pre-starts the attempts that answer-save and submit work on.
2. Starts `gunicorn -w 4 -b 127.0.0.1:PORT bench.bench_app:app`, checks each endpoint once,
   warms up, then runs `wrk -t2 -c16 -d10s` (bench/requests.lua) three times per scenario,
   interleaved: bare, start, answer-save, submit, bare, start, ...
3. Prints a table, writes the results into docs/benchmarks.md (between the markers; anything
   else in that file is kept) and always stops gunicorn. Only loopback traffic.

Scenarios: see bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from harness import (
    ROOT,
    Run,
    call,
    cpu_busy,
    gunicorn,
    log,
    machine,
    reset_database,
    set_environment,
    steadiness,
    write_block,
    wrk,
)

BENCH = ROOT / "bench"
WORK = BENCH / ".work"  # generated request files and the gunicorn log (bench/.gitignore)
LUA = BENCH / "requests.lua"
DOCS = ROOT / "docs" / "benchmarks.md"

DB_NAME = "civic_bench"

PROVINCE = 92
COMMUNE = 31321  # Phường Vị Thanh
PASSWORD = "mat-khau-do-hieu-nang"  # noqa: S105 (bench accounts in a throwaway database)
BANK = "bench-bank"
ROUND_KEY = "vong-bench"
KEYS = "ABCD"

MARK_START = "<!-- bench/run.py: results start -->"
MARK_END = "<!-- bench/run.py: results end -->"

SCENARIOS = ("bare", "start", "answer", "submit")
LABELS = {
    "bare": "bare insert (baseline)",
    "start": "start attempt",
    "answer": "answer save",
    "submit": "submit",
}
ENDPOINTS = {
    "bare": "POST /bench/bare",
    "start": "POST /api/v1/rounds/{id}/attempts",
    "answer": "PUT /api/v1/attempts/{id}/answers/{n}",
    "submit": "POST /api/v1/attempts/{id}/submit",
}
# Issue 17's aims, as shares of the bare route's median (issue 13 had answer save at 60%).
TARGETS = {"start": 0.50, "answer": 0.85, "submit": 0.50}


# ------------------------------------------------------------------------------- arguments


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (default 3)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument(
        "--start-users",
        type=int,
        default=8000,
        help="fresh accounts per start run (every start is a first start until they run out)",
    )
    parser.add_argument(
        "--submit-attempts",
        type=int,
        default=8000,
        help="open attempts per submit run (every submit is a first submit until they run out)",
    )
    parser.add_argument(
        "--answer-attempts", type=int, default=1000, help="open attempts answer-save writes to"
    )
    parser.add_argument("--questions", type=int, default=200, help="questions in the bank")
    parser.add_argument("--paper", type=int, default=20, help="questions drawn per attempt")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument(
        "--database",
        default=DB_NAME,
        help=f"the throwaway database to reset (default {DB_NAME}; helpers use their own)",
    )
    parser.add_argument(
        "--eligibility",
        action="store_true",
        help="the contest asks min_age 15 and a verified phone; every account qualifies",
    )
    parser.add_argument("--docs", type=Path, default=DOCS, help="where to write the results")
    parser.add_argument("--no-docs", action="store_true", help="print only, write no docs")
    args = parser.parse_args(argv)
    # Bounds: the whole run has to stay well under ten minutes.
    checks = {
        "runs": (1, 9),
        "duration": (1, 30),
        "workers": (1, 32),
        "threads": (1, 16),
        "connections": (1, 512),
        "start_users": (100, 50_000),
        "submit_attempts": (100, 50_000),
        "answer_attempts": (10, 20_000),
        "questions": (20, 5000),
        "paper": (1, 100),
    }
    for name, (low, high) in checks.items():
        value = getattr(args, name)
        if not low <= value <= high:
            parser.error(f"--{name.replace('_', '-')} must be between {low} and {high}")
    if not re.fullmatch(r"civic_bench[a-z_]*", args.database):
        parser.error("--database must be civic_bench or civic_bench_SOMETHING (it is dropped)")
    if args.paper > args.questions:
        parser.error("--paper cannot exceed --questions")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    if args.runs * len(SCENARIOS) * args.duration > 400:
        parser.error("runs x scenarios x duration must stay under 400 s")
    return args


# ------------------------------------------------------------------------------ content


def bank_yaml(count: int) -> str:
    lines = [
        f"bank: {BANK}",
        "title: Ngân hàng câu hỏi đo hiệu năng",
        "sources:",
        "  - id: luat-dan-chu",
        "    title: Luật Thực hiện dân chủ ở cơ sở năm 2022",
        "questions:",
    ]
    for n in range(1, count + 1):
        lines += [
            f"  - id: q{n:04d}",
            f"    text: Câu hỏi số {n} về thực hiện dân chủ ở cơ sở, theo quy định hiện hành"
            " thì nội dung nào sau đây là đúng?",
            f"    choices: [Phương án thứ nhất của câu {n}, Phương án thứ hai của câu {n},"
            f" Phương án thứ ba của câu {n}, Phương án thứ tư của câu {n}]",
            f"    answer: {KEYS[n % 4]}",
            f"    explanation: Giải thích câu {n}, trích điều khoản tương ứng của luật.",
            "    source: luat-dan-chu",
        ]
    return "\n".join(lines) + "\n"


def contest_yaml(now: datetime, paper: int, eligibility: bool = False) -> str:
    """One round, open since yesterday until next week (Vietnam time), an hour per attempt;
    with `eligibility`, the conditions every start then checks (issue 19)."""
    local = now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    opens = (local - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    closes = (local + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    return f"""\
contest: bench-contest
title: Cuộc thi đo hiệu năng
audience: all
timezone: Asia/Ho_Chi_Minh
{"eligibility: {min_age: 15, verified_phone: true}" if eligibility else ""}
rounds:
  - id: {ROUND_KEY}
    title: Vòng đo hiệu năng
    opens: {opens}
    closes: {closes}
    time_limit: 1h
    attempts: 1
    draw: [{{bank: {BANK}, count: {paper}}}]
    prediction: full_scores
    review: after_close
"""


# -------------------------------------------------------------------------------- setup


@dataclass
class Fixture:
    """What setup made: the round, and per pool the (user id, token) or attempt rows."""

    round_id: int = 0
    paper: int = 0
    smoke: list[tuple[int, str]] = field(default_factory=list)
    answer: list[tuple[int, str]] = field(default_factory=list)  # (attempt id, token)
    submit: list[list[tuple[int, str]]] = field(default_factory=list)  # per run
    start: list[list[tuple[int, str]]] = field(default_factory=list)  # per run (user id, token)


def prepare(args: argparse.Namespace) -> tuple[Any, Fixture]:
    """Migrate, load units and content, make accounts, tokens and attempts. Returns the app."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from app.content.pipeline import load_files
    from app.content.store import Actor
    from app.extensions import db
    from app.models import Attempt, AttemptQuestion, Consent, Round, User, utcnow
    from app.models.contests import paper_digest
    from app.services import attempts as service
    from app.services.accounts import hash_password
    from app.services.tokens import issue_token
    from app.services.units import load_units
    from bench.bench_app import app, create_bench_table

    fixture = Fixture(paper=args.paper)
    with app.app_context():
        upgrade()
        create_bench_table(db.engine)
        load_units(db.session, PROVINCE)
        now = utcnow()
        outcomes = load_files(
            db.session,
            [
                ("bench-bank.yaml", bank_yaml(args.questions).encode()),
                ("bench-contest.yaml", contest_yaml(now, args.paper, args.eligibility).encode()),
            ],
            Actor(unit_code=PROVINCE, is_admin=True),
            now,
        )
        if not all(o.ok for o in outcomes):
            raise SystemExit(f"content refused: {[o.result.messages('en') for o in outcomes]}")
        round_ = db.session.scalar(select(Round).where(Round.key == ROUND_KEY))
        assert round_ is not None and service.round_state(round_, now) == "open"
        fixture.round_id = round_.id
        log(f"content loaded: {args.questions} questions, round {round_.id} open")

        # Accounts: the app's password hashing once, its hash reused for every account.
        sizes = {
            "smoke": 1,
            "answer": args.answer_attempts,
            "submit": args.submit_attempts * args.runs,
            "start": args.start_users * args.runs,
        }
        total = sum(sizes.values())
        password_hash = hash_password(PASSWORD)
        rows = [
            {
                "name": f"Người đo hiệu năng {i}",
                "phone": f"08{i:08d}",
                "password_hash": password_hash,
                "role": "resident",
                "unit_code": COMMUNE,
                "auth_nonce": secrets.token_hex(16),
                "created_at": now,
                **(
                    {"birth_year": 1990, "verified_phone": f"08{i:08d}"} if args.eligibility else {}
                ),
            }
            for i in range(total)
        ]
        db.session.execute(insert(User.__table__), rows)
        users = db.session.scalars(select(User).order_by(User.id)).all()
        db.session.execute(
            insert(Consent.__table__),
            [{"user_id": u.id, "version": "bench", "given_at": now} for u in users],
        )
        db.session.commit()
        lifetime = app.config["API_TOKEN_LIFETIME"]
        secret = app.config["SECRET_KEY"]
        people = [(u.id, issue_token(secret, u, now, lifetime)[0]) for u in users]
        log(f"{len(people)} accounts with bearer tokens")

        pools: dict[str, list[tuple[int, str]]] = {}
        offset = 0
        for name, size in sizes.items():
            pools[name] = people[offset : offset + size]
            offset += size
        fixture.smoke = pools["smoke"]
        fixture.start = [
            pools["start"][r * args.start_users : (r + 1) * args.start_users]
            for r in range(args.runs)
        ]

        # Attempts for answer-save and submit: drawn with the service's own draw, stored in bulk
        # with the values service.start() would store.
        rng = random.Random(20261201)
        draw = service.draw_pools(db.session, round_)
        counts = [d["count"] for d in round_.draw]
        deadline = min(now + timedelta(seconds=round_.time_limit_s), round_.closes_at)
        owners = pools["answer"] + pools["submit"]
        papers = [service.draw_paper(draw, counts, rng) for _ in owners]
        attempt_ids = db.session.scalars(
            insert(Attempt.__table__).returning(
                Attempt.__table__.c.id, sort_by_parameter_order=True
            ),
            [
                {
                    "round_id": round_.id,
                    "user_id": user_id,
                    "number": 1,
                    "state": "open",
                    "started_at": now,
                    "deadline": deadline,
                    "max_score": len(paper),
                    "paper": paper_digest(item.version_id for item in paper),
                    "unit_code": COMMUNE,  # every bench account lives there
                }
                for (user_id, _t), paper in zip(owners, papers, strict=True)
            ],
        ).all()
        questions = []
        for attempt_id, paper in zip(attempt_ids, papers, strict=True):
            for position, item in enumerate(paper, start=1):
                order = list(range(item.choices))
                if item.shuffle:
                    rng.shuffle(order)
                questions.append(
                    {
                        "attempt_id": attempt_id,
                        "position": position,
                        "question_version_id": item.version_id,
                        "choice_order": order,
                        "seq": 0,
                    }
                )
        db.session.execute(insert(AttemptQuestion.__table__), questions)
        db.session.commit()
        tokens = [token for _u, token in owners]
        with_tokens = list(zip(attempt_ids, tokens, strict=True))
        fixture.answer = with_tokens[: len(pools["answer"])]
        submit = with_tokens[len(pools["answer"]) :]
        fixture.submit = [
            submit[r * args.submit_attempts : (r + 1) * args.submit_attempts]
            for r in range(args.runs)
        ]
        log(f"{len(attempt_ids)} open attempts of {args.paper} questions pre-started")
        db.session.remove()
        db.engine.dispose()
    return app, fixture


def write_request_files(args: argparse.Namespace, fixture: Fixture) -> dict[str, list[Path]]:
    """One tab-separated file per scenario run (see requests.lua for the format)."""
    WORK.mkdir(exist_ok=True)
    files: dict[str, list[Path]] = {name: [] for name in SCENARIOS}
    bare = WORK / "bare.tsv"
    bare.write_text("POST\t/bench/bare\t-\t-\n" * 64)  # a line for every wrk thread
    answer = WORK / "answer.tsv"
    answer.write_text("".join(f"{a}\t{t}\t{fixture.paper}\n" for a, t in fixture.answer))
    for run in range(args.runs):
        start = WORK / f"start_{run + 1}.tsv"
        start.write_text(
            "".join(
                f"POST\t/api/v1/rounds/{fixture.round_id}/attempts\t{t}\t-\n"
                for _u, t in fixture.start[run]
            )
        )
        submit = WORK / f"submit_{run + 1}.tsv"
        submit.write_text(
            "".join(
                f'POST\t/api/v1/attempts/{a}/submit\t{t}\t{{"prediction": 5}}\n'
                for a, t in fixture.submit[run]
            )
        )
        files["bare"].append(bare)
        files["answer"].append(answer)
        files["start"].append(start)
        files["submit"].append(submit)
    return files


# ------------------------------------------------------------------------------ smoke


def smoke(port: int, fixture: Fixture) -> None:
    """Each endpoint once, so a broken setup fails here rather than as 10 s of errors."""
    checks = []
    status, body = call(port, "POST", "/bench/bare")
    checks.append(("bare", status, 200, body))
    _user, token = fixture.smoke[0]
    status, body = call(port, "POST", f"/api/v1/rounds/{fixture.round_id}/attempts", token)
    checks.append(("start", status, 201, body))
    if status == 201:
        assert len(body["questions"]) == fixture.paper, body
        attempt = body["id"]
        status, body = call(
            port,
            "PUT",
            f"/api/v1/attempts/{attempt}/answers/1",
            token,
            {"choices": ["A"], "seq": 1},
        )
        checks.append(("answer", status, 200, body))
        status, body = call(
            port, "POST", f"/api/v1/attempts/{attempt}/submit", token, {"prediction": 5}
        )
        checks.append(("submit", status, 200, body))
    # The pre-started attempts too (one of each pool; the answer does not disturb the seqs).
    attempt, token = fixture.answer[0]
    status, body = call(port, "GET", f"/api/v1/attempts/{attempt}", token)
    checks.append(("pre-started attempt", status, 200, body))
    failed = [c for c in checks if c[1] != c[2]]
    if failed:
        raise RuntimeError(f"smoke check failed: {failed}")
    log("smoke check: " + ", ".join(f"{name} {status}" for name, status, _e, _b in checks))


# ----------------------------------------------------------------------------------- wrk


def run_wrk(
    args: argparse.Namespace,
    port: int,
    scenario: str,
    number: int,
    path: Path,
    seq_base: int,
    duration: int | None = None,
) -> Run:
    """One wrk run of requests.lua over the request file `path` (see requests.lua)."""
    mode = "answer" if scenario == "answer" else "plain"
    return wrk(
        LUA,
        [str(path), mode, str(args.threads), str(seq_base)],
        port,
        threads=args.threads,
        connections=args.connections,
        seconds=duration or args.duration,
        scenario=scenario,
        number=number,
    )


def seq_base(run: int) -> int:
    """seq values of answer-save run `run` (0 = warm-up): above every earlier run's."""
    return 1 + run * 10_000_000


def verify(app: Any, fixture: Fixture, run: Run, before: int) -> int:
    """What the database shows the run did: rows inserted (bare), attempts created (start),
    answer rows written with this run's seq (answer), attempts scored (submit)."""
    from sqlalchemy import func, select, text

    from app.extensions import db
    from app.models import Attempt, AttemptQuestion

    with app.app_context():
        if run.scenario == "bare":
            count = db.session.scalar(text("SELECT count(*) FROM bench_hits")) - before
        elif run.scenario == "start":
            users = [u for u, _t in fixture.start[run.number - 1]]
            count = db.session.scalar(
                select(func.count(Attempt.id)).where(Attempt.user_id.between(users[0], users[-1]))
            )
        elif run.scenario == "answer":
            attempts = [a for a, _t in fixture.answer]
            count = db.session.scalar(
                select(func.count(AttemptQuestion.id)).where(
                    AttemptQuestion.attempt_id.between(attempts[0], attempts[-1]),
                    AttemptQuestion.seq >= seq_base(run.number),
                )
            )
        else:
            attempts = [a for a, _t in fixture.submit[run.number - 1]]
            count = db.session.scalar(
                select(func.count(Attempt.id)).where(
                    Attempt.id.between(attempts[0], attempts[-1]), Attempt.state == "submitted"
                )
            )
        db.session.remove()
    return int(count or 0)


def bench_hits(app: Any) -> int:
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        count = db.session.scalar(text("SELECT count(*) FROM bench_hits"))
        db.session.remove()
    return int(count or 0)


# ------------------------------------------------------------------------------- report


def summarise(runs: list[Run]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    bare = statistics.median(r.rps for r in runs if r.scenario == "bare")
    for name in SCENARIOS:
        mine = sorted((r for r in runs if r.scenario == name), key=lambda r: r.number)
        bare_by_run = {r.number: r.rps for r in runs if r.scenario == "bare"}
        median = statistics.median(r.rps for r in mine)
        summary[name] = {
            "median": median,
            "ratio": median / bare if bare else float("nan"),
            "run_ratios": [r.rps / bare_by_run[r.number] for r in mine],
            "rps": [r.rps for r in mine],
            "requests": sum(r.requests for r in mine),
            "non_2xx": sum(r.non_2xx for r in mine),
            "socket_errors": sum(r.socket_errors for r in mine),
            "p50": statistics.median(r.p50_ms for r in mine if r.p50_ms is not None),
            "p99": statistics.median(r.p99_ms for r in mine if r.p99_ms is not None),
            "statuses": _merge([r.statuses for r in mine]),
            "verified": [r.verified for r in mine],
            "per_run_requests": [r.requests for r in mine],
        }
    return summary


def _merge(dicts: list[dict[int, int]]) -> dict[int, int]:
    total: dict[int, int] = {}
    for d in dicts:
        for code, n in d.items():
            total[code] = total.get(code, 0) + n
    return dict(sorted(total.items()))


def table(summary: dict[str, dict[str, Any]]) -> list[str]:
    rows = [
        "| Scenario | Endpoint | Median req/s | vs bare | Runs (req/s) | Per-run vs bare "
        "| p50 / p99 ms | non-2xx |",
        "|---|---|---:|---:|---|---|---:|---:|",
    ]
    for name in SCENARIOS:
        s = summary[name]
        rows.append(
            f"| {LABELS[name]} | `{ENDPOINTS[name]}` | {s['median']:.0f} | {s['ratio']:.0%} | "
            f"{' / '.join(f'{v:.0f}' for v in s['rps'])} | "
            f"{' / '.join(f'{v:.0%}' for v in s['run_ratios'])} | "
            f"{s['p50']:.1f} / {s['p99']:.1f} | "
            f"{s['non_2xx']} |"
        )
    return rows


def what_was_measured(args: argparse.Namespace, runs: list[Run]) -> list[str]:
    """Per run: what the requests were, from the status codes and the database's counts.
    wrk counts the responses received within its duration; the database also shows the
    requests still in flight when it stopped (at most one per connection)."""
    lines = []
    for run in sorted(runs, key=lambda r: (SCENARIOS.index(r.scenario), r.number)):
        head = f"- {LABELS[run.scenario]}, run {run.number}: {run.requests} responses"
        if run.scenario == "bare":
            lines.append(f"{head}; {run.verified} rows inserted into bench_hits.")
        elif run.scenario == "start":
            fresh, again = run.statuses.get(201, 0), run.statuses.get(200, 0)
            lines.append(
                f"{head}: {fresh} first starts (201), each of a different account; "
                + (
                    f"{again} returned the attempt already in progress (200) once the run's "
                    f"{args.start_users} fresh accounts ran out"
                    if again
                    else "none returned an attempt already in progress (200)"
                )
                + f"; {run.verified} attempts created."
            )
        elif run.scenario == "answer":
            lines.append(
                f"{head}, spread over {args.answer_attempts} open attempts x {args.paper} "
                f"questions with rising seq; {run.verified} answer rows carry this run's seq "
                "(each request wrote)."
            )
        else:
            pool = args.submit_attempts
            repeats = max(0, run.requests - run.verified) if run.verified >= pool else 0
            lines.append(
                f"{head}; {run.verified} attempts scored (first submits)"
                + (
                    f", {repeats} repeated submits after the first (stored result returned; "
                    f"the {pool} open attempts of this run ran out)."
                    if repeats
                    else ", every response a first submit (repeated submits: none)."
                )
            )
    return lines


def interpretation(summary: dict[str, dict[str, Any]], busy: float | None) -> list[str]:
    lines = []
    for name, target in TARGETS.items():
        row = summary[name]
        verdict = "meets" if row["ratio"] >= target else "misses"
        lines.append(
            f"- {LABELS[name].capitalize()} runs at **{row['ratio']:.0%}** of the bare route's "
            f"median (per-run ratios {min(row['run_ratios']):.0%}–{max(row['run_ratios']):.0%}), "
            f"so it **{verdict}** issue 17's aim of ≥ {target:.0%}."
        )
    lines += ["", *steadiness(summary["bare"]["rps"])]
    if busy is not None and busy > 0.10:
        lines += [
            "",
            f"Other work kept the CPUs {busy:.0%} busy just before the runs (a shared "
            "machine): absolute figures are low and vary from run to run; the ratios, taken "
            "between interleaved runs, vary less. Rerun on a quiet machine for absolute figures.",
        ]
    return lines


def markdown(
    args: argparse.Namespace,
    info: dict[str, str],
    runs: list[Run],
    summary: dict[str, dict[str, Any]],
    busy: float | None,
    started: datetime,
    elapsed: float,
) -> str:
    command = "`.venv/bin/python bench/run.py`"
    defaults = parse_args([])
    changed = [
        f"--{k.replace('_', '-')} {v}"
        for k, v in vars(args).items()
        if k not in {"docs", "no_docs", "port"} and getattr(defaults, k) != v
    ]
    if changed:
        command = f"`.venv/bin/python bench/run.py {' '.join(changed)}`"
    lines = [
        MARK_START,
        "## Attempts under gunicorn on PostgreSQL (bench/run.py)",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC (whole run {elapsed:.0f} s)",
        f"- Command: {command}",
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, "
        f"Linux {info['kernel']}; wrk, gunicorn and PostgreSQL share these CPUs; "
        f"CPU busy with other work just before the runs: {info['busy']}; load average "
        f"before the runs (1/5/15 min): {info['load_before']}, after: {info['load']}",
        f"- Software: Python {info['python']}, PostgreSQL {info['postgresql']} "
        f"({info['pg_settings']}), gunicorn {info['gunicorn']} (sync workers), "
        f"Flask {info['flask']}, SQLAlchemy {info['sqlalchemy']}, psycopg {info['psycopg']}, "
        f"{info['wrk']}",
        f"- Load: `gunicorn -w {args.workers} -b 127.0.0.1:PORT bench.bench_app:app`, "
        f"`wrk -t{args.threads} -c{args.connections} -d{args.duration}s` on loopback with "
        "`bench/requests.lua`; every scenario run "
        f"{args.runs} times, interleaved (bare, start, answer, submit, bare, ...), after a "
        "warm-up",
        f"- Data: {args.questions}-question bank, {args.paper} questions per attempt, round "
        "open now (1 h per attempt, one attempt per person), rate limits off "
        "(`RATELIMIT_ENABLED=false`), bearer tokens",
        "",
        f"### Throughput, median of {args.runs}",
        "",
        *table(summary),
        "",
        "\"vs bare\" is the scenario's median divided by the bare route's median, both "
        'measured in this run; "per-run" divides each run by the bare run just before it. '
        "Runs are listed in order; p50/p99 are the medians of the runs' latency percentiles.",
        "",
        "### What each run did (checked in the database afterwards)",
        "",
        "Responses are those wrk received within the run; the database counts also include "
        "the few requests still in flight when wrk stopped (at most one per connection).",
        "",
        *what_was_measured(args, runs),
        "",
        "### Interpretation",
        "",
        *interpretation(summary, busy),
        MARK_END,
    ]
    return "\n".join(lines) + "\n"


HEADER = """\
# Benchmarks

Speed targets are measured by scripts under `bench/` (see `bench/README.md`); their results
are recorded here: the median of several runs, and the ratio against a baseline measured in the
same run, so that figures from different machines stay comparable.

"""


# --------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: on Debian/Ubuntu run `sudo apt-get install -y wrk`, "
            "then run this again.",
            file=sys.stderr,
        )
        return 2
    clock = time.monotonic()
    started = datetime.now(UTC)
    settings = set_environment(args.database, secrets.token_urlsafe(48))
    log(f"resetting database {args.database}")
    reset_database(args.database)
    app, fixture = prepare(args)
    files = write_request_files(args, fixture)
    log(f"setup took {time.monotonic() - clock:.0f} s")

    load_before = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    log(f"load average before the runs (1/5/15 min): {load_before}")
    busy = cpu_busy()
    if busy is not None:
        log(f"CPU busy with other work before the runs: {busy:.0%}")
        if busy > 0.10:
            log("warning: the machine is busy; absolute figures will be low and noisy")
    runs: list[Run] = []
    with gunicorn(
        settings, WORK, workers=args.workers, port=args.port, ready="/api/v1/contests"
    ) as port:
        smoke(port, fixture)
        # Warm-up (not recorded): every worker imports lazily, opens its connections, and
        # caches the round's draw pool on its first start.
        run_wrk(args, port, "bare", 0, files["bare"][0], 0, duration=3)
        run_wrk(args, port, "answer", 0, files["answer"][0], seq_base(0), duration=3)
        log("warm-up done")
        for number in range(1, args.runs + 1):
            for scenario in SCENARIOS:
                before = bench_hits(app) if scenario == "bare" else 0
                run = run_wrk(
                    args,
                    port,
                    scenario,
                    number,
                    files[scenario][number - 1],
                    seq_base(number),
                )
                run.verified = verify(app, fixture, run, before)
                runs.append(run)
                log(
                    f"run {number} {scenario:6}: {run.rps:8.1f} req/s, {run.requests} requests, "
                    f"statuses {dict(sorted(run.statuses.items()))}, checked {run.verified}"
                )
                time.sleep(1)

    summary = summarise(runs)
    elapsed = time.monotonic() - clock
    print()
    print("\n".join(table(summary)))
    print()
    print("\n".join(what_was_measured(args, runs)))
    print()
    print("\n".join(interpretation(summary, busy)))
    if not args.no_docs:
        info = machine(("synchronous_commit", "fsync", "shared_buffers", "max_connections"))
        info["busy"] = "?" if busy is None else f"{busy:.0%}"
        info["load_before"] = load_before
        block = markdown(args, info, runs, summary, busy, started, elapsed)
        write_block(args.docs, block, MARK_START, MARK_END, HEADER)
        log(f"results written to {args.docs}")
    log(f"done in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
