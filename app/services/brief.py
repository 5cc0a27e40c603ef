"""A one-page brief per commune/ward for its leaders: the survey index with its 95% interval
and its rank among the communes, the change since the wave before, the questions residents
were least satisfied with, the participation in the latest contest and its weakest topics
(from app.services.contest_stats). Plain data here (`brief`), and the PDF (`pdf`) from the HTML the
page's template makes, with WeasyPrint (Pango lays out Vietnamese in Debian's DejaVu fonts).

Figures come from app.services.analytics and app.services.overview, so a commune that the
survey hides has no figure here either: the brief says they are hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Contest, Round, Survey, Unit
from app.services import analytics, contest_stats, overview
from app.services.overview import Change, Index
from app.services.survey_definition import definition

LEAST = 3  # questions listed as the least satisfying
WEAKEST = 3  # topics listed as the weakest


@dataclass(frozen=True)
class ContestPart:
    """The commune in the latest contest: participants (None: hidden) and weakest topics."""

    contest: Contest
    threshold: int
    suppressed: bool
    participants: int | None
    per_1000: float | None
    topics: list[contest_stats.TopicStat]


@dataclass(frozen=True)
class Item:
    """One scale question (or one row of a grid): the share of its answers in the top two."""

    text: str
    satisfied: float
    n: int


@dataclass(frozen=True)
class Rank:
    place: int
    of: int  # communes whose index is shown


@dataclass(frozen=True)
class Brief:
    unit: Unit
    now: datetime
    survey: Survey | None = None
    threshold: int = analytics.DEFAULT_THRESHOLD
    n: int | None = None  # responses in the commune; None: hidden
    index: Index | None = None
    rank: Rank | None = None
    change: Change | None = None
    least: list[Item] = field(default_factory=list)
    contest: ContestPart | None = None
    # Whom the figures represent: each channel's responses and share (analytics.results)
    channels: list[dict[str, Any]] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return self.n is None


def _top_two(group: dict[str, Any], k: int) -> float:
    proportions = group.get("proportions", {})
    return sum(proportions.get(str(value), 0.0) for value in (k - 1, k))


def least_satisfied(
    result: dict[str, Any], survey: Survey, session: Session, limit: int = LEAST
) -> list[Item]:
    """The scale questions and grid rows with the smallest share of answers in the top two
    values, among those the results show."""
    defn = definition(session, survey)
    items = []
    for q, question in defn.known(result["questions"]):
        if q.type not in ("scale", "grid") or len(q.choices) < 3:
            continue
        for group in question["groups"]:
            if group.get("suppressed") or not group.get("n"):
                continue
            if q.type == "scale":
                items.append(Item(q.text, _top_two(group, len(q.choices)), group["n"]))
                continue
            for row in group["rows"].values():
                if row["n"]:
                    share = _top_two(row, len(q.choices))
                    items.append(Item(f"{q.text} — {row['label']}", share, row["n"]))
    return sorted(items, key=lambda item: item.satisfied)[:limit]


def rank_of(
    session: Session, survey: Survey, unit: Unit, now: datetime | None = None
) -> Rank | None:
    """The commune's place by index among the communes of its province whose index is shown
    (1: the most satisfied); None when its own is hidden."""
    parent = session.get(Unit, unit.parent_code) if unit.parent_code is not None else None
    by_unit = analytics.index_results(session, survey, by="unit", scope=parent, now=now)["index"]
    shown = {g["group"]: g["index"] for g in by_unit if not g.get("suppressed") and "index" in g}
    if unit.code not in shown:
        return None
    own = shown[unit.code]
    return Rank(1 + sum(value > own for value in shown.values()), len(shown))


def latest_contest(session: Session, now: datetime) -> Contest | None:
    """The contest whose latest opened round opened last."""
    return session.scalar(
        select(Contest)
        .join(Round, Round.contest_id == Contest.id)
        .where(Round.opens_at <= now)
        .group_by(Contest.id)
        .order_by(func.max(Round.opens_at).desc(), Contest.id.desc())
        .limit(1)
    )


def contest_part(
    session: Session, unit: Unit, now: datetime, grace: timedelta = timedelta(0)
) -> ContestPart | None:
    """The commune's participation in the latest contest and its weakest topics (lowest share
    of right answers first), as contest_stats gives them within the commune."""
    contest = latest_contest(session, now)
    if contest is None:
        return None
    stats = contest_stats.contest_stats(session, contest, scope=unit, now=now, grace=grace)
    if stats.communes == 0:
        return None  # the contest is not open to this commune
    own = next((u for u in stats.units if u.code == unit.code), None)
    topics = sorted(
        (t for t in stats.topics if t.facility is not None),
        key=lambda t: (t.facility, -t.n, t.bank, t.topic or ""),
    )
    return ContestPart(
        contest,
        stats.threshold,
        stats.suppressed,
        stats.participants,  # None for a hidden commune; a small contest keeps its total
        own.per_1000 if own is not None else None,
        [] if stats.suppressed else topics[:WEAKEST],
    )


def brief(
    session: Session,
    unit: Unit,
    now: datetime,
    survey: Survey | None = None,
    grace: timedelta = timedelta(0),
) -> Brief:
    """The brief of commune `unit` on `survey` (by default the newest opened survey with an
    index) and on the latest contest."""
    contest = contest_part(session, unit, now, grace)
    survey = survey or overview.main_survey(session, now)
    if survey is None:
        return Brief(unit, now, contest=contest)
    result = analytics.results(session, survey, scope=unit, now=now)
    threshold = result["threshold"]
    if result.get("suppressed"):
        return Brief(unit, now, survey, threshold, contest=contest)
    index = overview.index_from(result)
    return Brief(
        unit,
        now,
        survey,
        threshold,
        n=result["n"],
        index=index,
        rank=rank_of(session, survey, unit, now) if index and index.value is not None else None,
        change=overview.change_since_last_wave(session, survey, unit, index, now),
        least=least_satisfied(result, survey, session),
        contest=contest,
        channels=result.get("channels", []),
    )


def pdf(html: str) -> bytes:
    """The brief's HTML (its template, rendered with the app's formats) as an A4 PDF."""
    from weasyprint import HTML  # 1.5 s to import (Pango): paid by the first brief, not at start

    return HTML(string=html).write_pdf()
