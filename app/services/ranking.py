"""The one ranking of a round (question-bank.md, end): the page, the API, the export, the
winners list and `flask contests recheck` all read it from here.

Per person, the best attempt counts; only submitted or expired attempts do. Order: more
correct answers; then, once the round is final and asks a prediction, the prediction closest
to the frozen figure (an attempt without one after those with one); then the shorter
`duration_ms`; then the earlier `submitted_at`; then the attempt id, so that every place is
distinct and the same inputs always give the same ranking. While the round is open (and for
the grace after its close, while late answers may still arrive) the ranking is provisional
and the prediction is ignored.

The order is kept by the database in `best_attempts` (app.services.standings: each person's
best attempt, upserted on every submit and rebuilt in the final order when the figure is
frozen), so a page or a resident's place reads a range of one index, never the whole round.
What is built from the whole ranking (the exports, the unit ranking, the audit page) is cached
per engine and round under a stamp read from the database on every call (finished attempts:
count and highest id; the round's frozen figure), so that a submit in any worker and the close
both invalidate it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, NamedTuple, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import case, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.models import Attempt, BestAttempt, Disqualification, Round, Unit, UnitLevel, User
from app.services import attempts as attempt_service
from app.services import standings
from app.services.policy import in_scope
from app.services.standings import FINISHED
from app.text import vietnamese_key

T = TypeVar("T")
PAGE_SIZE = 50
CACHE_ROUNDS = 8  # rounds kept per engine and process
CACHE_MAX_AGE_S = 600.0  # bounds what the stamp cannot see (a unit changed in a profile)


# ------------------------------------------------------------------------------- the figure


def is_final(round_: Round, now: datetime, grace: timedelta) -> bool:
    """Final once no answer can arrive any more: the close plus the grace for late answers."""
    return now >= round_.closes_at + grace


def count_figure(session: Session, round_: Round, target: str) -> int:
    """The real figure of a prediction target, counted now from the finished attempts of people
    not disqualified (a disqualification after the freeze leaves the frozen figure as it is)."""
    where = (
        Attempt.round_id == round_.id,
        Attempt.state.in_(FINISHED),
        standings.not_disqualified(Attempt.round_id, Attempt.user_id),
    )
    if target == "entries":
        return session.scalar(select(func.count(Attempt.id)).where(*where)) or 0
    if target == "participants":
        return session.scalar(select(func.count(func.distinct(Attempt.user_id))).where(*where)) or 0
    if target == "full_scores":  # a person's best score does not depend on the tie-breaks
        return (
            session.scalar(
                select(func.count()).where(
                    BestAttempt.round_id == round_.id, BestAttempt.score == BestAttempt.max_score
                )
            )
            or 0
        )
    raise ValueError(f"no figure for the prediction target {target!r}")


def freeze(session: Session, round_: Round, now: datetime, grace: timedelta) -> bool:
    """Count and keep the round's figure once it is over; True when this call froze it.

    Attempts still open are finished first (their deadline is at most the close, so they are
    all past it and its grace), so that the count is the final one. A conditional UPDATE
    keeps the first figure stored when two workers freeze at once; the one that stored it
    re-ranks `best_attempts` in the final order, in the same transaction.
    """
    if not is_final(round_, now, grace) or round_.frozen_at is not None:
        return False
    still_open = session.scalars(
        select(Attempt).where(Attempt.round_id == round_.id, Attempt.state == "open")
    ).all()
    for attempt in still_open:
        attempt_service.finish(session, attempt, now, grace)
    figure = (
        count_figure(session, round_, round_.prediction) if round_.prediction != "none" else None
    )
    changed = session.execute(
        update(Round)
        .where(Round.id == round_.id, Round.frozen_at.is_(None))
        .values(frozen_figure=figure, frozen_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if changed:
        session.refresh(round_)
        standings.rebuild(session, round_)
    session.commit()
    session.refresh(round_)
    return bool(changed)


def freeze_closed_rounds(session: Session, now: datetime, grace: timedelta) -> int:
    """Freeze the figure of every round over and not frozen yet (for `flask contests finalize`)."""
    rounds = session.scalars(
        select(Round).where(Round.frozen_at.is_(None), Round.closes_at <= now - grace)
    ).all()
    return sum(freeze(session, round_, now, grace) for round_ in rounds)


# ---------------------------------------------------------------------------- the ranking


class Standing(NamedTuple):
    """One person's place: their best attempt and every figure that decided it."""

    place: int
    attempt_id: int
    user_id: int
    score: int
    max_score: int
    prediction: int | None
    distance: int | None  # final rankings of rounds with a prediction only
    duration_ms: int
    submitted_at: datetime


