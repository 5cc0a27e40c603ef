"""Survey results for leaders: counts in the database (GROUP BY), statistics in pandas, plain
data out. Raw responses never leave the database: every query here returns aggregates. The
results of a survey and its suppression decision are derived from one set of counts, the cube
(app/services/cube.py), read once per stamp of its responses.

Definitions (survey.md): proportions with 95% Wilson intervals; means with 95% normal intervals;
the satisfaction index (each respondent's mean of index items rescaled to 0–100, then the mean
over respondents) and "% satisfied" (share of answered index items in the top two values);
groups smaller than the threshold are never shown, with complementary suppression.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from statsmodels.stats.proportion import proportion_confint

from app.content.messages import N_
from app.models import Survey, SurveyAnswer, SurveyResponse, Unit, UnitLevel
from app.services import cube, stamped, tallies
from app.services.cube import CHANNEL, CHANNEL_GROUPS, HAMLET, TALLY, UNKNOWN
from app.services.policy import place_in_scope
from app.services.result_models import checked
from app.services.suppression import (
    INDEX,
    RESPONSES,
    SurveyDecision,
    TableDecision,
    decide_hamlets,
    decide_table,
)
from app.services.survey_definition import ANSWERED, QuestionDef, SurveyDef, definition, index_items

Z95 = 1.959963984540054
DEFAULT_THRESHOLD = 5
CHOICE_LIKE = {"single", "multiple", "scale", "rating", "grid"}


class UnknownBreakdown(ValueError):
    pass


BREAKDOWNS = N_(
    "Break down by unit, hamlet, channel or a demographic question; a hamlet's figures are not "
    "broken down."
)


@dataclass(frozen=True)
class Grouping:
    kind: str  # all | unit | question | channel | hamlet
    question: QuestionDef | None = None

    @property
    def key(self) -> str | None:
        """The cube's breakdown (and the decision's table) this grouping reads."""
        if self.kind == "question":
            return self.question.key  # type: ignore[union-attr]
        return {"channel": CHANNEL, "hamlet": HAMLET}.get(self.kind)


CHANNEL_NAMES = {g: name for name, g in CHANNEL_GROUPS.items()}


def wilson(count: Any, n: Any) -> tuple[Any, Any]:
    return proportion_confint(count, n, alpha=0.05, method="wilson")


def _scope_filter(session: Session, scope: Unit | None) -> Any:
    return place_in_scope(SurveyResponse.unit_code, SurveyResponse.hamlet_code, scope)


def _grouping(defn: SurveyDef, by: str | None, scope: Unit | None = None) -> Grouping:
    if by in (None, "", "all"):
        return Grouping("all")
    if scope is not None and scope.level == UnitLevel.HAMLET:
        raise UnknownBreakdown(by)  # a hamlet's figures are never broken down further
    if by in ("unit", "channel", "hamlet"):
        return Grouping(by)
    q = defn.by_key.get(by or "")
    if q is None or not q.demographic:
        raise UnknownBreakdown(by)
    return Grouping("question", q)


def _units_in(session: Session, scope: Unit | None) -> set[int] | None:
    """The unit codes within `scope` (in_scope's rule: the unit and the units right below
    it); None for no scope (every unit)."""
    if scope is None:
        return None
    below = session.scalars(select(Unit.code).where(Unit.parent_code == scope.code)).all()
    return {scope.code, *below}


def _cube(session: Session, survey: Survey, defn: SurveyDef, at: stamped.Stamp | None) -> cube.Cube:
    """The survey's cube (app/services/cube.py): read afresh without a stamp, otherwise once per
    stamp and kept under it, so that the decision and every view of one stamp share one pass."""
    if at is None:
        return cube.build(session, survey, defn)
    return stamped.at(  # type: ignore[no-any-return]
        survey, "cube", at, lambda: cube.build(session, survey, defn)
    )


def _sums(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> dict[Any, tuple[Any, ...]]:
    """`columns` summed per `keys` (one key: plain values, several: tuples), as plain ints and
    floats."""
    if frame.empty:
        return {}
    summed = frame.groupby(keys, sort=False)[columns].sum()
    return {
        k: tuple(v.item() if hasattr(v, "item") else v for v in row)
        for k, row in zip(summed.index.tolist(), summed.itertuples(index=False), strict=True)
    }


def _tables(
    survey: Survey, defn: SurveyDef, counts: cube.Cube, breakdown: str | None
) -> dict[str, dict[tuple[int, int], int]]:
    """Counts per (commune, group of the `breakdown`, 0 without one) of every measure: the
    responses, the respondents of each question (by key) and those with an index score."""
    part = counts.part(breakdown)
    out: dict[str, dict[tuple[int, int], int]] = {RESPONSES: {}, INDEX: {}}
    for (unit, g), (n, scored) in _sums(part.people, ["unit", "group"], ["n", "scored"]).items():
        out[RESPONSES][unit, g] = int(n)
        out[INDEX][unit, g] = int(scored)
    keys = {q.id: q.key for q in defn.questions if q.type != "text"}
    respondents = _sums(part.questions, ["question", "unit", "group"], ["respondents"])
    for (question, unit, g), (n,) in respondents.items():
        if n:
            out.setdefault(keys[question], {})[unit, g] = int(n)
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
    under the stamp of the survey's responses (app/services/stamped.py), and made from the
    cube of that stamp."""
    if at is None and now is not None:
        at = stamped.stamp(session, survey)  # the responses as they are now
    if at is not None:  # kept for exactly these responses (stamped.at)

        def decide() -> SurveyDecision:
            defn = definition(session, survey)
            return _decide(survey, defn, _cube(session, survey, defn, at))

        return stamped.at(survey, "hidden", at, decide)  # type: ignore[no-any-return]
    defn = definition(session, survey)
    return _decide(survey, defn, _cube(session, survey, defn, None))


