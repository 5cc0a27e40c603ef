"""Raw survey responses for officers, one row per response. For anonymous surveys (survey.md):
the province's scope only, no free text, and units with fewer respondents than the threshold
generalised to the province."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Survey, SurveyAnswer, SurveyResponse, Unit, UnitLevel
from app.services.analytics import DEFAULT_THRESHOLD, _scope_filter
from app.services.surveys import ANSWERED, definition


class NotAllowed(Exception):
    pass


def rows(session: Session, survey: Survey, scope: Unit) -> list[list[Any]]:
    if survey.anonymous and scope.level != UnitLevel.PROVINCE:
        raise NotAllowed
    defn = definition(session, survey)
    columns = [q for q in defn.questions if not (survey.anonymous and q.type == "text")]
    scope_filter = _scope_filter(session, scope)
    threshold = survey.min_group or DEFAULT_THRESHOLD
    sizes = dict(
        session.execute(
            select(SurveyResponse.unit_code, func.count())
            .where(SurveyResponse.survey_id == survey.id, scope_filter)
            .group_by(SurveyResponse.unit_code)
        ).all()
    )
    names = dict(session.execute(select(Unit.code, Unit.name)).all())
    province = names.get(
        scope.code if scope.level == UnitLevel.PROVINCE else scope.parent_code or scope.code, ""
    )
    responses = session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.unit_code,
            SurveyResponse.submitted_on,
            SurveyResponse.signed_in,
        )
        .where(SurveyResponse.survey_id == survey.id, scope_filter)
        .order_by(SurveyResponse.id)  # random keys: no order of arrival
    ).all()
    wanted = {q.id: q for q in columns}
    values: dict[Any, dict[str, list[str]]] = {}
    for response_id, question_id, item, value, number, text in session.execute(
        select(
            SurveyAnswer.response_id,
            SurveyAnswer.question_id,
            SurveyAnswer.item,
            SurveyAnswer.value,
            SurveyAnswer.number,
            SurveyAnswer.text,
        )
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(
            SurveyResponse.survey_id == survey.id,
            scope_filter,
            SurveyAnswer.question_id.in_(list(wanted)),
        )
    ):
        q = wanted[question_id]
        if item == ANSWERED and q.type in ("multiple", "grid"):
            continue  # the row that counts the respondent, not a value
        if item == -1:
            if survey.anonymous:
                continue  # no free text in anonymous exports
            shown = f"other: {text}"
        elif q.type == "grid":
            shown = f"{item}={value}"
        elif q.type == "number":
            shown = f"{number:g}"
        elif q.type == "text":
            shown = text or ""
        else:
            shown = str(value)
        values.setdefault(response_id, {}).setdefault(q.key, []).append(shown)
    table: list[list[Any]] = [["response", "unit", "day", "signed_in", *[q.key for q in columns]]]
    for response_id, unit_code, day, signed_in in responses:
        unit = names.get(unit_code, "")
        if survey.anonymous and sizes.get(unit_code, 0) < threshold:
            unit = province
        answers = values.get(response_id, {})
        table.append(
            [
                str(response_id),
                unit,
                day.isoformat(),
                signed_in,
                *["; ".join(answers.get(q.key, [])) for q in columns],
            ]
        )
    return table
