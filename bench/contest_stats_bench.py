"""Benchmark of a round's statistics (issue 14) on PostgreSQL with 100,000 demo participants.

    .venv/bin/python bench/contest_stats_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/civic_bench_c]
        [--count 100000] [--runs 3] [--reuse] [--profile]

The data is the ranking bench's (bench/ranking_bench.py): a database of its own, migrations,
the province's units, the sample contest in quizzes/, `flask demo attempts --round ID --count
N`. Measured in the same run, interleaved (baseline, then each variant, run after run), median
of --runs: the baseline, a plain `GROUP BY question` over the round's answered questions
(attempt_questions joined to its finished attempts: count and right answers per question),
against `contest_stats.round_stats` for the whole province (an admin), for a province leader
(scope = the province), for one commune, and the API answer (test client, JSON). Prints the
machine's load (`uptime`) first and a Markdown table last; with --profile, where the time of
one `round_stats` call goes (cProfile, and each SQL statement's time).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ranking_bench import fresh_database  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/civic_bench_c"
BASELINE = """
SELECT aq.question_version_id, count(*), sum(CASE WHEN aq.correct THEN 1 ELSE 0 END)
FROM attempt_questions aq JOIN attempts a ON a.id = aq.attempt_id
WHERE a.round_id = :r AND a.state IN ('submitted', 'expired')
GROUP BY aq.question_version_id
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the database if populated")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not args.url.startswith("postgresql"):
        parser.error("the benchmark is for PostgreSQL")
    load = subprocess.run(["/usr/bin/uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load before the run: {load}", flush=True)

    from flask_migrate import upgrade
    from sqlalchemy import event, func, select, text

    from app import create_app
    from app.config import TestingConfig
    from app.content.pipeline import find_files, load_files
    from app.content.store import Actor
    from app.extensions import db
    from app.models import Attempt, AttemptQuestion, Role, Round, Unit, User, utcnow
    from app.services import contest_stats, demo_attempts
    from app.services.accounts import NewAccount, create_account
    from app.services.units import load_units

    os.environ.setdefault("FLASK_APP", "wsgi.py")
    if not args.reuse:
        fresh_database(args.url)
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=args.url,
        RATELIMIT_ENABLED=False,
        WTF_CSRF_ENABLED=False,
    )
    with app.app_context():
        start = time.perf_counter()
        upgrade()  # on a reused database: the migrations it has not had (0011 fills a column)
        print(f"migrations: {time.perf_counter() - start:.1f} s", flush=True)
        load_units(db.session, 92)
        round_ = db.session.scalar(select(Round).order_by(Round.id))
        if round_ is None:
            files = [(str(p), p.read_bytes()) for p in find_files([str(ROOT / "quizzes")])]
            outcomes = load_files(db.session, files, Actor(unit_code=92, is_admin=True), utcnow())
            assert all(o.ok for o in outcomes)
            round_ = db.session.scalar(select(Round).order_by(Round.id))
        assert round_ is not None
        round_id, opens, closes = round_.id, round_.opens_at, round_.closes_at
        have = db.session.scalar(select(func.count(User.id)).where(demo_attempts.is_demo())) or 0
    app.config["CLOCK"] = lambda: opens + (closes - opens) * 0.8
    if have < args.count:
        start = time.perf_counter()
        result = app.test_cli_runner().invoke(
            args=[
                "demo",
                "attempts",
                "--round",
                str(round_id),
                "--count",
                str(args.count - have),
                "--seed",
                "2026",
            ]
        )
        assert result.exit_code == 0, result.output
        print(f"generated: {result.output.strip()} ({time.perf_counter() - start:.0f} s)")
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        finished = Attempt.state.in_(("submitted", "expired"))
        attempts = db.session.scalar(
            select(func.count(Attempt.id)).where(Attempt.round_id == round_id, finished)
        )
        rows = db.session.scalar(
            select(func.count())
            .select_from(AttemptQuestion)
            .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
            .where(Attempt.round_id == round_id, finished)
        )
        commune = db.session.scalar(
            select(User.unit_code)
            .where(demo_attempts.is_demo())
            .group_by(User.unit_code)
            .order_by(func.count().desc())
        )
        version = db.session.scalar(text("SHOW server_version"))
        if db.session.scalar(select(User).where(User.phone == "0900000903")) is None:
            create_account(
                db.session,
                NewAccount(
                    name="Lãnh đạo đo hiệu năng",
                    phone="0900000903",
                    password="bench-mat-khau-2026",  # noqa: S106  (a bench database of its own)
                    unit_code=92,
                    role=Role.LEADER,
                ),
                utcnow(),
                consent=False,
            )
    client = app.test_client()
    login = client.post(
        "/auth/login", data={"phone": "0900000903", "password": "bench-mat-khau-2026"}
    )
    assert login.status_code == 302

    def baseline() -> None:
        with app.app_context():
            db.session.execute(text(BASELINE), {"r": round_id}).all()
            db.session.rollback()

    def stats(scope: int | None, unit: int | None = None) -> Callable[[], Any]:
        def go() -> Any:
            with app.app_context():
                round_ = db.session.get(Round, round_id)
                out = contest_stats.round_stats(
                    db.session,
                    round_,
                    scope=db.session.get(Unit, scope) if scope else None,
                    unit=db.session.get(Unit, unit) if unit else None,
                )
                db.session.rollback()
                return out

        return go

    def api() -> None:
        response = client.get(f"/api/v1/rounds/{round_id}/stats")
        assert response.status_code == 200, response.status_code
        response.get_data()

    def page() -> None:
        response = client.get(f"/results/rounds/{round_id}")
        assert response.status_code == 200, response.status_code
        response.get_data()

    measures: list[tuple[str, Callable[[], Any]]] = [
        ("baseline: plain GROUP BY question (attempt_questions ⋈ finished attempts)", baseline),
        ("round_stats, whole province (admin: no scope)", stats(None)),
        ("round_stats, a province leader (scope = the province)", stats(92)),
        (f"round_stats, one commune (?unit={commune})", stats(92, commune)),
        ("GET /api/v1/rounds/{round}/stats as JSON (leader)", api),
        ("GET /results/rounds/{round} page (HTML, charts' data)", page),
    ]
    for _name, work in measures:  # warm the caches once
        work()
    times: dict[str, list[float]] = {name: [] for name, _w in measures}
    for _run in range(args.runs):
        for name, work in measures:
            start = time.perf_counter()
            work()
            times[name].append((time.perf_counter() - start) * 1000)
    result = stats(None)()
    print(
        f"\nround {round_id}: {result.participants:,} participants, {attempts:,} finished "
        f"attempts, {rows:,} answered questions; {len(result.questions)} questions, "
        f"{len(result.topics)} topics, {result.covered}/{result.communes} communes, alpha "
        f"{result.alpha}"
    )
    base = statistics.median(times[measures[0][0]])
    print(f"\nPostgreSQL {version}, Python {platform.python_version()}, {os.cpu_count()} cores")
    print(f"load before the run: {load}\n")
    print("| measure | median ms | runs (ms) | × baseline |\n|---|---:|---|---:|")
    for name, _w in measures:
        median = statistics.median(times[name])
        runs = ", ".join(f"{t:.0f}" for t in times[name])
        print(f"| {name} | {median:,.1f} | {runs} | {median / base:.2f} |")

    if args.profile:
        spent: list[tuple[float, str]] = []

        def before(conn: Any, cursor: Any, statement: str, *_a: Any) -> None:
            conn.info.setdefault("t0", []).append(time.perf_counter())

        def after(conn: Any, cursor: Any, statement: str, *_a: Any) -> None:
            t0 = conn.info["t0"].pop()
            spent.append(((time.perf_counter() - t0) * 1000, " ".join(statement.split())[:140]))

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", before)
            event.listen(db.engine, "after_cursor_execute", after)
        profile = cProfile.Profile()
        profile.enable()
        stats(92)()
        profile.disable()
        print("\nSQL statements of one round_stats call (leader), slowest first:")
        for ms, statement in sorted(spent, reverse=True)[:12]:
            print(f"  {ms:8.1f} ms  {statement}")
        print(f"  {sum(ms for ms, _s in spent):8.1f} ms  in all ({len(spent)} statements)")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(18)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