def _decision(
    session: Session,
    survey: Survey,
    defn: SurveyDef,
    counts: cube.Cube,
    at: stamped.Stamp | None,
) -> SurveyDecision:
    """The decision over `counts`: the one kept under the stamp `at` (made from the same
    cube), or, without a stamp, made here from `counts` (one pass for the view and the
    decision)."""
    if at is not None:
        return hidden_groups(session, survey, at=at)
    return _decide(survey, defn, counts)


def _decide(survey: Survey, defn: SurveyDef, counts: cube.Cube) -> SurveyDecision:
    threshold = survey.min_group or DEFAULT_THRESHOLD
    measures = [RESPONSES, INDEX, *[q.key for q in defn.questions if q.type != "text"]]
    communes = _tables(survey, defn, counts, None)
    rows = sorted({unit for unit, _g in communes[RESPONSES]})
    tables: dict[tuple[str | None, str], TableDecision] = {}
    base = decide_table(communes[RESPONSES], rows, [0], threshold)
    for measure in measures:
        tables[None, measure] = (
            base
            if measure == RESPONSES
            else decide_table(communes.get(measure, {}), rows, [0], threshold, base)
        )
    # Commune × group tables: each demographic question's groups (with the tallied forms'
    # "unknown" group when there are tallies), and the channels (the tallies a column apart).
    tallied = _tallied(counts)
    crossed: list[tuple[str, list[int]]] = [
        (q.key, _demographic_groups(q, tallied)) for q in defn.questions if q.demographic
    ]
    crossed.append((CHANNEL, [*CHANNEL_GROUPS.values(), TALLY]))
    for key, cols in crossed:
        cross = _tables(survey, defn, counts, key)
        first = tables[None, RESPONSES]
        tables[key, RESPONSES] = decide_table(
            cross[RESPONSES], rows, cols, threshold, first, rows_fixed=True
        )
        for measure in measures[1:]:
            start = tables[key, RESPONSES]
            own = tables[None, measure]
            start = TableDecision(
                start.everything or own.everything, start.rows | own.rows, start.cols, start.cells
            )
            tables[key, measure] = decide_table(
                cross.get(measure, {}), rows, cols, threshold, start, rows_fixed=True
            )
    hamlets = _tables(survey, defn, counts, HAMLET)
    for measure in measures:
        start = tables[HAMLET, RESPONSES] if measure != RESPONSES else None
        tables[HAMLET, measure] = decide_hamlets(
            hamlets.get(measure, {}), tables[None, measure], threshold, start
        )
    return SurveyDecision(threshold, tables)


