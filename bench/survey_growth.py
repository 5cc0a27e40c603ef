"""Does a survey response through the API cost more as responses accumulate? In process.

    .venv/bin/python bench/survey_growth.py                  # 6,000 responses, ~2 minutes
    .venv/bin/python bench/survey_growth.py --analyze-after 2  # ANALYZE after the 3rd chunk

Resets its own database (`civic_bench_growth`, `--database`), fills it with
bench/surveys_bench.py's setup (the anonymous survey, residents with bearer tokens), then sends
`--count` API responses through Flask's test client, one thread, and prints for each chunk of
500 the wall time per response and the four statements that took the most time (in the
database driver), per response. Found this way (docs/benchmarks.md, 2026-12-02): the batch
move's share grew from 0.8 to 5.3 ms as 6,000 responses accumulated — each connection's
foreign-key check planned on a table believed empty — and stayed flat after an ANALYZE.
Loopback only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import random
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import surveys_bench  # noqa: E402 (after the path)
from harness import reset_database, set_environment  # noqa: E402

CHUNK = 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="civic_bench_growth", help="dropped, created")
    parser.add_argument("--count", type=int, default=6000, help="responses (at most 20,000)")
    parser.add_argument(
        "--analyze-after", type=int, metavar="N", help="ANALYZE the survey tables after chunk N"
    )
    args = parser.parse_args()
    if not re.fullmatch(r"civic_bench[a-z_]*", args.database):
        parser.error("--database must be civic_bench_SOMETHING (it is dropped)")
    count = max(CHUNK, min(args.count, 20_000))

    setup = surveys_bench.parse_args(
        ["--skip-results", "--runs", "1", "--pool", str(count), "--database", args.database]
    )
    set_environment(args.database, secrets.token_urlsafe(48))
    reset_database(args.database)
    app, fixture = surveys_bench.prepare(setup)
    tokens = iter(fixture.warmup + [t for run in fixture.runs for t in run])
    rng = random.Random(1)
    client = app.test_client()

    from sqlalchemy import event, text

    from app.extensions import db

    with app.app_context():
        engine = db.engine
    spent: dict[str, float] = {}
    began: list[float] = [0.0]

    def before(*_args: Any) -> None:
        began[0] = time.perf_counter()

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        key = " ".join(statement.split())[:50]
        spent[key] = spent.get(key, 0.0) + time.perf_counter() - began[0]

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    url = f"/api/v1/surveys/{surveys_bench.SUBMIT_SLUG}/responses"
    for chunk in range(count // CHUNK):
        spent.clear()
        started = time.perf_counter()
        for _ in range(CHUNK):
            response = client.post(
                url,
                json=surveys_bench.answer_body(rng),
                headers={"Authorization": f"Bearer {next(tokens)}"},
            )
            assert response.status_code == 201, response.get_data(as_text=True)
        wall = (time.perf_counter() - started) / CHUNK * 1000
        top = sorted(spent.items(), key=lambda item: -item[1])[:4]
        shares = "; ".join(f"{ms / CHUNK * 1000:.2f} {key}" for key, ms in top)
        print(f"chunk {chunk}: {wall:.2f} ms a response; {shares}", flush=True)
        if chunk == args.analyze_after:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE survey_responses, survey_answers"))
            print("survey_responses and survey_answers analyzed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
