"""Round and contest statistics for leaders (api.md, "Round statistics"): which questions and
topics residents get wrong, per commune. SQL aggregates, pandas on the aggregates, a typed
pydantic result shared by the API, the pages, the exports and the OpenAPI document.

What is counted:
- finished attempts (state `submitted` or `expired`);
- participation and the score distribution: each person's best attempt (`best_attempts`);
- item figures (facility, discrimination, topics, Cronbach's alpha): every finished attempt.

Definitions:
- `facility`: the share of attempts given the question that answered it fully right;
- `discrimination`: Moodle's discrimination index, the Pearson correlation between the
  question's score (0/1) and the score on the rest of the paper (the attempt's score less that
  question's), over the attempts given the question; null below 10 attempts or when either
  side does not vary. Computed from sums (n, Σx, Σs, Σs², Σxs per question), never from rows;
- `alpha`: Cronbach's alpha, k/(k−1)·(1 − Σ var(item) / var(total)), over the attempts that were
  given exactly the same questions (the same question versions): the largest such set, when it
  holds 10 attempts or more, else null. An attempt names its set when it is drawn
  (`Attempt.paper`, a digest of its question versions), so the sets are counted in the
  attempts table, not in a second pass over the answered questions.

Communes: an attempt counts in the commune it was made from (`Attempt.unit_code`, copied on
`BestAttempt`: the person's commune when they started their first attempt at the round, see
app.services.attempts.competing_commune), never in their account's commune today. Every figure
here (participation, item sums, scores, alpha, a commune's view) and the ranking by unit read
that one column, so a person who moves changes no view (two readings cannot be subtracted to
find the mover's answers), and no view counts them in a commune another one does not; no
query joins `users`. Within one round a person counts in one commune; a person who moved
between two rounds counts in each commune they took part from in a contest's table (each
commune's count is then its real count of people), and once in the contest's total.

Suppression (the rule of survey results, app/services/suppression.py, reused as it is): the
table is communes × participants of the round (each person counted once, in the commune their
attempts count in), decided once per round over the whole province whatever the reader's scope,
with `decide_table` over one column: a commune with 1 to threshold − 1 participants is hidden,
and while exactly one commune is hidden (its count would be the total less the shown ones) the
next smallest commune with participants is hidden too. A hidden commune shows no participants,
no per-1,000 figure and no cell of the topic × commune table, and `?unit=` on it withholds
every figure (`suppressed`); when the whole round has fewer participants than the threshold,
every per-unit figure, the score distribution and every item figure are withheld (the totals
stay). A contest's view hides the union of what each of its rounds hides and of what its own
table (distinct people per commune over the rounds) hides: a union of sets that each hide zero
or at least two communes with people still hides zero or at least two, so the rounds' figures
cannot be subtracted from the contest's to find a hidden commune. The threshold is the
deployment's (analytics.DEFAULT_THRESHOLD, 5). Note that the public unit ranking
(`/rounds/{round}/units`) publishes participants per commune anyway: what this suppression
protects is small communes' scores and answers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import Integer, case, cast, distinct, func, select
from sqlalchemy.orm import Session

from app.models import (
    Attempt,
    AttemptQuestion,
    Bank,
    BestAttempt,
    Contest,
    Question,
    QuestionVersion,
    Round,
    Unit,
    UnitLevel,
    utcnow,
)
from app.services.analytics import DEFAULT_THRESHOLD
from app.services.policy import in_audience, in_scope, within
from app.services.standings import FINISHED
from app.services.suppression import decide_table

MIN_DISCRIMINATION = 10  # attempts given the question, below which discrimination is null
MIN_ALPHA = 10  # attempts sharing one set of questions, below which alpha is null


class OutsideScope(PermissionError):
    """The unit asked for lies outside the reader's scope."""


# ------------------------------------------------------------------------- result models