def _tallied(counts: cube.Cube) -> bool:
    """Whether the cube holds tallied forms (the channel's TALLY group)."""
    people = counts.part(CHANNEL).people
    return bool((people["group"] == TALLY).any()) if not people.empty else False


def _demographic_groups(q: QuestionDef, tallied: bool) -> list[int]:
    """A demographic question's groups: 0 (did not answer it), its choices, and UNKNOWN (the
    tallied forms, which nobody asked) when the survey has tallies."""
    return [*range(0, len(q.choices) + 1), *([UNKNOWN] if tallied else [])]


def withheld(
    session: Session, survey: Survey, scope: Unit | None, now: datetime | None = None
) -> bool:
    """Whether every figure of `scope` is withheld: a commune that the commune breakdown hides
    (the whole survey never is: its groups are hidden when it is small, not its total)."""
    if scope is not None and scope.level == UnitLevel.HAMLET:
        decision = hidden_groups(session, survey, now)
        return decision.hidden(RESPONSES, scope.parent_code, HAMLET, scope.code)
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
    return [
        (
            s,
            None
            if withheld(session, s, scope, now)
            else counts.get(s.id, 0) + tallies.forms_in(session, s, scope),  # as the results
        )
        for s in surveys
    ]


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
    grouping = _grouping(defn, by, scope)  # an unknown breakdown is refused before any cache
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
    counts = _cube(session, survey, defn, at)
    decision = _decision(session, survey, defn, counts, at)
    unit, hamlet = _place(scope)
    if (unit is not None and decision.hidden(RESPONSES, unit)) or (
        hamlet is not None and decision.hidden(RESPONSES, unit, HAMLET, hamlet)
    ):
        # A hidden commune (hamlet) is hidden in every view: `?unit=` withholds its figures.
        return {
            "survey": survey.slug,
            "threshold": threshold,
            "by": by or "all",
            "suppressed": True,
            "questions": [],
            "index": [],
        }
    view = _View(counts, survey, grouping, _units_in(session, scope), hamlet)
    sizes = view.sizes()
    total = sum(sizes.values())
    shown = [q for q in defn.questions if q.type != "text"]
    answers, numbers, respondents = view.answers()
    names = _group_labels(session, defn, grouping, sizes, labels or {})
    # Each (question, group)'s rows, split once rather than masked per pair.
    parts = dict(iter(answers.groupby(["question", "group"])))
    nothing = answers.iloc[0:0]
    questions = []
    for q in shown:
        groups = []
        for g in _ordered_groups(grouping, sizes, survey):
            n = respondents.get((q.id, g), 0)
            entry: dict[str, Any] = {
                "group": _key(grouping, g),
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
        hides = _hides(decision, defn, grouping, unit, q, hamlet, view.places)
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
        "index": _index_groups(view, defn, names, decision, unit, hamlet) if has_index else [],
    }
    if hamlet is None:
        out["channels"] = _channels(counts, survey, view.units, decision, unit, total, labels)
    if overall and has_index:
        if grouping.kind == "all":
            out["overall"] = out["index"][0]
        else:
            everyone = {survey.id: (labels or {}).get("all", "Tất cả")}
            whole = _View(counts, survey, Grouping("all"), view.units, hamlet)
            out["overall"] = _index_groups(whole, defn, everyone, decision, unit, hamlet)[0]
    return out


