"""The one ranking of a round (question-bank.md, end): the page, the API, the export, the
winners list and `flask contests recheck` all read it from here.

Per person, the best attempt counts; only submitted or expired attempts do. Order: more
correct answers; then, once the round is final and asks a prediction, the prediction closest
to the frozen figure (an attempt without one after those with one); then the shorter
`duration_ms`; then the earlier `submitted_at`; then the attempt id, so that every place is
distinct and the same inputs always give the same ranking. While the round is open (and for
the grace after its close, while late answers may still arrive) the ranking is provisional
and the prediction is ignored.

The order is computed by the database with window functions (the same SQL on SQLite and
PostgreSQL): `row_number()` per person picks the best attempt, a second `row_number()` over
everyone gives the place. The result is cached per engine and round under a stamp read from
the database on every call (finished attempts: count and highest id; the round's frozen
figure), so a submit in any worker and the close both invalidate it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import time
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import Integer, case, func, literal, null, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from app.models import Attempt, AttemptQuestion, QuestionVersion, Round, Unit, UnitLevel, User
from app.phones import mask_phone
from app.services import attempts as attempt_service
from app.text import vietnamese_key

FINISHED = ("submitted", "expired")
NO_DURATION = 2**31 - 1  # a finished attempt always has one; this only keeps NULLs out of ORDER BY
PAGE_SIZE = 50
CACHE_ROUNDS = 8  # rounds kept per engine and process
CACHE_MAX_AGE_S = 600.0  # bounds what the stamp cannot see (a unit changed in a profile)
DELETED_IN_FILES = "—"  # the name of a deleted account in exported files (language-neutral)


# ------------------------------------------------------------------------------- the order


def is_final(round_: Round, now: datetime, grace: timedelta) -> bool:
    """Final once no answer can arrive any more: the close plus the grace for late answers."""
    return now >= round_.closes_at + grace


def _figure_used(round_: Round, final: bool) -> int | None:
    """The figure the prediction is measured against, when it counts."""
    if final and round_.prediction != "none" and round_.frozen_figure is not None:
        return round_.frozen_figure
    return None


def _finished(round_id: int, figure: int | None) -> Subquery:
    distance: ColumnElement[Any] = (
        func.abs(Attempt.prediction - literal(figure, Integer))
        if figure is not None
        else null().cast(Integer)
    )
    return (
        select(
            Attempt.id.label("attempt_id"),
            Attempt.user_id.label("user_id"),
            func.coalesce(Attempt.score, 0).label("score"),
            Attempt.max_score.label("max_score"),
            Attempt.prediction.label("prediction"),
            distance.label("distance"),
            func.coalesce(Attempt.duration_ms, NO_DURATION).label("duration_ms"),
            Attempt.submitted_at.label("submitted_at"),
        )
        .where(Attempt.round_id == round_id, Attempt.state.in_(FINISHED))
        .subquery("finished")
    )


def _order(cols: Any, figure: int | None) -> list[ColumnElement[Any]]:
    """The spec's order as ORDER BY keys, with no NULL left where engines disagree on them."""
    keys: list[ColumnElement[Any]] = [cols.score.desc()]
    if figure is not None:
        keys += [case((cols.prediction.is_(None), 1), else_=0), func.coalesce(cols.distance, 0)]
    keys += [cols.duration_ms, cols.submitted_at, cols.attempt_id]
    return keys


def _best(round_id: int, figure: int | None) -> Subquery:
    """Every finished attempt numbered within its person's attempts: `nth = 1` is the best."""
    finished = _finished(round_id, figure)
    nth = func.row_number().over(
        partition_by=finished.c.user_id, order_by=_order(finished.c, figure)
    )
    return select(finished, nth.label("nth")).subquery("numbered")


def ranking_query(round_id: int, figure: int | None) -> Any:
    """Each person's best attempt with its place, in order (SQL window functions). Ordered by
    the same keys as the window, so that PostgreSQL sorts once."""
    best = _best(round_id, figure)
    order = _order(best.c, figure)
    return (
        select(
            func.row_number().over(order_by=order).label("place"),
            best.c.attempt_id,
            best.c.user_id,
            best.c.score,
            best.c.max_score,
            best.c.prediction,
            best.c.distance,
            best.c.duration_ms,
            best.c.submitted_at,
        )
        .where(best.c.nth == 1)
        .order_by(*order)
    )


