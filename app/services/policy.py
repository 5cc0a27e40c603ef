"""Who sees what: scope. Officers and leaders read the figures of their own unit and of the
units below it; an admin (scope None) reads everything. Every page, endpoint and service that
counts something for a reader asks here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import object_session

from app.models import Role, Unit, User


def within(unit: Unit | None, scope: Unit | None) -> bool:
    """Whether `unit` is `scope` or lies anywhere below it; no scope (admin) sees everything."""
    if scope is None:
        return True
    seen: set[int] = set()
    while unit is not None and unit.code not in seen:
        if unit.code == scope.code:
            return True
        seen.add(unit.code)
        session = object_session(unit)
        parent = unit.parent_code
        unit = session.get(Unit, parent) if session is not None and parent is not None else None
    return False


def scope_of(user: User) -> Unit | None:
    """The unit whose figures `user` may read: their own, or None (everything) for an admin."""
    return None if user.role == Role.ADMIN else user.unit


def in_scope(column: Any, scope: Unit | None) -> Any:
    """The SQL condition that the unit code in `column` lies within `scope`."""
    if scope is None:
        return true()
    below = select(Unit.code).where(Unit.parent_code == scope.code)
    return (column == scope.code) | column.in_(below)