def _place(scope: Unit | None) -> tuple[int | None, int | None]:
    """The commune a scope is (or lies in, for a hamlet) and the hamlet it is, if any."""
    if scope is not None and scope.level == UnitLevel.HAMLET:
        return scope.parent_code, scope.code
    return (scope.code if scope is not None and scope.level == UnitLevel.COMMUNE else None), None


CHANNEL_LABELS = {
    "online": "Trực tuyến",
    "assisted": "Nhập hộ",
    "kiosk": "Máy tại bộ phận một cửa",
    "paper": "Phiếu giấy",
}


def _channels(
    counts: cube.Cube,
    survey: Survey,
    units: set[int] | None,
    decision: SurveyDecision,
    unit: int | None,
    total: int,
    labels: dict[str, str] | None,
) -> list[dict[str, Any]]:
    """Whom the figures of the scope represent: the responses of each channel and their share of
    all, hidden as the decision hides the channel (within `unit`, or over the whole survey);
    the paper channel also says how many of its forms were counted by hand (`tallied`)."""
    people = counts.part(CHANNEL).people
    if units is not None:
        people = people[people["unit"].isin(units)]
    sizes = {int(g): int(n) for g, (n,) in _sums(people, ["group"], ["n"]).items()}
    out = []
    for name, g in CHANNEL_GROUPS.items():
        label = (labels or {}).get(f"channel:{name}", CHANNEL_LABELS[name])
        parts = [g, TALLY] if name == "paper" else [g]
        if any(decision.hidden(RESPONSES, unit, CHANNEL, p) for p in parts):
            out.append({"channel": name, "label": label, "suppressed": True})
            continue
        n = sum(sizes.get(p, 0) for p in parts)
        entry: dict[str, Any] = {
            "channel": name,
            "label": label,
            "n": n,
            "share": _rounded(n / total) if total else 0.0,
        }
        if name == "paper" and sizes.get(TALLY):
            entry["tallied"] = sizes[TALLY]
        out.append(entry)
    return out