STANDING_COLUMNS = (
    BestAttempt.attempt_id,
    BestAttempt.user_id,
    BestAttempt.score,
    BestAttempt.max_score,
    BestAttempt.prediction,
    BestAttempt.tiebreak,
    BestAttempt.duration_ms,
    BestAttempt.submitted_at,
)


def _standing(place: int, row: Any, measured: bool) -> Standing:
    """A row of STANDING_COLUMNS at its place; `measured`: the tiebreak is the distance."""
    attempt_id, user_id, score, max_score, prediction, tiebreak, duration_ms, submitted = row
    distance = tiebreak if measured and prediction is not None else None
    return Standing(
        place, attempt_id, user_id, score, max_score, prediction, distance, duration_ms, submitted
    )


@dataclass
class Ranking:
    round_id: int
    final: bool
    target: str  # the prediction target: full_scores | entries | participants | none
    figure: int | None  # the frozen figure once final
    standings: list[Standing]


def _measured(round_: Round, final: bool) -> bool:
    """Predictions are measured against the figure (final, and the round asks one)."""
    return final and standings.figure_of(round_) is not None


def compute_ranking(session: Session, round_: Round, final: bool) -> Ranking:
    """The whole ranking read from `best_attempts`, in order, without the cache."""
    rows = session.execute(
        select(*STANDING_COLUMNS)
        .where(BestAttempt.round_id == round_.id)
        .order_by(*standings.order(BestAttempt))
    )
    measured = _measured(round_, final)
    return Ranking(
        round_id=round_.id,
        final=final,
        target=round_.prediction,
        figure=round_.frozen_figure if final else None,
        standings=[_standing(place, row, measured) for place, row in enumerate(rows, start=1)],
    )


# The cache: per engine (tests and workers never share one), per round, under a stamp.
@dataclass
class Cached:
    stamp: tuple[Any, ...]
    built: float
    final: bool
    extras: dict[str, Any] = field(default_factory=dict)  # whole ranking, unit ranking, files

    def kept(self, key: str, build: Callable[[], T]) -> T:
        """What `build` makes, made once while this entry is current."""
        if key not in self.extras:
            self.extras[key] = build()
        made: T = self.extras[key]
        return made


_CACHES: WeakKeyDictionary[Engine, OrderedDict[int, Cached]] = WeakKeyDictionary()
_LOCK = threading.Lock()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _stamp(session: Session, round_: Round, final: bool) -> tuple[Any, ...]:
    count, last = session.execute(
        select(func.count(Attempt.id), func.max(Attempt.id)).where(
            Attempt.round_id == round_.id, Attempt.state.in_(FINISHED)
        )
    ).one()
    out = session.scalar(  # disqualifications are only ever added
        select(func.count()).where(Disqualification.round_id == round_.id)
    )
    stamp = (count, last, out, final, round_.prediction, round_.frozen_figure, round_.frozen_at)
    return stamp


def invalidate(session: Session, round_id: int | None = None) -> None:
    """Forget this process's cached rankings (of one round, or all) for the session's engine."""
    with _LOCK:
        rounds = _CACHES.get(_engine(session))
        if rounds is not None:
            if round_id is None:
                rounds.clear()
            else:
                rounds.pop(round_id, None)


def settle(session: Session, round_: Round, now: datetime, grace: timedelta) -> bool:
    """Whether the ranking is final as of `now`, freezing the figure on the first read after
    the close (and its grace) when `flask contests finalize` has not done it yet."""
    final = is_final(round_, now, grace)
    if final and round_.frozen_at is None:
        freeze(session, round_, now, grace)
    return final


def current(session: Session, round_: Round, now: datetime, grace: timedelta) -> Cached:
    """This process's cache entry of the round as of `now` (emptied when no longer current):
    what is built from the ranking is kept in its `extras` until the next submit or the close."""
    final = settle(session, round_, now, grace)
    stamp = _stamp(session, round_, final)
    engine = _engine(session)
    with _LOCK:
        rounds = _CACHES.setdefault(engine, OrderedDict())
        entry = rounds.get(round_.id)
        if entry and entry.stamp == stamp and time.monotonic() - entry.built < CACHE_MAX_AGE_S:
            rounds.move_to_end(round_.id)
            return entry
    entry = Cached(stamp, time.monotonic(), final)
    with _LOCK:
        rounds[round_.id] = entry
        rounds.move_to_end(round_.id)
        while len(rounds) > CACHE_ROUNDS:
            rounds.popitem(last=False)
    return entry


