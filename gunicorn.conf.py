"""gunicorn's settings for production: `gunicorn wsgi:app` reads this file from the working
directory (docs/deploy.md). Every value can be overridden on the command line or with
GUNICORN_* variables below.

- Workers from the cores: 2 × cores + 1 sync workers by default (each request holds a
  database connection while it runs; the benchmarks in docs/benchmarks.md were taken with 4
  workers on 2 cores). Threads 1: the app is I/O-light and CPU-bound on the hot paths.
- Timeouts: a worker silent for 60 s is replaced (the prize audit's export is not a web
  request at national size: issue 18 moves it to a job); graceful shutdown 30 s, so the
  requests in flight at a deploy end normally; keep-alive 5 s behind nginx.
- Workers are recycled after ~10,000 requests (jittered), which bounds a slow leak.
- Prometheus (app/metrics.py): with PROMETHEUS_MULTIPROC_DIR set, each worker writes its
  figures to a file there and /metrics adds them up. The folder is made if missing before the
  app loads, emptied when gunicorn starts (an earlier run's figures are not this run's), and a
  worker that ends has its counts folded into an archive file and its gauges forgotten
  (child_exit). One folder per gunicorn (per node).
- The access log holds no personal data and no token: method, path (ids are fine), status,
  size, duration — not the query string (a phone in a search, a `next=`), not the client's
  address, not the Referer or the User-Agent. The app's own JSON line (app/request_log.py)
  names the route, the role and the request id.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1)
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 10_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1_000)
# Behind nginx only: the proxy's X-Forwarded-* are read by the app (TRUSTED_PROXIES, ProxyFix).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# %(U)s is the path without its query string; %(M)s the duration in milliseconds.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'

# gunicorn 27's control socket sits at one path per user: two nodes on one machine would share
# it. Not used here (deploy/*.service restart through systemd): off.
control_socket_disable = True

# Load the app once in the master: a broken configuration stops the start, not each worker.
preload_app = True

# prometheus_client opens its files when the app's metrics are made, in the master (preload):
# the folder must exist before then.
METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
if METRICS_DIR:
    os.makedirs(METRICS_DIR, mode=0o700, exist_ok=True)


def on_starting(server):  # type: ignore[no-untyped-def]
    """An earlier run's figures go: its counters are not this run's, and its live gauges
    (pool use) would be added to this run's for ever. Runs once, after the app is loaded:
    the master's own files go too (it serves nothing; the workers open their own)."""
    if METRICS_DIR:
        for name in os.listdir(METRICS_DIR):
            if name.endswith(".db"):
                os.remove(os.path.join(METRICS_DIR, name))


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A worker that ended (recycled, killed, timed out): its counts stay in the sums, kept in
    one archive file (so scrapes do not slow down as workers are recycled), its pool gauges
    leave them (app/metrics.py, retire)."""
    if METRICS_DIR:
        from app.metrics import retire

        retire(worker.pid, METRICS_DIR)


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Each worker opens its own database connections: none made in the master before the
    fork is shared (SQLAlchemy's advice for forking servers). Whatever app is served
    (wsgi:app, the benchmarks' bench.bench_app:app)."""
    app = worker.wsgi
    if "sqlalchemy" in getattr(app, "extensions", {}):
        from app.db_read import replica
        from app.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)
            read = replica()  # the replica's engine, when DATABASE_READ_URL is set
            if read is not None:
                read.dispose(close=False)
        # Requests this worker's node serves at once: the default bound on starts in flight
        # (app/admission.py), whatever set the workers (this file, GUNICORN_*, -w on the line).
        app.config["SERVER_SLOTS"] = worker.cfg.workers * worker.cfg.threads