class _View:
    """The cube's counts for one view: the breakdown's part, the communes of the scope, each
    row's group (the survey's id for everyone, the commune, or the demographic group)."""

    def __init__(
        self,
        counts: cube.Cube,
        survey: Survey,
        grouping: Grouping,
        units: set[int] | None,
        hamlet: int | None = None,
    ) -> None:
        self.survey, self.grouping, self.units, self.hamlet = survey, grouping, units, hamlet
        # A hamlet's view reads the hamlet breakdown, narrowed to that hamlet (never crossed).
        self.part = counts.part(HAMLET if hamlet is not None else grouping.key)
        self.places: dict[Any, tuple[int, int]] = {}  # by hamlet: group → (commune, hamlet)
        if grouping.kind == "hamlet":
            people = self._narrowed(self.part.people)
            self.places = {
                (int(h) or int(u)): (int(u), int(h))
                for u, h in zip(people["unit"], people["group"], strict=True)
            }

    def _narrowed(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.hamlet is not None:
            return frame[frame["group"] == self.hamlet]
        if self.units is not None:
            return frame[frame["unit"].isin(self.units)]
        return frame

    def _frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = self._narrowed(frame)
        kind = self.grouping.kind
        if kind == "all":
            return frame.assign(group=self.survey.id)
        if kind == "unit":
            return frame.assign(group=frame["unit"])
        if kind == "channel":  # the tallied forms are paper forms to readers
            return frame.assign(group=frame["group"].replace(TALLY, CHANNEL_GROUPS["paper"]))
        if kind == "hamlet":  # "no hamlet named": a group per commune, keyed by its code
            return frame.assign(group=frame["group"].where(frame["group"] != 0, frame["unit"]))
        return frame

    def sizes(self) -> dict[Any, int]:
        """Responses per group (groups with some only)."""
        return {
            g: int(n) for g, (n,) in _sums(self._frame(self.part.people), ["group"], ["n"]).items()
        }

    def answers(
        self,
    ) -> tuple[pd.DataFrame, dict[tuple[int, Any], tuple[int, float, float]], dict[Any, int]]:
        """Counts per (question, group, item, value); the numbers' count, sum and sum of
        squares and the respondents per (question, group)."""
        rows = self._frame(self.part.answers)
        counts = (
            rows.groupby(["question", "group", "item", "value"], as_index=False)["n"].sum()
            if not rows.empty
            else pd.DataFrame(columns=["question", "group", "item", "value", "n"])
        )
        sums = _sums(
            self._frame(self.part.questions),
            ["question", "group"],
            ["respondents", "count", "total", "squares"],
        )
        respondents = {key: int(n) for key, (n, *_rest) in sums.items() if n}
        numbers = {
            key: (int(count), float(total), float(squares))
            for key, (_n, count, total, squares) in sums.items()
            if count
        }
        return counts, numbers, respondents

    def index(self) -> dict[Any, tuple[int, float, float, int, int]]:
        """(people with a score, sum, sum of squares, items in the top two, items answered)
        per group with some score."""
        sums = _sums(
            self._frame(self.part.people), ["group"], ["scored", "s", "s2", "top", "items"]
        )
        return {g: row for g, row in sums.items() if row[0]}  # type: ignore[misc]


def _index_groups(
    view: _View,
    defn: SurveyDef,
    names: dict[Any, str],
    decision: SurveyDecision,
    unit: int | None,
    hamlet: int | None = None,
) -> list[dict[str, Any]]:
    """The satisfaction index of each group of this view, the groups the decision hides hidden."""
    index = satisfaction_index(view, defn, names)
    hides = _hides(decision, defn, view.grouping, unit, None, hamlet, view.places)
    return _suppressed(index, hides)


def _hides(
    decision: SurveyDecision,
    defn: SurveyDef,
    grouping: Grouping,
    unit: int | None,
    q: QuestionDef | None,
    hamlet: int | None = None,
    places: dict[Any, tuple[int, int]] | None = None,
) -> Any:
    """Which groups of this view the survey's decision hides for question `q` (None: the
    index), as a function of the group's key. `hamlet`: the view is that hamlet's (of the
    commune `unit`); `places`: by hamlet, each group's (commune, hamlet or 0)."""
    measure = INDEX if q is None else q.key
    by = grouping.key

    def hidden(g: Any) -> bool:
        at = g if grouping.kind == "unit" else unit
        if q is not None and q.demographic and by != q.key:
            # A demographic question's own counts are the sizes of its groups: shown only where
            # none of its groups is hidden, and never crossed with another breakdown (nor
            # within a hamlet: the hamlets are not crossed with demographic questions).
            if by is not None or hamlet is not None:
                return True
            return any(
                decision.hidden(RESPONSES, at, q.key, value)
                or decision.hidden(measure, at, q.key, value)
                for value in [*range(0, len(q.choices) + 1), UNKNOWN]
            )
        if hamlet is not None:
            return decision.hidden(measure, unit, HAMLET, hamlet)
        if grouping.kind == "channel":
            g = CHANNEL_GROUPS[g]
            parts = [g, TALLY] if g == CHANNEL_GROUPS["paper"] else [g]
            return any(decision.hidden(measure, at, by, p) for p in parts)
        if grouping.kind == "hamlet":
            commune, slot = (places or {}).get(g, (g, 0))
            return decision.hidden(measure, commune, by, slot)
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


def _key(grouping: Grouping, g: Any) -> Any:
    """A group's key in the answer: "all", a unit's code, a choice number, a channel's name."""
    if grouping.kind == "all":
        return "all"
    return CHANNEL_NAMES[g] if grouping.kind == "channel" else g


def _ordered_groups(grouping: Grouping, sizes: dict[Any, int], survey: Survey) -> list[Any]:
    if grouping.kind == "all":
        return [survey.id]
    if grouping.kind == "question":
        groups = list(range(0, len(grouping.question.choices) + 1))  # 0: no answer
        return [*groups, UNKNOWN] if sizes.get(UNKNOWN) else groups
    if grouping.kind == "channel":
        return list(CHANNEL_GROUPS.values())
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
    if grouping.kind == "channel":
        return {
            g: labels.get(f"channel:{name}", CHANNEL_LABELS[name])
            for name, g in CHANNEL_GROUPS.items()
        }
    if grouping.kind == "hamlet":
        none = labels.get("no_hamlet", "Không nêu ấp/khu vực")
        found = session.execute(
            select(Unit.code, Unit.name, Unit.level).where(Unit.code.in_(list(sizes)))
        )
        return {
            code: f"{none} ({name})" if level == UnitLevel.COMMUNE else name
            for code, name, level in found
        }
    choices = grouping.question.choices
    return (
        {0: labels.get("none", "Không trả lời")}
        | {i + 1: c for i, c in enumerate(choices)}
        | {UNKNOWN: labels.get("unknown", "Không rõ (phiếu kiểm đếm tay)")}
    )


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
    grouping = _grouping(defn, by, scope)
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
    unit, hamlet = _place(scope)
    out: dict[str, Any] = {"survey": survey.slug, "threshold": threshold, "by": by or "all"}
    if unit is None and not index_items(defn):
        return out | {"index": []}  # no decision needed: nothing to show or hide
    counts = _cube(session, survey, defn, at)
    decision = _decision(session, survey, defn, counts, at)
    if (unit is not None and decision.hidden(RESPONSES, unit)) or (
        hamlet is not None and decision.hidden(RESPONSES, unit, HAMLET, hamlet)
    ):
        return out | {"suppressed": True, "index": []}
    if not index_items(defn):
        return out | {"index": []}
    view = _View(counts, survey, grouping, _units_in(session, scope), hamlet)
    sizes = view.sizes() if grouping.kind in ("unit", "hamlet") else {}
    names = _group_labels(session, defn, grouping, sizes, labels or {})
    return out | {"index": _index_groups(view, defn, names, decision, unit, hamlet)}


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


def satisfaction_index(view: _View, defn: SurveyDef, names: dict[Any, str]) -> list[dict[str, Any]]:
    """Index (0–100) with its 95% interval and "% satisfied" per group of `view`, from the
    responses' own scores (each the mean of its index items, kept at submission)."""
    if not index_items(defn):
        return []
    by_group = view.index()
    grouping = view.grouping
    out = []
    for g in _ordered_groups(grouping, {g: 1 for g in by_group}, view.survey):
        n, s, s2, top, answered = by_group.get(g, (0, 0.0, 0.0, 0, 0))
        entry: dict[str, Any] = {
            "group": _key(grouping, g),
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


def free_texts(
    session: Session,
    survey: Survey,
    *,
    scope: Unit | None = None,
    limit: int = 200,
    now: datetime | None = None,
) -> dict[str, list[str]]:
    """Free-text answers per question, masked, only when the scope has enough respondents."""
    from app.text import mask_personal

    defn = definition(session, survey)
    threshold = survey.min_group or DEFAULT_THRESHOLD
    scope_filter = _scope_filter(session, scope)
    total = (
        session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.survey_id == survey.id, scope_filter)
        )
        or 0
    )
    if total < threshold or withheld(session, survey, scope, now):
        return {}
    ids = {q.id: q.key for q in defn.questions if q.type == "text"}
    texts: dict[str, list[str]] = {key: [] for key in ids.values()}
    rows = session.execute(
        select(SurveyAnswer.question_id, SurveyAnswer.text)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(
            SurveyResponse.survey_id == survey.id,
            scope_filter,
            SurveyAnswer.question_id.in_(list(ids)),
            SurveyAnswer.text.is_not(None),
        )
        .order_by(SurveyAnswer.response_id)  # the random key: no order of arrival
        .limit(limit * max(1, len(ids)))
    )
    for question_id, text in rows:
        bucket = texts[ids[question_id]]
        if len(bucket) < limit:
            bucket.append(mask_personal(text))
    return texts


