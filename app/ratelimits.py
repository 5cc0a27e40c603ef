"""Rate limits that decorators cannot express: sign-in tries, per phone and per address.

Each try is counted *before* the password is checked, by one atomic operation per counter
(`hit`: an INCR on Redis, a locked increment in memory), so concurrent tries cannot slip past
the limit between a check and a count. A phone is locked after FAILED_SIGNIN_PHONE tries
without a success (a success clears its counter): that locks the phone's owner out for a
while, not everyone else. An address is limited only past a much higher bound, since behind
carrier NAT or the province's proxy one address is many people; the address is the client's
real one (ProxyFix, `TRUSTED_PROXIES`). The counters live in Flask-Limiter's storage: Redis
when REDIS_URL is set, else memory.
"""

from __future__ import annotations

import time

from flask import current_app
from limits import RateLimitItem, parse

from app.extensions import limiter

FAILED_SIGNIN_PHONE = parse("5 per 15 minutes")
SIGNIN_ADDRESS = parse("100 per 15 minutes")
REGISTRATIONS = "20 per hour"


def _counters(phone: str, ip: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    return [
        (FAILED_SIGNIN_PHONE, (prefix, "signin-phone", phone)),
        (SIGNIN_ADDRESS, (prefix, "signin-ip", ip)),
    ]


def signin_try(phone: str, ip: str) -> int | None:
    """Count a sign-in try; None when the password may be checked, else the seconds to wait."""
    if not limiter.enabled:
        return None
    for item, keys in _counters(phone, ip):
        if not limiter.limiter.hit(item, *keys):
            reset_at = limiter.limiter.get_window_stats(item, *keys).reset_time
            return max(1, int(reset_at - time.time()) + 1)
    return None


def signin_succeeded(phone: str, ip: str) -> None:
    """The phone's failures are forgiven once its owner signs in (the address's are not)."""
    if limiter.enabled:
        item, keys = _counters(phone, ip)[0]
        limiter.limiter.clear(item, *keys)


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
