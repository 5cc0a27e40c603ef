"""Background jobs (app/jobs): one row per export someone started, with its progress and,
once done, the file itself, kept for a day and readable only by whoever started it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime

JOB_STATES = ("queued", "running", "done", "failed")
ACTIVE = "state IN ('queued', 'running')"


class Job(db.Model):
    __tablename__ = "jobs"

    # 128 random bits (secrets.token_urlsafe(16)): not guessable, not counting anything.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # What the job works on, as given (ids, slugs, a format); `key` is its canonical text, so
    # that the same export asked twice while the first still runs is the same job.
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    key: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    state: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    runner: Mapped[str] = mapped_column(String(10), default="inline")  # rq | inline
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    filename: Mapped[str | None] = mapped_column(String(200))
    mimetype: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # Read only by the download: status polls never load the bytes.
    data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # What the audit trail records when the file is handed out (target, unit, detail).
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state_known"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
        # One active job per person and export: a double click, or two tabs, start one job.
        Index(
            "uq_jobs_active",
            "user_id",
            "kind",
            "key",
            unique=True,
            sqlite_where=text(ACTIVE),
            postgresql_where=text(ACTIVE),
        ),
    )