# ----------------------------------------------------------------------------- the figure


def count_figure(session: Session, round_: Round, target: str) -> int:
    """The real figure of a prediction target, counted now from the finished attempts."""
    where = (Attempt.round_id == round_.id, Attempt.state.in_(FINISHED))
    if target == "entries":
        return session.scalar(select(func.count(Attempt.id)).where(*where)) or 0
    if target == "participants":
        return session.scalar(select(func.count(func.distinct(Attempt.user_id))).where(*where)) or 0
    if target == "full_scores":
        best = _best(round_.id, None)
        return (
            session.scalar(
                select(func.count())
                .select_from(best)
                .where(best.c.nth == 1, best.c.score == best.c.max_score)
            )
            or 0
        )
    raise ValueError(f"no figure for the prediction target {target!r}")


def freeze(session: Session, round_: Round, now: datetime, grace: timedelta) -> bool:
    """Count and keep the round's figure once it is over; True when this call froze it.

    Attempts still open are finished first (their deadline is at most the close, so they are
    all past it and its grace), so that the count is the final one. A conditional UPDATE
    keeps the first figure stored when two workers freeze at once.
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


@dataclass
class Ranking:
    round_id: int
    final: bool
    target: str  # the prediction target: full_scores | entries | participants | none
    figure: int | None  # the frozen figure once final
    standings: list[Standing]
    unit_of: dict[int, int] | None = field(default=None, repr=False)  # user -> unit, on demand
    _by_user: dict[int, Standing] | None = field(default=None, repr=False)
    _by_unit: dict[int, list[Standing]] | None = field(default=None, repr=False)

    def of_user(self, user_id: int) -> Standing | None:
        if self._by_user is None:
            self._by_user = {s.user_id: s for s in self.standings}
        return self._by_user.get(user_id)

    def in_unit(self, unit_code: int | None) -> list[Standing]:
        """The standings of one unit's people (their places stay those of the whole ranking)."""
        if unit_code is None:
            return self.standings
        if self._by_unit is None:
            if self.unit_of is None:
                raise RuntimeError("load the units first: with_units(session, ranking)")
            groups: dict[int, list[Standing]] = {}
            for standing in self.standings:
                groups.setdefault(self.unit_of.get(standing.user_id, 0), []).append(standing)
            self._by_unit = groups
        return self._by_unit.get(unit_code, [])


def with_units(session: Session, result: Ranking) -> Ranking:
    """Load each ranked person's unit (one query), for filtering by unit."""
    if result.unit_of is None:
        result.unit_of = dict(
            session.execute(
                select(User.id, User.unit_code).where(
                    User.id.in_(
                        select(Attempt.user_id).where(
                            Attempt.round_id == result.round_id, Attempt.state.in_(FINISHED)
                        )
                    )
                )
            ).all()
        )
    return result


def compute_ranking(session: Session, round_: Round, final: bool) -> Ranking:
    """The ranking straight from the database, without the cache."""
    figure = _figure_used(round_, final)
    if session.get_bind().dialect.name == "postgresql":
        # The two sorts of a province-wide round then fit in memory instead of spilling to
        # disk; SET LOCAL ends with the transaction.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    rows = session.execute(ranking_query(round_.id, figure)).all()
    return Ranking(
        round_id=round_.id,
        final=final,
        target=round_.prediction,
        figure=round_.frozen_figure if final else None,
        standings=[Standing._make(row) for row in rows],
    )


# The cache: per engine (tests and workers never share one), per round, under a stamp.
@dataclass
class _Cached:
    stamp: tuple[Any, ...]
    built: float
    ranking: Ranking
    extras: dict[str, Any] = field(default_factory=dict)  # unit ranking, export files


_CACHES: WeakKeyDictionary[Engine, OrderedDict[int, _Cached]] = WeakKeyDictionary()
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
    return (count, last, final, round_.prediction, round_.frozen_figure, round_.frozen_at)


