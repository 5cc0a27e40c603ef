"""The time as the app sees it: the real clock, or the one a test put in `CLOCK`."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from app.models.types import utcnow


def now() -> datetime:
    clock = current_app.config.get("CLOCK")
    return clock() if clock else utcnow()


def grace() -> timedelta:
    return timedelta(seconds=current_app.config["ATTEMPT_GRACE_SECONDS"])
