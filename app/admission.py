"""Admission control for starting attempts (issue 17, point 3): the one rule that both the
page (`contests.start`, `contests.queue`) and the API (`POST /api/v1/rounds/{round}/attempts`)
put in front of `services.attempts.start`.

When many residents press "Start" at once (the weekly opening at 20:00), at most
`ADMISSION_MAX_STARTS` starts run at the same moment (default: half the node's
workers × threads); the others are told their place in line
at once (a waiting page that refreshes itself, or a 503 with `Retry-After` in the API) instead
of waiting in gunicorn's backlog until a timeout. Nobody loses their start: a waiting person
holds a signed ticket and keeps their place by coming back with it.

The rule, decided in one atomic step (a Lua script in Redis, so every app node shares one line;
a lock in memory without Redis):

- a resident whose attempt is already in progress passes straight through (one indexed query);
- a start may run when fewer than `capacity` starts are in flight and fewer than `window`
  people who are still waiting came before it (tickets are numbered by one counter, INCR);
  it then holds a slot until it ends (`release`, in `finally`), or at most `HOLD_MS` should
  its worker die;
- otherwise the person gets a ticket (or keeps theirs) and comes back after `retry_s`: about
  the time the starts ahead of them take (their place / the rate), between 1 and 30 s.

First come, first served, to within the window: nobody is overtaken by someone who came more
than `window` places later. The window is as many starts as the app serves in a couple of
seconds (at least `capacity`; `ADMISSION_WINDOW` fixes it), because people waiting on a page
come back only when it refreshes: a strict line would leave slots idle while the person at its
head is between two refreshes. A waiting person not seen for their refresh time plus
`PATIENCE_MS` (they closed the page) leaves the line, so the line never stalls behind them.
The rate is the capacity over the starts' mean duration (an exponential average kept with the
line).

Without Redis the line lives in this process: with gunicorn's sync workers (one request per
process) that bounds nothing, so a deployment running a contest sets `REDIS_URL`. When Redis
does not answer, starts are not held back: the gate fails open to the in-process line, logs a
warning, and tries Redis again after `RETRY_REDIS_S`.
"""

from __future__ import annotations

import bisect
import logging
import math
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from flask import Flask, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from app import clock

log = logging.getLogger(__name__)

HOLD_MS = 60_000  # a slot's longest hold: gunicorn's timeout; a dead worker's slot comes back
PATIENCE_MS = 15_000  # a waiting person is kept this long past their refresh time
HEAD_REFRESH_S = 2  # the window: the starts served in this long
MIN_RETRY_S, MAX_RETRY_S = 1, 30
FIRST_MEAN_MS = 100.0  # a start's mean duration before any was measured
TICKET_MAX_AGE_S = 3600
RETRY_REDIS_S = 5.0
FALLBACK_SLOTS = 8  # requests served at once outside gunicorn (its workers set SERVER_SLOTS)


@dataclass(frozen=True)
class Decision:
    """What the gate said: go ahead (holding `slot` until `release`), or wait."""

    admitted: bool
    ticket: str | None = None  # signed; to present next time (None once admitted)
    position: int = 0  # 1: next in line
    wait_s: int = 0  # the estimate of the time until one's turn
    retry_s: int = 0  # when to ask again: the page's refresh, the API's Retry-After
    slot: str | None = None  # None: nothing held (passed through, or the gate is off)
    started: float = 0.0  # time.monotonic() at admission, for the mean duration


@dataclass(frozen=True)
class Settings:
    capacity: int
    window: int  # 0: derived from the rate


class Line(Protocol):
    def enter(self, number: int | None, slot: str, settings: Settings) -> tuple[int, ...]: ...

    def release(self, slot: str, duration_ms: float) -> None: ...


# ------------------------------------------------------------------------------ the rule


def _numbers(
    running: int, ahead: int, mean_ms: float, settings: Settings
) -> tuple[bool, float, int]:
    """(may start, starts per second, window) — the same arithmetic as the Lua script."""
    rate = settings.capacity * 1000.0 / max(mean_ms, 1.0)
    window = settings.window or max(settings.capacity, math.ceil(rate * HEAD_REFRESH_S))
    return running < settings.capacity and ahead < window, rate, window


def _retry_s(position: int, rate: float) -> int:
    return min(MAX_RETRY_S, max(MIN_RETRY_S, math.ceil(position / max(rate, 0.001))))


