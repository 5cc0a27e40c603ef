"""Rate limits that decorators cannot express: sign-in tries, per phone and per address.

Each try is counted *before* the password is checked, by one atomic operation per counter
(`hit`: an INCR on Redis, a locked increment in memory), so concurrent tries cannot slip past
the limit between a check and a count. A phone is locked after FAILED_SIGNIN_PHONE tries
without a success (a success clears its counter): that locks the phone's owner out for a
while, not everyone else. An address is limited only past a much higher bound, since behind
carrier NAT or the province's proxy one address is many people; the address is the client's
real one (ProxyFix, `TRUSTED_PROXIES`). The counters live in Flask-Limiter's storage: Redis
when REDIS_URL is set (`fallback+redis://…`, `RedisOrMemory` below), else memory.

When Redis does not answer, every limit — the decorators' and these — is counted in the
process's memory instead, with one warning in the log, until Redis answers again (tried again
every RETRY_SECONDS): people keep signing in and taking part, each worker holding the limits
on its own. (Flask-Limiter's own `in_memory_fallback` replaces every limit by one global list
while its storage is down, which would drop the per-route limits: not used.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage

from app.extensions import limiter

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_SECONDS = 5.0
# A Redis that accepts connections and then says nothing must not hold a request for long.
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}


class RedisOrMemory(Storage):
    """Redis while it answers, this process's memory while it does not (`fallback+redis://`)."""

    STORAGE_SCHEME = ["fallback+redis", "fallback+rediss"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.redis = RedisStorage(uri.removeprefix("fallback+"), **{**REDIS_TIMEOUTS, **options})
        self.memory = MemoryStorage()
        self._down_since: float | None = None
        self._lock = threading.Lock()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return self.redis.base_exceptions

    @property
    def redis_down(self) -> bool:
        return self._down_since is not None

    def _either(self, call: Callable[[Storage], T]) -> T:
        down = self._down_since
        if down is not None and time.monotonic() - down < RETRY_SECONDS:
            return call(self.memory)
        try:
            result = call(self.redis)
        except self.redis.base_exceptions as error:
            with self._lock:
                if self._down_since is None:
                    log.warning(
                        "Redis unreachable (%s): rate limits are counted per process until it "
                        "answers again",
                        type(error).__name__,
                    )
                self._down_since = time.monotonic()
            return call(self.memory)
        if down is not None:
            with self._lock:
                if self._down_since is not None:
                    log.warning("Redis answers again: rate limits are shared again")
                self._down_since = None
        return result

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._either(lambda s: s.incr(key, expiry, amount=amount))

    def get(self, key: str) -> int:
        return self._either(lambda s: s.get(key))

    def get_expiry(self, key: str) -> float:
        return self._either(lambda s: s.get_expiry(key))

    def check(self) -> bool:
        try:
            return bool(self.redis.check())
        except self.redis.base_exceptions:
            return False

    def reset(self) -> int | None:
        self.memory.reset()
        return self._either(lambda s: s.reset())

    def clear(self, key: str) -> None:
        self.memory.clear(key)
        self._either(lambda s: s.clear(key))


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
    return _first_refusal(_counters(phone, ip))


def _first_refusal(counters: list[tuple[RateLimitItem, tuple[str, ...]]]) -> int | None:
    """Hit each counter in turn; None when all allow, else the seconds until the first one
    that refused allows again (the counters after it are not hit)."""
    if not limiter.enabled:
        return None
    for item, keys in counters:
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


# Verification codes cost money per message: counted before each send (app/services/phone_codes.py).
CODE_SENDS_PHONE = parse("3 per hour")
CODE_SENDS_ADDRESS = parse("10 per day")


def code_send_try(phone: str, ip: str) -> int | None:
    """Count a code about to be sent to `phone` for a client at `ip`; None when it may go,
    else the seconds to wait. The phone's counter is taken first: a refused phone does not use
    up its sender's address."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    return _first_refusal(
        [
            (CODE_SENDS_PHONE, (prefix, "code-phone", phone)),
            (CODE_SENDS_ADDRESS, (prefix, "code-ip", ip)),
        ]
    )


# A kiosk (a shared device at the one-stop office, app/services/entry.py): one response every
# 20 s and 120 a day per kiosk, whoever stands at it. KIOSK_RESPONSE_LIMIT overrides it.
KIOSK_RESPONSES = "1 per 20 seconds;120 per day"


def kiosk_try(kiosk_id: str) -> int | None:
    """Count a response about to be stored from kiosk `kiosk_id`; None when it may be, else
    the seconds to wait."""
    from limits import parse_many

    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    items = parse_many(current_app.config.get("KIOSK_RESPONSE_LIMIT") or KIOSK_RESPONSES)
    return _first_refusal([(item, (prefix, "kiosk", kiosk_id)) for item in items])


# Counters that are not limits: first use of a one-time token, events per minute (app/challenge.py).
# In the limiter's storage (Redis shared by the nodes, per-process fallback); in this process's
# memory when the limiter is switched off (RATELIMIT_ENABLED=false, benchmarks).
_LOCAL = MemoryStorage()


def _storage() -> Storage:
    return limiter.storage if limiter.enabled else _LOCAL


def _key(*parts: str) -> str:
    return "/".join([current_app.config.get("RATELIMIT_KEY_PREFIX", ""), *parts])


def first_use(kind: str, token: str, seconds: int) -> bool:
    """True the first time `token` is presented within `seconds`, False on every replay: one
    atomic increment, so two concurrent uses cannot both be first."""
    return _storage().incr(_key("once", kind, token), seconds) == 1


def count_event(kind: str, seconds: int = 60) -> int:
    """Count one event in the current window of `seconds`; returns the count so far."""
    return _storage().incr(_key("events", kind), seconds)


def events(kind: str) -> int:
    return _storage().get(_key("events", kind))
