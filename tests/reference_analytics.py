"""The oracle of tests/test_cube_equivalence.py: survey results as app/services/analytics.py
computed them before the cube (commit a0dd7d6), one GROUP BY per view and per table of the
suppression decision, frozen here so that the cube's figures and decisions are always checked
against an independent computation. Called without `now` only (no cache).

Its original docstring:

Survey results for leaders: counts in the database (GROUP BY), statistics in pandas, plain
data out. Raw responses never leave the database: every query here returns aggregates.

Definitions (survey.md): proportions with 95% Wilson intervals; means with 95% normal intervals;
the satisfaction index (each respondent's mean of index items rescaled to 0–100, then the mean
over respondents) and "% satisfied" (share of answered index items in the top two values);
groups smaller than the threshold are never shown, with complementary suppression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session
from statsmodels.stats.proportion import proportion_confint

from app.models import Survey, SurveyAnswer, SurveyResponse, Unit, UnitLevel
from app.services import stamped
from app.services.policy import in_scope
from app.services.result_models import checked
from app.services.suppression import (
    INDEX,
    RESPONSES,
    SurveyDecision,
    TableDecision,
    decide_table,
)
from app.services.survey_definition import ANSWERED, QuestionDef, SurveyDef, definition, index_items

Z95 = 1.959963984540054
DEFAULT_THRESHOLD = 5
CHOICE_LIKE = {"single", "multiple", "scale", "rating", "grid"}


class UnknownBreakdown(ValueError):
    pass


@dataclass(frozen=True)
class Grouping:
    kind: str  # all | unit | question
    question: QuestionDef | None = None


def wilson(count: Any, n: Any) -> tuple[Any, Any]:
    return proportion_confint(count, n, alpha=0.05, method="wilson")


def _scope_filter(session: Session, scope: Unit | None) -> Any:
    return in_scope(SurveyResponse.unit_code, scope)


def _grouping(defn: SurveyDef, by: str | None) -> Grouping:
    if by in (None, "", "all"):
        return Grouping("all")
    if by == "unit":
        return Grouping("unit")
    q = defn.by_key.get(by or "")
    if q is None or not q.demographic:
        raise UnknownBreakdown(by)
    return Grouping("question", q)


def _group_expression(grouping: Grouping) -> tuple[Any, Any]:
    """The SQL expression of a response's group, and the join it needs (or None)."""
    if grouping.kind == "all":
        # One group: the survey itself (a column, so that GROUP BY works on every engine).
        return SurveyResponse.survey_id, None
    if grouping.kind == "unit":
        return SurveyResponse.unit_code, None
    demo = SurveyAnswer.__table__.alias("demo")
    join = (
        demo,
        and_(
            demo.c.response_id == SurveyResponse.id,
            demo.c.question_id == grouping.question.id,
            demo.c.item == 0,
        ),
    )
    return func.coalesce(demo.c.value, 0), join  # 0: did not answer the breakdown question


def _base(stmt: Any, survey: Survey, scope_filter: Any, join: Any) -> Any:
    if join is not None:
        stmt = stmt.outerjoin(*join)
    return stmt.where(SurveyResponse.survey_id == survey.id, scope_filter)


