"""Declare an endpoint once: its route, the schemas that validate it, and its OpenAPI entry.

    @endpoint("POST", "/auth/register", body=RegisterIn, responses={201: RegisterOut})
    def register(body: RegisterIn) -> Response: ...

The decorator parses and validates the JSON body and the query string (422 with every field
named), authenticates when `auth=True` (bearer token, or the browser session plus X-CSRFToken
on unsafe methods), and records the operation from which `/api/v1/openapi.json` is built.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from wtforms import ValidationError as WTFormsValidationError

from app import admission
from app.api import bp
from app.errors import api_error
from app.extensions import db, limiter
from app.models import User, utcnow
from app.parse import ID_MAX
from app.ratelimits import account_key
from app.services.tokens import token_payload, user_for_token

REF = "#/components/schemas/{model}"


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, Any]
    auth: bool
    tags: list[str] = field(default_factory=list)
    roles: tuple[str, ...] = ()
    yaml_body: bool = False
    limited: bool = False
    int_params: tuple[str, ...] = ()


OPERATIONS: list[Operation] = []


def _field_messages(error: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as `{field, message}` in the reader's language."""
    details = []
    for item in error.errors(include_url=False):
        name = ".".join(str(part) for part in item["loc"]) or "body"
        kind = item["type"]
        ctx = item.get("ctx") or {}
        if kind == "value_error":
            message = str(ctx.get("error", item["msg"]))
        elif kind == "missing":
            message = _("This field is required.")
        elif kind in {"string_too_short", "too_short"}:
            message = _("Too short: at least %(n)s characters.", n=ctx.get("min_length", 1))
        elif kind in {"string_too_long", "too_long"}:
            message = _("Too long: at most %(n)s characters.", n=ctx.get("max_length", ""))
        elif kind in {
            "greater_than_equal",
            "less_than_equal",
            "greater_than",
            "less_than",
            "out_of_range",
        }:
            message = _("Out of the allowed range.")
        elif kind in {"int_parsing", "int_type", "int_from_float"}:
            message = _("Must be a whole number.")
        elif kind in {"bool_parsing", "bool_type"}:
            message = _("Must be true or false.")
        elif kind in {"string_type"}:
            message = _("Must be text.")
        elif kind in {"enum", "literal_error"}:
            message = _("Not one of the allowed values.")
        else:
            message = _("Not a valid value.")
        details.append({"field": name, "message": message})
    return details


class Invalid(Exception):
    def __init__(self, details: list[dict[str, Any]]) -> None:
        self.details = details


