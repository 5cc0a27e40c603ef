"""What a survey is, read from the database: its questions as plain definitions, the choices
a scale name stands for, what the satisfaction index counts, and whether answers exist.

A leaf: it reads only models, so that storing content (app.content.store), answering
(app.services.surveys) and results (app.services.analytics) all build on it without importing
one another.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import BigInteger, case, cast, func, literal_column, select, update
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
class Questions:
    """A survey's questions at one of its versions: what checking answers and computing a
    response's stored figures need (the API's fast lane has no more: services.surveys
    `respond_fast`)."""

    questions: list[QuestionDef]
    version: int = 0  # the survey's version these questions were read at

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


@dataclass
class SurveyDef(Questions):
    """The questions with the survey they belong to and its pages (what pages and results
    show)."""

    survey: Survey = field(kw_only=True)
    pages: list[dict[str, Any]] = field(kw_only=True)


# The questions of each survey, per engine and per survey version: a version is never changed
# (any change of a survey's questions, scales or pages moves it, app/content/store.py), so a
# request reads them once per process, as the contests' draw pools are read.
_QUESTIONS: WeakKeyDictionary[Any, dict[tuple[int, int], list[QuestionDef]]] = WeakKeyDictionary()


def definition(session: Session, survey: Survey) -> SurveyDef:
    if _UNCOMMITTED.get():
        questions = _read_questions(session, survey)
        return SurveyDef(questions, survey.version, survey=survey, pages=survey.pages)
    cache = _QUESTIONS.setdefault(session.get_bind(), {})
    key = (survey.id, survey.version)
    kept = cache.get(key)
    if kept is None:
        kept = _read_questions(session, survey)
        if len(cache) > 256:
            cache.clear()
        cache[key] = kept
    return SurveyDef(list(kept), survey.version, survey=survey, pages=survey.pages)


def cached_questions(session: Session, survey_id: int, version: int) -> Questions | None:
    """The survey's questions at `version` when this process has read them (`definition`),
    else None: for a hot path that has read the survey's id and version in its own query and
    leaves a first reading to the full path."""
    kept = _QUESTIONS.get(session.get_bind(), {}).get((survey_id, version))
    return Questions(list(kept), version) if kept is not None else None


_UNCOMMITTED: ContextVar[bool] = ContextVar("uncommitted_definition", default=False)


@contextmanager
def uncommitted() -> Iterator[None]:
    """Definitions read inside are not kept: a content load reads the survey's new version
    before it commits, and a commit that fails would leave questions never in force cached
    under a version number another load may then commit with other questions."""
    token = _UNCOMMITTED.set(True)
    try:
        yield
    finally:
        _UNCOMMITTED.reset(token)


# A survey's questions in order (positions are unique in a load; the id settles any tie).
QUESTION_ORDER = (SurveyQuestion.position, SurveyQuestion.id)


def _read_questions(session: Session, survey: Survey) -> list[QuestionDef]:
    rows = session.scalars(
        select(SurveyQuestion)
        .where(SurveyQuestion.survey_id == survey.id, SurveyQuestion.retired_at.is_(None))
        .order_by(*QUESTION_ORDER)
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


def index_items(defn: Questions) -> dict[int, int]:
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


def index_figures(defn: Questions, answers: dict[str, Any]) -> IndexFigures:
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
    _set_all(session, survey, index_score=None, index_items=0, index_top=0)
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
    return _set_all(
        session,
        survey,
        per_response.c.rid,
        index_score=per_response.c.score,
        index_items=per_response.c.answered,
        index_top=per_response.c.top,
    )


def _set_all(session: Session, survey: Survey, rid: Any = None, **values: Any) -> int:
    """One UPDATE of the survey's stored responses: all of them, or those of `rid` (the response
    id column of a subquery, whose columns `values` use). Returns the rows changed."""
    stmt = update(SurveyResponse).where(SurveyResponse.survey_id == survey.id)
    if rid is not None:
        stmt = stmt.where(SurveyResponse.id == rid)
    result = session.execute(
        stmt.values(**values), execution_options={"synchronize_session": False}
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


# A response's demographic answers as one number (survey_responses.groups), so that results
# break down by them without joining 8 answers a response to their demographic answers again
# (app/services/cube.py): the value of each of the first GROUPED demographic questions of the
# definition, in its order, in GROUP_BITS bits (1 to 30: a `single` question has at most 30
# choices; 0: not answered, or answered with "other"). Written with the response, like the
# index figures; `restamp_groups` recomputes it when a content load changes which questions
# those are (app/content/store.py), in the load's transaction.
GROUP_BITS = 5
GROUP_MASK = (1 << GROUP_BITS) - 1
GROUPED = 12  # 60 bits of a BIGINT; a survey's further demographic questions are joined


def grouped(defn: Questions) -> list[QuestionDef]:
    """The demographic questions whose answers `survey_responses.groups` holds, in its order."""
    return [q for q in defn.questions if q.demographic][:GROUPED]


def stored_figures(defn: Questions, answers: dict[str, Any]) -> dict[str, Any]:
    """What a response keeps on its row beside its answers, by the rules of `defn`: its part of
    the satisfaction index and its demographic groups — the columns of `survey_responses` that
    `restamp_index` and `restamp_groups` compute again in SQL. Every way of storing a response
    writes them from here."""
    index = index_figures(defn, answers)
    return {
        "index_score": index.score,
        "index_items": index.items,
        "index_top": index.top,
        "groups": groups_code(defn, answers),
    }


def stored_layout(session: Session, survey_id: int) -> tuple[int | None, list[int]]:
    """The survey's version and the ids of the questions its stored responses' `groups` hold,
    as the database has them now: `grouped`'s questions, read from the table (a content load
    changes both, and restamps the rows, in one transaction). The version is read first: a
    load committed between the two reads shows as a version that moved by the time the caller
    reads it again (cube.build)."""
    version = stored_version(session, survey_id)
    layout = session.scalars(
        select(SurveyQuestion.id)
        .where(
            SurveyQuestion.survey_id == survey_id,
            SurveyQuestion.retired_at.is_(None),
            SurveyQuestion.demographic.is_(True),
        )
        .order_by(*QUESTION_ORDER)
        .limit(GROUPED)
    ).all()
    return version, list(layout)


def stored_version(session: Session, survey_id: int) -> int | None:
    return session.scalar(select(Survey.version).where(Survey.id == survey_id))


def groups_code(defn: Questions, answers: dict[str, Any]) -> int:
    """A response's `groups` from its answers (as clean_answers returns them)."""
    code = 0
    for position, q in enumerate(grouped(defn)):
        value = answers.get(q.key)
        if type(value) is int and 1 <= value <= GROUP_MASK:
            code |= value << (GROUP_BITS * position)
    return code


