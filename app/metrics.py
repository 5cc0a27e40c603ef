"""Prometheus metrics at `/metrics` (issue 18, point 3), with prometheus_client, the Prometheus
project's own client.

What is measured:
- every request, by route name (`endpoint`: `contests.attempt_page`, never the path, whose ids
  would make a series per attempt), method (the standard ones; anything else is `OTHER`, so a
  client inventing methods cannot invent series) and status: `civic_http_request_duration_
  seconds` (a histogram: its `_count` is the number of requests);
- the business events, counted where each happens once (`app/services/attempts.py`,
  `app/services/surveys.py`), after its transaction committed and only when it changed a row:
  `civic_attempts_started_total`, `civic_attempts_finished_total{state}`,
  `civic_survey_responses_total{kind}`. Counted in the process, not read from the database at
  scrape time: every app node reports its own share (Prometheus adds the nodes up, where a
  count read from the shared database would be reported once per node), and a scrape costs
  the database nothing;
- the database pools (`civic_db_pool_*{engine}`), set on each check-out and check-in;
- the jobs' queues (`jobs_gauges()`), read at scrape time.

Under gunicorn every worker is a process of its own: with `PROMETHEUS_MULTIPROC_DIR` set
(docs/deploy.md) each writes its figures to a file there and a scrape adds the files up
(gunicorn.conf.py empties the folder at start and `retire`s each worker that ends), so a count
is the node's, whichever worker answers the scrape. Without it (one process: `flask run`,
tests) the figures are the process's own.

Only addresses in `METRICS_ALLOW` read them; anyone else gets the site's 404 page."""

from __future__ import annotations

import fcntl
import glob
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
EXTENSION = "civic_metrics_allow"

disable_created_metrics()  # no `_created` twin of each series (multiprocess mode has none)

REQUESTS = Histogram(
    "civic_http_request_duration_seconds",
    "Time to answer a request, by route name, method and status (_count: requests).",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=None,
)
ATTEMPTS_STARTED = Counter(
    "civic_attempts_started", "Contest attempts started (a paper drawn).", registry=None
)
ATTEMPTS_FINISHED = Counter(
    "civic_attempts_finished",
    "Contest attempts finished: submitted by the resident, or expired at the deadline.",
    ["state"],
    registry=None,
)
SURVEY_RESPONSES = Counter(
    "civic_survey_responses",
    "Survey responses taken (an anonymous one counted when it is sealed for the mixer).",
    ["kind"],
    registry=None,
)
# livesum: the pools of the workers alive now, added up (a dead worker's are forgotten).
POOL_CHECKED_OUT = Gauge(
    "civic_db_pool_checked_out",
    "Database connections in use by requests.",
    ["engine"],
    multiprocess_mode="livesum",
    registry=None,
)
POOL_SIZE = Gauge(
    "civic_db_pool_size",
    "Connections each pool keeps (pool_size), added up over the workers.",
    ["engine"],
    multiprocess_mode="livesum",
    registry=None,
)
# Every label value of the events from the start: a series at 0, so rate() sees the first one.
for _state in ("submitted", "expired"):
    ATTEMPTS_FINISHED.labels(state=_state)
for _kind in ("anonymous", "identified"):
    SURVEY_RESPONSES.labels(kind=_kind)
OWN = (REQUESTS, ATTEMPTS_STARTED, ATTEMPTS_FINISHED, SURVEY_RESPONSES)
POOLS = (POOL_CHECKED_OUT, POOL_SIZE)


# ------------------------------------------------------------------ the business events


def attempt_started() -> None:
    ATTEMPTS_STARTED.inc()


def attempt_finished(state: str) -> None:
    """`state`: submitted | expired."""
    ATTEMPTS_FINISHED.labels(state=state).inc()


def survey_response(anonymous: bool) -> None:
    SURVEY_RESPONSES.labels(kind="anonymous" if anonymous else "identified").inc()


# ------------------------------------------------------------------------------- the jobs


def jobs_gauges() -> dict[str, dict[str, float]]:
    """The background jobs' queue, read at scrape time: {"queued": {queue: n}, "failed":
    {queue: n}}, exposed as `civic_jobs_queued{queue}` and `civic_jobs_failed{queue}` — RQ's
    queue length and its failed-job registry (app/jobs). Without `REDIS_URL` the jobs run in a
    thread of the web process and nothing waits in a queue: {}. These are the whole
    deployment's figures, the same from every node (aggregate them with max, not sum)."""
    from flask import has_app_context

    if not has_app_context():
        return {}
    from app import jobs

    if jobs.redis_connection() is None:
        return {}
    from rq.registry import FailedJobRegistry

    queue = jobs.queue()
    return {
        "queued": {queue.name: float(queue.count)},
        "failed": {queue.name: float(FailedJobRegistry(queue=queue).count)},
    }


