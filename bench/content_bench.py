"""Validation of a bank with many mistakes (issue 13): 400 questions, 30 unknown keys each.

    .venv/bin/python bench/content_bench.py

Median of three interleaved runs of (a) reading the YAML alone (`read_yaml`, the baseline:
the least any check must do) and (b) the whole validation (`validate_text`), with the machine's
load before the run. Prints a Markdown block for docs/benchmarks.md. No database, no network.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.content.reader import read_yaml
from app.content.validate import validate_text
from tests.test_content_limits import many_mistakes


def timed(work) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    text = many_mistakes()
    load = os.getloadavg()
    validate_text(text, "warm-up.yaml")
    parse, whole = [], []
    for _ in range(3):
        parse.append(timed(lambda: read_yaml(text)))
        whole.append(timed(lambda: validate_text(text, "lon.yaml")))
    problems = validate_text(text, "lon.yaml").problems
    p, w = statistics.median(parse), statistics.median(whole)
    print(f"- Load before the run: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)")
    print(f"- File: {len(text.encode()):,} bytes, 400 questions, 12,000 mistakes")
    runs_a = ", ".join(f"{x * 1000:.0f}" for x in parse)
    runs_b = ", ".join(f"{x * 1000:.0f}" for x in whole)
    print(f"- (a) read_yaml alone: {p * 1000:.0f} ms (runs {runs_a})")
    print(f"- (b) validate_text: {w * 1000:.0f} ms (runs {runs_b}), {w / p:.1f}× (a)")
    print(f"- Problems returned: {len(problems)} (200 and one line counting the rest)")


if __name__ == "__main__":
    main()
