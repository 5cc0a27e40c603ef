"""Participation per commune/ward, counted in the database (GROUP BY), never in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Contest, Role, Round, Survey, Unit, UnitLevel, User
from app.services.policy import in_audience_of, in_scope
from app.text import vietnamese_key


@dataclass(frozen=True)
class UnitCount:
    code: int
    name: str
    population: int | None
    people: int

    @property
    def per_thousand(self) -> float | None:
        if not self.population:
            return None
        return round(self.people * 1000 / self.population, 2)


def residents_per_unit(session: Session, scope: Unit) -> list[UnitCount]:
    """Registered residents per commune/ward within `scope`, communes with nobody included."""
    counts = (
        select(User.unit_code, func.count(User.id).label("people"))
        .where(User.role == Role.RESIDENT, User.deleted_at.is_(None))
        .group_by(User.unit_code)
        .subquery()
    )
    stmt = (
        select(Unit.code, Unit.name, Unit.population, func.coalesce(counts.c.people, 0))
        .outerjoin(counts, counts.c.unit_code == Unit.code)
        .where(Unit.level == UnitLevel.COMMUNE)
    )
    if scope.level == UnitLevel.HAMLET:  # a hamlet officer: their hamlet's residents only
        return [r for r in residents_per_hamlet(session, scope) if r.code == scope.code]
    if scope.level == UnitLevel.COMMUNE:
        stmt = stmt.where(Unit.code == scope.code)
    else:
        stmt = stmt.where(Unit.parent_code == scope.code)
    rows = [UnitCount(*row) for row in session.execute(stmt)]
    return sorted(rows, key=lambda r: vietnamese_key(r.name))


def residents_per_hamlet(session: Session, place: Unit) -> list[UnitCount]:
    """Registered residents per hamlet of a commune (`place`, or the commune of the hamlet
    `place`), hamlets with nobody included; empty when the commune has no hamlets."""
    commune = place.parent_code if place.level == UnitLevel.HAMLET else place.code
    counts = (
        select(User.hamlet_code, func.count(User.id).label("people"))
        .where(User.role == Role.RESIDENT, User.deleted_at.is_(None), User.unit_code == commune)
        .group_by(User.hamlet_code)
        .subquery()
    )
    stmt = (
        select(Unit.code, Unit.name, Unit.population, func.coalesce(counts.c.people, 0))
        .outerjoin(counts, counts.c.hamlet_code == Unit.code)
        .where(Unit.level == UnitLevel.HAMLET, Unit.parent_code == commune)
    )
    rows = [UnitCount(*row) for row in session.execute(stmt)]
    return sorted(rows, key=lambda r: vietnamese_key(r.name))


@dataclass(frozen=True)
class Followed:
    """A survey or round on the officers' dashboard, with its progress page's endpoint."""

    kind: str  # "survey" | "round"
    key: str | int  # survey slug, round id
    title: str
    opens_at: datetime
    closes_at: datetime
    timezone: str

    def state(self, now: datetime) -> str:
        if now < self.opens_at:
            return "upcoming"
        return "open" if now < self.closes_at else "closed"


def followed(session: Session, scope: Unit | None, now: datetime) -> list[Followed]:
    """The surveys and contest rounds owned by `scope` or a unit below it (all, for None: an
    admin): what an officer there manages, each to be linked to its progress page. Open first,
    then upcoming, then closed; the latest closing first within each."""
    if scope is not None and scope.level == UnitLevel.HAMLET:
        return _followed_in_hamlet(session, scope, now)
    surveys = session.execute(
        select(Survey.slug, Survey.title, Survey.opens_at, Survey.closes_at, Survey.timezone).where(
            in_scope(Survey.owner_unit_code, scope)
        )
    )
    rounds = session.execute(
        select(
            Round.id,
            Contest.title,
            Round.title,
            Round.key,
            Round.opens_at,
            Round.closes_at,
            Contest.timezone,
        )
        .join(Contest, Contest.id == Round.contest_id)
        .where(in_scope(Contest.owner_unit_code, scope))
    )
    items = [Followed("survey", *row) for row in surveys]
    items += [
        Followed("round", rid, f"{contest} – {title or key}", opens, closes, tz)
        for rid, contest, title, key, opens, closes, tz in rounds
    ]
    return _in_order(items, now)


def _followed_in_hamlet(session: Session, hamlet: Unit, now: datetime) -> list[Followed]:
    """A hamlet officer follows what reaches their hamlet: the surveys and rounds of their
    hamlet, its commune or the province whose audience takes the hamlet in."""
    commune = session.get(Unit, hamlet.parent_code)
    owners = [hamlet.code, *([commune.code, commune.parent_code] if commune else [])]

    def reaches(audience: list[int] | None) -> bool:
        if commune is None:
            return False
        return in_audience_of(audience, commune.code, commune.parent_code, hamlet.code)

    surveys = session.execute(
        select(
            Survey.slug,
            Survey.title,
            Survey.opens_at,
            Survey.closes_at,
            Survey.timezone,
            Survey.audience,
        ).where(Survey.owner_unit_code.in_([o for o in owners if o is not None]))
    )
    rounds = session.execute(
        select(
            Round.id,
            Contest.title,
            Round.title,
            Round.key,
            Round.opens_at,
            Round.closes_at,
            Contest.timezone,
            Contest.audience,
        )
        .join(Contest, Contest.id == Round.contest_id)
        .where(Contest.owner_unit_code.in_([o for o in owners if o is not None]))
    )
    items = [Followed("survey", *row[:5]) for row in surveys if reaches(row[5])]
    items += [
        Followed("round", rid, f"{contest} – {title or key}", opens, closes, tz)
        for rid, contest, title, key, opens, closes, tz, audience in rounds
        if reaches(audience)
    ]
    return _in_order(items, now)


def _in_order(items: list[Followed], now: datetime) -> list[Followed]:
    order = {"open": 0, "upcoming": 1, "closed": 2}
    return sorted(
        items,
        key=lambda f: (order[f.state(now)], -f.closes_at.timestamp(), vietnamese_key(f.title)),
    )
