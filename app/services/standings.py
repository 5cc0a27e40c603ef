"""Each person's best attempt at a round, in the ranking's order: the `best_attempts` table.

The ranking (app.services.ranking) reads this table instead of ranking every attempt of the
round on each read: a page is a range of its index, a place a count along it, so a page of a
province-wide round costs the same as a page of a small one. It is kept right in two ways:

- on every submit, `record` upserts the finished attempt and keeps the better of it and the
  one held (the comparison is in the upsert's WHERE, so two submits of one person in two
  workers end with the better one, whatever their order);
- when the round's figure is frozen, `rebuild` re-derives the whole table from `attempts`
  with window functions in the final order (the prediction's distance then counts, which
  can change which of a person's attempts is the best).

`attempts` stays the record: `flask contests recheck` re-ranks from it and reports any row
of this table that differs.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.models import Attempt, BestAttempt, Disqualification, Round

FINISHED = ("submitted", "expired")
NO_DURATION = 2**31 - 1  # a finished attempt always has one; this only keeps NULLs out
NO_PREDICTION = 2**62  # the tiebreak of a final ranking's attempt without a prediction
COLUMNS = (
    "round_id",
    "user_id",
    "attempt_id",
    "score",
    "max_score",
    "prediction",
    "tiebreak",
    "duration_ms",
    "submitted_at",
    "unit_code",
)


def figure_of(round_: Round | Any) -> int | None:
    """The figure predictions are measured against: frozen, and asked for; else None."""
    if round_.frozen_at is not None and round_.prediction != "none":
        return round_.frozen_figure
    return None


def _tiebreak(prediction: Any, figure: int | ColumnElement[Any] | None) -> ColumnElement[Any]:
    if figure is None:
        return literal(0, BigInteger)
    if isinstance(figure, int):
        figure = literal(figure, BigInteger)
    return case(
        (prediction.is_(None), literal(NO_PREDICTION, BigInteger)),
        else_=func.abs(cast(prediction, BigInteger) - cast(figure, BigInteger)),
    )


def order(cols: Any) -> list[ColumnElement[Any]]:
    """The spec's order (question-bank.md) as ORDER BY keys: more correct answers, then (final
    rankings) the closer prediction, the shorter time, the earlier submission, the attempt."""
    return [cols.score.desc(), cols.tiebreak, cols.duration_ms, cols.submitted_at, cols.attempt_id]


def before(cols: Any, other: Any) -> ColumnElement[bool]:
    """`cols` ranks ahead of `other` (rows or values with the same names). Written as a range
    on the score, then a row comparison on the ascending keys, so that an index serves it."""
    return (cols.score > other.score) | (
        (cols.score == other.score)
        & (
            tuple_(cols.tiebreak, cols.duration_ms, cols.submitted_at, cols.attempt_id)
            < tuple_(other.tiebreak, other.duration_ms, other.submitted_at, other.attempt_id)
        )
    )


def bound(row: Any) -> Any:
    """A stored row's ordering values as typed literals, for `before(BestAttempt, bound(row))`."""
    table = BestAttempt.__table__.c
    names = ("score", "tiebreak", "duration_ms", "submitted_at", "attempt_id")
    return SimpleNamespace(**{n: literal(getattr(row, n), table[n].type) for n in names})


def not_disqualified(round_id: Any, user_id: Any) -> ColumnElement[bool]:
    """The SQL condition that the person `user_id` is not disqualified in round `round_id`
    (app.services.suspicious.disqualify): their attempts count nowhere in that round."""
    return ~exists().where(
        Disqualification.round_id == round_id, Disqualification.user_id == user_id
    )


def candidates(attempts: Any = Attempt, figure: int | ColumnElement[Any] | None = None) -> Any:
    """Finished attempts of people not disqualified, as rows of `best_attempts` (in COLUMNS
    order). `attempts`: the table (the model) or the columns of a statement's RETURNING (a
    CTE's `.c`) with its names."""
    return select(
        attempts.round_id,
        attempts.user_id,
        attempts.id.label("attempt_id"),
        func.coalesce(attempts.score, 0).label("score"),
        attempts.max_score,
        attempts.prediction,
        _tiebreak(attempts.prediction, figure).label("tiebreak"),
        func.coalesce(attempts.duration_ms, NO_DURATION).label("duration_ms"),
        attempts.submitted_at,
        attempts.unit_code,
    ).where(attempts.state.in_(FINISHED), not_disqualified(attempts.round_id, attempts.user_id))


def upsert(dialect: str, source: Any) -> Any:
    """INSERT the `candidates` rows of `source`, each becoming its person's standing only if
    it ranks ahead of the one held (the comparison is in the upsert's WHERE)."""
    insert_of = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = insert_of(BestAttempt).from_select(COLUMNS, source)
    new, held = statement.excluded, BestAttempt.__table__.c
    return statement.on_conflict_do_update(
        index_elements=[held.round_id, held.user_id],
        set_={name: new[name] for name in COLUMNS[2:]},
        where=before(new, held),
    )


def record(session: Session, attempt_id: int, figure: int | None = None) -> None:
    """Enter a just-finished attempt: it becomes its person's standing if it ranks ahead of
    the one held (one statement; the database's row lock settles concurrent submits)."""
    source = candidates(Attempt, figure).where(Attempt.id == attempt_id)
    session.execute(upsert(session.get_bind().dialect.name, source))


def rebuild(session: Session, round_: Round) -> int:
    """Derive the round's rows again from `attempts` (window functions, same SQL on both
    engines), in the final order once the figure is frozen. Returns the people ranked."""
    session.execute(delete(BestAttempt).where(BestAttempt.round_id == round_.id))
    finished = candidates(Attempt, figure_of(round_)).where(Attempt.round_id == round_.id)
    rows = finished.subquery()
    nth = func.row_number().over(partition_by=rows.c.user_id, order_by=order(rows.c))
    numbered = select(rows, nth.label("nth")).subquery()
    chosen = select(*(numbered.c[name] for name in COLUMNS)).where(numbered.c.nth == 1)
    return session.execute(insert(BestAttempt).from_select(COLUMNS, chosen)).rowcount or 0


def rebuild_all(session: Session) -> int:
    """Every round's rows again (after a bulk load of attempts, or to repair the table)."""
    return sum(rebuild(session, round_) for round_ in session.scalars(select(Round)))
