"""What bench/run.py and bench/surveys_bench.py share: the database reset and environment, a
gunicorn on loopback, wrk runs and their parsing, the machine's description, and the rewrite of
the block between two markers of a Markdown file.

Imported by those scripts as `harness` (they run as `python bench/SCRIPT.py`, so bench/ is
first on sys.path). Importing it imports nothing of the app.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ADMIN_DSN = f"host={HOST} port=5432 user=postgres dbname=postgres"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------ database


def database_url(db_name: str) -> str:
    return f"postgresql+psycopg://postgres@{HOST}:5432/{db_name}"


def reset_database(db_name: str) -> None:
    """DROP and CREATE `db_name` (nothing else is touched)."""
    import psycopg

    assert re.fullmatch(r"[a-z_]+", db_name)
    with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name}")


def set_environment(db_name: str, secret_key: str) -> dict[str, str]:
    """The settings both this process and gunicorn use (read by app.config at import): set
    before anything of the app is imported."""
    settings = {
        "APP_ENV": "development",
        "DATABASE_URL": database_url(db_name),
        "SECRET_KEY": secret_key,
        "RATELIMIT_ENABLED": "false",
        "REDIS_URL": "",
    }
    os.environ.update(settings)
    return settings


# ------------------------------------------------------------------------------ gunicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def call(
    port: int, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    """One request on loopback; (status, JSON body or None; the text of an error response)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # http://127.0.0.1 only
        f"http://{HOST}:{port}{path}", data=data, method=method
    )
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


@contextmanager
def gunicorn(
    settings: dict[str, str], work: Path, *, workers: int, port: int, ready: str
) -> Iterator[int]:
    """Start `gunicorn -w WORKERS -b 127.0.0.1:PORT bench.bench_app:app` in the project's root
    (PORT 0: a free one; its log in work/gunicorn.log), wait until `GET ready` answers 200,
    always stop it afterwards. Yields the port."""
    binary = ROOT / ".venv" / "bin" / "gunicorn"
    executable = str(binary) if binary.exists() else shutil.which("gunicorn")
    if executable is None:
        raise SystemExit("gunicorn is not installed (pip install -r requirements.txt)")
    port = port or free_port()
    command = [executable, "-w", str(workers), "-b", f"{HOST}:{port}", "bench.bench_app:app"]
    log("starting: gunicorn " + " ".join(command[1:]))
    work.mkdir(exist_ok=True)
    logfile = work / "gunicorn.log"
    with logfile.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **settings},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            for _ in range(300):
                if process.poll() is not None:
                    raise RuntimeError("gunicorn exited early:\n" + logfile.read_text()[-3000:])
                try:
                    if call(port, "GET", ready)[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer within 30 s")
                time.sleep(0.1)
            else:
                raise RuntimeError("gunicorn did not answer")
            log(f"gunicorn answers on {HOST}:{port} (pid {process.pid})")
            yield port
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only gunicorn and workers
        process.wait(timeout=10)
    log("gunicorn stopped")


# ----------------------------------------------------------------------------------- wrk


@dataclass
class Run:
    """One wrk run, and what the database shows it did (filled in by the script)."""

    scenario: str
    number: int
    rps: float
    requests: int
    seconds: float
    statuses: dict[int, int]
    socket_errors: int
    p50_ms: float | None
    p99_ms: float | None
    verified: int | None = None  # run.py: rows the database shows for this run (its verify())
    responses: int = 0  # surveys_bench.py: survey_responses (submit) / bench_hits (bare) added
    ledger: int = 0  # surveys_bench.py: survey_ledger rows the run added (submit)

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300)

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if 200 <= code < 300)


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed (Debian/Ubuntu: sudo apt-get install -y wrk)")
    return path