class UnitStat(BaseModel):
    code: int
    name: str
    participants: int | None = Field(
        default=None, description="People with a finished attempt; null when suppressed"
    )
    population: int | None = None
    per_1000: float | None = Field(
        default=None, description="Participants per 1,000 residents, where population is known"
    )
    suppressed: bool = Field(default=False, description="Below the threshold, or its complement")


class ScoreCount(BaseModel):
    score: int
    people: int


class QuestionStat(BaseModel):
    question: str = Field(description="The question's id in its bank")
    bank: str = Field(description="The bank's id")
    topic: str | None
    topic_title: str | None = None
    text: str = Field(description="The text of the latest version shown")
    n: int = Field(description="Finished attempts given the question")
    correct: int
    facility: float | None = Field(description="Share fully right, 0..1, 4 decimals")
    discrimination: float | None = Field(
        description="Correlation with the rest of the paper; null below 10 attempts"
    )


class TopicStat(BaseModel):
    bank: str = Field(description="Topics are declared per bank: the bank's id")
    topic: str | None
    title: str | None = None
    n: int = Field(description="Questions answered (attempt × question)")
    correct: int
    facility: float | None


class TopicUnitCell(BaseModel):
    bank: str
    topic: str | None
    unit: int
    n: int
    facility: float | None


class RoundSummary(BaseModel):
    id: int
    title: str
    final: bool
    state: str = Field(description="upcoming | open | closed (as GET /contests)")
    participants: int | None
    attempts: int | None
    covered: int | None = Field(description="Communes/wards with at least one participant")
    communes: int = Field(description="Communes/wards that may take part (within the scope)")


class Stats(BaseModel):
    """What a round's and a contest's statistics share."""

    final: bool
    threshold: int
    suppressed: bool = Field(
        default=False, description="Every figure withheld: the unit (or the whole) is too small"
    )
    participants: int | None
    attempts: int | None
    communes: int = Field(description="Communes/wards that may take part (within the scope)")
    covered: int | None = Field(description="Communes/wards with at least one participant")
    units: list[UnitStat] = Field(default_factory=list)
    units_without_participants: list[int] = Field(default_factory=list)
    scores: list[ScoreCount] = Field(default_factory=list)
    max_score: int | None = None
    questions: list[QuestionStat] = Field(default_factory=list)
    topics: list[TopicStat] = Field(default_factory=list)
    heat: list[TopicUnitCell] = Field(
        default_factory=list, description="Facility per topic and commune (shown communes only)"
    )
    alpha: float | None = Field(default=None, description="Cronbach's alpha; null below 10")
    alpha_attempts: int = Field(default=0, description="Attempts of the set alpha is over")
    alpha_questions: int = Field(default=0, description="Questions of that set")


class RoundStats(Stats):
    round: int
    title: str
    contest: int
    scope: int | None = Field(default=None, description="The unit narrowed to (null: all)")


class ContestStats(Stats):
    contest: int
    title: str
    rounds: list[RoundSummary] = Field(default_factory=list)
    scope: int | None = None


# ------------------------------------------------------------------------------- helpers


def _rounded(value: float | None, digits: int = 4) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(float(value), digits)


def _finished(round_ids: Sequence[int]) -> Any:
    return Attempt.round_id.in_(list(round_ids)) & Attempt.state.in_(FINISHED)


def _everyone(unit: Unit | None) -> bool:
    """No narrowing: no unit, or the province (the units table holds the deployment's
    province only)."""
    return unit is None or unit.level == UnitLevel.PROVINCE


def _within(stmt: Any, unit: Unit | None, commune: Any) -> Any:
    """`stmt` restricted to the attempts counted within `unit` (`commune`: Attempt.unit_code
    or BestAttempt.unit_code, the commune an attempt counts in, never the account's today)."""
    return stmt if _everyone(unit) else stmt.where(in_scope(commune, unit))


@dataclass(frozen=True)
class _Hidden:
    everything: bool
    units: frozenset[int]


def _decide(per_unit: dict[int, int], threshold: int) -> _Hidden:
    rows = sorted(code for code, n in per_unit.items() if n > 0)
    table = decide_table({(c, 0): per_unit[c] for c in rows}, rows, [0], threshold)
    return _Hidden(table.everything, frozenset(table.rows))


