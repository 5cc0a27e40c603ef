"""One place that turns errors into responses: JSON under /api/, friendly pages elsewhere."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
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
        503: _("Many people are starting at this moment. Please try again shortly."),
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

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> Response:
        # Logged without what the database was sent or said about it (app/logs.py).
        app.logger.error(
            "unhandled error on %s %s", request.method, request.path, exc_info=loggable(error)
        )
        return render(500)
