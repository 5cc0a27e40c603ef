"""The periodic work, without cron: the anonymity mixer's flush, `contests finalize`, and the
clean-up of job files past their day.

`flask jobs scheduler` runs them (deploy/scheduler.service): each task when it is due, in the
scheduler's own process, one after another. They are short, and they must be on time (a lone
anonymous response reaches the results within SURVEY_MIX_WAIT_SECONDS): an export of several
minutes on the RQ worker must not hold them up, and they go on when Redis is down. Each is
safe to run twice at once (conditional updates, the database decides), so a second scheduler
by mistake does no harm.

Without a scheduler (`JOBS_SCHEDULER=app`, the default without REDIS_URL: `make run`), each
web process runs the same loop in a thread of its own, started by its first request."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from app.extensions import db

log = logging.getLogger(__name__)


def _mix() -> str:
    from app.surveys.cli import mix

    return f"{mix()} pending responses moved"


def _finalize() -> str:
    from app.contests.cli import finalize

    finished, frozen = finalize()
    return f"{finished} attempts finished, {frozen} rounds finalised"


def _cleanup() -> str:
    from app import clock
    from app.jobs import cleanup

    deleted, failed = cleanup(db.session, clock.now())
    return f"{deleted} job files deleted, {failed} lost jobs marked failed"


@dataclass(frozen=True)
class Task:
    name: str
    every: Callable[[Flask], float]  # seconds, from the app's configuration
    run: Callable[[], str]


TASKS = (
    # Every minute, or more often when the mixer's longest wait is short.
    Task("mix", lambda app: min(60.0, max(5.0, app.config["SURVEY_MIX_WAIT_SECONDS"] / 4)), _mix),
    Task("finalize", lambda app: 60.0, _finalize),
    Task("cleanup", lambda app: 600.0, _cleanup),
)


def run_task(app: Flask, task: Task) -> str:
    """One task in the app's context; a failure is logged, never raised (the loop goes on)."""
    with app.app_context():
        try:
            said = task.run()
        except Exception:
            db.session.rollback()
            log.exception("periodic task %s failed", task.name)
            said = "failed"
        finally:
            db.session.remove()
    log.info("periodic %s: %s", task.name, said)
    return said


def run_due(app: Flask, last: dict[str, float], moment: float) -> list[str]:
    """Run every task due at `moment` (time.monotonic()); `last` holds when each last ran."""
    ran = []
    for task in TASKS:
        held = last.get(task.name)
        if held is None or moment - held >= task.every(app):
            last[task.name] = moment
            run_task(app, task)
            ran.append(task.name)
    return ran


def loop(app: Flask, stop: threading.Event, tick: float = 1.0) -> None:
    """Run the tasks when due until `stop` is set."""
    last: dict[str, float] = {}
    while not stop.is_set():
        run_due(app, last, time.monotonic())
        stop.wait(tick)


def serve(app: Flask) -> None:
    """`flask jobs scheduler`: the loop until SIGTERM (systemd's stop) or Ctrl+C."""
    stop = threading.Event()

    def halt(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, halt)
    loop(app, stop)


_started: set[int] = set()
_started_lock = threading.Lock()


def start_in_process(app: Flask) -> bool:
    """The loop in a daemon thread of this process, once per process and app; setting
    `app.extensions["periodic_stop"]` ends it."""
    with _started_lock:
        if id(app) in _started:
            return False
        _started.add(id(app))
        stop = app.extensions["periodic_stop"] = threading.Event()
    thread = threading.Thread(target=loop, args=(app, stop), name="periodic", daemon=True)
    thread.start()
    return True


def init_app(app: Flask) -> None:
    if app.config["JOBS_SCHEDULER"] != "app":
        return

    @app.before_request
    def _start_periodic() -> None:
        start_in_process(app)
