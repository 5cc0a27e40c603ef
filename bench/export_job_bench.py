"""The prize audit's XLSX of 100,000 participants as a background job (issue 18.2).

    .venv/bin/python bench/export_job_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/civic_bench_jobs]
        [--count 100000] [--runs 3] [--reuse] [--out bench/results-export-jobs.md]

Builds (or, with --reuse, keeps) its database with bench/ranking_bench.py's `prepare` (the
sample contest, `flask demo attempts`), then, through the real app (test client, signed in
as a province officer), interleaved for each run:
- baseline: `GET /contests/rounds/<id>/ranking.xlsx`, the export inside the web request, the
  ranking cache emptied first (what the first officer after a submit pays);
- rq: `POST …/ranking.xlsx/job` with REDIS_URL set, a real `flask jobs worker` (RQ, a forked
  work horse per job, so a cold cache every time) started by this script; the request's own
  latency, then the time from the POST until `/jobs/<id>.json` says "done" (polled every
  POLL, half a second: the timing is at most that late);
- inline: the same POST without REDIS_URL: the job runs in a thread of this process.
Median of --runs for each, the machine's load (1-minute average) before each run. Stops the
worker and deletes its queue (helpjobs-bench-…) at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ranking_bench import prepare  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/civic_bench_jobs"
REDIS = "redis://127.0.0.1:6379/0"
POLL = 0.5  # seconds between two status reads (a browser reads every 2 s)
OFFICER = ("0900001801", "bench-mat-khau-2026")  # a bench database of its own


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the database if populated")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results-export-jobs.md"))
    parser.add_argument("--timeout", type=float, default=300, help="seconds a job may take")
    args = parser.parse_args()

    log: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        log.append(line)

    app, round_id, _opens, closes, clock = prepare(args.url, args.count, args.reuse, say)
    from datetime import timedelta

    clock["now"] = closes + timedelta(minutes=5)  # the final ranking, as the prize audit reads
    officer_client = _officer(app)
    queue = f"helpjobs-bench-{secrets.token_hex(4)}"
    worker = _start_worker(args.url, queue)
    results: dict[str, list[float]] = {}
    loads: list[float] = []
    try:
        for run in range(1, args.runs + 1):
            loads.append(os.getloadavg()[0])
            say(f"run {run}: load {loads[-1]:.2f}")
            direct = _direct(app, officer_client, round_id)
            results.setdefault("baseline: XLSX inside the request", []).append(direct)
            say(f"  baseline (in the request)  {direct:8.0f} ms")
            app.config.update(REDIS_URL=REDIS, JOBS_QUEUE=queue)
            request_ms, ready_ms, size = _job(app, officer_client, round_id, args.timeout)
            results.setdefault("rq: the POST's own latency", []).append(request_ms)
            results.setdefault("rq: POST → file ready", []).append(ready_ms)
            say(f"  rq: POST {request_ms:6.0f} ms, ready after {ready_ms:8.0f} ms ({size:,} B)")
            app.config.update(REDIS_URL=None)
            request_ms, ready_ms, size = _job(app, officer_client, round_id, args.timeout)
            results.setdefault("inline: the POST's own latency", []).append(request_ms)
            results.setdefault("inline: POST → file ready", []).append(ready_ms)
            say(f"  inline: POST {request_ms:6.0f} ms, ready after {ready_ms:8.0f} ms")
    finally:
        _stop_worker(worker, queue)
    _write(args, results, loads, log)
    return 0


def _officer(app: Any) -> Any:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Role, User, utcnow
    from app.services.accounts import NewAccount, create_account

    phone, password = OFFICER
    with app.app_context():
        if db.session.scalar(select(User).where(User.phone == phone)) is None:
            create_account(
                db.session,
                NewAccount(
                    name="Cán bộ đo đạc",
                    phone=phone,
                    password=password,
                    unit_code=92,
                    role=Role.OFFICER,
                ),
                utcnow(),
                consent=False,
            )
    client = app.test_client()
    login = client.post("/auth/login", data={"phone": phone, "password": password})
    assert login.status_code == 302, login.status_code
    return client


def _direct(app: Any, client: Any, round_id: int) -> float:
    from app.extensions import db
    from app.services import ranking

    with app.app_context():
        ranking.invalidate(db.session)
    start = time.perf_counter()
    response = client.get(f"/contests/rounds/{round_id}/ranking.xlsx")
    data = response.get_data()
    assert response.status_code == 200 and data[:2] == b"PK"
    return (time.perf_counter() - start) * 1000


def _job(app: Any, client: Any, round_id: int, timeout: float) -> tuple[float, float, int]:
    from app.extensions import db
    from app.services import ranking

    with app.app_context():
        ranking.invalidate(db.session)  # the inline job runs in this process: cold, as rq's
    start = time.perf_counter()
    posted = client.post(f"/contests/rounds/{round_id}/ranking.xlsx/job")
    request_ms = (time.perf_counter() - start) * 1000
    assert posted.status_code == 303, posted.status_code
    job = posted.headers["Location"]
    while True:
        state = client.get(f"{job}.json").get_json()
        if state["state"] in ("done", "failed"):
            break
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"{job} not ready after {timeout} s: {state}")
        time.sleep(POLL)
    ready_ms = (time.perf_counter() - start) * 1000
    assert state["state"] == "done", state
    data = client.get(f"{job}/file").get_data()
    assert data[:2] == b"PK" and len(data) == state["size"]
    return request_ms, ready_ms, len(data)


def _start_worker(url: str, queue: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "REDIS_URL": REDIS,
        "JOBS_QUEUE": queue,
        "OPENBLAS_NUM_THREADS": "1",
    }
    worker = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "flask"), "jobs", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Timed from a worker already listening: its own start (importing the app) is not a job's.
    from redis import Redis
    from rq import Queue, Worker

    listening = Queue(queue, connection=Redis.from_url(REDIS))
    deadline = time.monotonic() + 120
    while not Worker.all(queue=listening):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the worker did not start")
        time.sleep(0.2)
    return worker


def _stop_worker(worker: subprocess.Popen[bytes], queue: str) -> None:
    from redis import Redis
    from rq import Queue

    worker.terminate()
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    Queue(queue, connection=Redis.from_url(REDIS)).delete(delete_jobs=True)


def _write(
    args: argparse.Namespace, results: dict[str, list[float]], loads: list[float], log: list[str]
) -> None:
    baseline = statistics.median(results["baseline: XLSX inside the request"])
    lines = [
        "# Export jobs benchmark (issue 18.2)",
        "",
        f"`python bench/export_job_bench.py --count {args.count} --runs {args.runs}`, "
        f"{time.strftime('%Y-%m-%d %H:%M')}: Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load (1 min) before each run: "
        + ", ".join(f"{x:.2f}" for x in loads)
        + ".",
        "",
        "| what | median ms | runs (ms) | ratio to the in-request export |",
        "|---|---:|---|---:|",
    ]
    for name, values in results.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.0f}" for v in values)
        lines.append(f"| {name} | {median:,.0f} | {runs} | {median / baseline:.3f} |")
    lines += ["", "Log:", "", *[f"    {line}" for line in log], ""]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