def ranking(session: Session, round_: Round, now: datetime, grace: timedelta) -> Ranking:
    """The round's whole ranking as of `now` (frozen lazily on the first read after the close)."""
    entry = current(session, round_, now, grace)
    return entry.kept("ranking", lambda: compute_ranking(session, round_, entry.final))


# ------------------------------------------------------------------------- what people see


def short_name(name: str | None) -> str | None:
    """ "Nguyễn Văn An" -> "Nguyễn V. A."; markers in parentheses ("(demo)") are kept whole.
    None for a deleted account (the page shows a neutral placeholder)."""
    if not name or not name.strip():
        return None
    words: list[str] = []
    surname_seen = False
    for word in name.split():
        if word.startswith("("):
            words.append(word)
        elif not surname_seen:
            words.append(word)
            surname_seen = True
        else:
            words.append(word[0].upper() + ".")
    return " ".join(words)


@dataclass(frozen=True)
class Row:
    """A standing as people see it: shortened name (None: deleted account), unit."""

    standing: Standing
    name: str | None
    unit_code: int
    unit_name: str
    phone_verified: bool = False  # the winners list marks phones proved by a code

    @property
    def duration_s(self) -> float:
        return self.standing.duration_ms / 1000


@dataclass
class Board:
    round_id: int
    final: bool
    target: str
    figure: int | None
    total: int  # people ranked (within the unit when filtered)
    everyone: int  # people ranked in the whole round
    offset: int
    limit: int
    rows: list[Row]
    mine: Row | None  # the reader's own standing, wherever it is
    mine_index: int | None  # its 0-based index in the rows listed (None: not listed)

    @property
    def mine_page(self) -> int | None:
        return None if self.mine_index is None else self.mine_index // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


def _people(
    session: Session, round_id: int, user_ids: Iterable[int]
) -> dict[int, tuple[str | None, int, str, bool]]:
    """user id -> (shortened name or None when deleted, unit code, unit name, phone verified):
    one query. The
    unit is the commune the person's attempts at the round count in (BestAttempt.unit_code),
    the one the ranking by unit files them under, not their account's today."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(
            User.id,
            User.name,
            User.deleted_at,
            BestAttempt.unit_code,
            Unit.name,
            (User.verified_phone.is_not(None) & (User.verified_phone == User.phone)).label("v"),
        )
        .join(BestAttempt, (BestAttempt.user_id == User.id) & (BestAttempt.round_id == round_id))
        .join(Unit, Unit.code == BestAttempt.unit_code)
        .where(User.id.in_(wanted))
    ).all()
    return {
        uid: (None if deleted else short_name(name), code, unit, bool(verified))
        for uid, name, deleted, code, unit, verified in rows
    }


def _rows(session: Session, round_id: int, standings_: Sequence[Standing]) -> list[Row]:
    people = _people(session, round_id, (s.user_id for s in standings_))
    return [Row(s, *people.get(s.user_id, (None, 0, "", False))) for s in standings_]


def _ranked(round_id: int, unit: int | None) -> Any:
    """The round's best attempts (of those counted in one commune, when given: the commune of
    the attempt, BestAttempt.unit_code, as participation and the statistics count it) as a
    WHERE clause."""
    where = BestAttempt.round_id == round_id
    if unit is not None:
        where = where & (BestAttempt.unit_code == unit)
    return where


def _ahead_of(session: Session, round_id: int, unit: int | None, own: Any) -> int:
    """How many people (of the unit, when given) rank ahead of the best attempt `own`."""
    return (
        session.scalar(
            select(func.count()).where(
                _ranked(round_id, unit), standings.before(BestAttempt, standings.bound(own))
            )
        )
        or 0
    )


def board(
    session: Session,
    round_: Round,
    now: datetime,
    grace: timedelta,
    *,
    unit: int | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    user_id: int | None = None,
) -> Board:
    """One page of the ranking (optionally of one unit's people, keeping their places in the
    whole ranking) and the reader's own standing wherever it is: ranges of the index of
    `best_attempts`, a count along it for the reader's place, one query for the names."""
    final = settle(session, round_, now, grace)
    measured = _measured(round_, final)
    everyone = session.scalar(select(func.count()).where(_ranked(round_.id, None))) or 0
    total = (
        everyone
        if unit is None
        else (session.scalar(select(func.count()).where(_ranked(round_.id, unit))) or 0)
    )
    # One statement per page (one snapshot: a submit in between cannot take a row away): the
    # page's attempts found along the order index alone (no sort, no row read for the rows
    # skipped), then those few rows themselves.
    if unit is None:
        chosen = (
            select(BestAttempt.attempt_id)
            .where(_ranked(round_.id, None))
            .order_by(*standings.order(BestAttempt))
            .offset(offset)
            .limit(limit)
        )
        rows = session.execute(
            select(*STANDING_COLUMNS)
            .where(BestAttempt.round_id == round_.id, BestAttempt.attempt_id.in_(chosen))
            .order_by(*standings.order(BestAttempt))
        )
        page = [_standing(offset + i, row, measured) for i, row in enumerate(rows, start=1)]
    else:
        # Places in the whole ranking: the round numbered along the index, the unit's kept.
        place = func.row_number().over(order_by=standings.order(BestAttempt)).label("place")
        numbered = (
            select(place, BestAttempt.attempt_id, BestAttempt.unit_code)
            .where(_ranked(round_.id, None))
            .subquery()
        )
        picked = (
            select(numbered.c.place, numbered.c.attempt_id)
            .where(numbered.c.unit_code == unit)
            .order_by(numbered.c.place)
            .offset(offset)
            .limit(limit)
            .subquery()
        )
        rows = session.execute(
            select(picked.c.place, *STANDING_COLUMNS)
            .join(picked, picked.c.attempt_id == BestAttempt.attempt_id)
            .order_by(picked.c.place)
        )
        page = [_standing(row[0], row[1:], measured) for row in rows]
    own: Standing | None = None
    mine_index: int | None = None
    if user_id is not None:
        held = session.execute(
            select(*STANDING_COLUMNS, BestAttempt.unit_code).where(
                BestAttempt.round_id == round_.id, BestAttempt.user_id == user_id
            )
        ).first()
        if held is not None:
            own = _standing(_ahead_of(session, round_.id, None, held) + 1, held[:-1], measured)
            if unit is None:
                mine_index = own.place - 1
            elif held.unit_code == unit:
                mine_index = _ahead_of(session, round_.id, unit, held)
    shown = _rows(session, round_.id, [*page, own] if own is not None else page)
    return Board(
        round_id=round_.id,
        final=final,
        target=round_.prediction,
        figure=round_.frozen_figure if final else None,
        total=total,
        everyone=everyone,
        offset=offset,
        limit=limit,
        rows=shown[: len(page)],
        mine=shown[-1] if own is not None else None,
        mine_index=mine_index,
    )