class _Jobs(Collector):
    def collect(self) -> Any:
        try:
            figures = jobs_gauges()
        except Exception:  # Redis down: the scrape still answers, without these
            log.exception("the jobs' queues could not be read for /metrics")
            return
        for kind, per_queue in sorted(figures.items()):
            family = GaugeMetricFamily(
                f"civic_jobs_{kind}", f"Background jobs {kind}, per queue.", labels=["queue"]
            )
            for queue, value in sorted(per_queue.items()):
                family.add_metric([queue], float(value))
            yield family


# --------------------------------------------------------------------------------- pools


def watch_pool(engine: Engine, name: str) -> None:
    """Keep the pool gauges of `engine` (labelled `name`) as connections are checked out and
    in. SQLAlchemy tells of a check-in before the pool counts it back: hence the -1."""

    def measure(adjust: int) -> Any:
        def listener(*_args: Any) -> None:
            pool = engine.pool
            if not hasattr(pool, "checkedout"):  # pools without counts (StaticPool, NullPool)
                return
            POOL_CHECKED_OUT.labels(engine=name).set(max(pool.checkedout() + adjust, 0))
            POOL_SIZE.labels(engine=name).set(pool.size())

        return listener

    event.listen(engine, "checkout", measure(0))
    event.listen(engine, "checkin", measure(-1))


# ---------------------------------------------------------------------------- exposition


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


@contextmanager
def _folder_lock(path: str, exclusive: bool) -> Iterator[None]:
    """Scrapes read the folder together (shared); retiring a worker's files waits for them
    and holds them off (exclusive), so no scrape sees a count twice or not at all."""
    with open(os.path.join(path, "folder.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def retire(pid: int, path: str) -> None:
    """A worker that ended (gunicorn.conf.py's child_exit): its pool gauges leave the sums,
    and its counters and histograms are added into one archive file per kind and its own
    files removed. gunicorn recycles workers (max_requests); without this a scrape reads
    every worker that ever lived, and grows slower with each (docs/benchmarks.md, "Issue 18 —
    metrics": 10 s at 1,000 workers' files)."""
    from prometheus_client import multiprocess
    from prometheus_client.mmap_dict import MmapedDict

    with _folder_lock(path, exclusive=True):
        multiprocess.mark_process_dead(pid, path)
        for kind in ("counter", "histogram"):
            dead = os.path.join(path, f"{kind}_{pid}.db")
            if not os.path.exists(dead):
                continue
            archive = MmapedDict(os.path.join(path, f"{kind}_archive.db"))
            try:
                for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(dead):
                    kept, _ = archive.read_value(key)
                    archive.write_value(key, kept + value, timestamp)
            finally:
                archive.close()
            os.remove(dead)


def exposition() -> bytes:
    """The text Prometheus reads: every worker's figures when under gunicorn."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_Jobs())
    folder = multiprocess_dir()
    if folder is None:
        for metric in (*OWN, *POOLS):
            registry.register(metric)
        return generate_latest(registry)
    registry.register(_Workers(folder))
    with _folder_lock(folder, exclusive=False):
        return generate_latest(registry)


class _Workers(Collector):
    """prometheus_client's multiprocess merge over the folder's files, less those a worker
    gunicorn has just started is still creating (empty until the header is written: reading
    one raised struct.error, a 500 for the scrape)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def collect(self) -> Any:
        from prometheus_client import multiprocess

        ready = []
        for path in glob.glob(os.path.join(self.folder, "*.db")):
            with suppress(OSError):  # retired between the listing and here
                if os.path.getsize(path) >= 8:
                    ready.append(path)
        return multiprocess.MultiProcessCollector.merge(ready, accumulate=True)


def _method() -> str:
    return request.method if request.method in METHODS else "OTHER"


def init_app(app: Flask) -> None:
    from app.access import networks

    app.extensions[EXTENSION] = networks(app.config["METRICS_ALLOW"], "METRICS_ALLOW")
    with app.app_context():
        from app.extensions import db

        watch_pool(db.engine, "primary")

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("request_started")  # set first thing by app/request_log.py
        if started is not None:
            REQUESTS.labels(
                endpoint=request.endpoint or "none",  # no route: a 404 or a 405
                method=_method(),
                status=str(response.status_code),
            ).observe(max(time.perf_counter() - started, 0.0))
        return response

    app.add_url_rule("/metrics", "metrics", _view)


def _view() -> Response:
    """For the monitoring server only: the same 404 as any unknown address for everyone else,
    so a scanner learns nothing. Reads no session and does no other work."""
    from app.access import address_within

    if not address_within(request.remote_addr, current_app.extensions[EXTENSION]):
        abort(404)
    response = Response(exposition(), mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
