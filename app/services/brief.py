"""A one-page brief per commune/ward for its leaders: the survey index with its 95% interval
and its rank among the communes, the change since the wave before, the questions residents
were least satisfied with. Plain data here (`brief`), and the PDF (`pdf`) from the HTML the
page's template makes, with WeasyPrint (Pango lays out Vietnamese in Debian's DejaVu fonts).

Figures come from app.services.analytics and app.services.overview, so a commune that the
survey hides has no figure here either: the brief says they are hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import Survey, Unit
from app.services import analytics, overview
from app.services.overview import Change, Index
from app.services.survey_definition import definition

LEAST = 3  # questions listed as the least satisfying


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
    for question in result["questions"]:
        q = defn.by_key[question["id"]]
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


def rank_of(session: Session, survey: Survey, unit: Unit) -> Rank | None:
    """The commune's place by index among the communes of its province whose index is shown
    (1: the most satisfied); None when its own is hidden."""
    parent = session.get(Unit, unit.parent_code) if unit.parent_code is not None else None
    by_unit = analytics.index_results(session, survey, by="unit", scope=parent)["index"]
    shown = {g["group"]: g["index"] for g in by_unit if not g.get("suppressed") and "index" in g}
    if unit.code not in shown:
        return None
    own = shown[unit.code]
    return Rank(1 + sum(value > own for value in shown.values()), len(shown))


def brief(session: Session, unit: Unit, now: datetime, survey: Survey | None = None) -> Brief:
    """The brief of commune `unit` on `survey` (by default the newest opened survey with an
    index)."""
    survey = survey or overview.main_survey(session, now)
    if survey is None:
        return Brief(unit, now)
    result = analytics.results(session, survey, scope=unit)
    threshold = result["threshold"]
    if result.get("suppressed"):
        return Brief(unit, now, survey, threshold)
    index = overview.index_from(result)
    return Brief(
        unit,
        now,
        survey,
        threshold,
        n=result["n"],
        index=index,
        rank=rank_of(session, survey, unit) if index and index.value is not None else None,
        change=overview.change_since_last_wave(session, survey, unit, index),
        least=least_satisfied(result, survey, session),
    )


def pdf(html: str) -> bytes:
    """The brief's HTML (its template, rendered with the app's formats) as an A4 PDF."""
    from weasyprint import HTML  # 1.5 s to import (Pango): paid by the first brief, not at start

    return HTML(string=html).write_pdf()