# ---------------------------------------------------------------------- the unit ranking


@dataclass(frozen=True)
class UnitStanding:
    place: int
    code: int
    name: str
    population: int | None
    participants: int
    score_sum: int  # of the participants' best scores

    @property
    def per_thousand(self) -> float | None:
        if not self.population:
            return None
        return round(self.participants * 1000 / self.population, 2)

    @property
    def mean_score(self) -> float:
        return round(self.score_sum / self.participants, 2) if self.participants else 0.0


@dataclass
class UnitRanking:
    round_id: int
    final: bool
    ranked: list[UnitStanding]  # by participants per 1,000 residents, then mean best score
    unknown: list[UnitStanding]  # population unknown: by participants, in a list of their own


def _unit_ranking(session: Session, round_: Round, final: bool) -> UnitRanking:
    per_unit = (  # in the commune each attempt counts in (as participation and statistics)
        select(
            BestAttempt.unit_code.label("code"),
            func.count().label("participants"),
            func.sum(BestAttempt.score).label("score_sum"),
        )
        .where(BestAttempt.round_id == round_.id)
        .group_by(BestAttempt.unit_code)
        .subquery()
    )
    rows = session.execute(
        select(
            Unit.code, Unit.name, Unit.population, per_unit.c.participants, per_unit.c.score_sum
        ).join(per_unit, per_unit.c.code == Unit.code)
    ).all()
    known = [r for r in rows if r.population]
    unknown = [r for r in rows if not r.population]

    def mean(row: Any) -> Fraction:
        return Fraction(int(row.score_sum or 0), int(row.participants))

    # Exact fractions: the same order on both engines, whatever their float arithmetic.
    known.sort(key=lambda r: (-Fraction(r.participants * 1000, r.population), -mean(r), r.code))
    unknown.sort(key=lambda r: (-r.participants, -mean(r), r.code))

    def ranked(group: list[Any]) -> list[UnitStanding]:
        return [
            UnitStanding(i, r.code, r.name, r.population, r.participants, int(r.score_sum or 0))
            for i, r in enumerate(group, start=1)
        ]

    return UnitRanking(round_.id, final, ranked(known), ranked(unknown))