# Returns {1} when the start may run, else {0, ticket, place, rate in milli-starts per second}.
ENTER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local run, wait, seen, seq, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local capacity, fixed = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', run, '-inf', now)
local gone = redis.call('ZRANGEBYSCORE', seen, '-inf', now, 'LIMIT', 0, 500)
for _, member in ipairs(gone) do
  redis.call('ZREM', wait, member)
  redis.call('ZREM', seen, member)
end
local mean = tonumber(redis.call('HGET', stats, 'mean_ms') or ARGV[7])
local rate = capacity * 1000 / math.max(mean, 1)
local window = fixed
if window == 0 then window = math.max(capacity, math.ceil(rate * tonumber(ARGV[8]))) end
local number = tonumber(ARGV[1])
local ahead
if number then
  ahead = redis.call('ZCOUNT', wait, '-inf', '(' .. number)
else
  ahead = redis.call('ZCARD', wait)
end
if redis.call('ZCARD', run) < capacity and ahead < window then
  redis.call('ZADD', run, now + tonumber(ARGV[5]), ARGV[2])
  if number then
    redis.call('ZREM', wait, tostring(number))
    redis.call('ZREM', seen, tostring(number))
  end
  return {1}
end
if not number then number = redis.call('INCR', seq) end
local place = ahead + 1
local retry = math.min(tonumber(ARGV[10]), math.max(tonumber(ARGV[9]), math.ceil(place / rate)))
redis.call('ZADD', wait, number, tostring(number))
redis.call('ZADD', seen, now + retry * 1000 + tonumber(ARGV[6]), tostring(number))
return {0, number, place, math.floor(rate * 1000)}
"""

RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
local mean = tonumber(redis.call('HGET', KEYS[2], 'mean_ms') or ARGV[2])
redis.call('HSET', KEYS[2], 'mean_ms', mean * 0.9 + tonumber(ARGV[2]) * 0.1)
return 1
"""


class RedisLine:
    """The line shared by every worker and node: five keys under `prefix`."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.keys = [f"{prefix}:{name}" for name in ("run", "wait", "seen", "seq", "stats")]
        self._enter = self.client.register_script(ENTER)
        self._release = self.client.register_script(RELEASE)

    def enter(self, number: int | None, slot: str, settings: Settings) -> tuple[int, ...]:
        args = [
            "" if number is None else number,
            slot,
            settings.capacity,
            settings.window,
            HOLD_MS,
            PATIENCE_MS,
            FIRST_MEAN_MS,
            HEAD_REFRESH_S,
            MIN_RETRY_S,
            MAX_RETRY_S,
        ]
        return tuple(int(v) for v in self._enter(keys=self.keys, args=args))

    def release(self, slot: str, duration_ms: float) -> None:
        self._release(keys=[self.keys[0], self.keys[4]], args=[slot, round(duration_ms, 3)])


class LocalLine:
    """The same line in this process's memory, under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seq = 0
        self.running: dict[str, float] = {}  # slot -> expiry (monotonic ms)
        self.waiting: list[int] = []  # ticket numbers, sorted
        self.seen: dict[int, float] = {}  # ticket number -> expiry
        self.mean_ms = FIRST_MEAN_MS

    def enter(self, number: int | None, slot: str, settings: Settings) -> tuple[int, ...]:
        now = time.monotonic() * 1000
        with self.lock:
            self.running = {s: at for s, at in self.running.items() if at > now}
            for gone in [n for n, at in self.seen.items() if at <= now]:
                self._leave(gone)
            waiting = self.waiting
            ahead = len(waiting) if number is None else bisect.bisect_left(waiting, number)
            may, rate, _window = _numbers(len(self.running), ahead, self.mean_ms, settings)
            if may:
                self.running[slot] = now + HOLD_MS
                if number is not None:
                    self._leave(number)
                return (1,)
            if number is None:
                self.seq += 1
                number = self.seq
            if number not in self.seen:
                bisect.insort(self.waiting, number)
            retry = _retry_s(ahead + 1, rate)
            self.seen[number] = now + retry * 1000 + PATIENCE_MS
            return (0, number, ahead + 1, math.floor(rate * 1000))

    def _leave(self, number: int) -> None:
        if self.seen.pop(number, None) is not None:
            self.waiting.pop(bisect.bisect_left(self.waiting, number))

    def release(self, slot: str, duration_ms: float) -> None:
        with self.lock:
            self.running.pop(slot, None)
            self.mean_ms = self.mean_ms * 0.9 + duration_ms * 0.1


