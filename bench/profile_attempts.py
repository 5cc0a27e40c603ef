"""Where start, answer-save and submit spend their time, next to the bare route: in-process.

    .venv/bin/python bench/profile_attempts.py                   # statements, ms per request
    .venv/bin/python bench/profile_attempts.py --profile start   # and cProfile's top functions
    .venv/bin/python bench/profile_attempts.py --instructions    # this process's instructions

Resets its own database (`civic_bench_d_prof` by default, `--database`), fills it with
bench/run.py's own setup (the same bank, round, accounts and pre-started attempts), then
drives the app of bench/bench_app.py through Flask's test client (no HTTP server, one thread):

1. the SQL statements one request of each scenario sends (after a warm-up), each counted
   once — an executemany is one round trip — plus the pool's ping, BEGIN and COMMIT;
2. wall time per request, and CPU time per request of this process (the Python side) and of
   its PostgreSQL backends (read from /proc), median of five rounds, interleaved bare, start,
   answer, submit, bare, ...; each ratio is the bare route's figure over the scenario's. On a
   busy machine the wall times stretch with the load; the CPU times much less, so their ratio
   is the steadier reading of what a request costs (it leaves out the HTTP server, which costs
   every route alike, and PostgreSQL's WAL writer).

With `--instructions` the script runs itself under valgrind's callgrind (Debian's valgrind) and
counts, instead of timing, the instructions this process executes per request of each scenario
(median of three interleaved rounds): the Python side only, not PostgreSQL's, but a count that
does not move with the machine's load or its neighbours (the same code gives the same count to
within a fraction of a percent), so a change of a few percent can be seen where timings on a
shared machine swing by ten. About fifty times slower than running: use small --requests.

Every start is a first start of a fresh account and every submit a first submit of an open
attempt, as in bench/run.py. Loopback only. The machine's load average is printed first:
figures taken under load are slower and noisier (the ratios less so).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

SCENARIOS = ("bare", "start", "answer", "submit")
ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
ROUNDS = 5
WARM = 20
UNDER_CALLGRIND = "CIVIC_BENCH_UNDER_CALLGRIND"  # set in the environment of the run it re-execs


def backend_cpu(database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to `database` (user and
    system time from /proc: PostgreSQL runs on this machine, as bench/run.py requires). Their
    CPU per request does not grow with other work on the machine as wall time does."""
    import psycopg
    from harness import process_cpu_s

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
            )
        ]
    return sum((process_cpu_s(pid) for pid in pids), 0.0)


def package(path: str) -> str:
    """The library (or the app's module, or the standard library) a profiled function is in."""
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0]
    if "/app/" in path:
        return "app/" + path.split("/app/")[1]
    return "python" if path.startswith(("/", "<")) else path