def invalidate(session: Session, round_id: int | None = None) -> None:
    """Forget this process's cached rankings (of one round, or all) for the session's engine."""
    with _LOCK:
        rounds = _CACHES.get(_engine(session))
        if rounds is not None:
            if round_id is None:
                rounds.clear()
            else:
                rounds.pop(round_id, None)


def _cached(session: Session, round_: Round, now: datetime, grace: timedelta) -> _Cached:
    final = is_final(round_, now, grace)
    if final and round_.frozen_at is None:
        freeze(session, round_, now, grace)
    stamp = _stamp(session, round_, final)
    engine = _engine(session)
    with _LOCK:
        rounds = _CACHES.setdefault(engine, OrderedDict())
        entry = rounds.get(round_.id)
        if entry and entry.stamp == stamp and time.monotonic() - entry.built < CACHE_MAX_AGE_S:
            rounds.move_to_end(round_.id)
            return entry
    entry = _Cached(stamp, time.monotonic(), compute_ranking(session, round_, final))
    with _LOCK:
        rounds[round_.id] = entry
        rounds.move_to_end(round_.id)
        while len(rounds) > CACHE_ROUNDS:
            rounds.popitem(last=False)
    return entry


def ranking(session: Session, round_: Round, now: datetime, grace: timedelta) -> Ranking:
    """The round's ranking as of `now` (frozen lazily on the first read after the close)."""
    return _cached(session, round_, now, grace).ranking


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


