"""One place that turns errors into responses: JSON under /api/, friendly pages elsewhere."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from app.logs import loggable
from app.request_log import request_id

API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "bad_request",
    409: "conflict",
    413: "too_large",
    415: "bad_request",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}
RETRY_AFTER_UNAVAILABLE = 5  # seconds: a reconnect, a database restart, a worker replaced


class DomainError(Exception):
    """A request that cannot be served as sent, whatever serves it: an English msgid (marked
    `N_`) with its parameters, the status, and the field to name. Rendered in one place,
    below: a JSON error under /api/ (api.md), a Vietnamese page elsewhere."""

    def __init__(
        self,
        message_id: str,
        params: dict[str, Any] | None = None,
        status: int = 400,
        field: str | None = None,
    ) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.params = params or {}
        self.status = status
        self.field = field

    def message(self) -> str:
        return _(self.message_id, **self.params)


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Please go back and try again."),
        401: _("Please sign in first."),
        403: _("You do not have permission to see this page."),
        404: _("We could not find that page."),
        405: _("That action is not allowed here."),
        409: _("That conflicts with what is already saved."),
        413: _("What you sent is too large."),
        415: _("The request must be sent as JSON."),
        422: _("Some of what you entered is not valid."),
        429: _("Too many attempts. Please wait a moment and try again."),
        500: _("Something went wrong on our side. Please try again in a few minutes."),
        503: _(
            "The service is briefly interrupted. Nothing you saved is lost: please try again "
            "in a few seconds."
        ),
    }


def api_error(
    status: int,
    message: str | None = None,
    details: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Response:
    """The error body of api.md; `fields` add to it (a 503's `queue`)."""
    body = {
        "error": {
            "code": API_CODES.get(status, "server_error"),
            "message": message or _messages().get(status, _messages()[500]),
            "details": details or [],
            "request_id": request_id(),  # to find this request in the log (app/request_log.py)
            **fields,
        }
    }
    response = jsonify(body)
    response.status_code = status
    return response


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database is out of reach (down, restarting, the connection cut
    by an administrator, the pool exhausted) rather than that a statement is wrong: the
    former is a 503 to retry, the latter a 500 (a bug)."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    sqlstate = getattr(getattr(orig, "diag", None), "sqlstate", None) or getattr(
        orig, "sqlstate", None
    )
    if sqlstate:  # connection exceptions (08), operator intervention (57P0x), too many clients
        return str(sqlstate).startswith(("08", "57P0")) or sqlstate == "53300"
    # psycopg's OperationalError without a state: the connection could not be made or was lost
    module = type(orig).__module__ if orig is not None else ""
    return module.startswith("psycopg") and type(orig).__name__ == "OperationalError"


def wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    def render(
        status: int, message: str | None = None, retry_after: int | None = None, back: bool = False
    ) -> Response:
        if wants_json():
            response = api_error(status, message)
        else:
            page = render_template(
                "errors/error.html",
                status=status,
                message=message or _messages().get(status),
                back=request.path if back and request.method == "POST" else None,
                request_id=request_id(),
            )
            response = Response(page, status=status)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        return render(
            400,
            _("Your form expired or was sent from elsewhere. Please reload and try again."),
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Response:
        message = error.message()
        if wants_json():
            details = [{"field": error.field, "message": message}] if error.field else []
            return api_error(error.status, message, details)
        return render(error.status, message, back=True)  # to the form that was sent

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        retry_after = None
        if status == 429:
            limit = getattr(error, "limit", None)
            retry_after = int(limit.limit.get_expiry()) if limit is not None else 60
        message = None
        if status == 429:
            message = _messages()[429]
        elif error.description != type(error).description:
            message = error.description  # a view's own message, already translated
        return render(status, message, retry_after)

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def database_error(error: Exception) -> Response:
        if not database_unavailable(error):
            return server_error(error)
        app.logger.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.path,
            (str(loggable(error)[1]).splitlines() or [""])[0],  # kind and SQLSTATE only
        )
        # The page must not reach for the database again (the signed-in account, say).
        from flask import g

        from app.extensions import login_manager

        g._login_user = login_manager.anonymous_user()
        return render(503, retry_after=RETRY_AFTER_UNAVAILABLE)

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> Response:
        # Logged without what the database was sent or said about it (app/logs.py).
        app.logger.error(
            "unhandled error on %s %s", request.method, request.path, exc_info=loggable(error)
        )
        return render(500)
