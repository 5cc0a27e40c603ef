"""Bearer tokens for the API: signed, expiring, and void once the account's nonce rotates."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature
from sqlalchemy import and_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.models import User
from app.signing import serializer

_SALT = "api-token-v1"
# Issued tokens are about 100 characters; longer strings sent as tokens (an attacker's, up to
# the server's header limit) are checked without being remembered, so the cache stays small.
TOKEN_CACHED_MAX = 256


def issue_token(
    secret_key: str, user: User, now: datetime, lifetime: timedelta
) -> tuple[str, datetime]:
    expires_at = (now + lifetime).replace(microsecond=0)
    payload = {"u": user.id, "n": user.auth_nonce, "e": int(expires_at.timestamp())}
    return serializer(secret_key, _SALT).dumps(payload), expires_at


def token_payload(secret_key: str, token: str) -> dict[str, Any] | None:
    """The signed content of a token (not yet checked against the account), or None. A copy:
    the signature is checked once per token and process (`_verified`), the expiry and the
    account's nonce by each caller every time."""
    if len(token) > TOKEN_CACHED_MAX:  # no token we issue is this long: not kept in memory
        payload = _verified.__wrapped__(secret_key, token)
    else:
        payload = _verified(secret_key, token)
    return dict(payload) if payload is not None else None


@lru_cache(maxsize=8192)
def _verified(secret_key: str, token: str) -> dict[str, Any] | None:
    """A pure function of the key and the token: whether its signature holds and what it
    says. Answer saves call it twice a request (the rate limit's key, the caller's claim);
    bounded, so tokens sprayed at the API only push others out."""
    try:
        payload = serializer(secret_key, _SALT).loads(token)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None


def user_for_token(secret_key: str, session: Session, token: str, now: datetime) -> User | None:
    payload = token_payload(secret_key, token)
    if payload is None or payload.get("e", 0) < now.timestamp():
        return None
    user = session.get(User, payload.get("u"))
    if user is None or not user.is_active or user.auth_nonce != payload.get("n"):
        return None
    if user.must_change_password:  # no token is issued then; one from before is refused
        return None
    return user


def holds_token(nonce: Any) -> ColumnElement[bool]:
    """`user_for_token`'s account checks as SQL, for hot paths that check a token's claim in
    their own query (joined to `users`): the nonce still the account's, the account neither
    deleted nor disabled, and no password change pending."""
    return and_(
        User.auth_nonce == nonce,
        User.deleted_at.is_(None),
        User.disabled_at.is_(None),
        User.must_change_password.is_(False),
    )
