"""How a survey is going, counted in the database: responses per commune against the audience,
completion of identified surveys, and the overall results a `show_results` survey shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.content.messages import N_
from app.errors import DomainError
from app.models import (
    Role,
    Survey,
    SurveyDraft,
    SurveyResponse,
    Unit,
    UnitLevel,
    User,
)
from app.parse import bounded_int
from app.services import analytics, audit, tallies
from app.services.policy import in_scope
from app.services.survey_definition import SurveyDef
from app.text import vietnamese_key


@dataclass(frozen=True)
class UnitProgress:
    code: int
    name: str
    responses: int | None  # None: hidden (small groups: a commune the results hide)
    residents: int  # registered residents: the audience the app can reach
    population: int | None


def responses_per_unit(session: Session, survey: Survey, scope: Unit | None) -> list[UnitProgress]:
    """Responses per commune within `scope`; a commune that the survey's results hide (fewer
    people than its threshold, or its complement) shows no count."""
    responses = (
        select(SurveyResponse.unit_code, func.count().label("n"))
        .where(SurveyResponse.survey_id == survey.id)
        .group_by(SurveyResponse.unit_code)
        .subquery()
    )
    residents = (
        select(User.unit_code, func.count().label("n"))
        .where(User.role == Role.RESIDENT, User.deleted_at.is_(None))
        .group_by(User.unit_code)
        .subquery()
    )
    stmt = (
        select(
            Unit.code,
            Unit.name,
            func.coalesce(responses.c.n, 0),
            func.coalesce(residents.c.n, 0),
            Unit.population,
        )
        .outerjoin(responses, responses.c.unit_code == Unit.code)
        .outerjoin(residents, residents.c.unit_code == Unit.code)
        .where(Unit.level == UnitLevel.COMMUNE, in_scope(Unit.code, scope))
    )
    decision = analytics.hidden_groups(session, survey)
    hidden, everything = decision.units(), decision.everything()
    tallied = tallies.forms_per_unit(session, survey)  # counted as the results count them
    rows = [
        UnitProgress(
            code,
            name,
            None if everything or code in hidden else n + tallied.get(code, 0),
            residents,
            population,
        )
        for code, name, n, residents, population in session.execute(stmt)
    ]
    if survey.audience:
        everywhere = scope is not None and scope.code in survey.audience
        rows = [r for r in rows if r.code in survey.audience or everywhere]
    return sorted(rows, key=lambda r: vietnamese_key(r.name))


def completion(session: Session, survey: Survey, scope: Unit | None) -> dict[str, int] | None:
    """Identified surveys: people within `scope` who started (a draft) and who submitted;
    None when the scope is a commune whose figures the results withhold."""
    if analytics.withheld(session, survey, scope):
        return None
    submitted = (
        session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.survey_id == survey.id, in_scope(SurveyResponse.unit_code, scope))
        )
        or 0
    )
    drafts = (
        session.scalar(
            select(func.count())
            .select_from(SurveyDraft)
            .join(User, User.id == SurveyDraft.user_id)
            .where(SurveyDraft.survey_id == survey.id, in_scope(User.unit_code, scope))
        )
        or 0
    )
    submitted += tallies.forms_in(session, survey, scope)  # as the results count them
    return {"started": submitted + drafts, "submitted": submitted}


def overall_results(session: Session, defn: SurveyDef) -> dict[str, Any]:
    """Counts per value of every choice question, over everyone (never broken down): the
    results' own figures (analytics.results), so that the same groups stay hidden."""
    survey = defn.survey
    result = analytics.results(session, survey)
    threshold = result["threshold"]
    shown = {
        item["id"]: item["groups"][0]
        for item in result["questions"]
        if item["groups"] and not item["groups"][0].get("suppressed")
    }
    if result.get("suppressed") or not shown:
        return {"threshold": threshold, "suppressed": True, "questions": []}
    questions = []
    for q in defn.questions:
        group = shown.get(q.key)
        if q.type not in {"single", "multiple", "scale", "rating"} or group is None:
            continue
        values = range(0, 11) if q.type == "rating" else range(1, len(q.choices) + 1)
        labels = {v: (str(v) if q.type == "rating" else q.choices[v - 1]) for v in values}
        answered = group["n"]  # people, so ticks of a `multiple` may add past 100%
        counts = group["counts"]
        questions.append(
            {
                "key": q.key,
                "text": q.text,
                "rows": [
                    (
                        labels[v],
                        counts.get(str(v), 0),
                        round(counts.get(str(v), 0) / answered * 100) if answered else 0,
                    )
                    for v in values
                ],
            }
        )
    return {"n": result["n"], "threshold": threshold, "suppressed": False, "questions": questions}


# ------------------------------------------------------------------- closing and extending

EXTEND_DAYS_MIN, EXTEND_DAYS_MAX = 1, 365


def extension_until(survey: Survey, now: datetime, days: Any) -> datetime:
    """When the survey would close if extended by `days` (1..365, as typed: a DomainError in
    the officer's words otherwise): that many days after its closing time, or after now when
    it has already closed. Nothing is saved: the officer sees it before confirming."""
    counted = bounded_int(
        days, EXTEND_DAYS_MIN, EXTEND_DAYS_MAX, "days", label=gettext("Extend by (days)")
    )
    return max(survey.closes_at, now) + timedelta(days=counted)


def close_survey(
    session: Session, survey: Survey, now: datetime, actor: User | None = None
) -> bool:
    """Close the survey now. The database decides: one conditional UPDATE that only moves a
    closing time still ahead, so closing a closed survey (twice, or two officers at once) is a
    no-op. True when this call closed it; then the audit trail records it in the same
    transaction (actor None: the command line). Commits."""
    closed = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.closes_at > now)
        .values(closes_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed:
        audit.record(
            session, actor, "survey.close", f"survey:{survey.slug}", survey.owner_unit_code, now
        )
    session.commit()
    session.refresh(survey)
    return bool(closed)


def extend_survey(
    session: Session, survey: Survey, now: datetime, until: Any, actor: User | None = None
) -> bool:
    """Move the closing time to `until`, the time the officer was shown (`extension_until`),
    sent back as ISO 8601. Refused (DomainError, 400) when it is not a time, lies in the past
    or further than 365 days past the survey's current end. Never shortens: the UPDATE only
    applies while the stored closing time is earlier, so when two officers extend at once the
    later time wins and the earlier one changes nothing. True when this call moved it. Commits.
    """
    moment = _moment(until)
    base = max(survey.closes_at, now)
    if moment is None or moment <= now or moment > base + timedelta(days=EXTEND_DAYS_MAX):
        raise DomainError(N_("The new closing time is not valid. Please choose it again."))
    moved = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.closes_at < moment)
        .values(closes_at=moment)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved:  # recorded with the change, in its transaction
        audit.record(
            session,
            actor,
            "survey.extend",
            f"survey:{survey.slug}",
            survey.owner_unit_code,
            now,
            {"until": moment.isoformat()},
        )
    session.commit()
    session.refresh(survey)
    return bool(moved)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)
