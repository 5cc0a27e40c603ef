"""Raw survey responses for officers, one row per response. For anonymous surveys (survey.md):
the province's scope only and no free text. For every survey, its one suppression decision
(analytics.hidden_groups): a commune the results hide is generalised to the province, a
demographic answer they hide for that commune (or everywhere) is left blank, and so is the
answer to a question whose results hide that commune or group.

The file (an exports.Table): the question texts as the header, their ids in a second header
row; the day of each response (only the day is stored) as a date; one answer as a number cell
(the choice's number, the rating, the number given), several as text ("1; 3", grid "row=value").
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Survey, SurveyAnswer, SurveyResponse, Unit, UnitLevel
from app.services.analytics import _scope_filter, hidden_groups, withheld
from app.services.exports import Column, Table
from app.services.refusals import NotAllowed
from app.services.suppression import RESPONSES, SurveyDecision
from app.services.survey_definition import ANSWERED, QuestionDef, definition


def _kind(q: QuestionDef) -> str:
    return "text" if q.type in ("text", "multiple", "grid") else "number"


def _cell(values: list[Any], kind: str) -> Any:
    """One answer as its own (typed) value; in a text column, every value joined as text."""
    if len(values) == 1 and kind != "text":
        return values[0]
    return "; ".join(str(v) for v in values)


def check(session: Session, survey: Survey, scope: Unit) -> None:
    """NotAllowed when `scope`'s responses may not be exported at all."""
    if survey.anonymous and scope.level != UnitLevel.PROVINCE:
        raise NotAllowed
    if withheld(session, survey, scope):  # a hidden commune's rows would show its count
        raise NotAllowed


def rows(session: Session, survey: Survey, scope: Unit) -> Table:
    check(session, survey, scope)
    defn = definition(session, survey)
    columns = [q for q in defn.questions if not (survey.anonymous and q.type == "text")]
    scope_filter = _scope_filter(session, scope)
    decision = hidden_groups(session, survey)
    demographics = [q for q in defn.questions if q.demographic]
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
    values: dict[Any, dict[str, list[Any]]] = {}
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
        shown: Any
        if item == -1:
            if survey.anonymous:
                continue  # no free text in anonymous exports
            shown = _("other: %(text)s", text=text)
        elif q.type == "grid":
            shown = f"{item}={value}"
        elif q.type == "number":
            shown = int(number) if number is not None and float(number).is_integer() else number
        elif q.type == "text":
            shown = text or ""
        else:
            shown = value
        values.setdefault(response_id, {}).setdefault(q.key, []).append(shown)
    table = Table(
        [
            Column("response", _("Response"), "text"),
            Column("unit", _("Commune / ward"), "text"),
            Column("day", _("Day answered"), "date"),
            Column("signed_in", _("Signed in"), "text"),
            *[Column(q.key, q.text or q.key, _kind(q)) for q in columns],
        ],
        timezone=survey.timezone,
    )
    yes, no = _("yes"), _("no")
    for response_id, unit_code, day, signed_in in responses:
        unit = names.get(unit_code, "")
        answers = values.get(response_id, {})
        # Small groups, every survey: the results' decision holds in the rows too.
        hidden, answers = _generalised(decision, demographics, columns, unit_code, answers)
        unit = province if hidden else unit
        table.rows.append(
            [
                str(response_id),
                unit,
                day,
                yes if signed_in else no,
                *[_cell(answers[q.key], _kind(q)) if q.key in answers else None for q in columns],
            ]
        )
    return table


def _group(shown: list[Any] | None) -> int:
    value = shown[0] if shown else None
    return value if type(value) is int else 0


def _generalised(
    decision: SurveyDecision,
    demographics: list[QuestionDef],
    columns: list[QuestionDef],
    unit_code: int,
    answers: dict[str, list[Any]],
) -> tuple[bool, dict[str, list[Any]]]:
    """One anonymous response as the suppression decision lets it be shown: whether its
    commune is hidden (the province is written instead), and the answers the results show."""
    commune_hidden = decision.hidden(RESPONSES, unit_code)
    # A demographic answer's group: its choice; 0 without one, and for an "other" text (shown as
    # such in identified surveys), as the results count it.
    groups = {d.key: _group(answers.get(d.key)) for d in demographics}
    kept: dict[str, list[Any]] = {}
    for q in columns:
        if q.key not in answers:
            continue
        if q.demographic:
            # In a hidden commune every demographic answer goes: the province's rows would
            # otherwise separate the hidden communes' part of a group from the hidden cells.
            if commune_hidden or decision.hidden(RESPONSES, unit_code, q.key, groups[q.key]):
                continue
        elif commune_hidden:
            if decision.units(q.key) != decision.units(RESPONSES):
                continue  # the question hides more communes: their sum must not appear
        elif decision.hidden(q.key, unit_code) or any(
            decision.hidden(q.key, unit_code, d.key, groups[d.key])
            and not decision.hidden(RESPONSES, unit_code, d.key, groups[d.key])
            for d in demographics
        ):
            continue
        kept[q.key] = answers[q.key]
    return commune_hidden, kept
