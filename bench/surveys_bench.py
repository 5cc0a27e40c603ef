"""Survey benchmarks on PostgreSQL: response submission under gunicorn (issue 7) and results
at 1,000,000 responses (issue 8).

    .venv/bin/python bench/surveys_bench.py    # about 9 minutes; writes bench/results-surveys.md

Setup: DROP/CREATE the database `civic_bench_surveys` (127.0.0.1:5432, user postgres), run the
project's migrations, load the units of province 92 and two copies of one six-question survey
(anonymous, `sign_in: optional`: a demographic single question, three scales in the
satisfaction index, a multiple choice, a 0-10 rating), make resident accounts (one password hash
shared by all) with a bearer token each (`app.services.tokens.issue_token`), and a leader of
the province.

1. Throughput (issue 7): `gunicorn -w 4 bench.bench_app:app` (the real app plus the bare
   one-insert route `POST /bench/bare`, RATELIMIT_ENABLED=false), `wrk -t2 -c16 -d10s` with
   bench/surveys.lua, runs interleaved bare, submit, page, form, bare, ... three times each
   after a warm-up; median req/s. Every submission is a complete valid answer sent with a
   different resident's token (a real first response). Afterwards the database must show, per
   run, responses == ledger rows == 201 responses (give or take the requests in flight when wrk
   stopped). Before each round the app's scheduled mixer runs once (`flask surveys mix`, every
   minute in production: it VACUUMs the mixer's queue). The web survey (issue 17), not signed
   in: `page` opens the page of questions (a first visit, no cookie); `form` sends it
   answered with one of 64 sessions' cookie and CSRF token (each made by a first visit in
   this process), answered by a redirect (302) to the thanks page; each form adds a response.
   gunicorn is always stopped.
2. Results (issue 8): `app.services.demo_responses.generate` fills the second survey with
   --count demo responses (default 1,000,000; chunks of 100,000 in --generators processes,
   chunks not started when --generate-budget seconds are spent are cancelled), then VACUUM
   ANALYZE. Then, in this process, after a warm-up, median of --repeats interleaved rounds (at
   least 3; rounds that would take the run past --deadline are skipped, and the report says
   so): (a) the raw GROUP BY of the same data,
   (b) analytics.results(by=None), (c) analytics.results(by="unit"), (d) GET
   /api/v1/surveys/<slug>/results?by=unit with the leader's bearer token (Flask test client),
   (e) the page /results/<slug>?by=unit, the leader signed in through /auth/login. Then the
   peak Python memory of (c) and (e) (tracemalloc, ru_maxrss), the SQL statements of (c) and
   (e) with their times, and EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of (c).

Writes the results between the markers of --out (text outside the markers is kept). Only
loopback traffic; every loop is bounded.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
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

LUA = ROOT / "bench" / "surveys.lua"
OUT = ROOT / "bench" / "results-surveys.md"

DB_NAME = "civic_bench_surveys"

PROVINCE = 92
COMMUNE = 31321  # Phường Vị Thanh
PASSWORD = "mat-khau-do-hieu-nang"  # noqa: S105 (bench accounts in a throwaway database)
SUBMIT_SLUG = "bench-nop-phieu"
RESULTS_SLUG = "bench-ket-qua"
CHUNK = 100_000  # responses per demo_responses.generate call (budget checked between calls)
MIN_ROUNDS = 3  # timed rounds of (a)-(e) done whatever the deadline

MARK_START = "<!-- bench/surveys_bench.py: results start -->"
MARK_END = "<!-- bench/surveys_bench.py: results end -->"
TARGET = 2.0  # results within 2x the raw GROUP BY (issue 8)

MEASURES = ("raw", "all", "unit", "decision", "api", "page", "cold", "warm")
LABELS = {
    "raw": "(a) raw SQL GROUP BY (baseline)",
    "all": "(b) analytics.results(by=None)",
    "unit": '(c) analytics.results(by="unit")',
    "decision": "(d) analytics.hidden_groups (the suppression decision)",
    "api": "(e) GET /api/v1/surveys/<slug>/results?by=unit, cache emptied first",
    "page": "(f) page /results/<slug>?by=unit, cache emptied first",
    "cold": "(g) page /results/<slug>, cache emptied first (cold)",
    "warm": "(h) page /results/<slug> again (warm: from the cache)",
}
COLD_TARGET = 1.5  # issue 14: the results page cold within 1.5x the raw GROUP BY
WARM_TARGET = 0.1  # and warm (under the stamp) within 0.1x
RAW_SQL = """\
SELECT a.question_id, r.unit_code, a.item, a.value, count(*)
FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id
WHERE r.survey_id = :survey
GROUP BY a.question_id, r.unit_code, a.item, a.value"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="demo responses")
    parser.add_argument(
        "--generate-budget",
        type=int,
        default=360,
        help="stop generating (between chunks of 100,000) after this many seconds",
    )
    parser.add_argument(
        "--generators", type=int, default=2, help="processes running demo_responses.generate"
    )
    parser.add_argument(
        "--deadline",
        type=int,
        default=480,
        help=f"seconds for the whole run: timed rounds beyond {MIN_ROUNDS} are skipped when one "
        "more would pass it",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds of (a)-(e)")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per scenario")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--pool", type=int, default=4000, help="fresh residents per submission run")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument(
        "--database",
        default=DB_NAME,
        help=f"the database to DROP, CREATE and fill (default {DB_NAME}; civic_bench_…)",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-results", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-out", action="store_true", help="print only")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database of an earlier run when it holds --count results responses "
        "(no reset, no generation); otherwise set it up as usual",
    )
    args = parser.parse_args(argv)
    checks = {
        "count": (1000, 2_000_000),
        "generate_budget": (10, 420),
        "repeats": (1, 9),
        "generators": (1, 8),
        "deadline": (60, 900),
        "runs": (1, 5),
        "duration": (1, 30),
        "workers": (1, 16),
        "threads": (1, 8),
        "connections": (1, 256),
        "pool": (100, 50_000),
    }
    for name, (low, high) in checks.items():
        value = getattr(args, name)
        if not low <= value <= high:
            parser.error(f"--{name.replace('_', '-')} must be between {low} and {high}")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    return args