def _people(session: Session, user_ids: Iterable[int]) -> dict[int, tuple[str | None, int, str]]:
    """user id -> (shortened name or None when deleted, unit code, unit name): one query."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.name, User.deleted_at, User.unit_code, Unit.name)
        .join(Unit, Unit.code == User.unit_code)
        .where(User.id.in_(wanted))
    ).all()
    return {
        uid: (None if deleted else short_name(name), code, unit)
        for uid, name, deleted, code, unit in rows
    }


def _rows(session: Session, standings: Sequence[Standing]) -> list[Row]:
    people = _people(session, (s.user_id for s in standings))
    return [Row(s, *people.get(s.user_id, (None, 0, ""))) for s in standings]


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
    whole ranking) and the reader's own standing wherever it is. One query for the names."""
    result = ranking(session, round_, now, grace)
    if unit is not None:
        with_units(session, result)
    scope = result.in_unit(unit)
    page = scope[offset : offset + limit]
    own = result.of_user(user_id) if user_id is not None else None
    shown = _rows(session, [*page, own] if own is not None else page)
    mine = shown[-1] if own is not None else None
    mine_index: int | None = None
    if own is not None:
        if unit is None:
            mine_index = own.place - 1
        elif mine is not None and mine.unit_code == unit:
            mine_index = scope.index(own)
    return Board(
        round_id=round_.id,
        final=result.final,
        target=result.target,
        figure=result.figure,
        total=len(scope),
        everyone=len(result.standings),
        offset=offset,
        limit=limit,
        rows=shown[: len(page)],
        mine=mine,
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
    best = _best(round_.id, None)
    per_unit = (
        select(
            User.unit_code.label("code"),
            func.count().label("participants"),
            func.sum(best.c.score).label("score_sum"),
        )
        .select_from(best)
        .join(User, User.id == best.c.user_id)
        .where(best.c.nth == 1)
        .group_by(User.unit_code)
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

    def standings(group: list[Any]) -> list[UnitStanding]:
        return [
            UnitStanding(i, r.code, r.name, r.population, r.participants, int(r.score_sum or 0))
            for i, r in enumerate(group, start=1)
        ]

    return UnitRanking(round_.id, final, standings(known), standings(unknown))


def unit_ranking(session: Session, round_: Round, now: datetime, grace: timedelta) -> UnitRanking:
    entry = _cached(session, round_, now, grace)
    if "units" not in entry.extras:
        entry.extras["units"] = _unit_ranking(session, round_, entry.ranking.final)
    result: UnitRanking = entry.extras["units"]
    return result


# --------------------------------------------------------------------------------- export

EXPORT_COLUMNS = (
    "place",
    "attempt_id",
    "name",
    "phone",
    "unit_code",
    "unit",
    "score",
    "max_score",
    "prediction",
    "frozen_figure",
    "distance",
    "duration_ms",
    "submitted_at",
    "final",
)
FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # zip entry times: the same rows give the same bytes


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mimetype: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def export_rows(
    session: Session, round_: Round, now: datetime, grace: timedelta
) -> list[tuple[Any, ...]]:
    """Every standing with every figure that decided it, phones masked (EXPORT_COLUMNS)."""
    result = ranking(session, round_, now, grace)
    people = {
        uid: (None if deleted else short_name(name), phone, code)
        for uid, name, phone, deleted, code in session.execute(
            select(User.id, User.name, User.phone, User.deleted_at, User.unit_code).where(
                User.id.in_(
                    select(Attempt.user_id).where(
                        Attempt.round_id == round_.id, Attempt.state.in_(FINISHED)
                    )
                )
            )
        )
    }
    units = dict(session.execute(select(Unit.code, Unit.name)).all())
    rows = []
    for s in result.standings:
        name, phone, code = people.get(s.user_id, (None, None, 0))
        rows.append(
            (
                s.place,
                s.attempt_id,
                name or DELETED_IN_FILES,
                mask_phone(phone) if phone else "",
                code,
                units.get(code, ""),
                s.score,
                s.max_score,
                s.prediction,
                result.figure,
                s.distance,
                s.duration_ms,
                s.submitted_at.isoformat(),
                "yes" if result.final else "no",
            )
        )
    return rows


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark (so that spreadsheet programs read the diacritics)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: Iterable[Sequence[Any]], title: str) -> bytes:
    """One sheet, the same cells as the CSV; times as RFC 3339 text (exact to the microsecond).
    Written deterministically (fixed document and zip times) so that its SHA-256 is stable."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook(write_only=True)
    book.properties.creator = "civic-quiz"
    book.properties.created = book.properties.modified = datetime(2000, 1, 1)
    sheet = book.create_sheet(title=title[:31] or "ranking")
    sheet.append(list(EXPORT_COLUMNS))
    for row in rows:
        sheet.append(list(row))
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).write_data()
    fixed = io.BytesIO()
    with (
        zipfile.ZipFile(raw) as source,
        zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return fixed.getvalue()


def export_file(
    session: Session, round_: Round, now: datetime, grace: timedelta, fmt: str
) -> ExportFile:
    """The ranking as a CSV or XLSX file (cached with the ranking: its SHA-256 is stable)."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown export format {fmt!r}")
    entry = _cached(session, round_, now, grace)
    key = f"export.{fmt}"
    if key not in entry.extras:
        rows = export_rows(session, round_, now, grace)
        state = "final" if entry.ranking.final else "provisional"
        stem = f"ranking-{round_.contest.slug}-{round_.key}-{state}"
        if fmt == "csv":
            entry.extras[key] = ExportFile(f"{stem}.csv", "text/csv", csv_bytes(rows))
        else:
            entry.extras[key] = ExportFile(
                f"{stem}.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                xlsx_bytes(rows, round_.key),
            )
    exported: ExportFile = entry.extras[key]
    return exported


def cached_export(
    session: Session, round_: Round, now: datetime, grace: timedelta, fmt: str
) -> ExportFile | None:
    """The export file if this process has already built it for the current ranking (an XLSX
    of a province-wide round takes seconds: the audit page does not build it just to show)."""
    found: ExportFile | None = _cached(session, round_, now, grace).extras.get(f"export.{fmt}")
    return found