def _people(round_ids: Sequence[int]) -> Any:
    """The count of distinct people in `best_attempts` rows of the rounds: one row per person
    and round, so within one round count(*) (no DISTINCT, no sort)."""
    return func.count() if len(round_ids) == 1 else func.count(distinct(BestAttempt.user_id))


def _participants_per_unit(session: Session, round_ids: Sequence[int]) -> dict[int, int]:
    """Distinct people with a finished attempt at any of the rounds, per commune (all), in
    the commune their attempts count in (BestAttempt.unit_code: one per person and round; a
    person who moved between two rounds counts in each commune they took part from)."""
    rows = session.execute(
        select(BestAttempt.unit_code, _people(round_ids))
        .where(BestAttempt.round_id.in_(list(round_ids)))
        .group_by(BestAttempt.unit_code)
    ).all()
    return {int(code): int(n) for code, n in rows}


def _participants_per_round(
    session: Session, round_ids: Sequence[int]
) -> dict[int, dict[int, int]]:
    """_participants_per_unit of each round, in one statement: round id -> commune -> people."""
    out: dict[int, dict[int, int]] = {r: {} for r in round_ids}
    rows = session.execute(
        select(BestAttempt.round_id, BestAttempt.unit_code, func.count())
        .where(BestAttempt.round_id.in_(list(round_ids)))
        .group_by(BestAttempt.round_id, BestAttempt.unit_code)
    ).all()
    for round_id, code, n in rows:
        out[int(round_id)][int(code)] = int(n)
    return out


def hidden_units(
    session: Session,
    round_ids: Sequence[int],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    together: dict[int, int] | None = None,
    each: dict[int, dict[int, int]] | None = None,
) -> _Hidden:
    """The one suppression decision of a round (one id) or a contest (its rounds' ids).
    `together`: _participants_per_unit of all of `round_ids`; `each`: _participants_per_round
    of them (read here when the caller has not)."""
    if together is None:
        together = _participants_per_unit(session, round_ids)
    if len(round_ids) == 1:
        decisions = [_decide(together, threshold)]
    else:
        if each is None:
            each = _participants_per_round(session, round_ids)
        decisions = [_decide(each[r], threshold) for r in round_ids]
        decisions.append(_decide(together, threshold))
    return _Hidden(
        any(d.everything for d in decisions),
        frozenset().union(*(d.units for d in decisions)) if decisions else frozenset(),
    )


def _communes(session: Session, audience: list[int] | None, unit: Unit | None) -> list[Unit]:
    """The communes/wards within `unit` that may take part, by name."""
    stmt = select(Unit).where(Unit.level == UnitLevel.COMMUNE)
    if unit is not None:
        stmt = stmt.where(in_scope(Unit.code, unit))
    units = session.scalars(stmt.order_by(Unit.code)).all()
    return [u for u in units if in_audience(audience, u)]


ITEM_COLUMNS = ["unit", "version", "n", "sx", "ss", "sss", "sxs"]