def to_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(
    script: Path,
    script_args: Sequence[str],
    port: int,
    *,
    threads: int,
    connections: int,
    seconds: int,
    scenario: str,
    number: int,
) -> Run:
    """`wrk -tTHREADS -cCONNECTIONS -dSECONDSs --latency --timeout 5s -s SCRIPT URL --
    SCRIPT_ARGS`; its figures and the "STATUS <code> <count>" lines the script prints."""
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://{HOST}:{port}",
        "--",
        *script_args,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    out = result.stdout
    if result.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{out}\n{result.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    assert total is not None, out
    statuses = {int(c): int(n) for c, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M)}
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    latency = {
        pct: to_ms(value, unit)
        for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    }
    return Run(
        scenario=scenario,
        number=number,
        rps=rps,
        requests=int(total.group(1)),
        seconds=to_ms(total.group(2), total.group(3)) / 1000,
        statuses=statuses,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        p50_ms=latency.get("50"),
        p99_ms=latency.get("99"),
    )


# ------------------------------------------------------------------------------- report


def machine(pg_settings: Sequence[str]) -> dict[str, str]:
    """The machine and the software: CPUs, memory, kernel, load average now, Python,
    PostgreSQL's version and the settings named (as "name=value, ..."), package versions."""
    import flask
    import gunicorn as gunicorn_package
    import psycopg
    import sqlalchemy

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    names = ("server_version", *pg_settings)
    with psycopg.connect(ADMIN_DSN, connect_timeout=10) as conn:
        settings = {
            name: str(conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0])  # type: ignore[index]
            for name in names
        }
    wrk_binary = shutil.which("wrk")
    wrk_version = (
        subprocess.run(
            [wrk_binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.splitlines()
        if wrk_binary
        else []
    )
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": _memory(),
        "kernel": platform.release(),
        "load": " / ".join(f"{v:.1f}" for v in os.getloadavg()),
        "python": platform.python_version(),
        "postgresql": settings["server_version"],
        "pg_settings": ", ".join(f"{k}={settings[k]}" for k in pg_settings),
        "gunicorn": gunicorn_package.__version__,
        "flask": _version("flask", flask),
        "sqlalchemy": sqlalchemy.__version__,
        "psycopg": psycopg.__version__,
        "wrk": wrk_version[0].split(" [")[0] if wrk_version else "?",
    }


def _version(name: str, module: Any) -> str:
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:  # pragma: no cover
        return str(getattr(module, "__version__", "?"))


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def cpu_busy(seconds: float = 2.0) -> float | None:
    """Share of all CPUs busy over `seconds` while this script sleeps: other work on the
    machine (a test suite, a build, another benchmark) that the runs will compete with."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values[:8]), values[3] + values[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return 1 - (idle1 - idle0) / total if total > 0 else None


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, from /proc) a process on this machine has used so far;
    0.0 once it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def steadiness(baseline: Sequence[float], threshold: float = 0.15) -> list[str]:
    """What the baseline's own runs say about the machine during a run: their spread
    ((max - min) / median). The scenario runs sat between them, so a machine whose speed
    swung that much moved their ratios as far; past `threshold`, the report says so, so that
    a verdict a few points from its aim is not read as settled by this run."""
    middle = statistics.median(baseline) if len(baseline) >= 2 else 0.0
    if middle <= 0:
        return []
    low, high = min(baseline), max(baseline)
    spread = (high - low) / middle
    line = (
        f"The bare route's own runs gave {low:.0f}–{high:.0f} req/s, a spread of "
        f"{spread:.0%} of their median"
    )
    if spread <= threshold:
        return [f"{line}: the machine held steady through the run."]
    return [
        f"{line}: the machine's speed changed during the run (a shared machine), and the "
        "scenarios' runs between them moved as far, so a ratio within that spread of its "
        "aim is not settled by this run. Repeat it, at rest, before reading a verdict."
    ]


def write_block(path: Path, block: str, start: str, end: str, header: str) -> None:
    """Replace what lies between the markers `start` and `end` (both in `block`) with `block`;
    keep everything else in the file as it is. A file without the markers gets the block
    appended; a missing file is created with `header` before it."""
    if path.exists():
        current = path.read_text()
        if start in current and end in current:
            before, rest = current.split(start, 1)
            after = rest.split(end, 1)[1]
            path.write_text(before + block.rstrip("\n") + (after or "\n"))
            return
        path.write_text(current.rstrip("\n") + "\n\n" + block)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + block)