def read_export_csv(data: bytes) -> list[dict[str, str]]:
    """An exported CSV back into rows keyed by EXPORT_COLUMNS (for the re-check)."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    return list(reader)


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
    result = ranking(session, round_, now, grace)
    first = result.standings[:top]
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
        result.final, people, unit_ranking(session, round_, now, grace).ranked[:top_units]
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


def live(session: Session, round_: Round, scope: Unit, now: datetime, grace: timedelta) -> Live:
    """Entries and people per commune so far, attempts in progress, best-score distribution;
    communes within `scope` (and the contest's audience) with nobody yet. All GROUP BY."""
    finished = Attempt.state.in_(FINISHED)
    running = (Attempt.state == "open") & (Attempt.deadline >= now - grace)
    per_unit = session.execute(
        select(
            User.unit_code,
            func.count(func.distinct(case((finished, Attempt.user_id)))),
            func.sum(case((finished, 1), else_=0)),
            func.sum(case((running, 1), else_=0)),
        )
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.round_id == round_.id)
        .group_by(User.unit_code)
    ).all()
    counts = {code: (int(p or 0), int(e or 0), int(r or 0)) for code, p, e, r in per_unit}
    communes = select(Unit.code, Unit.name, Unit.parent_code).where(Unit.level == UnitLevel.COMMUNE)
    if scope.level == UnitLevel.COMMUNE:
        communes = communes.where(Unit.code == scope.code)
    else:
        communes = communes.where(Unit.parent_code == scope.code)
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
    best = _best(round_.id, None)
    by_score = dict(
        session.execute(
            select(best.c.score, func.count()).where(best.c.nth == 1).group_by(best.c.score)
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


# -------------------------------------------------------------------------------- recheck


@dataclass
class Recheck:
    round_id: int
    attempts: int  # finished attempts re-scored
    people: int  # people re-ranked
    figure: int | None  # the figure re-counted from the re-scored attempts
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


@dataclass
class _Rescored:
    attempt_id: int
    user_id: int
    score: int
    max_score: int
    prediction: int | None
    duration_ms: int
    submitted_at: datetime


def _python_order(a: _Rescored, figure: int | None) -> tuple[Any, ...]:
    """The spec's order written again, independently of the SQL: the re-check compares them."""
    if figure is None:
        return (-a.score, a.duration_ms, a.submitted_at, a.attempt_id)
    missing = a.prediction is None
    distance = 0 if a.prediction is None else abs(a.prediction - figure)
    return (-a.score, missing, distance, a.duration_ms, a.submitted_at, a.attempt_id)


def _python_ranking(attempts: Iterable[_Rescored], figure: int | None) -> list[_Rescored]:
    best: dict[int, _Rescored] = {}
    for a in attempts:
        held = best.get(a.user_id)
        if held is None or _python_order(a, figure) < _python_order(held, figure):
            best[a.user_id] = a
    return sorted(best.values(), key=lambda a: _python_order(a, figure))


def recheck(
    session: Session,
    round_: Round,
    now: datetime,
    grace: timedelta,
    exported: list[dict[str, str]] | None = None,
    limit: int = 50,
) -> Recheck:
    """Re-score every finished attempt from its questions and their versions, re-time it from
    its stored times, re-count the figure and re-rank in Python; report every difference with
    the stored scores, the stored figure and the ranking the service gives (and, when given,
    an exported file's rows). At most `limit` differences are listed in full per kind."""
    differences: list[str] = []
    counts: Counter[str] = Counter()

    def report(kind: str, message: str) -> None:
        counts[kind] += 1
        if counts[kind] <= limit:
            differences.append(message)

    final = is_final(round_, now, grace)
    if final and round_.frozen_at is None:
        freeze(session, round_, now, grace)
    answers = {
        vid: sorted(answer)
        for vid, answer in session.execute(
            select(QuestionVersion.id, QuestionVersion.answer).where(
                QuestionVersion.id.in_(
                    select(AttemptQuestion.question_version_id)
                    .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
                    .where(Attempt.round_id == round_.id)
                )
            )
        )
    }
    scored: dict[int, int] = {}
    questions: Counter[int] = Counter()
    for attempt_id, version_id, selected, correct in session.execute(
        select(
            AttemptQuestion.attempt_id,
            AttemptQuestion.question_version_id,
            AttemptQuestion.selected,
            AttemptQuestion.correct,
        )
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(Attempt.round_id == round_.id, Attempt.state.in_(FINISHED))
        .execution_options(yield_per=20_000)
    ):
        right = sorted(selected or []) == answers.get(version_id)
        scored[attempt_id] = scored.get(attempt_id, 0) + right
        questions[attempt_id] += 1
        if bool(correct) != right:
            report(
                "correct",
                f"attempt {attempt_id}: a question's stored mark is "
                f"{'right' if correct else 'wrong'}, re-computed {'right' if right else 'wrong'}",
            )
    rescored: list[_Rescored] = []
    for a in session.execute(
        select(
            Attempt.id,
            Attempt.user_id,
            Attempt.score,
            Attempt.max_score,
            Attempt.prediction,
            Attempt.duration_ms,
            Attempt.started_at,
            Attempt.deadline,
            Attempt.submitted_at,
        ).where(Attempt.round_id == round_.id, Attempt.state.in_(FINISHED))
    ):
        score = scored.get(a.id, 0)
        if a.score != score:
            report("score", f"attempt {a.id}: stored score {a.score}, re-computed {score}")
        if a.max_score != questions[a.id]:
            report(
                "max",
                f"attempt {a.id}: stored max_score {a.max_score}, "
                f"{questions[a.id]} questions on its paper",
            )
        submitted = a.submitted_at or a.deadline
        if submitted > a.deadline:
            report("late", f"attempt {a.id}: submitted at {submitted}, after its deadline")
        duration = max(0, round((submitted - a.started_at).total_seconds() * 1000))
        if a.duration_ms != duration:
            report(
                "duration",
                f"attempt {a.id}: stored duration {a.duration_ms} ms, re-computed {duration} ms",
            )
        rescored.append(
            _Rescored(a.id, a.user_id, score, a.max_score, a.prediction, duration, submitted)
        )
    figure: int | None = None
    if round_.prediction != "none":
        if round_.prediction == "entries":
            figure = len(rescored)
        elif round_.prediction == "participants":
            figure = len({a.user_id for a in rescored})
        else:
            figure = sum(a.score == a.max_score for a in _python_ranking(rescored, None))
        if round_.frozen_at is not None and round_.frozen_figure != figure:
            report(
                "figure",
                f"frozen figure {round_.frozen_figure} stored, re-counted {figure}",
            )
    used = figure if final and round_.prediction != "none" else None
    expected = _python_ranking(rescored, used)
    stored = compute_ranking(session, round_, final).standings
    if len(stored) != len(expected):
        report("ranking", f"{len(stored)} people ranked, re-computed {len(expected)}")
    for place, (s, e) in enumerate(zip(stored, expected, strict=False), start=1):
        if s.attempt_id != e.attempt_id:
            report(
                "ranking",
                f"place {place}: the ranking has attempt {s.attempt_id} (score {s.score}), "
                f"re-computed attempt {e.attempt_id} (score {e.score})",
            )
    if exported is not None:
        _compare_export(exported, expected, used, final, report)
    for kind, n in counts.items():
        if n > limit:
            differences.append(f"… and {n - limit} more differences of this kind ({kind})")
    return Recheck(round_.id, len(rescored), len(expected), figure, differences)


def _compare_export(
    exported: list[dict[str, str]],
    expected: list[_Rescored],
    figure: int | None,
    final: bool,
    report: Any,
) -> None:
    if len(exported) != len(expected):
        report("file", f"the file has {len(exported)} rows, re-computed {len(expected)} people")
    for place, (row, e) in enumerate(zip(exported, expected, strict=False), start=1):
        distance = "" if figure is None or e.prediction is None else str(abs(e.prediction - figure))
        want = {
            "place": str(place),
            "attempt_id": str(e.attempt_id),
            "score": str(e.score),
            "max_score": str(e.max_score),
            "prediction": "" if e.prediction is None else str(e.prediction),
            "frozen_figure": "" if figure is None or not final else str(figure),
            "distance": distance,
            "duration_ms": str(e.duration_ms),
            "submitted_at": e.submitted_at.isoformat(),
        }
        for column, value in want.items():
            if row.get(column, "") != value:
                report(
                    "file",
                    f"file row {place}: {column} is {row.get(column)!r}, re-computed {value!r}",
                )