def _scan(session: Session, round_ids: Sequence[int], unit: Unit | None) -> pd.DataFrame:
    """One pass over the answered questions of the finished attempts: one row per (commune,
    question version) with the sums every item figure is made of (ITEM_COLUMNS).

    The database groups by (commune, version, right or not) with three plain aggregates —
    count, Σs, Σs² — and no expression per row beyond the score; the right answers (Σx) and
    Σxs are the count and Σs of the groups answered right, summed here over some 15,000
    rows. (Five sums per (commune, version), two of them over a CASE, do more per row: see
    docs/benchmarks.md, "After: attempts keep their commune".)"""
    s = func.coalesce(Attempt.score, 0)
    version_col = AttemptQuestion.question_version_id.label("version")
    stmt = (
        select(
            Attempt.unit_code.label("unit"),
            version_col,
            # Per group, not per row; NULL (an answer never scored) is not right.
            func.coalesce(cast(AttemptQuestion.correct, Integer), 0).label("right"),
            func.count().label("n"),
            func.sum(s).label("ss"),
            func.sum(s * s).label("sss"),
        )
        .select_from(AttemptQuestion)
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(_finished(round_ids))
    )
    stmt = _within(stmt, unit, Attempt.unit_code).group_by(
        Attempt.unit_code, version_col, AttemptQuestion.correct
    )
    # From one int64 array: pandas reads a list of rows value by value (0.17 s for 7,800 rows).
    rows = [tuple(row) for row in session.execute(stmt)]  # numpy reads Row objects slowly
    table = np.array(rows, dtype=np.int64).reshape(len(rows), 6)
    unit_col, version, right, n, ss, sss = table.T
    parts = pd.DataFrame(
        {
            "unit": unit_col,
            "version": version,
            "n": n,
            "sx": n * right,
            "ss": ss,
            "sss": sss,
            "sxs": ss * right,
        }
    )
    return parts.groupby(["unit", "version"], as_index=False, sort=False)[ITEM_COLUMNS[2:]].sum()


def _papers(session: Session, round_ids: Sequence[int], unit: Unit | None) -> list[tuple[str, int]]:
    """The sets of questions (Attempt.paper) given to MIN_ALPHA finished attempts or more, with
    their attempts, most used first: read from the attempts, not their answered questions."""
    stmt = _within(
        select(Attempt.paper, func.count())
        .where(_finished(round_ids), Attempt.paper.is_not(None))
        .group_by(Attempt.paper)
        .having(func.count() >= MIN_ALPHA),
        unit,
        Attempt.unit_code,
    )
    found = [(str(paper), int(m)) for paper, m in session.execute(stmt).all()]
    return sorted(found, key=lambda f: (-f[1], f[0]))


def _versions(session: Session, version_ids: list[int]) -> pd.DataFrame:
    """What each question version is: its question, bank, topic (with title) and text."""
    rows = session.execute(
        select(
            QuestionVersion.id,
            QuestionVersion.question_id,
            Question.key,
            Bank.slug,
            Bank.topics,
            QuestionVersion.topic,
            QuestionVersion.text,
        )
        .join(Question, Question.id == QuestionVersion.question_id)
        .join(Bank, Bank.id == Question.bank_id)
        .where(QuestionVersion.id.in_(version_ids))
    ).all()
    out = []
    for vid, qid, key, bank, topics, topic, text in rows:
        titles = {t.get("id"): t.get("title") for t in topics or []}
        out.append((vid, qid, key, bank, topic, titles.get(topic), text))
    return pd.DataFrame(
        out, columns=["version", "qid", "question", "bank", "topic", "topic_title", "text"]
    )


def _discrimination(n: Any, sx: Any, ss: Any, sss: Any, sxs: Any) -> Any:
    """Pearson r of x (0/1) with the rest r = s − x, from sums (vectorised over pandas)."""
    sr = ss - sx
    srr = sss - 2 * sxs + sx  # Σ(s − x)², as x² = x
    sxr = sxs - sx  # Σ x(s − x)
    num = n * sxr - sx * sr
    den = (n * sx - sx * sx) * (n * srr - sr * sr)
    r = num / den.where(den > 0).pow(0.5)
    return r.where(n >= MIN_DISCRIMINATION)


