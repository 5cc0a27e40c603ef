"""Participation per commune/ward, counted in the database (GROUP BY), never in Python."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Role, Unit, UnitLevel, User
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
    if scope.level == UnitLevel.COMMUNE:
        stmt = stmt.where(Unit.code == scope.code)
    else:
        stmt = stmt.where(Unit.parent_code == scope.code)
    rows = [UnitCount(*row) for row in session.execute(stmt)]
    return sorted(rows, key=lambda r: vietnamese_key(r.name))
