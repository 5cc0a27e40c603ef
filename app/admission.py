"""Admission control for starting attempts (issue 17, point 3): the one rule that both the
page (`contests.start`, `contests.queue`) and the API (`POST /api/v1/rounds/{round}/attempts`)
put in front of `services.attempts.start`.

When many residents press "Start" at once (the weekly opening at 20:00), at most
`ADMISSION_MAX_STARTS` starts run at the same moment (default: half the node's
workers × threads); the others are told their place in line
at once (a waiting page that refreshes itself, or a 503 with `Retry-After` in the API) instead
of waiting in gunicorn's backlog until a timeout. Nobody loses their start: a waiting person
keeps their place by coming back.

A person the line would make wait first meets the start's cheap refusals
(`services.attempts.check_start`: the audience, the round open, attempts left — the rules
`attempts.start` applies) and leaves the line at once if refused: a person who cannot start
never waits, nor holds up those behind them; a resident whose attempt is in progress passes
straight through. When the line lets a person in at once, that check is skipped (the start
applies the same rules itself): the common case pays no query for admission control.

The rule, decided in one atomic step (a Lua script in Redis, so every app node shares one line;
a lock in memory without Redis):

- a person holds at most one place per round: asking again, with or without a ticket, finds
  the same place (the line's entries are keyed by person and round);
- a start may run when fewer than `capacity` starts are in flight and fewer than `window`
  people who are still waiting came before it (places are numbered by one counter, INCR);
  it then holds a slot until it ends (`release`, in `finally`, on the line that admitted it),
  or at most `HOLD_MS` should its worker die;
- otherwise the person is told their place, the time until their turn and when to come back
  (`retry_s`: their place / the rate, between 1 and 30 s), all computed by the script.

First come, first served, to within the window: nobody is overtaken by someone who came more
than `window` places later. The window is as many starts as the app serves in a couple of
seconds (at least `capacity`; `ADMISSION_WINDOW` fixes it), because people waiting on a page
come back only when it refreshes: a strict line would leave slots idle while the person at its
head is between two refreshes. A waiting person not seen for their refresh time plus
`PATIENCE_MS` (they closed the page) leaves the line, so the line never stalls behind them;
coming back later, they are a newcomer (an old ticket holds no place that is gone). The rate is
the capacity over the mean duration of the starts that made an attempt (an exponential average
kept with the line).

Tickets are signed, bound to the person, the round and the line that numbered them; they are
what tells a person coming back as told (not counted against the start limit: `counted`) from
a new request (counted).

Without Redis the line lives in this process: with gunicorn's sync workers (one request per
process) that bounds nothing, so a deployment running a contest sets `REDIS_URL`. When Redis
does not answer, starts are not held back: the gate fails open to the in-process line, logs a
warning, and tries Redis again after `RETRY_REDIS_S`. A slot Redis may hold that could not be
given back (a release that failed, a script whose reply timed out) is removed with the node's
next call to Redis.
"""

from __future__ import annotations

import bisect
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis
from flask import Flask, current_app, g
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.orm import Session

from app import clock
from app.models import Round, User
from app.services import attempts
from app.signing import app_timed_serializer

log = logging.getLogger(__name__)

HOLD_MS = 60_000  # a slot's longest hold: gunicorn's timeout; a dead worker's slot comes back
PATIENCE_MS = 15_000  # a waiting person is kept this long past their refresh time
HEAD_REFRESH_S = 2  # the window: the starts served in this long
MIN_RETRY_S, MAX_RETRY_S = 1, 30
FIRST_MEAN_MS = 100.0  # a start's mean duration before any was measured
TICKET_MAX_AGE_S = 3600
RETRY_REDIS_S = 5.0
FALLBACK_SLOTS = 8  # requests served at once outside gunicorn (its workers set SERVER_SLOTS)
PENDING_MAX = 10_000  # slots kept for removal from Redis (each expires there after HOLD_MS)