# ------------------------------------------------------------------------------ content


def survey_yaml(slug: str, now: datetime) -> str:
    """Open since yesterday until next week (Vietnam time); anonymous, sign-in optional."""
    local = now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    opens = (local - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    closes = (local + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    return f"""\
survey: {slug}
title: Khảo sát đo hiệu năng ({slug})
anonymous: true
opens: {opens}
closes: {closes}
sign_in: optional
scales:
  muc: [Rất không hài lòng, Không hài lòng, Bình thường, Hài lòng, Rất hài lòng]
pages:
  - title: Một
    questions:
      - {{id: gioi-tinh, type: single, text: Giới tính, choices: [Nam, Nữ, Khác],
         demographic: true}}
      - {{id: thu-tuc, type: scale, scale: muc, text: Thủ tục hành chính, index: true}}
      - {{id: thai-do, type: scale, scale: muc, text: Thái độ cán bộ, index: true}}
      - {{id: thong-tin, type: scale, scale: muc, text: Tiếp cận thông tin, index: true}}
      - id: kenh
        type: multiple
        text: Kênh nhận thông tin
        choices: [Loa phát thanh, Họp tổ dân phố, Zalo, Truyền hình, Báo in]
        max: 3
      - {{id: diem, type: rating, text: Điểm chung}}
"""


def answer_body(rng: random.Random) -> dict[str, Any]:
    """A complete valid answer to the survey above."""
    return {
        "answers": {
            "gioi-tinh": rng.randint(1, 3),
            "thu-tuc": rng.randint(1, 5),
            "thai-do": rng.randint(1, 5),
            "thong-tin": rng.randint(1, 5),
            "kenh": sorted(rng.sample(range(1, 6), rng.randint(1, 3))),
            "diem": rng.randint(0, 10),
        }
    }


# -------------------------------------------------------------------------------- setup


@dataclass
class Fixture:
    submit_survey: int = 0
    results_survey: int = 0
    smoke: str = ""
    probe: str = ""  # one submission in-process, its SQL statements listed
    warmup: list[str] = field(default_factory=list)
    runs: list[list[str]] = field(default_factory=list)  # tokens per submission run
    leader_phone: str = ""
    leader_token: str = ""


def prepare(args: argparse.Namespace) -> tuple[Any, Fixture]:
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from app.content.pipeline import load_files
    from app.content.store import Actor
    from app.extensions import db
    from app.models import Consent, Survey, User, utcnow
    from app.services.accounts import hash_password
    from app.services.tokens import issue_token
    from app.services.units import load_units
    from bench.bench_app import app, create_bench_table

    fixture = Fixture()
    with app.app_context():
        upgrade()
        create_bench_table(db.engine)
        load_units(db.session, PROVINCE)
        now = utcnow()
        outcomes = load_files(
            db.session,
            [
                (f"{slug}.yaml", survey_yaml(slug, now).encode())
                for slug in (SUBMIT_SLUG, RESULTS_SLUG)
            ],
            Actor(unit_code=PROVINCE, is_admin=True),
            now,
        )
        if not all(o.ok for o in outcomes):
            raise SystemExit(f"survey refused: {[o.result.messages('en') for o in outcomes]}")
        ids = dict(db.session.execute(select(Survey.slug, Survey.id)).all())
        fixture.submit_survey, fixture.results_survey = ids[SUBMIT_SLUG], ids[RESULTS_SLUG]

        warmup = 2000
        residents = 2 + warmup + (args.pool * args.runs if not args.skip_throughput else 0)
        password_hash = hash_password(PASSWORD)  # once: every account shares it
        rows = [
            {
                "name": f"Người đo hiệu năng {i}",
                "phone": f"09{i:08d}",
                "password_hash": password_hash,
                "role": "resident",
                "unit_code": COMMUNE,
                "auth_nonce": secrets.token_hex(16),
                "created_at": now,
            }
            for i in range(residents)
        ]
        fixture.leader_phone = f"03{0:08d}"
        rows.append(
            rows[0]
            | {
                "name": "Lãnh đạo đo hiệu năng",
                "phone": fixture.leader_phone,
                "role": "leader",
                "unit_code": PROVINCE,
                "auth_nonce": secrets.token_hex(16),
            }
        )
        db.session.execute(insert(User.__table__), rows)
        users = db.session.scalars(select(User).order_by(User.id)).all()
        db.session.execute(
            insert(Consent.__table__),
            [{"user_id": u.id, "version": "bench", "given_at": now} for u in users],
        )
        db.session.commit()
        lifetime, secret = app.config["API_TOKEN_LIFETIME"], app.config["SECRET_KEY"]
        tokens = {u.phone: issue_token(secret, u, now, lifetime)[0] for u in users}
        resident_tokens = [tokens[f"09{i:08d}"] for i in range(residents)]
        fixture.leader_token = tokens[fixture.leader_phone]
        fixture.smoke, fixture.probe = resident_tokens[0], resident_tokens[1]
        fixture.warmup = resident_tokens[2 : 2 + warmup]
        rest = resident_tokens[2 + warmup :]
        fixture.runs = [rest[r * args.pool : (r + 1) * args.pool] for r in range(args.runs)]
        db.session.remove()
    log(f"setup: surveys loaded, {residents} residents and a leader with bearer tokens")
    return app, fixture


# ---------------------------------------------------------------------------- throughput


def run_wrk(
    args: argparse.Namespace, port: int, scenario: str, number: int, path: Path, seconds: int
) -> Run:
    """One wrk run of surveys.lua over the request file `path` (see surveys.lua)."""
    return wrk(
        LUA,
        [str(path), str(args.threads)],
        port,
        threads=args.threads,
        connections=args.connections,
        seconds=seconds,
        scenario=scenario,
        number=number,
    )


def request_file(path: Path, tokens: list[str], seed: int) -> Path:
    rng = random.Random(seed)
    url = f"/api/v1/surveys/{SUBMIT_SLUG}/responses"
    lines = [
        f"POST\t{url}\t{token}\t{json.dumps(answer_body(rng), separators=(',', ':'))}"
        for token in tokens
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# The web survey (issue 17: its page and its form each at >= 40% of the bare route), as a
# browser without JavaScript uses it, not signed in (`sign_in: optional`): the page of
# questions opened from the commune chosen on the intro page, then the form sent with its
# session cookie and CSRF token, answered by a redirect to the thanks page.
WEB_PAGE = f"/surveys/{SUBMIT_SLUG}/page/0"
WEB_TARGETS = {"submit": 0.60, "page": 0.40, "form": 0.40}
WEB_GUESTS = 64  # sessions (cookie and CSRF token), each on its own line of the form file
EXPECTED = {"bare": 200, "submit": 201, "page": 200, "form": 302}
SCENARIOS = ("bare", "submit", "page", "form")


def web_guests(app: Any, count: int) -> list[tuple[str, str]]:
    """(Cookie header, CSRF token) of `count` people not signed in, each from its own first
    visit of the page of questions in this process (the same secret key as gunicorn's)."""
    name = app.config["SESSION_COOKIE_NAME"]
    guests = []
    for _ in range(count):
        client = app.test_client()
        page = client.get(f"{WEB_PAGE}?unit={COMMUNE}")
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
        cookie = client.get_cookie(name)
        if page.status_code != 200 or found is None or cookie is None:
            raise RuntimeError(f"the web survey's page answered {page.status_code} without a form")
        guests.append((f"{name}={cookie.value}", found.group(1)))
    return guests


def form_body(rng: random.Random, token: str) -> str:
    """The page's form with a complete valid answer (`answer_body`'s), as a browser sends it."""
    fields = [("csrf_token", token), ("unit", str(COMMUNE)), ("action", "submit")]
    for key, value in answer_body(rng)["answers"].items():
        fields += [(f"a-{key}", str(v)) for v in (value if isinstance(value, list) else [value])]
    return urlencode(fields)


def web_files(work: Path, guests: list[tuple[str, str]], threads: int) -> dict[str, Path]:
    """The page (a first visit: no cookie) and the form (each guest's cookie and token)."""
    page = work / "page.tsv"
    page.write_text(f"GET\t{WEB_PAGE}?unit={COMMUNE}\t-\t-\n" * max(threads, 1))
    form = work / "form.tsv"
    rng = random.Random(7)
    form.write_text(
        "".join(
            f"POST\t{WEB_PAGE}\t-\t{form_body(rng, token)}\t{cookie}\n" for cookie, token in guests
        )
    )
    return {"page": page, "form": form}


def scheduled_mixer(app: Any) -> None:
    """What the app's scheduler runs every minute (`flask jobs scheduler`: `flask surveys
    mix`, which VACUUMs the mixer's queue), here once a round of the four scenarios (about
    every 46 s), between runs: without it, on a server with autovacuum off, the rows of
    every batch moved stay dead in the queue's index for the whole benchmark."""
    from app.surveys.cli import mix

    with app.app_context():
        moved = mix()
    log(f"scheduled mixer: {moved} responses moved, survey_pending vacuumed")


def db_counts(app: Any, survey_id: int) -> tuple[int, int, int]:
    """(survey responses, moved or still waiting for the mixer; ledger rows) of the survey,
    and bench_hits rows."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        row = db.session.execute(
            text(
                "SELECT (SELECT count(*) FROM survey_responses WHERE survey_id = :s)"
                " + (SELECT count(*) FROM survey_pending WHERE survey_id = :s),"
                " (SELECT count(*) FROM survey_ledger WHERE survey_id = :s),"
                " (SELECT count(*) FROM bench_hits)"
            ),
            {"s": survey_id},
        ).one()
        db.session.remove()
    return int(row[0]), int(row[1]), int(row[2])


def probe_submission(app: Any, fixture: Fixture) -> list[tuple[float, str]]:
    """One submission through the test client in this process: its SQL statements."""
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    client = app.test_client()
    with statement_log(engine) as found:
        response = client.post(
            f"/api/v1/surveys/{SUBMIT_SLUG}/responses",
            json=answer_body(random.Random(2)),
            headers={"Authorization": f"Bearer {fixture.probe}"},
        )
    assert response.status_code == 201, response.status_code
    return [(ms, " ".join(statement.split())) for ms, statement, _p in found]


def throughput(
    args: argparse.Namespace, app: Any, fixture: Fixture, settings: dict[str, str]
) -> list[Run]:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="surveys-bench-") as tmp:
        work = Path(tmp)
        bare = work / "bare.tsv"
        bare.write_text("POST\t/bench/bare\t-\t-\n" * args.threads)
        warm = request_file(work / "warmup.tsv", fixture.warmup, 0)
        files = [
            request_file(work / f"submit_{n}.tsv", tokens, n)
            for n, tokens in enumerate(fixture.runs, 1)
        ]
        with gunicorn(
            settings, work, workers=args.workers, port=args.port, ready="/api/v1/surveys"
        ) as port:
            checks = [
                ("bare", *call(port, "POST", "/bench/bare"), 200),
                (
                    "submit",
                    *call(
                        port,
                        "POST",
                        f"/api/v1/surveys/{SUBMIT_SLUG}/responses",
                        fixture.smoke,
                        answer_body(random.Random(1)),
                    ),
                    201,
                ),
                (
                    "submit again",
                    *call(
                        port,
                        "POST",
                        f"/api/v1/surveys/{SUBMIT_SLUG}/responses",
                        fixture.smoke,
                        answer_body(random.Random(1)),
                    ),
                    409,
                ),
            ]
            failed = [c for c in checks if c[1] != c[3]]
            if failed:
                raise RuntimeError(f"smoke check failed: {failed}")
            log("smoke check: " + ", ".join(f"{c[0]} {c[1]}" for c in checks))
            web = web_files(work, web_guests(app, WEB_GUESTS), args.threads)
            run_wrk(args, port, "bare", 0, bare, 3)
            run_wrk(args, port, "submit", 0, warm, 3)
            run_wrk(args, port, "page", 0, web["page"], 3)
            run_wrk(args, port, "form", 0, web["form"], 3)
            log("warm-up done")
            for number in range(1, args.runs + 1):
                scheduled_mixer(app)
                for scenario in SCENARIOS:
                    before = db_counts(app, fixture.submit_survey)
                    path = {"bare": bare, "submit": files[number - 1]}.get(scenario)
                    run = run_wrk(
                        args, port, scenario, number, path or web[scenario], args.duration
                    )
                    time.sleep(0.5)  # the requests in flight when wrk stopped finish
                    after = db_counts(app, fixture.submit_survey)
                    if scenario == "bare":
                        run.responses = after[2] - before[2]
                    else:
                        run.responses, run.ledger = after[0] - before[0], after[1] - before[1]
                    runs.append(run)
                    log(
                        f"run {number} {scenario:6}: {run.rps:8.1f} req/s, {run.requests} "
                        f"requests, statuses {dict(sorted(run.statuses.items()))}, "
                        f"rows {run.responses}, ledger {run.ledger}"
                    )
                    time.sleep(1)
    return runs


# ------------------------------------------------------------------------------ results


@dataclass
class Results:
    count: int = 0
    answers: int = 0
    generate_s: float = 0.0
    chunks: list[float] = field(default_factory=list)
    vacuum_s: float = 0.0
    times: dict[str, list[float]] = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    statements: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    explain: list[str] = field(default_factory=list)
    explain_raw: list[str] = field(default_factory=list)
    slowest: str = ""
    slowest_params: Any = None
    call_ms: dict[str, float] = field(default_factory=dict)  # (c), (e) in the last round
    groups: int = 0
    warm: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, str] = field(default_factory=dict)
    stopped: str = ""


_worker_app: Any = None


def generate_chunk(survey_id: int, size: int, seed: int) -> tuple[int, float]:
    """In a worker process (spawned: it inherits the environment set by set_environment):
    `demo_responses.generate` for `size` responses. Returns (made, seconds)."""
    global _worker_app
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.extensions import db
    from app.models import Survey
    from app.services import demo_responses

    if _worker_app is None:
        _worker_app = create_app()
    t0 = time.monotonic()
    with _worker_app.app_context():
        survey = db.session.get(Survey, survey_id)
        made = demo_responses.generate(db.session, survey, size, seed=seed)
        db.session.remove()
    return made, time.monotonic() - t0


def generate(args: argparse.Namespace, app: Any, fixture: Fixture, out: Results) -> None:
    """--count responses in chunks of CHUNK, --generators processes at a time; chunks not yet
    started when --generate-budget runs out are cancelled."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from sqlalchemy import text

    from app.extensions import db

    start = time.monotonic()
    sizes = [min(CHUNK, args.count - offset) for offset in range(0, args.count, CHUNK)]
    made = 0
    with ProcessPoolExecutor(
        max_workers=args.generators, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        pending = {
            pool.submit(generate_chunk, fixture.results_survey, size, 2026 + number)
            for number, size in enumerate(sizes)
        }
        cancelled = 0
        for _ in range(len(sizes)):  # bounded: one chunk finishes (or is cancelled) per pass
            if not pending:
                break
            done, pending = wait(pending, timeout=600, return_when=FIRST_COMPLETED)
            if not done:
                raise RuntimeError("a generation chunk took over 10 minutes")
            for future in done:
                if future.cancelled():
                    continue
                count, seconds = future.result()
                made += count
                out.chunks.append(seconds)
                log(f"generated {made} responses ({seconds:.1f} s for a chunk of {count})")
            if time.monotonic() - start > args.generate_budget and not cancelled:
                cancelled = sum(1 for future in pending if future.cancel())
                if cancelled:
                    log(
                        f"generation budget of {args.generate_budget} s spent: "
                        f"{cancelled} chunks cancelled"
                    )
    out.generate_s = time.monotonic() - start
    out.count = made
    with app.app_context():
        out.answers = int(
            db.session.scalar(
                text(
                    "SELECT count(*) FROM survey_answers a JOIN survey_responses r"
                    " ON r.id = a.response_id WHERE r.survey_id = :s"
                ),
                {"s": fixture.results_survey},
            )
        )
        db.session.remove()
        t0 = time.monotonic()
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM (ANALYZE) survey_responses, survey_answers"
            )
        out.vacuum_s = time.monotonic() - t0
        with db.engine.connect() as conn:
            for table in ("survey_responses", "survey_answers"):
                out.sizes[table] = str(
                    conn.exec_driver_sql(
                        f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))"
                    ).scalar()
                )
    log(
        f"{out.count} responses, {out.answers} answer rows in {out.generate_s:.0f} s; "
        f"VACUUM ANALYZE {out.vacuum_s:.0f} s"
    )


def reuse(args: argparse.Namespace) -> tuple[Any, Fixture, Results] | None:
    """The database of an earlier run, when it holds at least --count responses to the results
    survey: its fixture (a fresh token for the leader: the secret key is new) and its sizes.
    None when there is nothing to reuse."""
    import psycopg
    from harness import ADMIN_DSN

    with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=10) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (args.database,)
        ).fetchone():
            return None
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app.extensions import db
    from app.models import Survey, SurveyResponse, User
    from app.services.tokens import issue_token
    from bench.bench_app import app

    fixture, res = Fixture(), Results()
    with app.app_context():
        upgrade()
        ids = dict(db.session.execute(select(Survey.slug, Survey.id)).all())
        if SUBMIT_SLUG not in ids or RESULTS_SLUG not in ids:
            return None
        fixture.submit_survey, fixture.results_survey = ids[SUBMIT_SLUG], ids[RESULTS_SLUG]
        res.count = int(
            db.session.scalar(
                select(func.count())
                .select_from(SurveyResponse)
                .where(SurveyResponse.survey_id == fixture.results_survey)
            )
            or 0
        )
        if res.count < args.count:
            db.session.remove()
            return None
        res.answers = int(
            db.session.scalar(
                text(
                    "SELECT count(*) FROM survey_answers a JOIN survey_responses r"
                    " ON r.id = a.response_id WHERE r.survey_id = :s"
                ),
                {"s": fixture.results_survey},
            )
        )
        for table in ("survey_responses", "survey_answers"):
            res.sizes[table] = str(
                db.session.scalar(text(f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))"))
            )
        leader = db.session.scalars(select(User).where(User.role == "leader")).first()
        assert leader is not None
        fixture.leader_phone = leader.phone
        fixture.leader_token = issue_token(
            app.config["SECRET_KEY"], leader, datetime.now(UTC), app.config["API_TOKEN_LIFETIME"]
        )[0]
        db.session.remove()
    log(f"reusing {args.database}: {res.count} responses, {res.answers} answer rows")
    return app, fixture, res