def _answer_counts(
    session: Session,
    survey: Survey,
    questions: list[QuestionDef],
    group: Any,
    scope_filter: Any,
    join: Any,
) -> tuple[pd.DataFrame, dict[tuple[int, Any], tuple[int, float, float]], dict[Any, int]]:
    """Everything the questions' figures need from the answers, in one GROUP BY over them:
    counts per (question, group, item, value), the sums of numbers, and the respondents of
    each question and group: one row each has (the value of a single, scale or rating answer,
    or its "other" text; a number; the row at item 0 of a multiple-choice or grid answer), so
    they are counted, never DISTINCT."""
    if not questions:
        return pd.DataFrame(columns=["question", "group", "item", "value", "n"]), {}, {}
    one_pass = (
        select(
            SurveyAnswer.question_id,
            group.label("g"),
            SurveyAnswer.item,
            SurveyAnswer.value,
            func.count(),
            func.count(SurveyAnswer.number),
            func.sum(SurveyAnswer.number),
            func.sum(SurveyAnswer.number * SurveyAnswer.number),
        )
        .select_from(SurveyResponse)
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
    )
    rows = session.execute(
        _base(one_pass, survey, scope_filter, join)
        .where(SurveyAnswer.question_id.in_([q.id for q in questions]))
        .group_by(SurveyAnswer.question_id, group, SurveyAnswer.item, SurveyAnswer.value)
    ).all()
    kinds = {q.id: q.type for q in questions}
    respondents: dict[Any, int] = {}
    numbers: dict[tuple[int, Any], tuple[int, float, float]] = {}
    for question, g, item, value, n, count, total, squares in rows:
        kind, key = kinds[question], (question, g)
        if kind == "number":
            if count:
                numbers[key] = (int(count), float(total), float(squares))
                respondents[key] = respondents.get(key, 0) + int(count)
        elif (kind in ("single", "scale", "rating") and item in (0, -1)) or (
            kind in ("multiple", "grid") and item == ANSWERED and value is None
        ):
            respondents[key] = respondents.get(key, 0) + int(n)
    counts = pd.DataFrame(
        [(q, g, item, value, n) for q, g, item, value, n, *_sums in rows if value is not None],
        columns=["question", "group", "item", "value", "n"],
    )
    return counts, numbers, respondents


def _respondent_row(questions: list[QuestionDef]) -> Any:
    """The one answer row each respondent of a question has (as in _answer_counts)."""

    def ids(*kinds: str) -> list[int]:
        return [q.id for q in questions if q.type in kinds] or [-1]

    return or_(
        SurveyAnswer.question_id.in_(ids("single", "scale", "rating"))
        & SurveyAnswer.item.in_([0, -1]),
        SurveyAnswer.question_id.in_(ids("multiple", "grid"))
        & (SurveyAnswer.item == ANSWERED)
        & SurveyAnswer.value.is_(None),
        SurveyAnswer.question_id.in_(ids("number")) & SurveyAnswer.number.is_not(None),
    )


def _tables(
    session: Session, survey: Survey, defn: SurveyDef, demographic: QuestionDef | None
) -> dict[str, dict[tuple[int, int], int]]:
    """Counts per (commune, group of `demographic`, 0 without one) of every measure: the
    responses, the respondents of each question (by key) and those with an index score."""
    join = None
    groups: list[Any] = []
    if demographic is not None:
        group, join = _group_expression(Grouping("question", demographic))
        groups = [group]
    out: dict[str, dict[tuple[int, int], int]] = {RESPONSES: {}, INDEX: {}}
    for unit, n, scored, *g in session.execute(
        _base(
            select(
                SurveyResponse.unit_code,
                func.count(),
                func.count(SurveyResponse.index_score),
                *groups,
            ).select_from(SurveyResponse),
            survey,
            true(),
            join,
        ).group_by(SurveyResponse.unit_code, *groups)
    ):
        cell = (unit, int(g[0]) if g else 0)
        out[RESPONSES][cell] = int(n)
        out[INDEX][cell] = int(scored)
    questions = [q for q in defn.questions if q.type != "text"]
    keys = {q.id: q.key for q in questions}
    if questions:
        stmt = (
            select(SurveyAnswer.question_id, SurveyResponse.unit_code, func.count(), *groups)
            .select_from(SurveyResponse)
            .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        )
        for question, unit, n, *g in session.execute(
            _base(stmt, survey, true(), join)
            .where(SurveyAnswer.question_id.in_(list(keys)), _respondent_row(questions))
            .group_by(SurveyAnswer.question_id, SurveyResponse.unit_code, *groups)
        ):
            out.setdefault(keys[question], {})[unit, int(g[0]) if g else 0] = int(n)
    return out