@dataclass(frozen=True)
class Answer:
    """A line's answer: admitted, or the place kept and the figures of the wait."""

    admitted: bool
    kept: bool  # the ticket presented was that of the place the person holds
    number: int = 0
    place: int = 0
    wait_s: int = 0
    retry_s: int = 0


@dataclass
class Held:
    """A slot held on `line` since `started` (time.monotonic()) until `release`."""

    line: Line
    slot: str
    started: float
    made_attempt: bool = False  # only such starts measure the mean duration


@dataclass(frozen=True)
class Decision:
    """What the gate said: go ahead (holding a slot until `release`), or wait."""

    admitted: bool
    ticket: str | None = None  # signed; to present next time (None once admitted)
    position: int = 0  # 1: next in line
    wait_s: int = 0  # the estimate of the time until one's turn
    retry_s: int = 0  # when to ask again: the page's refresh, the API's Retry-After
    kept: bool = False  # came back with the ticket of the place they hold
    held: Held | None = field(default=None, compare=False)  # None: nothing held

    def made_attempt(self) -> None:
        """The start made a new attempt: its duration counts in the line's mean."""
        if self.held is not None:
            self.held.made_attempt = True


@dataclass(frozen=True)
class Settings:
    capacity: int
    window: int  # 0: derived from the rate


class Line(Protocol):
    name: str  # the source of the line's numbers, written in its tickets

    def enter(
        self, person: str, number: int | None, slot: str, settings: Settings, drop: list[str]
    ) -> Answer: ...

    def release(self, slot: str, duration_ms: float | None, drop: list[str]) -> None: ...

    def leave(self, person: str) -> None: ...


# ------------------------------------------------------------------------------ the rule

# The queue's arithmetic: (window, wait_s, retry_s) of a place, from the mean duration of a
# start. Its one home is this Lua function (the script answers with its figures); LocalLine,
# the line without Redis, runs the same sums in `_figures` (tests/test_admission.py checks
# that the two agree).
FIGURES = """
local function figures(capacity, fixed, mean, refresh, place, lo, hi)
  local rate = capacity * 1000 / math.max(mean, 1)
  local window = fixed
  if window == 0 then window = math.max(capacity, math.ceil(rate * refresh)) end
  local wait_s = math.max(1, math.ceil(place / rate))
  return window, wait_s, math.min(hi, math.max(lo, wait_s))
end
"""


def _figures(settings: Settings, mean_ms: float, place: int) -> tuple[int, int, int]:
    """LocalLine's copy of FIGURES."""
    rate = settings.capacity * 1000 / max(mean_ms, 1.0)
    window = settings.window or max(settings.capacity, math.ceil(rate * HEAD_REFRESH_S))
    wait_s = max(1, math.ceil(place / rate))
    return window, wait_s, min(MAX_RETRY_S, max(MIN_RETRY_S, wait_s))