def _items(
    rows: pd.DataFrame, meta: pd.DataFrame, shown_units: set[int]
) -> tuple[list[QuestionStat], list[TopicStat], list[TopicUnitCell]]:
    if rows.empty:
        return [], [], []
    data = rows.merge(meta, on="version", how="left")
    per_q = data.groupby("qid", as_index=False)[["n", "sx", "ss", "sss", "sxs"]].sum()
    per_q["facility"] = per_q["sx"] / per_q["n"]
    per_q["discrimination"] = _discrimination(
        per_q["n"], per_q["sx"], per_q["ss"], per_q["sss"], per_q["sxs"]
    )
    # The question's words: its latest version shown.
    latest = meta.sort_values("version").groupby("qid").tail(1).set_index("qid")
    questions = []
    for row in per_q.itertuples(index=False):
        m = latest.loc[row.qid]
        questions.append(
            QuestionStat(
                question=m["question"],
                bank=m["bank"],
                topic=m["topic"],
                topic_title=m["topic_title"],
                text=m["text"],
                n=int(row.n),
                correct=int(row.sx),
                facility=_rounded(row.facility),
                discrimination=_rounded(row.discrimination),
            )
        )
    questions.sort(key=lambda q: (q.bank, q.question))
    # A topic is declared by its bank: two banks' "chinh-quyen" are two topics.
    data["topic_key"] = data["topic"].fillna("")
    keys = ["bank", "topic_key"]
    titles = data.dropna(subset=["topic_title"]).groupby(keys)["topic_title"].first().to_dict()
    per_t = data.groupby(keys, as_index=False)[["n", "sx"]].sum()
    topics = [
        TopicStat(
            bank=row.bank,
            topic=row.topic_key or None,
            title=titles.get((row.bank, row.topic_key)),
            n=int(row.n),
            correct=int(row.sx),
            facility=_rounded(row.sx / row.n if row.n else None),
        )
        for row in per_t.sort_values(keys).itertuples(index=False)
    ]
    cells = data[data["unit"].isin(shown_units)]
    per_cell = cells.groupby([*keys, "unit"], as_index=False)[["n", "sx"]].sum()
    heat = [
        TopicUnitCell(
            bank=row.bank,
            topic=row.topic_key or None,
            unit=int(row.unit),
            n=int(row.n),
            facility=_rounded(row.sx / row.n if row.n else None),
        )
        for row in per_cell.sort_values([*keys, "unit"]).itertuples(index=False)
    ]
    return questions, topics, heat


def _alpha(
    session: Session,
    round_ids: Sequence[int],
    unit: Unit | None,
    papers: list[tuple[str, int]],
    rows: pd.DataFrame,
    attempts: int,
) -> tuple[float | None, int, int]:
    """Cronbach's alpha over the largest set of attempts given the same questions (≥ 10, from
    `_papers`; a set of one question has none: the next is tried). When every finished attempt
    in view was given that set (one paper for all), the right answers per question are the
    scan's (`rows`); otherwise they are counted over the set's attempts."""
    for paper, m in papers:
        members = _within(
            select(Attempt.id).where(_finished(round_ids), Attempt.paper == paper),
            unit,
            Attempt.unit_code,
        )
        if m == attempts:
            right = [int(c) for c in rows.groupby("version")["sx"].sum()]
        else:
            right = [
                int(c)
                for c in session.scalars(
                    select(func.sum(case((AttemptQuestion.correct.is_(True), 1), else_=0)))
                    .where(AttemptQuestion.attempt_id.in_(members))
                    .group_by(AttemptQuestion.question_version_id)
                )
            ]
        k = len(right)
        if k < 2:
            continue
        score = func.coalesce(Attempt.score, 0)
        total, squares = session.execute(
            select(func.sum(score), func.sum(score * score)).where(Attempt.id.in_(members))
        ).one()
        var_total = int(squares) / m - (int(total) / m) ** 2
        var_items = sum((c / m) * (1 - c / m) for c in right)
        if var_total <= 0:
            return None, m, k
        return _rounded(k / (k - 1) * (1 - var_items / var_total)), m, k
    return None, 0, 0


def _scores(session: Session, round_ids: Sequence[int], unit: Unit | None) -> list[ScoreCount]:
    stmt = _within(
        select(BestAttempt.score, func.count()).where(BestAttempt.round_id.in_(list(round_ids))),
        unit,
        BestAttempt.unit_code,
    )
    rows = session.execute(stmt.group_by(BestAttempt.score).order_by(BestAttempt.score)).all()
    return [ScoreCount(score=int(s), people=int(n)) for s, n in rows]


