"""Where answer-save spends its time, next to the bare route: in-process, one thread.

    .venv/bin/python bench/run.py                 # first: leaves the database civic_bench
    .venv/bin/python bench/profile_answer.py      # SQL per request, ms per request
    .venv/bin/python bench/profile_answer.py --profile   # and cProfile's top functions

Uses Flask's test client on the app of bench/bench_app.py (no HTTP server), against the open
attempts run.py left in `civic_bench` (they stay open for an hour after its setup). Prints the
SQL statements one request sends, then wall time and this process's CPU time per request
(the Python side; PostgreSQL's own work shows only in the wall time), median of five rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/civic_bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    args = parser.parse_args()
    if not 10 <= args.requests <= 5000:
        parser.error("--requests must be between 10 and 5000")
    os.environ.update(
        {
            "APP_ENV": "development",
            "DATABASE_URL": DATABASE_URL,
            "SECRET_KEY": "profile-answer-only-" + "x" * 40,
            "RATELIMIT_ENABLED": "false",
            "REDIS_URL": "",
        }
    )
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import event, func, select

    from app.extensions import db
    from app.models import Attempt, AttemptQuestion, User, utcnow
    from app.services.tokens import issue_token
    from bench.bench_app import app

    with app.app_context():
        now = utcnow()
        attempts = db.session.scalars(
            select(Attempt)
            .where(Attempt.state == "open", Attempt.deadline > now)
            .order_by(Attempt.id)
            .limit(1000)
        ).all()
        if not attempts:
            raise SystemExit("no open attempts in civic_bench: run bench/run.py first")
        lifetime = app.config["API_TOKEN_LIFETIME"]
        pairs = [
            (
                a.id,
                len(a.questions),
                issue_token(
                    app.config["SECRET_KEY"], db.session.get(User, a.user_id), now, lifetime
                )[0],
            )
            for a in attempts
        ]
        # Above every stored seq, so that each request writes (a lower one changes nothing).
        first_seq = (db.session.scalar(select(func.max(AttemptQuestion.seq))) or 0) + 1
        db.session.remove()
        if first_seq + 11 * args.requests + 100 > 2**31 - 1:
            raise SystemExit("seq is near the INTEGER limit: rerun bench/run.py first")
        statements: list[str] = []
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_a: statements.append(" ".join(statement.split())),
        )

    client = app.test_client()
    state = {"k": 0, "seq": first_seq}

    def answer() -> None:
        attempt, questions, token = pairs[state["k"] % len(pairs)]
        state["k"] += 1
        state["seq"] += 1
        response = client.put(
            f"/api/v1/attempts/{attempt}/answers/{state['k'] % questions + 1}",
            json={"choices": ["B"], "seq": state["seq"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)

    def bare() -> None:
        assert client.post("/bench/bare").status_code == 200

    scenarios = {"bare": bare, "answer save": answer}
    for name, call in scenarios.items():
        for _ in range(20):
            call()  # warm: connections, compiled statement caches
        statements.clear()
        call()
        print(f"{name}: {len(statements)} SQL statements (plus the pool's ping, BEGIN, COMMIT)")
        for statement in statements:
            print(f"    {statement[:150]}")

    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in scenarios}
    for _round in range(5):
        for name, call in scenarios.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.requests):
                call()
            timings[name].append(
                (
                    (time.perf_counter() - wall) / args.requests * 1000,
                    (time.process_time() - cpu) / args.requests * 1000,
                )
            )
    bare_wall = statistics.median(w for w, _c in timings["bare"])
    print()
    for name, rows in timings.items():
        wall = statistics.median(w for w, _c in rows)
        cpu = statistics.median(c for _w, c in rows)
        print(
            f"{name:12} {wall:6.2f} ms wall, {cpu:6.2f} ms Python CPU per request; "
            f"bare/this {bare_wall / wall:.0%}"
        )

    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            answer()
        profile.disable()
        report: Any = io.StringIO()
        pstats.Stats(profile, stream=report).sort_stats("cumulative").print_stats(40)
        print(report.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