def leader_client(app: Any, phone: str) -> Any:
    """A test client signed in through the sign-in form (CSRF token read from the page)."""
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, "no CSRF token on /auth/login"
    response = client.post(
        "/auth/login",
        data={"phone": phone, "password": PASSWORD, "csrf_token": match.group(1), "next": ""},
    )
    if response.status_code != 302:
        raise RuntimeError(f"leader sign-in failed: {response.status_code}")
    return client


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def statement_log(engine: Any) -> Iterator[list[tuple[float, str, Any]]]:
    """Every SQL statement executed meanwhile, with its time (execute + fetch by psycopg)."""
    from sqlalchemy import event

    found: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: Any):  # type: ignore[no-untyped-def]
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: Any):  # type: ignore[no-untyped-def]
        started = conn.info["bench_started"].pop()
        found.append(((time.perf_counter() - started) * 1000, statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def describe(statement: str) -> str:
    s = " ".join(statement.split())
    if s.startswith("SELECT 1") or s == "select pg_catalog.version()":
        return "pool pre-ping"
    rules = [
        (
            "count(DISTINCT survey_answers.response_id)",
            "respondents of multiple-choice and grid questions",
        ),
        ("set_config(", "the pass's settings (JIT off, work_mem), set and restored"),
        ("current_setting(", "the pass's settings read"),
        (
            "survey_responses.index_score",
            "responses and index sums per commune and group (the cube's GROUP BY of the responses)",
        ),
        (
            "survey_answers.value, count(*)",
            "answer counts per question, commune, group, item, value, with number sums "
            "(the cube's pass over the answers)",
        ),
        ("count(survey_responses.id)", "group sizes"),
        ("FROM survey_questions", "survey definition"),
        ("FROM units", "units (labels, scope, user's unit)"),
        ("FROM users", "user (token or session)"),
        ("FROM surveys", "survey"),
        ("survey_answers.text", "free texts"),
        ("count(*) AS count_1", "responses in scope (free texts)"),
    ]
    for needle, name in rules:
        if needle in s:
            return name
    return s[:70] + "…"


def measure_results(args: argparse.Namespace, app: Any, fixture: Fixture, out: Results) -> None:
    from sqlalchemy import text

    from app.extensions import cache, db
    from app.models import Survey
    from app.services import analytics

    with app.app_context():
        engine = db.engine  # the app's engine (its pool outlives the context)
    client = leader_client(app, fixture.leader_phone)
    api_headers = {"Authorization": f"Bearer {fixture.leader_token}"}

    def measures(survey_id: int, slug: str) -> dict[str, Callable[[], Any]]:
        def raw() -> Any:
            with app.app_context():
                rows = db.session.execute(text(RAW_SQL), {"survey": survey_id}).all()
                db.session.remove()
            return rows

        def service(by: str | None) -> Callable[[], Any]:
            def work() -> Any:
                with app.app_context():
                    survey = db.session.get(Survey, survey_id)
                    body = analytics.results(db.session, survey, by=by)
                    db.session.remove()
                return body

            return work

        def decision() -> Any:
            with app.app_context():
                made = analytics.hidden_groups(db.session, db.session.get(Survey, survey_id))
                db.session.remove()
            return made

        def emptied() -> None:
            with app.app_context():
                cache.clear()

        def api() -> Any:
            emptied()
            response = client.get(f"/api/v1/surveys/{slug}/results?by=unit", headers=api_headers)
            assert response.status_code == 200, response.status_code
            return response.get_json()

        def page() -> Any:
            emptied()
            response = client.get(f"/results/{slug}?by=unit")
            assert response.status_code == 200, response.status_code
            return response.get_data()

        def whole(empty: bool) -> Callable[[], Any]:
            def work() -> Any:
                if empty:
                    emptied()
                response = client.get(f"/results/{slug}")
                assert response.status_code == 200, response.status_code
                return response.get_data()

            return work

        return {
            "raw": raw,
            "all": service(None),
            "unit": service("unit"),
            "decision": decision,
            "api": api,
            "page": page,
            "cold": whole(True),
            "warm": whole(False),
        }

    # Warm-up, not recorded: every code path once on the small survey of the throughput run
    # (imports, templates compiled, connections open), then the raw GROUP BY on the big one
    # (its pages into the caches).
    for name, function in measures(fixture.submit_survey, SUBMIT_SLUG).items():
        t0 = time.perf_counter()
        function()
        log(f"warm-up {name} (small survey): {(time.perf_counter() - t0) * 1000:.0f} ms")
    work = measures(fixture.results_survey, RESULTS_SLUG)
    t0 = time.perf_counter()
    out.groups = len(work["raw"]())
    out.warm["raw"] = (time.perf_counter() - t0) * 1000
    log(f"warm-up raw: {out.warm['raw']:.0f} ms")

    out.times = {name: [] for name in MEASURES}
    for round_number in range(1, args.repeats + 1):
        if round_number > MIN_ROUNDS:
            # What one more round and the rest (memory and EXPLAIN passes) would take.
            last = {n: out.times[n][-1] / 1000 for n in MEASURES}
            rest = 1.1 * (last["unit"] + last["page"]) + 0.7 * last["unit"] + last["raw"] + 10
            if time.monotonic() - args.clock + sum(last.values()) + rest > args.deadline:
                out.stopped = (
                    f"stopped after {round_number - 1} of {args.repeats} rounds: one more "
                    f"would have taken the run past --deadline {args.deadline} s"
                )
                log(out.stopped)
                break
        slowest: tuple[float, str, Any] | None = None
        for name in MEASURES:
            gc.collect()
            # (c) and (e): their SQL statements timed too (two clock reads per statement).
            with statement_log(engine) if name in ("unit", "page") else nullcontext([]) as found:
                t0 = time.perf_counter()
                result = work[name]()
                elapsed = (time.perf_counter() - t0) * 1000
            out.times[name].append(elapsed)
            if found:
                out.statements[name] = [(ms, describe(stmt)) for ms, stmt, _p in found]
                out.call_ms[name] = elapsed
                if name == "unit":
                    slowest = max(found, key=lambda f: f[0])
            if round_number == 1 and name in ("all", "unit", "api"):
                assert result["n"] == out.count, (name, result["n"], out.count)
        log(
            f"round {round_number}: "
            + ", ".join(f"{n} {out.times[n][-1]:,.0f} ms" for n in MEASURES)
        )
        assert slowest is not None
        out.slowest, out.slowest_params = slowest[1], slowest[2]

    # (c) and (e) once more each, not timed: peak Python memory under tracemalloc.
    for name in ("unit", "page"):
        gc.collect()
        before_max, before_rss = maxrss_mib(), rss_mib()
        tracemalloc.start()
        work[name]()
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.memory[name] = {
            "peak": peak / 2**20,
            "maxrss_before": before_max,
            "maxrss_after": maxrss_mib(),
            "rss_before": before_rss,
            "rss_after": rss_mib(),
        }
        log(f"memory {name}: tracemalloc peak {peak / 2**20:.1f} MiB, {out.memory[name]}")

    # EXPLAIN ANALYZE of the slowest statement of (c), and of the raw GROUP BY.
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + out.slowest, out.slowest_params or {}
        ).all()
        out.explain = [row[0] for row in plan]
        plan = conn.execute(
            text("EXPLAIN (ANALYZE, BUFFERS) " + RAW_SQL), {"survey": fixture.results_survey}
        ).all()
        out.explain_raw = [row[0] for row in plan]


# ------------------------------------------------------------------------------- report


def other_statuses(run: Run, expected: int) -> str:
    other = {code: n for code, n in sorted(run.statuses.items()) if code != expected}
    return ", ".join(f"{code}: {n}" for code, n in other.items()) or "—"


def throughput_lines(args: argparse.Namespace, runs: list[Run]) -> list[str]:
    by = {name: [r for r in runs if r.scenario == name] for name in SCENARIOS}
    bare_median = statistics.median(r.rps for r in by["bare"])
    bare_by_run = {r.number: r.rps for r in by["bare"]}
    lines = [
        "| Scenario | Endpoint | Median req/s | vs bare | Aim | Runs (req/s) | Per-run vs bare "
        "| p50 / p99 ms | unexpected statuses |",
        "|---|---|---:|---:|---:|---|---|---:|---:|",
    ]
    rows = (
        ("bare", "bare insert (baseline)", "POST /bench/bare"),
        ("submit", "survey response (API)", f"POST /api/v1/surveys/{SUBMIT_SLUG}/responses"),
        ("page", "web survey: the page of questions", f"GET {WEB_PAGE}?unit={COMMUNE}"),
        ("form", "web survey: the answers sent", f"POST {WEB_PAGE} (form, 302)"),
    )
    for scenario, name, endpoint in rows:
        mine = by[scenario]
        if not mine:
            continue
        median = statistics.median(r.rps for r in mine)
        p50 = statistics.median(r.p50_ms for r in mine if r.p50_ms is not None)
        p99 = statistics.median(r.p99_ms for r in mine if r.p99_ms is not None)
        aim = WEB_TARGETS.get(scenario)
        unexpected = sum(n for r in mine for c, n in r.statuses.items() if c != EXPECTED[scenario])
        lines.append(
            f"| {name} | `{endpoint}` | {median:.0f} | {median / bare_median:.0%} | "
            f"{f'≥ {aim:.0%}' if aim else '—'} | "
            f"{' / '.join(f'{r.rps:.0f}' for r in mine)} | "
            f"{' / '.join(f'{r.rps / bare_by_run[r.number]:.0%}' for r in mine)} | "
            f"{p50:.1f} / {p99:.1f} | {unexpected} |"
        )
    lines += [
        "",
        *steadiness([r.rps for r in by["bare"]]),
        "",
        "Checked in the database after each run (wrk counts the responses received within its "
        "duration; the database also has the requests still in flight when it stopped, at most "
        f"one per connection, {args.connections}):",
        "",
        "| Run | Responses received | expected status | other statuses | socket errors "
        "| responses added (moved + pending) | survey_ledger added |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for scenario in ("submit", "form", "page"):
        for r in by[scenario]:
            expected = EXPECTED[scenario]
            lines.append(
                f"| {scenario} {r.number} | {r.requests} | {r.statuses.get(expected, 0)} "
                f"({expected}) | {other_statuses(r, expected)} | {r.socket_errors} | "
                f"{r.responses} | {r.ledger} |"
            )
    for r in by["bare"]:
        lines.append(
            f"| bare {r.number} | {r.requests} | {r.statuses.get(200, 0)} (200) | "
            f"{other_statuses(r, 200)} | {r.socket_errors} "
            f"| {r.responses} (bench_hits) | — |"
        )
    return lines


def results_lines(args: argparse.Namespace, res: Results) -> list[str]:
    raw = statistics.median(res.times["raw"])
    lines = [
        f"| Measure | Median ms (of {len(res.times['raw'])}) | vs raw GROUP BY "
        "| Runs in order (ms) |",
        "|---|---:|---:|---|",
    ]
    for name in MEASURES:
        median = statistics.median(res.times[name])
        lines.append(
            f"| {LABELS[name]} | {median:,.0f} | {median / raw:.2f}× | "
            f"{' / '.join(f'{t:,.0f}' for t in res.times[name])} |"
        )
    cold, warm = (statistics.median(res.times[n]) / raw for n in ("cold", "warm"))
    lines += [
        "",
        f"Issue 14 targets: the results page cold (g) within {COLD_TARGET}× the raw GROUP BY: "
        f"{cold:.2f}× — {'met' if cold <= COLD_TARGET else 'MISSED'}; warm (h) within "
        f"{WARM_TARGET}×: {warm:.3f}× — {'met' if warm <= WARM_TARGET else 'MISSED'}.",
    ]
    lines += [
        "",
        "Peak Python memory, one more call each under tracemalloc (after the timed rounds; "
        "tracemalloc sees Python and numpy allocations, not libpq's result buffers):",
        "",
        "| Measure | tracemalloc peak | ru_maxrss before → after | RSS before → after |",
        "|---|---:|---|---|",
    ]
    for name in ("unit", "page"):
        m = res.memory[name]
        lines.append(
            f"| {LABELS[name]} | {m['peak']:.1f} MiB | {m['maxrss_before']:.0f} → "
            f"{m['maxrss_after']:.0f} MiB | {m['rss_before']:.0f} → {m['rss_after']:.0f} MiB |"
        )
    for name in ("unit", "page"):
        statements = res.statements[name]
        total = sum(ms for ms, _d in statements)
        lines += [
            "",
            f"SQL statements of {LABELS[name]} in the last timed round: {len(statements)} "
            f"statements, {total:,.0f} ms in the database driver (execute and fetch) of the "
            f"call's {res.call_ms[name]:,.0f} ms; the other {res.call_ms[name] - total:,.0f} ms "
            "are Python (pandas, statistics" + (", template" if name == "page" else "") + "):",
            "",
            "| ms | statement |",
            "|---:|---|",
        ]
        lines += [f"| {ms:,.1f} | {d} |" for ms, d in sorted(statements, reverse=True) if ms >= 1]
        small = [ms for ms, _d in statements if ms < 1]
        if small:
            lines.append(f"| {sum(small):.1f} | {len(small)} statements under 1 ms each |")
    lines += [
        "",
        f"EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of (c), {describe(res.slowest)}:",
        "",
        "```sql",
        " ".join(res.slowest.split()),
        "```",
        "",
        "```",
        *res.explain,
        "```",
        "",
        "EXPLAIN (ANALYZE, BUFFERS) of the raw GROUP BY (a):",
        "",
        "```",
        *res.explain_raw,
        "```",
    ]
    return lines


def markdown(
    args: argparse.Namespace,
    info: dict[str, str],
    started: datetime,
    elapsed: float,
    runs: list[Run] | None,
    probe: list[tuple[float, str]] | None,
    res: Results | None,
) -> str:
    argv = " ".join(sys.argv[1:])
    lines = [
        MARK_START,
        "## Generated by bench/surveys_bench.py",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC, whole run {elapsed:.0f} s",
        f"- Command: `.venv/bin/python bench/surveys_bench.py{(' ' + argv) if argv else ''}`",
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, Linux "
        f"{info['kernel']}, Python {info['python']}; wrk, gunicorn, this script and "
        "PostgreSQL share the CPUs",
        f"- Other work on the machine: CPUs {info['busy']} busy just before the run "
        f"(2 s sample); load average at the end {info['load']} (1/5/15 min)",
        f"- PostgreSQL {info['postgresql']} ({info['pg_settings']}), database `{args.database}` "
        + (
            "kept from an earlier run"
            if getattr(args, "reused", False)
            else "dropped and created by the script"
        ),
    ]
    if runs:
        lines += [
            "",
            f"### Issue 7: response submission under gunicorn (median of {args.runs})",
            "",
            f"`gunicorn -w {args.workers} -b 127.0.0.1:PORT bench.bench_app:app` "
            f"(RATELIMIT_ENABLED=false), `wrk -t{args.threads} -c{args.connections} "
            f"-d{args.duration}s -s bench/surveys.lua`, runs interleaved bare, submit, page, "
            "form, bare, ... after a 3 s warm-up of each. Each submission: a complete valid "
            "answer (6 questions, 7 answer rows on average: the multiple choice ticks 1 to 3) to "
            "an anonymous survey (`sign_in: optional`) with a different resident's bearer token, "
            f"{args.pool} fresh residents per run. The web survey as a browser without "
            "JavaScript uses it, not signed in: the page of questions on a first visit (no "
            f"cookie), and its form answered with one of {WEB_GUESTS} sessions' cookie and CSRF "
            "token (a redirect to the thanks page, a response added each time).",
            "",
            *throughput_lines(args, runs),
        ]
    if probe:
        lines += [
            "",
            f"One more submission in this process (Flask test client, after the runs): "
            f"{len(probe)} SQL statements, {sum(ms for ms, _s in probe):.1f} ms in the "
            "database driver:",
            "",
            *[
                f"- {ms:.1f} ms `{statement[:110]}{'…' if len(statement) > 110 else ''}`"
                for ms, statement in probe
            ],
        ]
    if res:
        lines += [
            "",
            f"### Issue 8: results at {res.count:,} responses (median of {len(res.times['raw'])})",
            "",
            *(
                [
                    f"- Data: reused (--reuse) from an earlier run of this script: "
                    f"{res.count:,} responses ({res.answers:,} answer rows; 103 communes) "
                    "made by `demo_responses.generate` (chunks of 100,000, seed 2026 + chunk "
                    f"number). Sizes with indexes: survey_responses "
                    f"{res.sizes.get('survey_responses')}, survey_answers "
                    f"{res.sizes.get('survey_answers')}."
                ]
                if getattr(args, "reused", False)
                else [
                    f"- Data: `demo_responses.generate` made {res.count:,} responses "
                    f"({res.answers:,} answer rows; 103 communes) in {res.generate_s:.0f} s "
                    f"({res.count / res.generate_s:,.0f} responses/s), in chunks of {CHUNK:,} "
                    f"(one generate() call each, seed 2026 + chunk number), {args.generators} "
                    "processes at a time; seconds per chunk in order of completion: "
                    f"{', '.join(f'{c:.0f}' for c in res.chunks)}. Then VACUUM ANALYZE "
                    f"({res.vacuum_s:.0f} s). Sizes with indexes: survey_responses "
                    f"{res.sizes.get('survey_responses')}, survey_answers "
                    f"{res.sizes.get('survey_answers')}."
                ]
            ),
            "- In this process, each measure in a fresh app context (a request's work): "
            "(a)–(c) called directly with no scope (the whole survey), (d) and (e) through the "
            "Flask test client as a leader of the province (scope: the province and its "
            "communes, the same responses), (e) signed in through `/auth/login`. Warm-up: "
            "(a)–(e) once on the small survey of the throughput run (imports, templates, "
            f"connections), then (a) once on this one ({res.warm['raw']:,.0f} ms); then "
            f"{len(res.times['raw'])} rounds interleaved (a, b, c, d, e, a, ...)"
            f"{' (' + res.stopped + ')' if res.stopped else ''}. The raw GROUP BY returns "
            f"{res.groups:,} rows:",
            "",
            "```sql",
            RAW_SQL,
            "```",
            "",
            *results_lines(args, res),
        ]
    lines.append(MARK_END)
    return "\n".join(lines) + "\n"


HEADER = """\
# Survey benchmarks (issues 7 and 8)

Measured by `bench/surveys_bench.py`; the block between the markers is rewritten by each run.

"""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None and not args.skip_throughput:
        print("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)", file=sys.stderr)
        return 2
    clock = time.monotonic()
    args.clock = clock
    started = datetime.now(UTC)
    busy = cpu_busy()
    log(f"CPU busy with other work before the run: {'?' if busy is None else f'{busy:.0%}'}")
    settings = set_environment(args.database, secrets.token_urlsafe(48))
    reused = reuse(args) if args.reuse and args.skip_throughput else None
    if reused is None:
        log(f"resetting database {args.database}")
        reset_database(args.database)
        app, fixture = prepare(args)
    else:
        app, fixture, kept = reused
    args.reused = reused is not None
    log(f"setup took {time.monotonic() - clock:.0f} s")

    runs = probe = None
    if not args.skip_throughput:
        runs = throughput(args, app, fixture, settings)
        probe = probe_submission(app, fixture)
    res = None
    if not args.skip_results:
        res = Results()
        if reused is None:
            generate(args, app, fixture, res)
        else:
            res = kept
        measure_results(args, app, fixture, res)
    elapsed = time.monotonic() - clock
    info = machine(
        ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "synchronous_commit")
    )
    info["busy"] = "?" if busy is None else f"{busy:.0%}"
    block = markdown(args, info, started, elapsed, runs, probe, res)
    print()
    print(block)
    if not args.no_out:
        write_block(args.out, block, MARK_START, MARK_END, HEADER)
        log(f"results written to {args.out}")
    log(f"done in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