def _attempts(session: Session, round_ids: Sequence[int], unit: Unit | None) -> int:
    stmt = _within(
        select(func.count()).select_from(Attempt).where(_finished(round_ids)),
        unit,
        Attempt.unit_code,
    )
    return int(session.scalar(stmt) or 0)


def _participants(session: Session, round_ids: Sequence[int], unit: Unit | None) -> int:
    """Distinct people with a finished attempt at any of the rounds, within `unit`."""
    stmt = (
        select(_people(round_ids))
        .select_from(BestAttempt)
        .where(BestAttempt.round_id.in_(list(round_ids)))
    )
    return int(session.scalar(_within(stmt, unit, BestAttempt.unit_code)) or 0)


def _per_1000(participants: int, population: int | None) -> float | None:
    if not population:
        return None
    return round(participants * 1000 / population, 2)


def _narrowed(scope: Unit | None, unit: Unit | None) -> Unit | None:
    if unit is None:
        return scope
    if not within(unit, scope):
        raise OutsideScope(unit.code)
    return unit


def _build(
    session: Session,
    round_ids: list[int],
    view: Unit | None,
    final: bool,
    threshold: int,
    communes: list[Unit],
    each: dict[int, dict[int, int]] | None = None,
) -> dict[str, Any]:
    """`communes`: _communes(audience, view); `each`: _participants_per_round (contests)."""
    per_unit_all = (
        _participants_per_unit(session, round_ids)
        if each is None or len(round_ids) > 1
        else each[round_ids[0]]
    )
    hidden = hidden_units(session, round_ids, threshold, together=per_unit_all, each=each)
    base: dict[str, Any] = {"final": final, "threshold": threshold, "communes": len(communes)}
    is_commune = view is not None and view.level == UnitLevel.COMMUNE
    if is_commune and (hidden.everything or view.code in hidden.units):  # type: ignore[union-attr]
        return base | {"suppressed": True, "participants": None, "attempts": None, "covered": None}
    if _everyone(view) and len(round_ids) == 1:  # one commune per person and round
        participants = sum(per_unit_all.values())
    else:  # a person who moved between two rounds counts in two communes: count them once
        participants = _participants(session, round_ids, view)
    attempts = _attempts(session, round_ids, view)
    if hidden.everything:
        return base | {
            "suppressed": True,
            "participants": participants,
            "attempts": attempts,
            "covered": None,
        }
    units = []
    without = []
    for u in communes:
        n = per_unit_all.get(u.code, 0)
        if n == 0:
            without.append(u.code)
        elif u.code in hidden.units:
            units.append(
                UnitStat(code=u.code, name=u.name, population=u.population, suppressed=True)
            )
        else:
            units.append(
                UnitStat(
                    code=u.code,
                    name=u.name,
                    participants=n,
                    population=u.population,
                    per_1000=_per_1000(n, u.population),
                )
            )
    rows = _scan(session, round_ids, view)
    meta = _versions(session, sorted({int(v) for v in rows["version"]})) if not rows.empty else None
    shown = {u.code for u in units if not u.suppressed}
    questions, topics, heat = _items(rows, meta, shown) if meta is not None else ([], [], [])
    papers = _papers(session, round_ids, view)
    alpha, alpha_m, alpha_k = _alpha(session, round_ids, view, papers, rows, attempts)
    scores = _scores(session, round_ids, view)
    return base | {
        "participants": participants,
        "attempts": attempts,
        "covered": len(units),
        "units": units,
        "units_without_participants": without,
        "scores": scores,
        "questions": questions,
        "topics": topics,
        "heat": heat,
        "alpha": alpha,
        "alpha_attempts": alpha_m,
        "alpha_questions": alpha_k,
    }


def _max_score(session: Session, round_ids: Sequence[int]) -> int | None:
    value = session.scalar(
        select(func.max(BestAttempt.max_score)).where(BestAttempt.round_id.in_(list(round_ids)))
    )
    return int(value) if value is not None else None


