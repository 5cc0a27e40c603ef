"""Demo only: move a contest's or survey's dates by whole weeks so that it is open now.

`make run` must show an open round whatever the day it is run; the files in quizzes/ and
surveys/ keep their real dates, and what is loaded for the demo says it was moved.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.content import schemas

_DATE_LINE = re.compile(
    r"^(\s*(?:-\s+)?(?:opens|closes):\s*)([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{1,2}:[0-9]{2})(\s*(?:#.*)?)$",
    re.MULTILINE,
)
WEEK = timedelta(days=7)


def shift_needed(model: schemas.Contest | schemas.Survey, now: datetime) -> timedelta:
    """How far to move every date so that the first round (or the survey) is open at `now`."""
    window = model.rounds[0] if isinstance(model, schemas.Contest) else model
    zone = ZoneInfo(model.timezone)
    opens = datetime.strptime(window.opens, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    closes = datetime.strptime(window.closes, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    if opens <= now < closes:
        return timedelta(0)
    weeks = (now - opens) // WEEK
    shift = weeks * WEEK
    if opens + shift <= now < closes + shift:
        return shift
    # Between two weekly windows: open it an hour ago instead, keeping its length.
    return (now - timedelta(hours=1)).replace(second=0, microsecond=0) - opens


def shift_dates(text: str, shift: timedelta) -> str:
    def move(match: re.Match[str]) -> str:
        moved = datetime.strptime(match.group(2), "%Y-%m-%d %H:%M") + shift
        return f"{match.group(1)}{moved:%Y-%m-%d %H:%M}{match.group(3)}"

    return _DATE_LINE.sub(move, text)