class Gate:
    """The app's line: Redis when configured, this process's otherwise (and while Redis fails)."""

    def __init__(self, app: Flask) -> None:
        url = app.config.get("REDIS_URL")
        self.shared = RedisLine(url, app.config["ADMISSION_KEY_PREFIX"]) if url else None
        self.local = LocalLine()
        self.redis_down_until = 0.0

    def line(self) -> Line:
        if self.shared is not None and time.monotonic() >= self.redis_down_until:
            return self.shared
        return self.local

    def failed(self, error: Exception) -> None:
        self.redis_down_until = time.monotonic() + RETRY_REDIS_S
        log.warning(
            "admission: Redis does not answer (%s); starts are let through, without a "
            "shared line, for %g s",
            type(error).__name__,
            RETRY_REDIS_S,
        )


def _gate() -> Gate:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    gate = app.extensions.get("admission")
    if gate is None:
        gate = app.extensions.setdefault("admission", Gate(app))
    return gate  # type: ignore[no-any-return]


def settings() -> Settings:
    config = current_app.config
    capacity = config.get("ADMISSION_MAX_STARTS")
    if capacity is None:
        # Half of what the node serves at once (gunicorn's workers × threads, SERVER_SLOTS from
        # gunicorn.conf.py): a sync worker serves one request at a time, so a bound as large as
        # the workers never refuses anything; half of them stay free for the waiting pages,
        # the answers of residents in an attempt and every other page.
        capacity = max(1, (config.get("SERVER_SLOTS") or FALLBACK_SLOTS) // 2)
    return Settings(capacity=int(capacity), window=int(config.get("ADMISSION_WINDOW") or 0))


# ------------------------------------------------------------------------------ tickets


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="admission-ticket")


def _ticket(user_id: int, round_id: int, number: int) -> str:
    return _serializer().dumps({"u": user_id, "r": round_id, "n": number})


def ticket_number(ticket: str | None, user_id: int, round_id: int) -> int | None:
    """The place a ticket holds, if it is ours: signed by this app for this person and round,
    and under an hour old. Anything else (forged, another person's, stale) holds none."""
    if not ticket or len(ticket) > 200:
        return None
    try:
        data: Any = _serializer().loads(ticket, max_age=TICKET_MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user_id or data.get("r") != round_id:
        return None
    number = data.get("n")
    return number if isinstance(number, int) and number > 0 else None


# --------------------------------------------------------------------------------- gate


def in_attempt(session: Session, round_id: int, user_id: int) -> bool:
    """Whether the person has an attempt in progress at the round (not yet late): they are
    never held back, whatever the line."""
    from app.services import attempts

    current = attempts.open_attempt(session, round_id, user_id)
    return current is not None and not attempts.is_late(current, clock.now(), clock.grace())


def enter(session: Session, round_id: int, user_id: int, ticket: str | None) -> Decision:
    """May this person's start run now? A resident in an attempt always may."""
    config = settings()
    if config.capacity <= 0 or in_attempt(session, round_id, user_id):
        return Decision(admitted=True)
    gate = _gate()
    number = ticket_number(ticket, user_id, round_id)
    slot = secrets.token_hex(8)
    line = gate.line()
    try:
        answer = line.enter(number, slot, config)
    except redis.RedisError as error:
        gate.failed(error)
        line = gate.local
        answer = line.enter(number, slot, config)
    if answer[0] == 1:
        return Decision(admitted=True, slot=slot, started=time.monotonic())
    _flag, number, position, milli_rate = answer
    rate = milli_rate / 1000
    return Decision(
        admitted=False,
        ticket=_ticket(user_id, round_id, number),
        position=position,
        wait_s=max(1, math.ceil(position / max(rate, 0.001))),
        retry_s=_retry_s(position, rate),
    )


def release(decision: Decision) -> None:
    """Give the slot back (the start ended, however it ended)."""
    if decision.slot is None:
        return
    gate = _gate()
    duration_ms = (time.monotonic() - decision.started) * 1000
    try:
        gate.line().release(decision.slot, duration_ms)
    except redis.RedisError as error:
        gate.failed(error)
    gate.local.release(decision.slot, duration_ms)  # a slot taken while Redis was down


@contextmanager
def turn(session: Session, round_id: int, user_id: int, ticket: str | None) -> Iterator[Decision]:
    """`with turn(...) as decision:` — when admitted, the start runs inside the block and the
    slot is given back however the block ends."""
    decision = enter(session, round_id, user_id, ticket)
    try:
        yield decision
    finally:
        release(decision)
