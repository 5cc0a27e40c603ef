"""Rate limits that decorators cannot express: failed sign-ins, per phone and per IP.

Only failures count (a successful sign-in is never limited), so the route asks `signin_blocked`
before checking the password and calls `record_failed_signin` after a failure. The counters live
in Flask-Limiter's storage: Redis when REDIS_URL is set, else memory.
"""

from __future__ import annotations

import time

from flask import current_app
from limits import parse

from app.extensions import limiter

FAILED_SIGNIN = parse("5 per 15 minutes")
REGISTRATIONS = "20 per hour"


def _keys(phone: str, ip: str) -> list[tuple[str, str, str]]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    return [(prefix, "signin-phone", phone), (prefix, "signin-ip", ip)]


def signin_blocked(phone: str, ip: str) -> int | None:
    """Seconds until the next try is allowed, or None when sign-in may proceed."""
    if not limiter.enabled:
        return None
    waits = []
    for keys in _keys(phone, ip):
        if not limiter.limiter.test(FAILED_SIGNIN, *keys):
            reset_at = limiter.limiter.get_window_stats(FAILED_SIGNIN, *keys).reset_time
            waits.append(max(1, int(reset_at - time.time()) + 1))
    return max(waits) if waits else None


def record_failed_signin(phone: str, ip: str) -> None:
    if limiter.enabled:
        for keys in _keys(phone, ip):
            limiter.limiter.hit(FAILED_SIGNIN, *keys)


ATTEMPT_STARTS = "10 per minute"
SURVEY_SUBMISSIONS = "30 per minute"


def account_key() -> str:
    """Rate-limit key of the signed-in account (bearer token or session), else the address."""
    from flask import request
    from flask_login import current_user

    from app.services.tokens import token_payload

    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        payload = token_payload(current_app.config["SECRET_KEY"], header[7:].strip())
        if payload and "u" in payload:
            return f"user:{payload['u']}"
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"