def _is_final(round_: Round, now: datetime, grace: timedelta) -> bool:
    from app.services.ranking import is_final

    return is_final(round_, now, grace)


def _summary(
    session: Session,
    round_: Round,
    per_unit: dict[int, int],
    communes: list[Unit],
    view: Unit | None,
    now: datetime,
    grace: timedelta,
    threshold: int,
) -> RoundSummary:
    """One round's line in a contest's view: people, attempts, communes covered.
    `per_unit`: the round's participants per commune (_participants_per_round, read once for
    the contest's suppression decision and these lines); `communes`: _communes of the view."""
    hidden = hidden_units(session, [round_.id], threshold, together=per_unit)
    is_commune = view is not None and view.level == UnitLevel.COMMUNE
    withheld = is_commune and (hidden.everything or view.code in hidden.units)  # type: ignore[union-attr]
    return RoundSummary(
        id=round_.id,
        title=round_.title or round_.key,
        final=_is_final(round_, now, grace),
        state="upcoming"
        if now < round_.opens_at
        else ("closed" if _is_final(round_, now, grace) else "open"),
        participants=None
        if withheld
        else (
            sum(per_unit.values()) if _everyone(view) else _participants(session, [round_.id], view)
        ),
        attempts=None if withheld else _attempts(session, [round_.id], view),
        covered=None
        if withheld or hidden.everything
        else sum(1 for u in communes if per_unit.get(u.code, 0) > 0),
        communes=len(communes),
    )


# ---------------------------------------------------------------------------- public API


def round_stats(
    session: Session,
    round_: Round,
    *,
    scope: Unit | None = None,
    unit: Unit | None = None,
    now: datetime | None = None,
    grace: timedelta = timedelta(0),
    threshold: int = DEFAULT_THRESHOLD,
) -> RoundStats:
    """The statistics of `round_` within the reader's `scope` (None: everything), narrowed to
    `unit` (which must lie within `scope`: OutsideScope otherwise)."""
    view = _narrowed(scope, unit)
    now = now or utcnow()
    parts = _build(
        session,
        [round_.id],
        view,
        _is_final(round_, now, grace),
        threshold,
        _communes(session, round_.contest.audience, view),
    )
    return RoundStats(
        round=round_.id,
        title=round_.title or round_.key,
        contest=round_.contest_id,
        scope=view.code if view is not None else None,
        max_score=_max_score(session, [round_.id]),
        **parts,
    )


def contest_stats(
    session: Session,
    contest: Contest,
    *,
    scope: Unit | None = None,
    unit: Unit | None = None,
    now: datetime | None = None,
    grace: timedelta = timedelta(0),
    threshold: int = DEFAULT_THRESHOLD,
) -> ContestStats:
    """The statistics of every round of `contest` together (people counted once), with one
    line per round (participants, attempts, communes covered)."""
    view = _narrowed(scope, unit)
    now = now or utcnow()
    ids = [r.id for r in contest.rounds]
    final = bool(ids) and all(_is_final(r, now, grace) for r in contest.rounds)
    each = _participants_per_round(session, ids)  # read once: the decision and the lines
    communes = _communes(session, contest.audience, view)
    parts = _build(session, ids, view, final, threshold, communes, each)
    summaries = [
        _summary(session, r, each[r.id], communes, view, now, grace, threshold)
        for r in contest.rounds
    ]
    return ContestStats(
        contest=contest.id,
        title=contest.title,
        scope=view.code if view is not None else None,
        rounds=summaries,
        **parts,
    )


def hardest(stats: Stats, count: int = 10, min_n: int = MIN_DISCRIMINATION) -> list[QuestionStat]:
    """The `count` questions with the lowest facility among those given `min_n` times or more
    (fewer attempts say little), lowest first."""
    asked = [q for q in stats.questions if q.facility is not None and q.n >= min_n]
    return sorted(asked, key=lambda q: (q.facility, -q.n, q.bank, q.question))[:count]
