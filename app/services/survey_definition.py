"""What a survey is, read from the database: its questions as plain definitions, the choices
a scale name stands for, what the satisfaction index counts, and whether answers exist.

A leaf: it reads only models, so that storing content (app.content.store), answering
(app.services.surveys) and results (app.services.analytics) all build on it without importing
one another.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from app.models import Survey, SurveyAnswer, SurveyPending, SurveyQuestion, SurveyResponse

ANSWERED = 0  # the item of the row saying that a multiple-choice or grid question was answered


def resolved_choices(
    choices: list[str] | None, scale: str | None, scales: dict[str, list[str]]
) -> list[str]:
    return list(choices) if choices else list(scales.get(scale or "", []))


@dataclass(frozen=True)
class QuestionDef:
    id: int
    key: str
    type: str
    text: str | None
    help: str | None
    required: bool
    show_if: dict[str, list[int]] | None
    choices: list[str]
    rows: list[str]
    min: float | None
    max: float | None
    decimal: bool
    other: bool
    demographic: bool
    index: bool
    low: str | None
    high: str | None
    page: int


@dataclass
class SurveyDef:
    survey: Survey
    questions: list[QuestionDef]
    pages: list[dict[str, Any]]
    version: int = 0  # the survey's version this definition was read at

    @property
    def by_key(self) -> dict[str, QuestionDef]:
        return {q.key: q for q in self.questions}

    def known(self, items: list[dict[str, Any]]) -> Iterator[tuple[QuestionDef, dict[str, Any]]]:
        """The result's questions (`{"id": key, …}`) with their definitions, in the result's
        order. A result read from a replica that lags behind, or kept under a stamp, may name a
        question this definition has retired: it is left out, never a KeyError."""
        by_key = self.by_key
        for item in items:
            q = by_key.get(item["id"])
            if q is not None:
                yield q, item

    def page_questions(self, page: int) -> list[QuestionDef]:
        return [q for q in self.questions if q.page == page]


# The questions of each survey, per engine and per survey version: a version is never changed
# (any change of a survey's questions, scales or pages moves it, app/content/store.py), so a
# request reads them once per process, as the contests' draw pools are read.
_QUESTIONS: WeakKeyDictionary[Any, dict[tuple[int, int], list[QuestionDef]]] = WeakKeyDictionary()


def definition(session: Session, survey: Survey) -> SurveyDef:
    cache = _QUESTIONS.setdefault(session.get_bind(), {})
    key = (survey.id, survey.version)
    questions = cache.get(key)
    if questions is None:
        questions = _read_questions(session, survey)
        if len(cache) > 256:
            cache.clear()
        cache[key] = questions
    return SurveyDef(survey, list(questions), survey.pages, survey.version)


def _read_questions(session: Session, survey: Survey) -> list[QuestionDef]:
    rows = session.scalars(
        select(SurveyQuestion)
        .where(SurveyQuestion.survey_id == survey.id, SurveyQuestion.retired_at.is_(None))
        .order_by(SurveyQuestion.position)
    ).all()
    return [
        QuestionDef(
            id=q.id,
            key=q.key,
            type=q.type,
            text=q.text,
            help=q.help,
            required=q.required,
            show_if=q.show_if,
            choices=resolved_choices(q.choices, q.scale, survey.scales),
            rows=list(q.rows or []),
            min=q.min_value,
            max=q.max_value,
            decimal=bool(q.decimal),
            other=bool(q.other),
            demographic=bool(q.demographic),
            index=bool(q.index),
            low=q.low,
            high=q.high,
            page=q.page,
        )
        for q in rows
    ]


def index_items(defn: SurveyDef) -> dict[int, int]:
    """The questions the satisfaction index counts, with their number of scale points k."""
    return {q.id: len(q.choices) for q in defn.questions if q.index and len(q.choices) > 1}


@dataclass(frozen=True)
class IndexFigures:
    """A response's part of the satisfaction index (survey.md): the mean of the index items it
    answered, each rescaled to 0–100 ((value − 1) / (k − 1) × 100); how many it answered;
    how many of those are in the top two values."""

    score: float | None
    items: int
    top: int


def index_figures(defn: SurveyDef, answers: dict[str, Any]) -> IndexFigures:
    """Of a response's answers (as clean_answers returns them): each grid row is one item."""
    k_of = index_items(defn)
    scores: list[float] = []
    top = 0
    for q in defn.questions:
        k = k_of.get(q.id)
        value = answers.get(q.key)
        if k is None or value is None:
            continue
        marks = list(value.values()) if isinstance(value, dict) else [value]
        for mark in marks:
            scores.append((int(mark) - 1) * 100.0 / (k - 1))
            top += int(mark) >= k - 1
    return IndexFigures(sum(scores) / len(scores) if scores else None, len(scores), top)


def responses_exist(session: Session, survey: Survey) -> bool:
    """Stored or still pending: either way the survey has answers to keep consistent."""
    return any(
        session.scalar(select(table.survey_id).where(table.survey_id == survey.id).limit(1))
        is not None
        for table in (SurveyResponse, SurveyPending)
    )


def restamp_index(session: Session, survey: Survey) -> int:
    """Compute every response's index figures again from its stored answers (one UPDATE), for
    when the survey changes what its index counts: an `index:` flag, a scale made longer, an
    index question retired. The same figures as index_figures."""
    session.flush()
    items = index_items(definition(session, survey))
    mine = SurveyResponse.survey_id == survey.id
    session.execute(
        update(SurveyResponse).where(mine).values(index_score=None, index_items=0, index_top=0),
        execution_options={"synchronize_session": False},
    )
    if not items:
        return 0
    scale_max = case(*[(SurveyAnswer.question_id == qid, k) for qid, k in items.items()])
    per_response = (
        select(
            SurveyAnswer.response_id.label("rid"),
            func.avg((SurveyAnswer.value - 1) * 100.0 / (scale_max - 1)).label("score"),
            func.count().label("answered"),
            func.sum(case((SurveyAnswer.value >= scale_max - 1, 1), else_=0)).label("top"),
        )
        .where(SurveyAnswer.question_id.in_(list(items)), SurveyAnswer.value.is_not(None))
        .group_by(SurveyAnswer.response_id)
        .subquery()
    )
    return (
        session.execute(
            update(SurveyResponse)
            .where(mine, SurveyResponse.id == per_response.c.rid)
            .values(
                index_score=per_response.c.score,
                index_items=per_response.c.answered,
                index_top=per_response.c.top,
            ),
            execution_options={"synchronize_session": False},
        ).rowcount
        or 0
    )
