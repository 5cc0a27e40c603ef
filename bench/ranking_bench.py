"""Benchmark of a round's ranking on PostgreSQL with 100,000 demo participants.

    .venv/bin/python bench/ranking_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/civic_bench_ranking]
        [--count 100000] [--runs 3] [--reuse] [--out bench/results-ranking.md]

Builds (or, with --reuse, keeps) a database of its own: migrations, the province's units, the
sample contest in quizzes/, then `flask demo attempts --round ID --count N` (demo people,
removable). Times, median of --runs, through the real app (test client, full page render):
the first and the last page of the ranking, a commune's page, a resident's own position
(`?mine=1` then the page it leads to), the API leaderboard, the unit ranking, the CSV and
XLSX exports (cold: cache emptied first, what the first reader after a submit or the close
pays; and warm), and what keeps `best_attempts` right: a submit's upsert and the rebuild at
the close. Baselines measured in the same run: `SELECT count(*)` of the round's attempts and
a plain `ORDER BY … LIMIT 50` without window functions. Writes a Markdown table to --out.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OFFICER_PASSWORD = "bench-mat-khau-2026"  # noqa: S105  (a bench database of its own)
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/civic_bench_ranking"


def median_ms(runs: int, work: Callable[[], Any], before: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def fresh_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parts = make_url(url)
    admin = create_engine(parts.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parts.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parts.database}"'))
    admin.dispose()


def prepare(
    url: str, count: int, reuse: bool, say: Callable[[str], None]
) -> tuple[Any, int, Any, Any, dict[str, Any]]:
    """The bench database (kept with `reuse` if populated): migrations, the province's units,
    the sample contest in quizzes/, `count` demo participants at its first round, VACUUM
    ANALYZE. Returns (app, round id, opens, closes, clock) — the app's clock is `clock["now"]`,
    set during the round. bench/export_job_bench.py builds its 100,000 people with it too."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app import create_app
    from app.config import TestingConfig
    from app.content.pipeline import find_files, load_files
    from app.content.store import Actor
    from app.extensions import db
    from app.models import Round, User
    from app.services import demo_attempts
    from app.services.units import load_units

    os.environ.setdefault("FLASK_APP", "wsgi.py")
    if not reuse:
        fresh_database(url)
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=url,
        RATELIMIT_ENABLED=False,
        WTF_CSRF_ENABLED=False,
    )
    with app.app_context():
        upgrade()
        load_units(db.session, 92)
        round_ = db.session.scalar(select(Round).order_by(Round.id))
        if round_ is None:
            files = [(str(p), p.read_bytes()) for p in find_files([str(ROOT / "quizzes")])]
            outcomes = load_files(db.session, files, Actor(unit_code=92, is_admin=True), _utc())
            assert all(o.ok for o in outcomes)
            round_ = db.session.scalar(select(Round).order_by(Round.id))
        assert round_ is not None
        round_id = round_.id
        opens, closes = round_.opens_at, round_.closes_at
        have = db.session.scalar(select(func.count(User.id)).where(demo_attempts.is_demo())) or 0
    during = opens + (closes - opens) * 0.8
    clock = {"now": during}
    app.config["CLOCK"] = lambda: clock["now"]
    if have < count:
        start = time.perf_counter()
        result = app.test_cli_runner().invoke(
            args=[
                "demo",
                "attempts",
                "--round",
                str(round_id),
                "--count",
                str(count - have),
                "--seed",
                "2026",
            ]
        )
        assert result.exit_code == 0, result.output
        say(f"- generated: {result.output.strip()} ({time.perf_counter() - start:.0f} s)")
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return app, round_id, opens, closes, clock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the database if populated")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results-ranking.md"))
    args = parser.parse_args()
    if not args.url.startswith("postgresql"):
        parser.error("the benchmark is for PostgreSQL")

    from sqlalchemy import func, select, text

    from app.extensions import db
    from app.models import Attempt, Round, User
    from app.services import demo_attempts, ranking, standings

    log: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        log.append(line)

    app, round_id, _opens, closes, clock = prepare(args.url, args.count, args.reuse, say)
    during = clock["now"]
    after = closes + timedelta(minutes=5)
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        attempts = db.session.scalar(
            select(func.count(Attempt.id)).where(Attempt.round_id == round_id)
        )
        version = db.session.scalar(text("SHOW server_version"))
        # A resident in the middle of the ranking, for "own position".
        middle = ranking.compute_ranking(db.session, db.session.get(Round, round_id), False)
        resident = middle.standings[len(middle.standings) // 2]
        phone = db.session.scalar(select(User.phone).where(User.id == resident.user_id))
        people = len(middle.standings)
        db.session.rollback()
    client = app.test_client()
    login = client.post(
        "/auth/login",
        data={"phone": phone, "password": demo_attempts.DEMO_PASSWORD},
    )
    assert login.status_code == 302, login.status_code

    def empty_cache() -> None:
        with app.app_context():
            ranking.invalidate(db.session)

    def get(url: str, status: int = 200) -> Callable[[], None]:
        def go() -> None:
            response = client.get(url)
            assert response.status_code == status, (url, response.status_code)
            response.get_data()

        return go

    def own_position() -> None:
        jump = client.get(f"/contests/rounds/{round_id}/ranking?mine=1")
        assert jump.status_code == 302
        page = client.get(jump.headers["Location"]).get_data(as_text=True)
        assert 'id="me"' in page

    def sql(statement: str) -> Callable[[], None]:
        def go() -> None:
            with app.app_context():
                db.session.execute(text(statement), {"r": round_id}).all()
                db.session.rollback()

        return go

    def service_compute(final: bool) -> Callable[[], None]:
        def go() -> None:
            with app.app_context():
                ranking.compute_ranking(db.session, db.session.get(Round, round_id), final)
                db.session.rollback()

        return go

    def rebuild() -> None:
        """What the close costs once: best_attempts re-derived from every attempt."""
        with app.app_context():
            standings.rebuild(db.session, db.session.get(Round, round_id))
            db.session.rollback()

    def vacuum() -> None:
        with app.app_context():
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE best_attempts"))

    def record() -> None:
        """What a submit adds: the upsert of its attempt into best_attempts."""
        with app.app_context():
            standings.record(db.session, resident.attempt_id)
            db.session.rollback()

    with app.app_context():
        unit = db.session.scalar(select(User.unit_code).where(User.id == resident.user_id))
        last_page = -(-people // ranking.PAGE_SIZE)

    officer = app.test_client()
    with app.app_context():
        if db.session.scalar(select(User).where(User.phone == "0900000902")) is None:
            from app.models import Role
            from app.services.accounts import NewAccount, create_account

            create_account(
                db.session,
                NewAccount(
                    name="Cán bộ đo hiệu năng",
                    phone="0900000902",
                    password=OFFICER_PASSWORD,
                    unit_code=92,
                    role=Role.OFFICER,
                ),
                _utc(),
                consent=False,
            )
    assert (
        officer.post(
            "/auth/login", data={"phone": "0900000902", "password": OFFICER_PASSWORD}
        ).status_code
        == 302
    )

    def export(fmt: str) -> Callable[[], None]:
        def go() -> None:
            response = officer.get(f"/contests/rounds/{round_id}/ranking.{fmt}")
            assert response.status_code == 200
            response.get_data()

        return go

    runs = args.runs
    rows: list[tuple[str, str, float]] = []
    for phase, moment in (("provisional", during), ("final", after)):
        clock["now"] = moment
        page = f"/contests/rounds/{round_id}/ranking"
        client.get(page)  # freezes the figure when final: best_attempts rebuilt
        if phase == "final":
            # Before autovacuum has seen the rebuild's dead rows: the index cannot be read alone.
            value = median_ms(runs, get(f"{page}?page={last_page}"))
            name = f"last page ({last_page}), just after the close's rebuild, before VACUUM"
            rows.append((phase, f"{name} — cold", value))
            say(f"{phase:<11} {value:10.1f} ms  {name}")
        vacuum()  # what autovacuum does within a minute or so of a round's writes
        measures: list[tuple[str, Callable[[], None], bool]] = [
            (
                "baseline: SELECT count(*) of the round's attempts",
                sql("SELECT count(*) FROM attempts WHERE round_id = :r"),
                False,
            ),
            (
                "baseline: plain ORDER BY score, duration LIMIT 50 (no window, no best-of)",
                sql(
                    "SELECT id, user_id, score, duration_ms FROM attempts WHERE round_id = :r "
                    "AND state IN ('submitted','expired') "
                    "ORDER BY score DESC, duration_ms, submitted_at, id LIMIT 50"
                ),
                False,
            ),
            (
                "the whole ranking read into Python (exports), no cache",
                service_compute(phase == "final"),
                False,
            ),
            ("first page of the ranking (HTML)", get(page), True),
            (
                f"last page ({last_page}) of the ranking (HTML)",
                get(f"{page}?page={last_page}"),
                True,
            ),
            ("first page of one commune's people (HTML)", get(f"{page}?unit={unit}"), True),
            ("a resident's own position (?mine=1 → its page, HTML)", own_position, True),
            ("API leaderboard, limit 50", get(f"/api/v1/rounds/{round_id}/leaderboard"), True),
            ("unit ranking page", get(f"/contests/rounds/{round_id}/ranking/units"), True),
            ("unit ranking page", get(f"/contests/rounds/{round_id}/ranking/units"), False),
            ("export CSV (every row, masked phones)", export("csv"), True),
            ("export CSV (every row, masked phones)", export("csv"), False),
            ("export XLSX", export("xlsx"), True),
            # Last: their rolled-back writes leave dead rows behind until the next VACUUM.
            ("a submit's upsert into best_attempts", record, False),
            (
                "rebuild of best_attempts from every attempt (done once, at the close)",
                rebuild,
                False,
            ),
        ]
        for name, work, cold in measures:
            before = empty_cache if cold else None
            if not cold:
                work()  # warm it
            value = median_ms(runs, work, before)
            rows.append((phase, f"{name} — {'cold' if cold else 'warm'}", value))
            say(f"{phase:<11} {value:10.1f} ms  {name} ({'cold' if cold else 'warm'})")
    write(args, rows, log, attempts, people, version, round_id)
    return 0


def _utc() -> Any:
    from app.models import utcnow

    return utcnow()


def write(
    args: argparse.Namespace,
    rows: list[tuple[str, str, float]],
    log: list[str],
    attempts: int,
    people: int,
    version: str,
    round_id: int,
) -> None:
    lines = [
        "# Ranking benchmark (issue 6)",
        "",
        f"`python bench/ranking_bench.py --count {args.count} --runs {args.runs}`, "
        f"{time.strftime('%Y-%m-%d %H:%M')}: PostgreSQL {version}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores; round {round_id} of the sample "
        f"contest with **{people:,} demo participants** and {attempts:,} finished attempts "
        "(18 questions each), generated by `flask demo attempts`.",
        "",
        "Median of "
        f"{args.runs} runs, in the same process as the app (Flask test client: routing, the "
        "service, the template). Pages read `best_attempts` (kept on each submit, rebuilt at "
        "the close) and are not cached. *Cold*: this process's cache of the whole ranking "
        "(unit ranking, exports) emptied first — what the first reader pays after a submit "
        "or the close; *warm*: that cache is current.",
        "",
        "| phase | measure | ms |",
        "|---|---|---:|",
    ]
    lines += [f"| {phase} | {name} | {value:,.1f} |" for phase, name, value in rows]
    lines += ["", *log, ""]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    raise SystemExit(main())