def hidden_groups(
    session: Session,
    survey: Survey,
    now: datetime | None = None,
    *,
    at: stamped.Stamp | None = None,
) -> SurveyDecision:
    """The one suppression decision of `survey` (app/services/suppression.py), made over all
    its responses, which every page, API answer, export and count applies. Given `now`, kept
    under the stamp of the survey's responses (app/services/stamped.py)."""
    if at is None and now is not None:
        at = stamped.stamp(session, survey)  # the responses as they are now
    if at is not None:  # kept for exactly these responses (stamped.at)
        return stamped.at(  # type: ignore[no-any-return]
            survey, "hidden", at, lambda: hidden_groups(session, survey)
        )
    defn = definition(session, survey)
    threshold = survey.min_group or DEFAULT_THRESHOLD
    measures = [RESPONSES, INDEX, *[q.key for q in defn.questions if q.type != "text"]]
    communes = _tables(session, survey, defn, None)
    rows = sorted({unit for unit, _g in communes[RESPONSES]})
    tables: dict[tuple[str | None, str], TableDecision] = {}
    base = decide_table(communes[RESPONSES], rows, [0], threshold)
    for measure in measures:
        tables[None, measure] = (
            base
            if measure == RESPONSES
            else decide_table(communes.get(measure, {}), rows, [0], threshold, base)
        )
    for q in defn.questions:
        if not q.demographic:
            continue
        cross = _tables(session, survey, defn, q)
        cols = range(0, len(q.choices) + 1)
        first = tables[None, RESPONSES]
        tables[q.key, RESPONSES] = decide_table(
            cross[RESPONSES], rows, cols, threshold, first, rows_fixed=True
        )
        for measure in measures[1:]:
            start = tables[q.key, RESPONSES]
            own = tables[None, measure]
            start = TableDecision(
                start.everything or own.everything, start.rows | own.rows, start.cols, start.cells
            )
            tables[q.key, measure] = decide_table(
                cross.get(measure, {}), rows, cols, threshold, start, rows_fixed=True
            )
    return SurveyDecision(threshold, tables)


def withheld(
    session: Session, survey: Survey, scope: Unit | None, now: datetime | None = None
) -> bool:
    """Whether every figure of `scope` is withheld: a commune that the commune breakdown hides
    (the whole survey never is: its groups are hidden when it is small, not its total)."""
    if scope is None or scope.level != UnitLevel.COMMUNE:
        return False
    return hidden_groups(session, survey, now).hidden(RESPONSES, scope.code)


def responses_in_scope(
    session: Session, scope: Unit | None, now: datetime | None = None
) -> list[tuple[Survey, int | None]]:
    """Every survey, newest first, with its responses within `scope` (None: withheld, for a
    commune that the survey's results hide)."""
    counts = dict(
        session.execute(
            select(SurveyResponse.survey_id, func.count())
            .where(_scope_filter(session, scope))
            .group_by(SurveyResponse.survey_id)
        ).all()
    )
    surveys = session.scalars(select(Survey).order_by(Survey.closes_at.desc())).all()
    return [(s, None if withheld(session, s, scope, now) else counts.get(s.id, 0)) for s in surveys]


def results(
    session: Session,
    survey: Survey,
    *,
    by: str | None = None,
    scope: Unit | None = None,
    labels: dict[str, str] | None = None,
    now: datetime | None = None,
    overall: bool = False,
) -> dict[str, Any]:
    """The results answer of api.md for `survey`, broken down `by` ("unit", a demographic
    question id, or None), restricted to `scope` (a unit and the units below it). `overall`:
    also the index of the whole scope ("overall"), whatever the breakdown (the page's headline).
    Given `now`, kept under the stamp of the survey's responses, at most a minute behind them
    (app/services/stamped.py); the answer is then shared: the caller must not change it."""
    defn = definition(session, survey)
    grouping = _grouping(defn, by)  # an unknown breakdown is refused before any cache
    return _view(  # type: ignore[no-any-return]
        session,
        survey,
        "results",
        {"by": by or "all", "scope": scope.code if scope else None, "overall": overall},
        labels,
        now,
        lambda at: checked(
            _results(session, survey, defn, grouping, by, scope, labels, at, overall)
        ),
    )


def _view(
    session: Session,
    survey: Survey,
    kind: str,
    view: dict[str, Any],
    labels: dict[str, str] | None,
    now: datetime | None,
    compute: Any,
) -> Any:
    """`compute(stamp)` for one view (its breakdown, scope and labels): kept under the stamp of
    the responses when `now` is given, computed afresh otherwise."""
    if now is None:
        return compute(None)
    return stamped.kept(session, survey, kind, view | (labels or {}), now, compute)


