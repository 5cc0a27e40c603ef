"""The leaders' overview: the open and recent surveys within a reader's scope with their
responses and satisfaction index, and what changed since the wave before; the open and recent
contest rounds with their participants and the communes they reached.

Every figure comes from app.services.analytics (the functions behind the result pages), so the
same small groups are hidden here: a commune that a survey's results hide shows no count and
no index. Plain data out; the home page and the commune brief format it.

Whether a change between two waves is real — of the index (Welch's t-test) and of each
question's or grid row's share (two-proportion test) — is `analytics.trends`'s verdict, the
same as on the result page; this module tests nothing itself.
Contest figures come from app.services.contest_stats (its suppression included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Contest, Round, Survey, Unit
from app.services import analytics, contest_stats
from app.services.survey_definition import definition, index_items

RECENT = timedelta(days=90)  # a survey closed since then is still "recent"
SHOWN = 6  # surveys on the page at most
REAL = 0.05


@dataclass(frozen=True)
class Index:
    """A satisfaction index within a scope: None figures when the survey hides them."""

    n: int | None
    value: float | None = None
    ci95: tuple[float, float] | None = None
    satisfied: float | None = None
    suppressed: bool = False


@dataclass(frozen=True)
class QuestionChange:
    text: str
    measure: str  # top_two | first_choice
    before: float
    after: float
    p_value: float | None


@dataclass(frozen=True)
class Change:
    """The index against the wave before, and the questions whose share really changed."""

    previous: Survey
    before: Index
    after: Index
    difference: float | None = None
    p_value: float | None = None
    real: bool | None = None
    questions: list[QuestionChange] = field(default_factory=list)


@dataclass(frozen=True)
class SurveyLine:
    survey: Survey
    is_open: bool
    n: int | None  # responses within the scope; None: withheld (a commune the survey hides)
    index: Index | None  # None: the survey has no index items
    change: Change | None
    threshold: int  # the smallest group the survey shows


def index_of(
    session: Session, survey: Survey, scope: Unit | None, now: datetime | None = None
) -> Index | None:
    """The survey's satisfaction index within `scope`, as its result page shows it."""
    return index_from(analytics.index_results(session, survey, scope=scope, now=now))


def index_from(result: dict[str, Any]) -> Index | None:
    if result.get("suppressed"):
        return Index(n=None, suppressed=True)
    if not result["index"]:
        return None
    entry = result["index"][0]
    if entry.get("suppressed"):
        return Index(n=None, suppressed=True)
    if not entry.get("n"):
        return Index(n=0)
    low, high = entry["index_ci95"]
    return Index(entry["n"], entry["index"], (low, high), entry.get("satisfied"))


def previous_wave(session: Session, survey: Survey) -> Survey | None:
    if not survey.series or survey.wave is None:
        return None
    return session.scalar(
        select(Survey)
        .where(Survey.series == survey.series, Survey.wave < survey.wave)
        .order_by(Survey.wave.desc())
        .limit(1)
    )


def change_since_last_wave(
    session: Session,
    survey: Survey,
    scope: Unit | None,
    after: Index | None,
    now: datetime | None = None,
) -> Change | None:
    """The index against the wave before and the questions (or grid rows) whose share changed
    really. When analytics.trends gives the index's own verdict (an item with measure "index"),
    that verdict is the one shown; without one (hidden or missing in a wave) the change is
    given with no verdict."""
    previous = previous_wave(session, survey)
    if previous is None or after is None:
        return None
    before = index_of(session, previous, scope, now) or Index(n=None)
    tested: tuple[float, float | None, bool] | None = (
        None
        if before.value is None or after.value is None
        else (after.value - before.value, None, False)
    )
    questions = []
    for trend in analytics.trends(session, survey, scope=scope, now=now):
        points = {point["survey"]: point for point in trend["waves"]}
        latest, then = points.get(survey.slug), points.get(previous.slug)
        if trend.get("measure") == "index":
            if tested is not None and latest and then and "index" in latest and "index" in then:
                real = bool(latest.get("real_change"))
                tested = (tested[0], latest.get("p_value"), real)
            continue
        if latest and then and latest.get("real_change") and "proportion" in then:
            text = trend["text"] if not trend.get("row") else f"{trend['text']} — {trend['row']}"
            questions.append(
                QuestionChange(
                    text,
                    trend["measure"],
                    then["proportion"],
                    latest["proportion"],
                    latest.get("p_value"),
                )
            )
    if tested is None:
        return Change(previous, before, after, questions=questions)
    difference, p_value, real = tested
    return Change(previous, before, after, round(difference, 4), p_value, real, questions)


def surveys(session: Session, scope: Unit | None, now: datetime) -> list[SurveyLine]:
    """The open surveys, then those closed within RECENT, newest first, at most SHOWN."""
    lines = []
    for survey, n in analytics.responses_in_scope(session, scope, now):
        if survey.opens_at > now or survey.closes_at < now - RECENT:
            continue
        result = analytics.index_results(session, survey, scope=scope, now=now)
        index = index_from(result)
        change = None if n is None else change_since_last_wave(session, survey, scope, index, now)
        is_open = survey.closes_at >= now
        lines.append(SurveyLine(survey, is_open, n, index, change, result["threshold"]))
    lines.sort(key=lambda line: (not line.is_open, -line.survey.closes_at.timestamp()))
    return lines[:SHOWN]


def main_survey(session: Session, now: datetime) -> Survey | None:
    """The survey a commune's brief reports: the newest opened survey with an index."""
    for survey in session.scalars(
        select(Survey).where(Survey.opens_at <= now).order_by(Survey.closes_at.desc())
    ):
        if index_items(definition(session, survey)):
            return survey
    return None


@dataclass(frozen=True)
class RoundLine:
    round: Round
    contest: Contest
    is_open: bool
    summary: contest_stats.RoundSummary  # participants, communes covered, of how many
    threshold: int


def rounds(
    session: Session, scope: Unit | None, now: datetime, grace: timedelta = timedelta(0)
) -> list[RoundLine]:
    """The rounds open now or closed within RECENT, newest first, at most SHOWN, of contests
    open to some commune within `scope`; figures from contest_stats.contest_stats."""
    recent = session.scalars(
        select(Round)
        .where(Round.opens_at <= now, Round.closes_at >= now - RECENT)
        .order_by(Round.closes_at.desc(), Round.id)
        .limit(SHOWN)
    ).all()
    summaries: dict[int, tuple[int, dict[int, contest_stats.RoundSummary]]] = {}
    lines = []
    for round_ in recent:
        contest = round_.contest
        if contest.id not in summaries:
            stats = contest_stats.contest_stats(session, contest, scope=scope, now=now, grace=grace)
            by_id = {summary.id: summary for summary in stats.rounds}
            summaries[contest.id] = (stats.threshold, by_id)
        threshold, by_id = summaries[contest.id]
        summary = by_id[round_.id]
        if summary.communes:
            is_open = round_.closes_at >= now
            lines.append(RoundLine(round_, contest, is_open, summary, threshold))
    lines.sort(key=lambda line: (not line.is_open, -line.round.closes_at.timestamp()))
    return lines


def overview(
    session: Session, scope: Unit | None, now: datetime, grace: timedelta = timedelta(0)
) -> dict[str, Any]:
    """Everything the leaders' home shows."""
    return {"surveys": surveys(session, scope, now), "rounds": rounds(session, scope, now, grace)}
