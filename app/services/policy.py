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


def audience_outside(session: Any, audience: list[int] | None, owner: Unit) -> list[int]:
    """The codes of an audience that lie outside the owner's unit; [0] stands for "all" when
    the owner is not at the top (a commune may not open content to the whole province)."""
    if audience is None:
        return [] if owner.parent_code is None else [0]
    outside = []
    for code in audience:
        unit = session.get(Unit, code)
        if unit is None or not within(unit, owner):
            outside.append(code)
    return outside


def may_draw_from(bank_owner: Unit | None, contest_owner: Unit) -> bool:
    """A contest draws only from banks of its owner's unit or of units below it: drawing from
    another's bank (a province round's, a neighbour's) with `review: after_submit` would hand
    that bank's answers to every resident who takes part."""
    return bank_owner is not None and within(bank_owner, contest_owner)
