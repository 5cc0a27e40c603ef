"""Background jobs: exports too large for a web request, run on Redis with RQ.

- `enqueue(session, kind, args, user, now)` stores a `jobs` row (state `queued`) and hands its
  id to the RQ queue `JOBS_QUEUE`; `flask jobs worker` runs it. Without `REDIS_URL` (the SQLite
  demo), or when Redis does not answer (a refused connection, a time-out of a second), the same
  job runs in a thread of the web process: the page that started it behaves the same, and
  nothing is lost or refused. A job queued in Redis while no worker runs waits for one.
- `perform(job_id)` runs it wherever it is: claims the row (`queued` → `running`, one
  conditional UPDATE: a job never runs twice), re-checks that its owner may still run it,
  writes its progress (0–100) as it goes, and stores the file in the row.
- Files live in the database for `JOB_FILES_HOURS` (a day): every app node already shares
  it, so a file made on the worker is downloaded from any node; no shared disk to mount.
- Who may read a job: the person who started it, while their role and scope still allow the
  export (`readable`); anyone else gets the same 404 as a job that does not exist.

Kinds (what a job does) register themselves in KINDS (app/jobs/kinds.py); the periodic work
(the mixer's flush, `contests finalize`, clean-up) lives in app/jobs/periodic.py.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Job, User
from app.services.refusals import NotAllowed

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
PROGRESS_EVERY = 0.5  # seconds between two writes of a job's progress
REDIS_TIMEOUT = 1.0  # seconds: a Redis that does not answer sends the job to a thread at once
# A job queued or running this long has been lost (its node restarted): marked failed.
STALE = timedelta(hours=2)
# Why a job failed, as its owner reads it: the row keeps the code.
ERRORS: dict[str, Any] = {
    "failed": _l("The file could not be made. Please try again later."),
    "not_allowed": _l("You may no longer make this file."),
    "withheld": _l(
        "These responses cannot be exported for this unit: too few people answered, or the "
        "survey is anonymous and only the province's responses may be exported."
    ),
    "gone": _l("What this file was to be made from no longer exists."),
}
FAILED = "failed"


class JobFailed(Exception):
    """A job's own refusal: its argument is a key of ERRORS, the message its owner reads."""


Progress = Callable[[float], None]


@dataclass(frozen=True)
class Output:
    """What a job made: the file, and what the audit trail records when it is handed out."""

    filename: str
    mimetype: str
    data: bytes
    audit_target: str | None = None
    audit_unit: int | None = None
    audit_detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    name: str
    title: Any  # a lazy string: what the progress page calls the file
    # (session, args, progress) → Output; raises JobFailed with a message for its owner.
    run: Callable[[Session, dict[str, Any], Progress], Output]
    # Who may start it, and read its file later (checked at both times).
    allowed: Callable[[Session, User, dict[str, Any]], bool]
    audit_action: str | None = None  # recorded when the file is handed out
    # Where "back" leads from the progress page.
    back: Callable[[dict[str, Any]], str] | None = None


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def key_of(args: Mapping[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False)[:200]


# ------------------------------------------------------------------------------- starting


def enqueue(session: Session, kind: str, args: dict[str, Any], user: User, now: datetime) -> Job:
    """Start `kind` on `args` for `user`: the job (the one already running for the same user
    and export, if any). NotAllowed if `user` may not run it."""
    spec = KINDS[kind]
    if not spec.allowed(session, user, args):
        raise NotAllowed(kind)
    key = key_of(args)
    job = Job(
        id=secrets.token_urlsafe(16),
        kind=kind,
        args=args,
        key=key,
        user_id=user.id,
        language=_language(),
        state="queued",
        progress=0,
        runner="inline",
        created_at=now,
        expires_at=now + files_ttl(),
    )
    session.add(job)
    try:
        session.commit()
    except IntegrityError:  # the same export of the same person is queued or running
        session.rollback()
        found = session.scalar(
            select(Job).where(
                Job.user_id == user.id, Job.kind == kind, Job.key == key, Job.state.in_(ACTIVE)
            )
        )
        if found is not None:
            return found
        # It finished between the two statements: start this one after all.
        return enqueue(session, kind, args, user, now)
    dispatch(job.id)
    session.refresh(job)
    return job


def _language() -> str:
    from app.formats import language

    return language()


def files_ttl() -> timedelta:
    return timedelta(hours=int(current_app.config["JOB_FILES_HOURS"]))


def redis_connection(app: Flask | None = None) -> Any:
    """The app's Redis client for RQ (short time-outs), or None without REDIS_URL."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    held = app.extensions.get("jobs_redis")
    if held is None or held[0] != url:
        from redis import Redis

        held = (
            url,
            Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT),
        )
        app.extensions["jobs_redis"] = held
    return held[1]


def queue(app: Flask | None = None) -> Any:
    from rq import Queue

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return Queue(app.config["JOBS_QUEUE"], connection=redis_connection(app))


def dispatch(job_id: str) -> str:
    """Hand the job to RQ, or run it in a thread of this process: "rq" or "inline"."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("REDIS_URL"):
        from redis.exceptions import RedisError

        try:
            queue(app).enqueue(
                "app.jobs.perform",
                job_id,
                job_id=job_id,
                job_timeout=int(app.config["JOBS_TIMEOUT_SECONDS"]),
                result_ttl=0,  # the result is the jobs row
                failure_ttl=int(files_ttl().total_seconds()),
                description=f"job {job_id}",
            )
        except (RedisError, OSError):
            # Redis down (fault drill c): the job runs here rather than wait for a queue that
            # may not come back; the request still returns at once.
            log.warning("Redis does not answer: job %s runs in this process", job_id)
        else:
            _set_runner(job_id, "rq")
            return "rq"
    _set_runner(job_id, "inline")
    _executor(app).submit(_perform_in, app, job_id)
    return "inline"


def _set_runner(job_id: str, runner: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(runner=runner))


_executors: dict[int, ThreadPoolExecutor] = {}
_executors_lock = threading.Lock()


def _executor(app: Flask) -> ThreadPoolExecutor:
    """One thread per process runs the in-process jobs, one after another: a web node keeps
    its other cores for pages."""
    with _executors_lock:
        pool = _executors.get(id(app))
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job")
            _executors[id(app)] = pool
        return pool


def _perform_in(app: Flask, job_id: str) -> None:
    with app.app_context():
        try:
            perform(job_id)
        finally:
            db.session.remove()


# -------------------------------------------------------------------------------- running


def perform(job_id: str) -> str:
    """Run one job (the RQ task, and the in-process runner): its final state."""
    if not has_app_context():  # an `rq worker` started without the app
        from app import create_app

        with create_app().app_context():
            return perform(job_id)
    session = db.session
    now = _now()
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "queued")
        .values(state="running", started_at=now, progress=0)
    ).rowcount
    session.commit()
    if not claimed:
        return "skipped"  # already run, running elsewhere, or gone
    job = session.get(Job, job_id)
    assert job is not None
    spec = KINDS.get(job.kind)
    user = session.get(User, job.user_id)
    try:
        if spec is None or user is None or not spec.allowed(session, user, dict(job.args)):
            raise JobFailed("not_allowed")
        with force_locale(job.language):
            out = spec.run(session, dict(job.args), _progress_writer(job_id))
    except Exception as error:
        session.rollback()
        if isinstance(error, JobFailed):
            message = str(error) if str(error) in ERRORS else FAILED
        else:
            log.exception("job %s (%s) failed", job_id, job.kind if job else "?")
            message = FAILED
        _finish(session, job_id, state="failed", error=message)
        return "failed"
    session.rollback()  # the job only read: nothing of it is kept but the file
    finished = _now()
    _finish(
        session,
        job_id,
        state="done",
        progress=100,
        finished_at=finished,
        expires_at=finished + files_ttl(),
        filename=out.filename[:200],
        mimetype=out.mimetype,
        size=len(out.data),
        sha256=sha256(out.data).hexdigest(),
        data=out.data,
        meta={
            "target": out.audit_target,
            "unit": out.audit_unit,
            "detail": dict(out.audit_detail),
        },
    )
    return "done"