def _results(
    session: Session,
    survey: Survey,
    defn: SurveyDef,
    grouping: Grouping,
    by: str | None,
    scope: Unit | None,
    labels: dict[str, str] | None,
    at: stamped.Stamp | None,
    overall: bool = False,
) -> dict[str, Any]:
    threshold = survey.min_group or DEFAULT_THRESHOLD
    decision = hidden_groups(session, survey, at=at)
    unit = scope.code if scope is not None and scope.level == UnitLevel.COMMUNE else None
    if unit is not None and decision.hidden(RESPONSES, unit):
        # A hidden commune is hidden in every view: `?unit=` withholds its figures altogether.
        return {
            "survey": survey.slug,
            "threshold": threshold,
            "by": by or "all",
            "suppressed": True,
            "questions": [],
            "index": [],
        }
    scope_filter = _scope_filter(session, scope)
    group, join = _group_expression(grouping)

    sizes = dict(
        session.execute(
            _base(
                select(group, func.count(SurveyResponse.id)).select_from(SurveyResponse),
                survey,
                scope_filter,
                join,
            ).group_by(group)
        ).all()
    )
    total = sum(sizes.values())
    shown = [q for q in defn.questions if q.type != "text"]
    counts, numbers, respondents = _answer_counts(session, survey, shown, group, scope_filter, join)
    names = _group_labels(session, defn, grouping, sizes, labels or {})
    # Each (question, group)'s rows, split once rather than masked per pair.
    parts = dict(iter(counts.groupby(["question", "group"])))
    nothing = counts.iloc[0:0]
    questions = []
    for q in shown:
        groups = []
        for g in _ordered_groups(grouping, sizes, survey):
            n = respondents.get((q.id, g), 0)
            entry: dict[str, Any] = {
                "group": "all" if grouping.kind == "all" else g,
                "label": names.get(g, str(g)),
                "n": n,
            }
            entry |= _figures(
                q,
                parts.get((q.id, g), nothing),
                n,
                numbers.get((q.id, g)),
            )
            groups.append(entry)
        hides = _hides(decision, defn, grouping, unit, q)
        questions.append(
            {"id": q.key, "type": q.type, "text": q.text, "groups": _suppressed(groups, hides)}
        )
    has_index = any(q.index for q in defn.questions)
    out = {
        "survey": survey.slug,
        "n": total,
        "threshold": threshold,
        "by": by or "all",
        "questions": questions,
        "index": _index_groups(session, survey, defn, grouping, scope_filter, names, decision, unit)
        if has_index
        else [],
    }
    if overall and has_index:
        if grouping.kind == "all":
            out["overall"] = out["index"][0]
        else:
            everyone = {survey.id: (labels or {}).get("all", "Tất cả")}
            out["overall"] = _index_groups(
                session, survey, defn, Grouping("all"), scope_filter, everyone, decision, unit
            )[0]
    return out


def _index_groups(
    session: Session,
    survey: Survey,
    defn: SurveyDef,
    grouping: Grouping,
    scope_filter: Any,
    names: dict[Any, str],
    decision: SurveyDecision,
    unit: int | None,
) -> list[dict[str, Any]]:
    """The satisfaction index of each group of this view, the groups the decision hides hidden."""
    index = satisfaction_index(session, survey, defn, grouping, scope_filter, names)
    return _suppressed(index, _hides(decision, defn, grouping, unit, None))


def _hides(
    decision: SurveyDecision,
    defn: SurveyDef,
    grouping: Grouping,
    unit: int | None,
    q: QuestionDef | None,
) -> Any:
    """Which groups of this view the survey's decision hides for question `q` (None: the
    index), as a function of the group's key."""
    measure = INDEX if q is None else q.key
    by = grouping.question.key if grouping.kind == "question" else None

    def hidden(g: Any) -> bool:
        at = g if grouping.kind == "unit" else unit
        if q is not None and q.demographic and by != q.key:
            # A demographic question's own counts are the sizes of its groups: shown only where
            # none of its groups is hidden, and never crossed with another breakdown.
            if by is not None:
                return True
            return any(
                decision.hidden(RESPONSES, at, q.key, value)
                or decision.hidden(measure, at, q.key, value)
                for value in range(0, len(q.choices) + 1)
            )
        if grouping.kind == "question":
            return decision.hidden(measure, at, by, g)
        return decision.hidden(measure, at)

    return hidden


