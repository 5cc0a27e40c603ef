"""The marks a browser leaves for the prize audit (app.services.suspicious): a long-lived
random device id in a signed cookie, set at sign-up and at the start of an attempt, and keyed
hashes of the client address (and user agent). No raw address is stored.

- `AttemptDevice` (one row per attempt, written by the start routes right after
  `attempts.start`): the device id and HMAC(secret, "client", round id, address, user agent),
  keyed per round, so that it compares attempts of that round and nothing else.
- `AccountOrigin` (one row per account, written by the sign-up routes): the device id and
  HMAC(secret, "signup", address), for bursts of accounts made from one address.

The cookie is signed (itsdangerous, the app's SECRET_KEY): a forged or edited value is
ignored and replaced, so that one device cannot claim to be another without its cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from flask import Flask, Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import AccountOrigin, AttemptDevice
from app.signing import app_serializer

COOKIE = "device"
COOKIE_MAX_AGE_S = 2 * 365 * 24 * 3600  # two years: a device keeps its id across contests
SALT = "device-id"
HASH_HEX = 32  # 128 bits of the HMAC: no collision among a province's addresses


def _serializer() -> URLSafeSerializer:
    return app_serializer(SALT)


def device_id() -> str:
    """This browser's device id: the one its signed cookie holds, else a new random one (sent
    back as a cookie with the response)."""
    if "device_id" in g:
        return str(g.device_id)
    raw = request.cookies.get(COOKIE)
    found: str | None = None
    if raw:
        try:
            value = _serializer().loads(raw)
        except BadSignature:
            value = None
        if isinstance(value, str) and len(value) == 32 and set(value) <= set("0123456789abcdef"):
            found = value
    g.device_id = found or secrets.token_hex(16)
    g.device_new = found is None
    return str(g.device_id)


def keyed(*parts: object) -> str:
    """HMAC-SHA256 of the parts under the app's secret key, as HASH_HEX hex digits."""
    message = "\x1f".join(str(part) for part in parts).encode()
    secret = current_app.secret_key or ""
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:HASH_HEX]


def client_mark(round_id: int) -> str:
    """The client address and user agent of this request, keyed for one round."""
    agent = request.headers.get("User-Agent", "")[:500]
    return keyed("client", round_id, request.remote_addr or "", agent)


def _insert_once(session: Session, model: Any, values: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: two starts of one attempt at once (the second resumes
    it) keep the first marks, and neither fails."""
    dialect = session.get_bind().dialect.name
    upsert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    session.execute(upsert(model).values(**values).on_conflict_do_nothing())


def remember_start(session: Session, attempt_id: int, round_id: int) -> None:
    """Keep where an attempt was started (the first start only: a resumed attempt keeps its
    first marks). The caller commits."""
    values = {"attempt_id": attempt_id, "device": device_id(), "client": client_mark(round_id)}
    _insert_once(session, AttemptDevice, values)


def remember_signup(session: Session, user_id: int, now: datetime) -> None:
    """Keep where an account was created from. The caller commits."""
    address = keyed("signup", request.remote_addr or "")
    values = {"user_id": user_id, "device": device_id(), "address": address, "created_at": now}
    _insert_once(session, AccountOrigin, values)


def _set_cookie(response: Response) -> Response:
    if g.get("device_new"):
        response.set_cookie(
            COOKIE,
            _serializer().dumps(g.device_id),
            max_age=COOKIE_MAX_AGE_S,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            httponly=True,
            samesite="Lax",
        )
    return response


def init_app(app: Flask) -> None:
    app.after_request(_set_cookie)