def _finish(session: Session, job_id: str, **values: Any) -> None:
    values.setdefault("finished_at", _now())
    session.execute(update(Job).where(Job.id == job_id, Job.state == "running").values(**values))
    session.commit()


def _now() -> datetime:
    from app import clock

    return clock.now()


def _progress_writer(job_id: str) -> Progress:
    """A callback for the job: `progress(0.45)` → 45 %, written on a connection of its own
    (the job's session stays a reader), at most every PROGRESS_EVERY seconds."""
    last = {"at": 0.0, "percent": 0}

    def write(fraction: float) -> None:
        percent = max(0, min(99, int(fraction * 100)))
        moment = time.monotonic()
        if percent <= last["percent"] or moment - last["at"] < PROGRESS_EVERY:
            return
        last.update(at=moment, percent=percent)
        with db.engine.begin() as conn:
            conn.execute(
                update(Job).where(Job.id == job_id, Job.state == "running").values(progress=percent)
            )

    return write


# -------------------------------------------------------------------------------- reading


def readable(session: Session, job_id: str, user: User | None) -> Job | None:
    """The job if `user` started it and may still run it; None otherwise (a guessed id, a
    job of someone else, an officer since moved out of its scope)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not JOB_ID.fullmatch(job_id):  # a NUL or a long string never reaches the database
        return None
    job = session.get(Job, job_id)
    if job is None or job.user_id != user.id:
        return None
    spec = KINDS.get(job.kind)
    if spec is None or not spec.allowed(session, user, dict(job.args)):
        return None
    if job.state == "done" and job.expires_at <= _now():
        return None
    return job


def status(job: Job) -> dict[str, Any]:
    """What the progress page and its script show."""
    return {
        "id": job.id,
        "state": job.state,
        "progress": job.progress,
        "filename": job.filename,
        "size": job.size,
        "sha256": job.sha256,
        "expires_at": job.expires_at.isoformat() if job.state == "done" else None,
        "error": str(ERRORS[job.error]) if job.error in ERRORS else None,
    }


def file_of(session: Session, job: Job) -> bytes:
    data = session.scalar(select(Job.data).where(Job.id == job.id))
    return data or b""


# ------------------------------------------------------------------------------- clean-up


def cleanup(session: Session, now: datetime) -> tuple[int, int]:
    """Delete jobs (and their files) past their day; fail those lost on a restarted node.
    Returns (deleted, failed)."""
    deleted = session.execute(delete(Job).where(Job.expires_at <= now)).rowcount
    failed = session.execute(
        update(Job)
        .where(Job.state.in_(ACTIVE), Job.created_at <= now - STALE)
        .values(
            state="failed",
            finished_at=now,
            error=FAILED,
        )
    ).rowcount
    session.commit()
    return deleted, failed


def init_app(app: Flask) -> None:
    from app.jobs import kinds, periodic  # noqa: F401  (the kinds register themselves)
    from app.jobs.cli import jobs_cli

    app.cli.add_command(jobs_cli)
    periodic.init_app(app)