def group_of(code: Any, position: int) -> Any:
    """SQL: the answer of the `position`-th question of `grouped` (0: none) from `code`."""
    # Constants written in the statement (plain integers): PostgreSQL shifts a bigint by an
    # integer, and the same expression in SELECT and GROUP BY must not differ by parameters.
    shift = literal_column(str(int(GROUP_BITS * position)))
    return code.bitwise_rshift(shift).bitwise_and(literal_column(str(GROUP_MASK)))


def restamp_groups(session: Session, survey: Survey) -> int:
    """Compute every stored response's `groups` again from its answers (one UPDATE), for when a
    content load changes the questions of `grouped`; the same figures as `groups_code`."""
    session.flush()
    layout = grouped(definition(session, survey))
    _set_all(session, survey, groups=0)
    if not layout:
        return 0
    shift = case(
        *[(SurveyAnswer.question_id == q.id, 1 << (GROUP_BITS * i)) for i, q in enumerate(layout)]
    )
    per_response = (
        select(
            SurveyAnswer.response_id.label("rid"),
            func.sum(cast(SurveyAnswer.value, BigInteger) * shift).label("code"),
        )
        .where(
            SurveyAnswer.question_id.in_([q.id for q in layout]),
            SurveyAnswer.item == 0,
            SurveyAnswer.value.between(1, GROUP_MASK),
        )
        .group_by(SurveyAnswer.response_id)
        .subquery()
    )
    return _set_all(
        session, survey, per_response.c.rid, groups=cast(per_response.c.code, BigInteger)
    )
