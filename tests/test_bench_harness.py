"""bench/harness.py's steadiness note: the bare route's own runs tell whether the machine held
its speed through a benchmark, so that a verdict near its aim on a noisy machine is flagged."""

from __future__ import annotations

from bench.harness import steadiness


def test_a_steady_baseline_is_said_to_be_steady() -> None:
    (line,) = steadiness([509.0, 558.0, 493.0])  # 13% of 509
    assert "493–558 req/s" in line
    assert "a spread of 13% of their median" in line
    assert "held steady" in line


def test_a_baseline_that_swung_flags_the_verdicts_as_unsettled() -> None:
    # bench/run.py's second run of 2026-12-03 12:58: the bare route's rounds 939 / 766 / 590.
    (line,) = steadiness([939.0, 766.0, 590.0])
    assert "590–939 req/s" in line
    assert "a spread of 46% of their median" in line
    assert "not settled by this run" in line
    assert "held steady" not in line


def test_the_threshold_is_the_callers() -> None:
    assert "not settled" in steadiness([509.0, 558.0, 493.0], threshold=0.10)[0]


def test_too_few_runs_say_nothing() -> None:
    assert steadiness([700.0]) == []
    assert steadiness([]) == []
    assert steadiness([0.0, 0.0]) == []
