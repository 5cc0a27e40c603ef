"""What Prometheus costs under gunicorn (app/metrics.py, multiprocess mode): the time of one
request's observation, and the time of a scrape as workers come and go.

gunicorn recycles a worker after ~10,000 requests (gunicorn.conf.py); each worker leaves its
files in PROMETHEUS_MULTIPROC_DIR (its counts must stay in the sums), and a scrape reads every
file. This forks N short-lived "workers" that each record requests on 40 routes, then times
`metrics.exposition()`; the baseline is the scrape of a fresh node (5 workers) measured in the
same run, interleaved (5, N1, N2, 5, N1, ...).

    .venv/bin/python bench/metrics_bench.py [--runs 3] [--workers 100 1000]

Touches nothing outside a temporary folder. Prints a Markdown table."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

FOLDER = tempfile.mkdtemp(prefix="civic-metrics-bench-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = FOLDER  # before prometheus_client is imported
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import metrics  # noqa: E402

ROUTES = [f"bench.route_{n}" for n in range(40)]


def worker_lifetime(requests: int) -> None:
    """In a forked child: what a worker records before it is recycled, then exit."""
    for n in range(requests):
        metrics.REQUESTS.labels(
            endpoint=ROUTES[n % len(ROUTES)], method="GET", status="200"
        ).observe(0.02)
    metrics.attempt_started()
    metrics.POOL_CHECKED_OUT.labels(engine="primary").set(1)
    os._exit(0)


def workers(count: int, retire: bool) -> None:
    """`count` workers come and go in a fresh folder: their files left as they were, or
    retired as gunicorn.conf.py's child_exit does (metrics.retire)."""
    for name in os.listdir(FOLDER):
        os.remove(os.path.join(FOLDER, name))
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            worker_lifetime(400)
        os.waitpid(pid, 0)
        if retire:
            metrics.retire(pid, FOLDER)


def scrape_ms() -> float:
    started = time.perf_counter()
    body = metrics.exposition()
    elapsed = (time.perf_counter() - started) * 1000
    assert b"civic_http_request_duration_seconds_count" in body
    return elapsed


def observe_us(calls: int = 20_000) -> float:
    label = metrics.REQUESTS.labels(endpoint="bench.observe", method="GET", status="200")
    started = time.perf_counter()
    for _ in range(calls):
        label.observe(0.02)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} / {os.getloadavg()[1]:.2f} / "
          f"{os.getloadavg()[2]:.2f}")  # fmt: skip
    cases = [(5, False)] + [(n, retire) for n in args.workers for retire in (False, True)]
    times: dict[tuple[int, bool], list[float]] = {case: [] for case in cases}
    observes: list[float] = []
    for _ in range(args.runs):
        for case in cases:
            workers(*case)
            scrape_ms()  # the first read maps the files
            times[case].append(statistics.median(scrape_ms() for _ in range(3)))
        observes.append(observe_us())
    base = statistics.median(times[(5, False)])
    print("\n| workers that lived | their files | median scrape ms | vs 5 workers | runs (ms) |")
    print("|---:|---|---:|---:|---|")
    for n, retire in cases:
        median = statistics.median(times[(n, retire)])
        runs = " / ".join(f"{t:,.1f}" for t in times[(n, retire)])
        kept = "retired into the archive" if retire else "left"
        print(f"| {n:,} | {kept} | {median:,.1f} | {median / base:,.1f}× | {runs} |")
    print(
        f"\none observation of a request (mmap write): {statistics.median(observes):.1f} µs "
        f"(runs {' / '.join(f'{o:.1f}' for o in observes)})"
    )
    print(f"load after: {os.getloadavg()[0]:.2f}")
    for name in os.listdir(FOLDER):
        os.remove(os.path.join(FOLDER, name))
    os.rmdir(FOLDER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