def _parse(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Invalid(_field_messages(error)) from None


def _api_user() -> User | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return user_for_token(
            current_app.config["SECRET_KEY"], db.session, header[7:].strip(), utcnow()
        )
    if current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            try:
                validate_csrf(request.headers.get("X-CSRFToken"))
            except WTFormsValidationError:
                raise CSRFError(
                    _("Missing or expired CSRF token (send it in X-CSRFToken).")
                ) from None
        return current_user._get_current_object()  # type: ignore[no-any-return]
    return None


def caller_claim() -> tuple[int, str | None] | None:
    """Who the caller says they are, without loading the account: (user id, token nonce) from
    a signed, unexpired bearer token — the nonce still to be matched against the account in
    the caller's own query — or (user id, None) from the session, CSRF checked on unsafe
    methods. None: no credentials at all."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        payload = token_payload(current_app.config["SECRET_KEY"], header[7:].strip())
        if not payload or payload.get("e", 0) < utcnow().timestamp() or "u" not in payload:
            return None
        return int(payload["u"]), str(payload.get("n", ""))
    user = _api_user()
    return (user.id, None) if user is not None else None


def authenticate(roles: tuple[str, ...] = ()) -> Any:
    """An endpoint's authentication: the caller in `g.api_user` and None, or the refusal to
    return (401 unknown, 403 not one of `roles`). Views with `self_auth` call it on their full
    path, for what their own query could not settle."""
    g.api_user = _api_user()
    if g.api_user is None:
        return api_error(401)
    if roles and g.api_user.role not in roles:
        return api_error(403)
    return None


def optional_user(*, csrf: bool = False) -> User | None:
    """The caller when known (bearer token or session), else None, for endpoints open to all.
    With `csrf`, a caller known by the session must send X-CSRFToken on unsafe methods."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _api_user()
    if not current_user.is_authenticated:
        return None
    if csrf:
        return _api_user()
    return current_user._get_current_object()  # type: ignore[no-any-return]


def endpoint(
    method: str,
    rule: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: dict[int, Any],
    auth: bool = False,
    roles: tuple[str, ...] = (),
    self_auth: bool = False,
    yaml_body: bool = False,
    limit: str | None = None,
    tag: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        OPERATIONS.append(
            Operation(
                method,
                re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", "/api/v1" + rule),
                summary,
                body,
                query,
                responses,
                auth or bool(roles),
                [tag] if tag else [],
                roles,
                yaml_body,
                bool(limit),
                tuple(re.findall(r"<int:(\w+)>", rule)),
            )
        )

        @wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            if (auth or roles) and not self_auth:  # self_auth: the view checks (a hot path)
                refusal = authenticate(roles)
                if refusal is not None:
                    return refusal
            if query is not None:  # the query string is not JSON: 400 (api.md), fields named
                try:
                    kwargs["query"] = _parse(query, request.args.to_dict())
                except Invalid as invalid:
                    return api_error(400, invalid.details[0]["message"], invalid.details)
            if body is not None:
                data = request.get_json(silent=True)
                if not isinstance(data, dict):
                    return api_error(400, _("The request body must be a JSON object."))
                try:
                    kwargs["body"] = _parse(body, data)
                except Invalid as invalid:
                    return api_error(422, details=invalid.details)
            return view(**kwargs)

        if limit:
            # Per account when the caller is signed in (bearer token or session), else per
            # address: many residents share one address behind carrier NAT.
            # A wait in line (503, admission control) with the ticket of one's place is not
            # counted: the person only did what Retry-After told them (admission.counted).
            wrapped = limiter.limit(
                limit, key_func=account_key, deduct_when=lambda _r: admission.counted()
            )(wrapped)
        bp.add_url_rule(rule, view.__name__, wrapped, methods=[method])
        return wrapped

    return decorator


def _schema_ref(tp: Any) -> dict[str, Any]:
    if typing.get_origin(tp) is list:
        return {"type": "array", "items": _schema_ref(typing.get_args(tp)[0])}
    return {"$ref": REF.format(model=tp.__name__)}


def _models(tp: Any) -> list[type[BaseModel]]:
    if typing.get_origin(tp) is list:
        return _models(typing.get_args(tp)[0])
    return [tp] if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def openapi_document() -> dict[str, Any]:
    from app.api.schemas import ErrorOut

    models: set[type[BaseModel]] = {ErrorOut}
    for op in OPERATIONS:
        for tp in [op.body, *op.responses.values()]:
            if tp is not None:
                models.update(_models(tp))
    _, defs = models_json_schema(
        [
            (m, "serialization" if not issubclass(m, _request_base()) else "validation")
            for m in sorted(models, key=lambda m: m.__name__)
        ],
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        slug = re.sub(r"[^a-z0-9]+", "_", op.path.lower()).strip("_")
        operation: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{op.method.lower()}_{slug}",
            "responses": {},
        }
        if op.tags:
            operation["tags"] = op.tags
        if op.query is not None:
            schema = op.query.model_json_schema()
            operation["parameters"] = [
                {
                    "name": name,
                    "in": "query",
                    "required": name in schema.get("required", []),
                    "schema": prop,
                }
                for name, prop in schema["properties"].items()
            ]
        params = re.findall(r"{(\w+)}", op.path)
        if params:
            operation.setdefault("parameters", []).extend(
                {"name": p, "in": "path", "required": True, "schema": _path_schema(op, p)}
                for p in params
            )
        if op.yaml_body:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/yaml": {"schema": {"type": "string"}}},
            }
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(op.body)}},
            }
        if op.auth:
            operation["security"] = [{"bearer": []}, {"session": []}]
        if op.roles:
            operation["description"] = "Allowed to: " + ", ".join(op.roles) + "."
        statuses = dict(op.responses)
        if op.body is not None or op.query is not None or (op.auth and op.method != "GET"):
            # a bad query string, a body not a JSON object, a session call without X-CSRFToken
            statuses.setdefault(400, ErrorOut)
        if op.body is not None or op.query is not None:
            statuses.setdefault(422, ErrorOut)  # a body's fields; a query its view refuses
        if op.body is not None or op.yaml_body:
            statuses.setdefault(413, ErrorOut)  # beyond MAX_CONTENT_LENGTH
        if params:
            statuses.setdefault(404, ErrorOut)  # no such id, or an id beyond 2**31-1
        if op.limited:
            statuses.setdefault(429, ErrorOut)
        if op.auth:
            statuses.setdefault(401, ErrorOut)
        if op.roles:
            statuses.setdefault(403, ErrorOut)
        for status, tp in sorted(statuses.items()):
            entry: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "Response")}
            if isinstance(tp, str):  # a file of that media type (a certificate's PDF)
                entry["content"] = {tp: {"schema": {"type": "string", "format": "binary"}}}
            elif tp is not None:
                entry["content"] = {"application/json": {"schema": _schema_ref(tp)}}
            operation["responses"][str(status)] = entry
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Civic quiz and survey platform API",
            "version": "1",
            "description": "JSON API v1. Errors: {error: {code, message, details}}.",
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "From POST /api/v1/auth/token",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The browser session; unsafe methods also send X-CSRFToken",
                },
            },
        },
    }


def _path_schema(op: Operation, name: str) -> dict[str, Any]:
    """`<int:name>` (the app's bounded converter, app.parse) as an integer; others as text."""
    if name in op.int_params:
        return {"type": "integer", "minimum": 0, "maximum": ID_MAX}
    return {"type": "string"}


def _request_base() -> type[BaseModel]:
    from app.api.schemas import Request

    return Request


_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No content",
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    422: "Validation error",
    429: "Rate limited (see Retry-After)",
}
