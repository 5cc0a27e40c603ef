"""Is this node fit to take traffic? The database answers, and Redis when one is configured
(api.md, `GET /health`).

Each part is asked in a thread of its own and waited for at most `timeout`: a server that
accepts the connection and then says nothing (a hung primary, a Redis stuck on a full disk) is
reported as "no answer within 2 s" at the bound instead of holding the caller. A part still
being asked when the next check comes is not asked again: the next check waits on the same
question, so a load balancer polling a hung part does not pile up threads or connections.
Failures are named by part only: no address, user or driver message is given away."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import redis
from sqlalchemy import text
from sqlalchemy.engine import Engine

OK = "ok"
NOT_CONFIGURED = "not configured"
UNAVAILABLE = "unavailable"

_lock = threading.Lock()
_asking: dict[tuple[str, str], Future[None]] = {}


@dataclass(frozen=True)
class Report:
    parts: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(state in (OK, NOT_CONFIGURED) for state in self.parts.values())


def _ask(key: tuple[str, str], question: Callable[[], None]) -> Future[None]:
    """The question being asked under `key`, or a new one in a daemon thread."""
    with _lock:
        pending = _asking.get(key)
        if pending is not None and not pending.done():
            return pending
        future: Future[None] = Future()
        _asking[key] = future

    def run() -> None:
        try:
            question()
        except BaseException as error:
            future.set_exception(error)
        else:
            future.set_result(None)

    threading.Thread(target=run, name=f"health-{key[0]}", daemon=True).start()
    return future


def _state(future: Future[None], timeout: float) -> str:
    try:
        future.result(timeout=timeout)
    except FutureTimeout:
        return f"no answer within {timeout:g} s"
    except Exception:
        return UNAVAILABLE
    return OK


def _database(engine: Engine) -> Callable[[], None]:
    def question() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return question


def _redis(url: str, timeout: float) -> Callable[[], None]:
    def question() -> None:
        # The client's own timeouts come after ours: the answer "no answer within 2 s" is
        # given at the bound, and the thread still ends by itself a second later.
        client = redis.Redis.from_url(
            url, socket_timeout=timeout + 1, socket_connect_timeout=timeout + 1
        )
        try:
            client.ping()
        finally:
            client.close()

    return question


def check(engine: Engine, redis_url: str | None, timeout: float = 2.0) -> Report:
    """Both parts asked at once; the whole check takes at most about `timeout`."""
    database = _ask(("database", str(id(engine))), _database(engine))
    cache = _ask(("redis", redis_url), _redis(redis_url, timeout)) if redis_url else None
    parts = {"database": _state(database, timeout)}
    parts["redis"] = _state(cache, timeout) if cache is not None else NOT_CONFIGURED
    return Report(parts)
