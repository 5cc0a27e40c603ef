"""How a survey is going, counted in the database: responses per commune against the audience,
completion of identified surveys, and the overall results a `show_results` survey shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Role,
    Survey,
    SurveyAnswer,
    SurveyDraft,
    SurveyResponse,
    Unit,
    UnitLevel,
    User,
)
from app.services.surveys import SurveyDef
from app.text import vietnamese_key


@dataclass(frozen=True)
class UnitProgress:
    code: int
    name: str
    responses: int
    residents: int  # registered residents: the audience the app can reach
    population: int | None


def responses_per_unit(session: Session, survey: Survey, scope: Unit) -> list[UnitProgress]:
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
        .where(Unit.level == UnitLevel.COMMUNE)
    )
    stmt = (
        stmt.where(Unit.code == scope.code)
        if scope.level == UnitLevel.COMMUNE
        else stmt.where(Unit.parent_code == scope.code)
    )
    rows = [UnitProgress(*row) for row in session.execute(stmt)]
    if survey.audience:
        rows = [r for r in rows if r.code in survey.audience or scope.code in survey.audience]
    return sorted(rows, key=lambda r: vietnamese_key(r.name))


def completion(session: Session, survey: Survey) -> dict[str, int]:
    """Identified surveys: people who started (a draft) and who submitted."""
    submitted = (
        session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.survey_id == survey.id)
        )
        or 0
    )
    drafts = (
        session.scalar(
            select(func.count()).select_from(SurveyDraft).where(SurveyDraft.survey_id == survey.id)
        )
        or 0
    )
    return {"started": submitted + drafts, "submitted": submitted}


def overall_results(session: Session, defn: SurveyDef) -> dict[str, Any]:
    """Counts per value of every choice question, over everyone (never broken down). Below the
    survey's smallest group size nothing is shown."""
    survey = defn.survey
    total = (
        session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.survey_id == survey.id)
        )
        or 0
    )
    threshold = survey.min_group or 5
    if total < threshold:
        return {"n": total, "threshold": threshold, "suppressed": True, "questions": []}
    ids = [q.id for q in defn.questions if q.type in {"single", "multiple", "scale", "rating"}]
    counts: dict[int, dict[int, int]] = {}
    for question_id, value, n in session.execute(
        select(SurveyAnswer.question_id, SurveyAnswer.value, func.count())
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(
            SurveyResponse.survey_id == survey.id,
            SurveyAnswer.question_id.in_(ids),
            SurveyAnswer.value.is_not(None),
        )
        .group_by(SurveyAnswer.question_id, SurveyAnswer.value)
    ):
        counts.setdefault(question_id, {})[value] = n
    respondents = dict(
        session.execute(
            select(SurveyAnswer.question_id, func.count(func.distinct(SurveyAnswer.response_id)))
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(SurveyResponse.survey_id == survey.id, SurveyAnswer.question_id.in_(ids))
            .group_by(SurveyAnswer.question_id)
        ).all()
    )
    questions = []
    for q in defn.questions:
        if q.id not in ids:
            continue
        values = range(0, 11) if q.type == "rating" else range(1, len(q.choices) + 1)
        labels = {v: (str(v) if q.type == "rating" else q.choices[v - 1]) for v in values}
        found = counts.get(q.id, {})
        answered = respondents.get(q.id, 0)  # people, so ticks of a `multiple` may add past 100%
        questions.append(
            {
                "key": q.key,
                "text": q.text,
                "rows": [
                    (
                        labels[v],
                        found.get(v, 0),
                        round(found.get(v, 0) / answered * 100) if answered else 0,
                    )
                    for v in values
                ],
            }
        )
    return {"n": total, "threshold": threshold, "suppressed": False, "questions": questions}