def unit_ranking(session: Session, round_: Round, now: datetime, grace: timedelta) -> UnitRanking:
    entry = current(session, round_, now, grace)
    return entry.kept("units", lambda: _unit_ranking(session, round_, entry.final))


# -------------------------------------------------------------------------------- winners


@dataclass(frozen=True)
class Winner:
    """A prize winner with what the prize committee needs to reach them."""

    standing: Standing
    name: str | None  # full name; None: the account was deleted
    phone: str | None
    unit_name: str


@dataclass
class Winners:
    final: bool
    people: list[Winner]
    units: list[UnitStanding]


def winners(
    session: Session,
    round_: Round,
    now: datetime,
    grace: timedelta,
    top: int = 10,
    top_units: int = 3,
) -> Winners:
    first = [row.standing for row in board(session, round_, now, grace, limit=top).rows]
    contacts = {
        uid: (None if deleted else name, None if deleted else phone, unit)
        for uid, name, phone, deleted, unit in session.execute(
            select(User.id, User.name, User.phone, User.deleted_at, Unit.name)
            .join(Unit, Unit.code == User.unit_code)
            .where(User.id.in_({s.user_id for s in first}))
        )
    }
    people = [Winner(s, *contacts.get(s.user_id, (None, None, ""))) for s in first]
    return Winners(
        is_final(round_, now, grace),
        people,
        unit_ranking(session, round_, now, grace).ranked[:top_units],
    )


# ------------------------------------------------------------------------------ live view


@dataclass(frozen=True)
class LiveUnit:
    code: int
    name: str
    people: int  # distinct people with a finished attempt
    entries: int  # finished attempts
    in_progress: int


@dataclass
class Live:
    round_id: int
    units: list[LiveUnit]  # communes in scope with someone, most people first
    empty: list[LiveUnit]  # communes in scope with nobody yet
    people: int
    entries: int
    in_progress: int
    distribution: list[tuple[int, int]]  # (best score, people), every score from 0 to the max


def live(
    session: Session, round_: Round, scope: Unit | None, now: datetime, grace: timedelta
) -> Live:
    """Entries and people per commune so far, attempts in progress, best-score distribution;
    communes within `scope` (and the contest's audience) with nobody yet. All GROUP BY, and
    every figure within `scope` (None: everywhere, for an admin)."""
    finished = Attempt.state.in_(FINISHED)
    running = (Attempt.state == "open") & (Attempt.deadline >= now - grace)
    per_unit = session.execute(  # the commune each attempt counts in (Attempt.unit_code)
        select(
            Attempt.unit_code,
            func.count(func.distinct(case((finished, Attempt.user_id)))),
            func.sum(case((finished, 1), else_=0)),
            func.sum(case((running, 1), else_=0)),
        )
        .where(Attempt.round_id == round_.id)
        .group_by(Attempt.unit_code)
    ).all()
    counts = {code: (int(p or 0), int(e or 0), int(r or 0)) for code, p, e, r in per_unit}
    communes = select(Unit.code, Unit.name, Unit.parent_code).where(
        Unit.level == UnitLevel.COMMUNE, in_scope(Unit.code, scope)
    )
    audience = round_.contest.audience
    units = []
    for code, name, parent in session.execute(communes):
        if audience and code not in audience and parent not in audience:
            continue  # not invited to this contest
        people, entries, in_progress = counts.get(code, (0, 0, 0))
        units.append(LiveUnit(code, name, people, entries, in_progress))
    shown = sorted(
        (u for u in units if u.people or u.in_progress),
        key=lambda u: (-u.people, -u.entries, vietnamese_key(u.name)),
    )
    empty = sorted(
        (u for u in units if not u.people and not u.in_progress),
        key=lambda u: vietnamese_key(u.name),
    )
    by_score = dict(
        session.execute(
            select(BestAttempt.score, func.count())
            .where(BestAttempt.round_id == round_.id, in_scope(BestAttempt.unit_code, scope))
            .group_by(BestAttempt.score)
        ).all()
    )
    top = max([sum(d.get("count", 0) for d in round_.draw), *by_score.keys(), 0])
    return Live(
        round_id=round_.id,
        units=shown,
        empty=empty,
        people=sum(u.people for u in units),
        entries=sum(u.entries for u in units),
        in_progress=sum(u.in_progress for u in units),
        distribution=[(score, int(by_score.get(score, 0))) for score in range(top + 1)],
    )
