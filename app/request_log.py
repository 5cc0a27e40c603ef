"""One JSON line per request, and a request id to find it by (issue 18, point 7).

Each request gets an id: the one the trusted proxy sent in `X-Request-ID` (nginx's
`$request_id`, deploy/nginx.conf) when the app stands behind one and the id is well formed,
else a new one. It is sent back in `X-Request-ID`, shown on error pages ("Mã yêu cầu") and in
API errors, and carried by every log record made while the request is served.

The line holds the route's name (`contests.attempt_page`, never the path: no ids, no query
string), the method, the status, the duration, and the role of a signed-in user — nothing
personal (app/logs.py decides what database errors may say). In production the lines are
written as JSON to standard error (gunicorn collects them); elsewhere they go through the
usual logging like any record."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from app.access import PROXIED

LOGGER = "civic.requests"
HEADER = "X-Request-ID"
_WELL_FORMED = re.compile(r"[A-Za-z0-9]{16,64}")

log = logging.getLogger(LOGGER)


def request_id() -> str | None:
    """The id of the request being served (given on first use), or None outside a request."""
    if not has_request_context():
        return None
    rid: str | None = g.get("request_id")
    if rid is None:
        sent = request.headers.get(HEADER, "")
        trusted = request.environ.get(PROXIED) and _WELL_FORMED.fullmatch(sent)
        rid = g.request_id = sent if trusted else uuid.uuid4().hex
    return rid


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


def _install_record_factory() -> None:
    """Every record made while a request is served carries its id (an error's traceback, a
    warning from a service), whichever logger makes it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _role() -> str:
    # Only a user the request already loaded: reading current_user here would cost every
    # request (a static file, /health) a query for its session.
    user = g.get("_login_user")
    role = getattr(user, "role", None)
    return str(getattr(role, "value", role)) if role else "anonymous"


def init_app(app: Flask) -> None:
    _install_record_factory()
    if app.config.get("REQUEST_LOG_JSON") and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(json_formatter())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    @app.before_request
    def _begin() -> None:
        g.request_started = time.perf_counter()
        request_id()

    @app.after_request
    def _end(response: Response) -> Response:
        rid = request_id()
        response.headers[HEADER] = rid
        started = g.get("request_started")
        log.info(
            "request",
            extra={  # request_id: added to every record (_install_record_factory)
                "route": request.endpoint,
                "method": request.method,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)
                if started is not None
                else 0.0,
                "role": _role(),
            },
        )
        return response