def _top_two_points(
    session: Session, wave: Survey, q: QuestionDef, scope_filter: Any
) -> dict[int, tuple[int, int]]:
    """(hits, n) per item of `q` in `wave`: the top two values of a scale or grid row (item 0
    of a scale, 1.. of a grid), or the first choice of a single question."""
    top = len(q.choices) - 1 if q.type in {"scale", "grid"} else 1
    items = SurveyAnswer.item >= 1 if q.type == "grid" else SurveyAnswer.item == 0
    hits = case((SurveyAnswer.value >= top, 1), else_=0)
    if q.type == "single":
        hits = case((SurveyAnswer.value == 1, 1), else_=0)
    rows = session.execute(
        select(SurveyAnswer.item, func.sum(hits), func.count())
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(
            SurveyAnswer.question_id == q.id,
            items,
            scope_filter,
            SurveyAnswer.value.is_not(None),
        )
        .group_by(SurveyAnswer.item)
    ).all()
    return {int(item): (int(h or 0), int(n or 0)) for item, h, n in rows}


def _index_point(session: Session, wave: Survey, scope_filter: Any) -> dict[str, Any]:
    score = SurveyResponse.index_score
    n, total, squares = session.execute(
        select(func.count(score), func.sum(score), func.sum(score * score)).where(
            SurveyResponse.survey_id == wave.id, scope_filter, score.is_not(None)
        )
    ).one()
    n = int(n or 0)
    point: dict[str, Any] = {"wave": wave.wave, "survey": wave.slug, "n": n}
    if n:
        mean = _mean(n, float(total), float(squares))
        variance = (float(squares) - n * (float(total) / n) ** 2) / (n - 1) if n > 1 else 0.0
        point |= {"index": mean["mean"], "index_ci95": mean["mean_ci95"], "sd": max(variance, 0)}
    return point