def under_callgrind(out: Path) -> int:
    """Run this script again under callgrind, instruments off until each counted round."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("callgrind.*"):
        old.unlink()
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}/callgrind.%p",
        sys.executable,
        *sys.argv,
    ]
    return subprocess.run(command, env=os.environ | {UNDER_CALLGRIND: str(out)}).returncode


def instructions(
    calls: dict[str, Callable[[], None]], requests: int, out: Path
) -> dict[str, list[float]]:
    """Per scenario, the instructions this process executes per request in each of three
    interleaved rounds (callgrind_control: zero, instrument, run, stop, dump; the dump's
    totals)."""
    pid = str(os.getpid())

    def control(*options: str) -> None:
        subprocess.run(["callgrind_control", *options, pid], check=True, capture_output=True)

    counts: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(3):
        for name, call in calls.items():
            control("--zero")
            control("--instr=on")
            for _ in range(requests):
                call()
            control("--instr=off")
            control(f"--dump={name}-{round_}")
            dumps = sorted(out.glob(f"callgrind.{pid}.*"), key=lambda p: p.stat().st_mtime_ns)
            totals = re.search(r"^totals: (\d+)", dumps[-1].read_text(), re.MULTILINE)
            assert totals is not None, f"no totals in {dumps[-1]}"
            counts[name].append(int(totals.group(1)) / requests)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--database", default="civic_bench_d_prof", help="dropped and created")
    parser.add_argument("--profile", choices=SCENARIOS, help="print cProfile's top functions")
    parser.add_argument(
        "--sort", default="cumulative", choices=("cumulative", "tottime"), help="cProfile order"
    )
    parser.add_argument("--dump", type=Path, help="also write cProfile's stats to this file")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per request under callgrind instead of timing",
    )
    parser.add_argument("--sql", action="store_true", help="print each statement's text")
    args = parser.parse_args()
    if not 10 <= args.requests <= 2000:
        parser.error("--requests must be between 10 and 2000")
    if not re.fullmatch(r"civic_bench[a-z_]*", args.database):
        parser.error("--database must be civic_bench_SOMETHING (it is dropped)")
    if args.instructions and UNDER_CALLGRIND not in os.environ:
        return under_callgrind(BENCH / ".work" / "callgrind")
    print("load average (1/5/15 min):", " / ".join(f"{v:.2f}" for v in os.getloadavg()))

    import run as bench_run
    from harness import reset_database, set_environment

    set_environment(args.database, secrets.token_urlsafe(48))
    reset_database(args.database)
    per_scenario = (ROUNDS + 2) * args.requests + 2 * WARM
    setup = bench_run.parse_args(
        [
            "--runs",
            "1",
            "--start-users",
            str(per_scenario),
            "--submit-attempts",
            str(per_scenario),
            "--answer-attempts",
            "200",
            "--database",
            args.database,
        ]
    )
    app, fixture = bench_run.prepare(setup)

    from sqlalchemy import event

    from app.extensions import db

    statements: list[str] = []
    with app.app_context():
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_a: statements.append(" ".join(statement.split())),
        )
    client = app.test_client()
    starts = iter(fixture.start[0])
    submits = iter(fixture.submit[0])
    state = {"k": 0, "seq": 1}

    def bare() -> None:
        assert client.post("/bench/bare").status_code == 200

    def start() -> None:
        _user, token = next(starts)
        response = client.post(
            f"/api/v1/rounds/{fixture.round_id}/attempts",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.get_data(as_text=True)

    def answer() -> None:
        attempt, token = fixture.answer[state["k"] % len(fixture.answer)]
        state["k"] += 1
        state["seq"] += 1
        response = client.put(
            f"/api/v1/attempts/{attempt}/answers/{state['k'] % fixture.paper + 1}",
            json={"choices": ["B"], "seq": state["seq"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)

    def submit() -> None:
        attempt, token = next(submits)
        response = client.post(
            f"/api/v1/attempts/{attempt}/submit",
            json={"prediction": 5},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert "score" in response.get_json()

    calls: dict[str, Callable[[], None]] = {
        "bare": bare,
        "start": start,
        "answer": answer,
        "submit": submit,
    }
    for name, call in calls.items():
        for _ in range(WARM):
            call()  # warm: connections, compiled statement caches, the draw pool
        statements.clear()
        call()
        print(f"{name}: {len(statements)} SQL statements (plus the pool's ping, BEGIN, COMMIT)")
        for statement in statements:
            print(f"    {statement if args.sql else statement[:140]}")

    if args.instructions:
        counts = instructions(calls, args.requests, Path(os.environ[UNDER_CALLGRIND]))
        bare = statistics.median(counts["bare"])
        print("\ninstructions of this process per request, median of 3 rounds (per round)")
        for name, rows in counts.items():
            median = statistics.median(rows)
            print(
                f"{name:8} {median:12,.0f} (bare/this {bare / median:4.0%});  rounds "
                + " / ".join(f"{row:,.0f}" for row in rows)
            )
        return 0

    timings: dict[str, list[tuple[float, float, float]]] = {name: [] for name in calls}
    for _round in range(ROUNDS):
        for name, call in calls.items():
            backends = backend_cpu(args.database)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.requests):
                call()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            database = backend_cpu(args.database) - backends
            timings[name].append(
                (
                    wall / args.requests * 1000,
                    cpu / args.requests * 1000,
                    database / args.requests * 1000,
                )
            )
    bare_wall = statistics.median(row[0] for row in timings["bare"])
    bare_cpu = statistics.median(row[1] + row[2] for row in timings["bare"])
    print()
    print(
        "ms per request, median of 5 rounds: wall; CPU of this process (Python) and of its "
        "PostgreSQL backends; ratios: bare's over this one's"
    )
    for name, rows in timings.items():
        wall = statistics.median(row[0] for row in rows)
        cpu = statistics.median(row[1] for row in rows)
        database = statistics.median(row[2] for row in rows)
        both = statistics.median(row[1] + row[2] for row in rows)
        print(
            f"{name:8} wall {wall:6.2f} (bare/this {bare_wall / wall:4.0%});"
            f" CPU {cpu:5.2f} Python + {database:5.2f} PostgreSQL = {both:5.2f}"
            f" (bare/this {bare_cpu / both:4.0%});  walls "
            + " / ".join(f"{row[0]:.2f}" for row in rows)
        )
    print("load average (1/5/15 min):", " / ".join(f"{v:.2f}" for v in os.getloadavg()))

    if args.profile:
        profile = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
        profile.enable()
        for _ in range(args.requests):
            calls[args.profile]()
        profile.disable()
        report: Any = io.StringIO()
        stats = pstats.Stats(profile, stream=report)
        stats.sort_stats(args.sort).print_stats(45)
        if args.dump:
            stats.dump_stats(args.dump)
        print(report.getvalue())
        print("own time per request by package (ms), waits for PostgreSQL apart:")
        by_package: dict[str, float] = {}
        for (path, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
            name = "waiting for PostgreSQL" if function == "wait" else package(path)
            by_package[name] = by_package.get(name, 0.0) + row[2]
        for name, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:14]:
            print(f"    {name:28} {seconds / args.requests * 1000:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