def _suppressed(groups: list[dict[str, Any]], hides: Any) -> list[dict[str, Any]]:
    return [
        {"group": g["group"], "label": g["label"], "suppressed": True}
        if hides(g["group"] if g["group"] != "all" else None)
        else g
        for g in groups
    ]


def _ordered_groups(grouping: Grouping, sizes: dict[Any, int], survey: Survey) -> list[Any]:
    if grouping.kind == "all":
        return [survey.id]
    if grouping.kind == "question":
        return list(range(0, len(grouping.question.choices) + 1))  # 0: no answer
    return sorted(sizes)


def _group_labels(
    session: Session,
    defn: SurveyDef,
    grouping: Grouping,
    sizes: dict[Any, int],
    labels: dict[str, str],
) -> dict[Any, str]:
    if grouping.kind == "all":
        return {defn.survey.id: labels.get("all", "Tất cả")}
    if grouping.kind == "unit":
        return dict(
            session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(list(sizes)))).all()
        )
    choices = grouping.question.choices
    return {0: labels.get("none", "Không trả lời")} | {i + 1: c for i, c in enumerate(choices)}


def index_results(
    session: Session,
    survey: Survey,
    *,
    by: str | None = None,
    scope: Unit | None = None,
    labels: dict[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Only the satisfaction index part of `results` (the same groups, hidden alike), without
    the figures of every question: for the leaders' overview and the commune briefs. Given
    `now`, kept under the stamp of the responses as `results` is."""
    defn = definition(session, survey)
    grouping = _grouping(defn, by)
    return _view(  # type: ignore[no-any-return]
        session,
        survey,
        "index",
        {"by": by or "all", "scope": scope.code if scope else None},
        labels,
        now,
        lambda at: _index_results(session, survey, defn, grouping, by, scope, labels, at),
    )


def _index_results(
    session: Session,
    survey: Survey,
    defn: SurveyDef,
    grouping: Grouping,
    by: str | None,
    scope: Unit | None,
    labels: dict[str, str] | None,
    at: stamped.Stamp | None,
) -> dict[str, Any]:
    threshold = survey.min_group or DEFAULT_THRESHOLD
    unit = scope.code if scope is not None and scope.level == UnitLevel.COMMUNE else None
    out: dict[str, Any] = {"survey": survey.slug, "threshold": threshold, "by": by or "all"}
    if unit is None and not index_items(defn):
        return out | {"index": []}  # no decision needed: nothing to show or hide
    decision = hidden_groups(session, survey, at=at)
    if unit is not None and decision.hidden(RESPONSES, unit):
        return out | {"suppressed": True, "index": []}
    if not index_items(defn):
        return out | {"index": []}
    scope_filter = _scope_filter(session, scope)
    sizes: dict[Any, int] = {}
    if grouping.kind == "unit":
        sizes = dict(
            session.execute(
                _base(
                    select(SurveyResponse.unit_code, func.count()).select_from(SurveyResponse),
                    survey,
                    scope_filter,
                    None,
                ).group_by(SurveyResponse.unit_code)
            ).all()
        )
    names = _group_labels(session, defn, grouping, sizes, labels or {})
    index = _index_groups(session, survey, defn, grouping, scope_filter, names, decision, unit)
    return out | {"index": index}


def _rounded(value: float) -> float:
    return round(float(value), 4)


def _proportions(counts: dict[str, int], n: int) -> tuple[dict[str, float], dict[str, list[float]]]:
    if n <= 0:
        return {}, {}
    keys = list(counts)
    low, high = wilson(pd.Series([counts[k] for k in keys]), n)
    return (
        {k: _rounded(counts[k] / n) for k in keys},
        {k: [_rounded(lo), _rounded(hi)] for k, lo, hi in zip(keys, low, high, strict=True)},
    )


def _mean(n: int, total: float, squares: float) -> dict[str, Any]:
    if n == 0:
        return {}
    mean = total / n
    variance = (squares - n * mean * mean) / (n - 1) if n > 1 else 0.0
    half = Z95 * math.sqrt(max(variance, 0.0) / n) if n > 1 else 0.0
    return {"mean": _rounded(mean), "mean_ci95": [_rounded(mean - half), _rounded(mean + half)]}


def _figures(
    q: QuestionDef, rows: pd.DataFrame, n: int, number: tuple[int, float, float] | None
) -> dict[str, Any]:
    if q.type == "number":
        count, total, squares = number or (0, 0.0, 0.0)
        return {"counts": {}, "proportions": {}, "ci95": {}} | _mean(
            count, total or 0.0, squares or 0.0
        )
    if q.type == "grid":
        out: dict[str, Any] = {"rows": {}}
        for row in range(1, len(q.rows) + 1):
            part = rows[rows["item"] == row]
            counts = {str(int(v)): int(c) for v, c in zip(part["value"], part["n"], strict=True)}
            answered = sum(counts.values())
            proportions, ci = _proportions(counts, answered)
            values = [int(v) * int(c) for v, c in zip(part["value"], part["n"], strict=True)]
            squares = [int(v) ** 2 * int(c) for v, c in zip(part["value"], part["n"], strict=True)]
            out["rows"][str(row)] = {
                "label": q.rows[row - 1],
                "n": answered,
                "counts": counts,
                "proportions": proportions,
                "ci95": ci,
            } | _mean(answered, sum(values), sum(squares))
        return out
    part = rows[rows["item"] > ANSWERED] if q.type == "multiple" else rows[rows["item"] == 0]
    counts = {str(int(v)): int(c) for v, c in zip(part["value"], part["n"], strict=True)}
    proportions, ci = _proportions(counts, n)
    figures: dict[str, Any] = {"counts": counts, "proportions": proportions, "ci95": ci}
    if q.type in {"scale", "rating"}:
        figures |= _mean(
            n,
            sum(int(k) * v for k, v in counts.items()),
            sum(int(k) ** 2 * v for k, v in counts.items()),
        )
    if q.type == "scale" and q.index and "mean" in figures and len(q.choices) > 1:
        # The question's own 0–100 score (its part of the satisfaction index), as in api.md.
        figures["index"] = _rounded((figures["mean"] - 1) / (len(q.choices) - 1) * 100)
    return figures


def satisfaction_index(
    session: Session,
    survey: Survey,
    defn: SurveyDef,
    grouping: Grouping,
    scope_filter: Any,
    names: dict[Any, str],
) -> list[dict[str, Any]]:
    """Index (0–100) with its 95% interval and "% satisfied" per group: one GROUP BY over the
    responses, each carrying its own score (its mean of index items, kept at submission)."""
    if not index_items(defn):
        return []
    group, join = _group_expression(grouping)
    score = SurveyResponse.index_score
    rows = session.execute(
        _base(
            select(
                group.label("g"),
                func.count(score),
                func.sum(score),
                func.sum(score * score),
                func.sum(SurveyResponse.index_top),
                func.sum(SurveyResponse.index_items),
            ).select_from(SurveyResponse),
            survey,
            scope_filter,
            join,
        )
        .where(score.is_not(None))
        .group_by(group)
    ).all()
    by_group = {g: (n, s, s2, top, answered) for g, n, s, s2, top, answered in rows}
    out = []
    for g in _ordered_groups(grouping, {g: 1 for g in by_group}, survey):
        n, s, s2, top, answered = by_group.get(g, (0, 0.0, 0.0, 0, 0))
        entry: dict[str, Any] = {
            "group": "all" if grouping.kind == "all" else g,
            "label": names.get(g, str(g)),
            "n": n,
        }
        if n:
            mean = _mean(n, float(s), float(s2))
            entry |= {
                "index": mean["mean"],
                "index_ci95": mean["mean_ci95"],
                "satisfied": _rounded(int(top) / int(answered)) if answered else None,
            }
        out.append(entry)
    return out