def _welch(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """Two-sided p of Welch's t-test on two waves' mean index (from their means, variances and
    sizes); None when it cannot be computed (a wave of one person, no spread at all)."""
    from scipy.stats import ttest_ind_from_stats

    if before["n"] < 2 or after["n"] < 2 or (before["sd"] == 0 and after["sd"] == 0):
        return None
    _t, p_value = ttest_ind_from_stats(
        after["index"],
        math.sqrt(after["sd"]),
        after["n"],
        before["index"],
        math.sqrt(before["sd"]),
        before["n"],
        equal_var=False,
    )
    return float(p_value) if p_value == p_value else None


def trends(
    session: Session, survey: Survey, *, scope: Unit | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """For a survey in a `series`, wave by wave (surveys of the series ordered by `wave`):
    - the satisfaction index, when the waves have one: its mean and 95% interval, a change
      called real when Welch's t-test on the two waves' means gives p < 0.05;
    - each shared scale question and each row of a shared grid: the share in the top two
      values; each shared single question: the share of its first choice; a change called real
      when the two-proportion z-test gives p < 0.05.
    A wave's point is withheld (no n, no figure) when it has fewer people than its threshold,
    or, for a commune, when that wave's small-groups decision hides the commune."""
    from statsmodels.stats.proportion import proportions_ztest

    if not survey.series:
        return []
    waves = session.scalars(
        select(Survey)
        .where(Survey.series == survey.series, Survey.wave.is_not(None))
        .order_by(Survey.wave)
    ).all()
    if len(waves) < 2:
        return []
    scope_filter = _scope_filter(session, scope)
    commune = scope.code if scope is not None and scope.level == UnitLevel.COMMUNE else None
    if scope is not None and scope.level == UnitLevel.HAMLET:
        return []  # a hamlet's figures are its own view only (its waves are not decided apart)

    def _plus(
        points: dict[int, tuple[int, int]], wave: Survey, q: QuestionDef
    ) -> dict[int, tuple[int, int]]:
        """The wave's tallied forms added, as the results add them (same n for the decision)."""
        for item, (hits, n) in tallies.top_two(session, wave, q, scope).items():
            before = points.get(item, (0, 0))
            points[item] = (before[0] + hits, before[1] + n)
        return points

    decisions: dict[int, SurveyDecision] = {}
    definitions = {wave.id: definition(session, wave) for wave in waves}

    def hidden(wave: Survey, measure: str, n: int) -> bool:
        if n < (wave.min_group or DEFAULT_THRESHOLD):
            return True
        if commune is None:
            return False
        if wave.id not in decisions:
            decisions[wave.id] = hidden_groups(session, wave, now)
        return decisions[wave.id].hidden(measure, commune)

    def withheld_point(wave: Survey) -> dict[str, Any]:
        return {"wave": wave.wave, "survey": wave.slug, "suppressed": True}

    out = []
    with_index = [w for w in waves if index_items(definitions[w.id])]
    if len(with_index) >= 2:
        points = []
        for wave in with_index:
            point = _index_point(session, wave, scope_filter)
            points.append(point if not hidden(wave, INDEX, point["n"]) else withheld_point(wave))
        for before, after in itertools.pairwise(points):
            if "index" in before and "index" in after:
                p_value = _welch(before, after)
                after["p_value"] = _rounded(p_value) if p_value is not None else None
                after["real_change"] = bool(p_value is not None and p_value < 0.05)
        for point in points:
            point.pop("sd", None)
        out.append({"id": "index", "text": None, "measure": "index", "waves": points})

    shared: dict[str, list[tuple[Survey, QuestionDef]]] = {}
    for wave in waves:
        for q in definitions[wave.id].questions:
            if q.type in {"scale", "single", "grid"}:
                shared.setdefault(q.key, []).append((wave, q))
    for key, items in shared.items():
        if len(items) < 2 or len({q.type for _w, q in items}) > 1:
            continue
        latest = items[-1][1]
        rows = [(0, None)] if latest.type != "grid" else list(enumerate(latest.rows, start=1))
        counts = [
            (wave, q, _plus(_top_two_points(session, wave, q, scope_filter), wave, q))
            for wave, q in items
        ]
        for item, row_label in rows:
            points = []
            for wave, q, per_item in counts:
                if q.type == "grid" and item > len(q.rows):
                    continue
                hits, n = per_item.get(item, (0, 0))
                if hidden(wave, q.key, n):
                    points.append(withheld_point(wave))
                    continue
                points.append(
                    {
                        "wave": wave.wave,
                        "survey": wave.slug,
                        "n": n,
                        "proportion": _rounded(hits / n),
                        "hits": hits,
                    }
                )
            if len(points) < 2:
                continue
            for before, after in itertools.pairwise(points):
                if "hits" in before and "hits" in after:
                    _stat, p_value = proportions_ztest(
                        [after["hits"], before["hits"]], [after["n"], before["n"]]
                    )
                    after["p_value"] = _rounded(p_value) if p_value == p_value else None
                    after["real_change"] = bool(p_value == p_value and p_value < 0.05)
            for point in points:
                point.pop("hits", None)
            measure = "first_choice" if latest.type == "single" else "top_two"
            out.append(
                {
                    "id": key if row_label is None else f"{key}:{item}",
                    "text": latest.text,
                    "row": row_label,
                    "measure": measure,
                    "waves": points,
                }
            )
    return out
