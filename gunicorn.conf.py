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


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Each worker opens its own database connections: none made in the master before the
    fork is shared (SQLAlchemy's advice for forking servers). Whatever app is served
    (wsgi:app, the benchmarks' bench.bench_app:app)."""
    app = worker.wsgi
    if "sqlalchemy" in getattr(app, "extensions", {}):
        from app.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)
        # Requests this worker's node serves at once: the default bound on starts in flight
        # (app/admission.py), whatever set the workers (this file, GUNICORN_*, -w on the line).
        app.config["SERVER_SLOTS"] = worker.cfg.workers * worker.cfg.threads
