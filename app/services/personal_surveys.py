"""A person's own survey data, as they may download it: their identified responses and drafts,
readable (survey title, question texts, the choices' words), and, for anonymous surveys, only
that they answered — the ledger knows nothing more, and no anonymous response is theirs to see.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.store import resolved_choices
from app.models import (
    Survey,
    SurveyAnswer,
    SurveyDraft,
    SurveyLedger,
    SurveyQuestion,
    SurveyResponse,
    User,
)

OTHER = -1  # the item of an "other" text (app.services.surveys)


def survey_sections(session: Session, user: User) -> dict[str, list[dict[str, Any]]]:
    return {
        "survey_responses": _responses(session, user),
        "survey_drafts": _drafts(session, user),
        "anonymous_surveys": [
            {"survey": title, "answered": True}
            for title in session.scalars(
                select(Survey.title)
                .join(SurveyLedger, SurveyLedger.survey_id == Survey.id)
                .where(SurveyLedger.user_id == user.id, Survey.anonymous.is_(True))
                .order_by(Survey.title)
            )
        ],
    }


def _responses(session: Session, user: User) -> list[dict[str, Any]]:
    responses = session.execute(
        select(SurveyResponse, Survey)
        .join(Survey, Survey.id == SurveyResponse.survey_id)
        .where(SurveyResponse.user_id == user.id, Survey.anonymous.is_(False))
        .order_by(SurveyResponse.submitted_on, Survey.title)
    ).all()
    out = []
    for response, survey in responses:
        rows: dict[int, list[SurveyAnswer]] = defaultdict(list)
        for row in session.scalars(
            select(SurveyAnswer).where(SurveyAnswer.response_id == response.id)
        ):
            rows[row.question_id].append(row)
        questions = _questions(session, survey)
        answers = {q.key: _value(q, rows[q.id]) for q in questions.values() if q.id in rows}
        out.append(
            {
                "survey": survey.title,
                "submitted_on": response.submitted_on.isoformat(),
                "answers": _readable(survey, questions, answers),
            }
        )
    return out


def _drafts(session: Session, user: User) -> list[dict[str, Any]]:
    drafts = session.execute(
        select(SurveyDraft, Survey)
        .join(Survey, Survey.id == SurveyDraft.survey_id)
        .where(SurveyDraft.user_id == user.id)
        .order_by(SurveyDraft.updated_at)
    ).all()
    return [
        {
            "survey": survey.title,
            "page": draft.page + 1,
            "updated_at": draft.updated_at.isoformat(),
            "answers": _readable(survey, _questions(session, survey), draft.answers),
        }
        for draft, survey in drafts
    ]


def _questions(session: Session, survey: Survey) -> dict[str, SurveyQuestion]:
    """Every question, retired ones too: answers given to them stay the person's."""
    return {
        q.key: q
        for q in session.scalars(
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id == survey.id)
            .order_by(SurveyQuestion.position)
        )
    }


def _value(q: SurveyQuestion, rows: list[SurveyAnswer]) -> Any:
    """Stored rows back into the value as the person gave it (api.md)."""
    other = next((r.text for r in rows if r.item == OTHER), None)
    if q.type == "multiple":
        choices = sorted(r.value for r in rows if r.item > 0 and r.value is not None)
        return {"choices": choices, "other": other} if other is not None else choices
    if q.type == "grid":
        return {str(r.item): r.value for r in sorted(rows, key=lambda r: r.item) if r.item > 0}
    if other is not None:
        return {"other": other}
    row = next((r for r in rows if r.item == 0), None)
    if row is None:
        return None
    if q.type == "number":
        number = row.number
        return int(number) if number is not None and number.is_integer() else number
    if q.type == "text":
        return row.text
    return row.value


def _readable(
    survey: Survey, questions: dict[str, SurveyQuestion], answers: dict[str, Any]
) -> list[dict[str, Any]]:
    out = []
    for key, value in answers.items():
        q = questions.get(key)
        if q is None:
            continue
        out.append(
            {
                "question": key,
                "text": q.text,
                "value": value,
                "answer": _words(q, resolved_choices(q.choices, q.scale, survey.scales), value),
            }
        )
    order = list(questions)
    return sorted(out, key=lambda a: order.index(a["question"]))


def _words(q: SurveyQuestion, choices: list[str], value: Any) -> Any:
    def choice(number: Any) -> Any:
        index = int(number) - 1 if str(number).isdigit() else -1
        return choices[index] if 0 <= index < len(choices) else number

    if q.type in {"single", "scale"}:
        return value["other"] if isinstance(value, dict) else choice(value)
    if q.type == "multiple":
        picked = value["choices"] if isinstance(value, dict) else value
        words = [choice(c) for c in picked]
        return [*words, value["other"]] if isinstance(value, dict) and value.get("other") else words
    if q.type == "grid" and isinstance(value, dict):
        rows = q.rows or []
        return {
            (rows[int(r) - 1] if r.isdigit() and 0 < int(r) <= len(rows) else r): choice(v)
            for r, v in value.items()
        }
    return value