# KEYS: run (slot -> expiry), wait (person -> number), seen (person -> expiry), seq, stats.
# ARGV: person, the ticket's number or '', slot, capacity, window, HOLD_MS, PATIENCE_MS,
# FIRST_MEAN_MS, HEAD_REFRESH_S, MIN_RETRY_S, MAX_RETRY_S, then slots to remove from `run`.
# Returns {1, kept} when the start may run, else {0, kept, number, place, wait_s, retry_s}.
ENTER = (
    FIGURES
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local run, wait, seen, seq, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local person, slot, capacity = ARGV[1], ARGV[3], tonumber(ARGV[4])
for i = 12, #ARGV do redis.call('ZREM', run, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', run, '-inf', now)
local gone = redis.call('ZRANGEBYSCORE', seen, '-inf', now, 'LIMIT', 0, 500)
for _, member in ipairs(gone) do
  redis.call('ZREM', wait, member)
  redis.call('ZREM', seen, member)
end
local number = tonumber(redis.call('ZSCORE', wait, person))
local kept = 0
if number and number == tonumber(ARGV[2]) then kept = 1 end
local ahead
if number then
  ahead = redis.call('ZCOUNT', wait, '-inf', '(' .. number)
else
  ahead = redis.call('ZCARD', wait)
end
local mean = tonumber(redis.call('HGET', stats, 'mean_ms') or ARGV[8])
local window, wait_s, retry = figures(capacity, tonumber(ARGV[5]), mean, tonumber(ARGV[9]),
  ahead + 1, tonumber(ARGV[10]), tonumber(ARGV[11]))
if redis.call('ZCARD', run) < capacity and ahead < window then
  redis.call('ZADD', run, now + tonumber(ARGV[6]), slot)
  if number then
    redis.call('ZREM', wait, person)
    redis.call('ZREM', seen, person)
  end
  return {1, kept}
end
if not number then
  number = redis.call('INCR', seq)
  redis.call('ZADD', wait, number, person)
end
redis.call('ZADD', seen, now + retry * 1000 + tonumber(ARGV[7]), person)
return {0, kept, number, ahead + 1, wait_s, retry}
"""
)

# KEYS: run, stats. ARGV: slot, duration in ms or '' (not measured), then slots to remove.
RELEASE = """
for i = 1, #ARGV do
  if i ~= 2 then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
if ARGV[2] ~= '' then
  local mean = tonumber(redis.call('HGET', KEYS[2], 'mean_ms') or ARGV[2])
  redis.call('HSET', KEYS[2], 'mean_ms', mean * 0.9 + tonumber(ARGV[2]) * 0.1)
end
return 1
"""


class RedisLine:
    """The line shared by every worker and node: five keys under `prefix`."""

    def __init__(self, url: str, prefix: str) -> None:
        # No retries: a script sent again after a timeout could take a second slot.
        self.client = redis.Redis.from_url(
            url, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        self.name = f"redis:{prefix}"
        self.keys = [f"{prefix}:{name}" for name in ("run", "wait", "seen", "seq", "stats")]
        self._enter = self.client.register_script(ENTER)
        self._release = self.client.register_script(RELEASE)

    def enter(
        self, person: str, number: int | None, slot: str, settings: Settings, drop: list[str]
    ) -> Answer:
        args = [
            person,
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
            *drop,
        ]
        reply = [int(v) for v in self._enter(keys=self.keys, args=args)]
        if reply[0] == 1:
            return Answer(admitted=True, kept=reply[1] == 1)
        _flag, kept, number, place, wait_s, retry_s = reply
        return Answer(False, kept == 1, number, place, wait_s, retry_s)

    def release(self, slot: str, duration_ms: float | None, drop: list[str]) -> None:
        duration = "" if duration_ms is None else round(duration_ms, 3)
        self._release(keys=[self.keys[0], self.keys[4]], args=[slot, duration, *drop])

    def leave(self, person: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(self.keys[1], person)
        pipe.zrem(self.keys[2], person)
        pipe.execute()


class LocalLine:
    """The same line in this process's memory, under a lock."""

    def __init__(self) -> None:
        self.name = f"local:{secrets.token_hex(6)}"
        self.lock = threading.Lock()
        self.seq = 0
        self.running: dict[str, float] = {}  # slot -> expiry (monotonic ms)
        self.numbers: list[int] = []  # the waiting people's numbers, sorted
        self.number_of: dict[str, int] = {}  # person -> number
        self.seen: dict[str, float] = {}  # person -> expiry
        self.mean_ms = FIRST_MEAN_MS

    def enter(
        self, person: str, number: int | None, slot: str, settings: Settings, drop: list[str]
    ) -> Answer:
        now = time.monotonic() * 1000
        with self.lock:
            self.running = {s: at for s, at in self.running.items() if at > now}
            for gone in [p for p, at in self.seen.items() if at <= now]:
                self._leave(gone)
            held = self.number_of.get(person)
            kept = held is not None and held == number
            if held is None:
                ahead = len(self.numbers)
            else:
                ahead = bisect.bisect_left(self.numbers, held)
            window, wait_s, retry_s = _figures(settings, self.mean_ms, ahead + 1)
            if len(self.running) < settings.capacity and ahead < window:
                self.running[slot] = now + HOLD_MS
                self._leave(person)
                return Answer(admitted=True, kept=kept)
            if held is None:
                self.seq += 1
                held = self.number_of[person] = self.seq
                bisect.insort(self.numbers, held)
            self.seen[person] = now + retry_s * 1000 + PATIENCE_MS
            return Answer(False, kept, held, ahead + 1, wait_s, retry_s)

    def leave(self, person: str) -> None:
        with self.lock:
            self._leave(person)

    def _leave(self, person: str) -> None:
        self.seen.pop(person, None)
        number = self.number_of.pop(person, None)
        if number is not None:
            self.numbers.pop(bisect.bisect_left(self.numbers, number))

    def release(self, slot: str, duration_ms: float | None, drop: list[str]) -> None:
        with self.lock:
            self.running.pop(slot, None)
            if duration_ms is not None:
                self.mean_ms = self.mean_ms * 0.9 + duration_ms * 0.1


class Gate:
    """The app's line: Redis when configured, this process's otherwise (and while Redis fails).

    `pending`: slots Redis may hold that this node could not give back (a release that failed,
    a script whose reply never came), removed by the next script that reaches Redis."""

    def __init__(self, app: Flask) -> None:
        url = app.config.get("REDIS_URL")
        self.shared = RedisLine(url, app.config["ADMISSION_KEY_PREFIX"]) if url else None
        self.local = LocalLine()
        self.redis_down_until = 0.0
        self.lock = threading.Lock()
        self.pending: dict[str, float] = {}  # slot -> when it expires in Redis (monotonic s)

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

    def take_pending(self) -> list[str]:
        now = time.monotonic()
        with self.lock:
            slots = [slot for slot, until in self.pending.items() if until > now]
            self.pending.clear()
        return slots

    def keep_pending(self, slots: list[str], until: float) -> None:
        with self.lock:
            for slot in slots:
                self.pending.setdefault(slot, until)
            while len(self.pending) > PENDING_MAX:
                del self.pending[next(iter(self.pending))]

    def enter(
        self, person: str, ticket: dict[str, Any] | None, settings: Settings
    ) -> tuple[Line, str, Answer]:
        slot = secrets.token_hex(8)
        line = self.line()
        if self.shared is not None and line is self.shared:
            drop = self.take_pending()
            try:
                return line, slot, line.enter(person, _number(ticket, line), slot, settings, drop)
            except redis.RedisError as error:
                # The script may have run and its reply been lost: its slot too is removed later.
                self.keep_pending([*drop, slot], time.monotonic() + HOLD_MS / 1000)
                self.failed(error)
        line = self.local
        return line, slot, line.enter(person, _number(ticket, line), slot, settings, [])

    def leave(self, line: Line, person: str) -> None:
        """Take a person out of the line they were just put in (they are never to wait: in an
        attempt, or refused). A failure only leaves their entry to expire unvisited."""
        try:
            line.leave(person)
        except redis.RedisError as error:
            self.failed(error)

    def release(self, held: Held) -> None:
        duration_ms = (time.monotonic() - held.started) * 1000 if held.made_attempt else None
        if held.line is not self.shared:
            held.line.release(held.slot, duration_ms, [])
            return
        drop = self.take_pending()
        try:
            held.line.release(held.slot, duration_ms, drop)  # on Redis, even while it is failing
        except redis.RedisError as error:
            self.keep_pending([*drop, held.slot], held.started + HOLD_MS / 1000)
            self.failed(error)


def _number(ticket: dict[str, Any] | None, line: Line) -> int | None:
    """The number a ticket holds on `line`: none if another line numbered it."""
    if ticket is None or ticket.get("l") != line.name:
        return None
    return ticket["n"]  # type: ignore[no-any-return]


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
    return app_timed_serializer("admission-ticket")


def _ticket(user_id: int, round_id: int, number: int, line: str) -> str:
    return _serializer().dumps({"u": user_id, "r": round_id, "n": number, "l": line})


def ticket_data(ticket: str | None, user_id: int, round_id: int) -> dict[str, Any] | None:
    """What a ticket says, if it is ours: signed by this app for this person and round, and
    under an hour old. Anything else (forged, another person's, stale) says nothing."""
    if not ticket or len(ticket) > 300:
        return None
    try:
        data: Any = _serializer().loads(ticket, max_age=TICKET_MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user_id or data.get("r") != round_id:
        return None
    number, line = data.get("n"), data.get("l")
    if not isinstance(number, int) or number <= 0 or not isinstance(line, str):
        return None
    return data


# --------------------------------------------------------------------------------- gate

KEPT = "admission_kept"  # flask.g: this request was a wait with the ticket of its place


def counted() -> bool:
    """The start limit's rule (api.md: attempt starts 10 per minute per account), for the page
    and the API alike: every request to start counts, except the wait of a person who came back
    with the ticket of the place they hold — they did what Retry-After or the page told them.
    A request without that ticket counts even when told to wait: asking again costs the limit
    (and never a second place)."""
    return not g.get(KEPT, False)


def enter(session: Session, round_: Round, user: User, ticket: str | None) -> Decision:
    """`enter_for` with the round and the account already loaded."""
    return enter_for(session, round_.id, user.id, ticket, lambda: (round_, user))


def enter_for(
    session: Session,
    round_id: int,
    user_id: int,
    ticket: str | None,
    load: Callable[[], tuple[Round, User]],
) -> Decision:
    """May this person's start run now? A resident in an attempt always may; a person whose
    start would be refused is refused before taking a place (`attempts.check_start`'s
    AttemptError). `load` gives the round and the account, asked for only when the line would
    make the person wait (a start admitted at once loads nothing here)."""
    config = settings()
    if config.capacity <= 0:
        return Decision(admitted=True)
    gate = _gate()
    person = f"{user_id}:{round_id}"
    line, slot, answer = gate.enter(person, ticket_data(ticket, user_id, round_id), config)
    if answer.admitted:  # the start's own rules refuse what they refuse; no query before
        return Decision(admitted=True, held=Held(line, slot, time.monotonic()))
    # Asked to wait: only now the start's cheap refusals, so that nobody waits for nothing.
    try:
        round_, user = load()
        in_attempt = attempts.check_start(session, round_, user, clock.now(), clock.grace())
    except attempts.AttemptError:
        gate.leave(line, person)
        raise
    if in_attempt is not None:
        gate.leave(line, person)
        return Decision(admitted=True)  # in an attempt: never held back
    setattr(g, KEPT, answer.kept)
    return Decision(
        admitted=False,
        ticket=_ticket(user_id, round_id, answer.number, line.name),
        position=answer.place,
        wait_s=answer.wait_s,
        retry_s=answer.retry_s,
        kept=answer.kept,
    )


def release(decision: Decision) -> None:
    """Give the slot back (the start ended, however it ended), on the line that admitted it."""
    if decision.held is not None:
        _gate().release(decision.held)


@contextmanager
def turn(session: Session, round_: Round, user: User, ticket: str | None) -> Iterator[Decision]:
    """`turn_for` with the round and the account already loaded."""
    with turn_for(session, round_.id, user.id, ticket, lambda: (round_, user)) as decision:
        yield decision


@contextmanager
def turn_for(
    session: Session,
    round_id: int,
    user_id: int,
    ticket: str | None,
    load: Callable[[], tuple[Round, User]],
) -> Iterator[Decision]:
    """`with turn_for(...) as decision:` — when admitted, the start runs inside the block
    (calling `decision.made_attempt()` when it made one) and the slot is given back however
    the block ends. Raises the start's refusal (services.attempts.AttemptError) before taking
    a place. `load`: see `enter_for`."""
    decision = enter_for(session, round_id, user_id, ticket, load)
    try:
        yield decision
    finally:
        release(decision)
