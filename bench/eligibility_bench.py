"""What the eligibility check adds to an attempt start (issue 19): `eligibility.refusal` on
the account, round and contest a start holds anyway (no query: tests/test_eligibility.py
checks that), timed per call against an empty function call, median of three interleaved runs.

    .venv/bin/python bench/eligibility_bench.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CALLS = 200_000


def main() -> int:
    from app.models import Contest, Round, User
    from app.services.eligibility import refusal

    contest = Contest(min_age=15, verified_phone=True, timezone="Asia/Ho_Chi_Minh")
    round_ = Round(opens_at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC), contest=contest)
    user = User(birth_year=1990, phone="0912345678", verified_phone="0912345678")
    now = datetime(2026, 12, 3, tzinfo=UTC)

    def nothing(_user: User, _round: Round, _now: datetime) -> None:
        return None

    def per_call(function: object) -> float:
        call = function  # type: ignore[assignment]
        start = time.perf_counter()
        for _ in range(CALLS):
            call(user, round_, now)  # type: ignore[operator]
        return (time.perf_counter() - start) / CALLS * 1e6

    assert refusal(user, round_, now) is None
    empty, check = [], []
    for _run in range(3):
        empty.append(per_call(nothing))
        check.append(per_call(refusal))
    load = os.getloadavg()[0]
    print(f"load (1 min) {load:.2f}; {CALLS:,} calls per run, three interleaved runs")
    for label, times in (("empty call", empty), ("eligibility check", check)):
        runs = ", ".join(f"{v:.2f}" for v in times)
        print(f"{label:<18} median {statistics.median(times):.2f} µs ({runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
