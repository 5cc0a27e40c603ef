"""Who may do what, and who sees what — the one home of these rules (pages, API, commands).

- Roles and their groups: STAFF read figures (officers, leaders, admins); MANAGERS write and
  manage content, close or extend surveys, audit prizes and export personal data (officers,
  admins). Residents take part.
- Scope: officers and leaders read the figures of their own unit and of the units below it; an
  admin (scope None) reads everything (`within`, `scope_of`, `in_scope`).
- Management: an officer manages what their unit or a unit below it owns (`may_manage`).
- Staff accounts: an admin creates, disables and re-enables officer and leader accounts of any
  unit; an officer only officer accounts of the units below their own (`may_manage_account`).
- Entry on others' behalf (assisted, paper forms, kiosk): officers and admins, for a place
  (a commune, or a hamlet of it) within their scope; a hamlet officer only their hamlet
  (`may_enter_for`).
- Audience: who may take part in a contest or survey (`in_audience`); what an owner may open
  content to and draw a contest from (`audience_outside`, `may_draw_from`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import object_session

from app.models import Role, Unit, UnitLevel, User

STAFF: tuple[Role, ...] = (Role.OFFICER, Role.LEADER, Role.ADMIN)
MANAGERS: tuple[Role, ...] = (Role.OFFICER, Role.ADMIN)


def is_admin(user: User) -> bool:
    return user.role == Role.ADMIN


def may_manage(user: User, owner: Unit | None) -> bool:
    """Whether `user` may change, close, extend, audit or export what `owner` owns."""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.OFFICER and owner is not None and within(owner, user.unit)


def may_read(user: User, unit: Unit | None, roles: tuple[Role, ...] = STAFF) -> bool:
    """Whether `user` (an active account of one of `roles`) may read or export the figures
    of `unit`: it lies within their scope. Background jobs check it when started and again
    when their file is read (app/jobs)."""
    if not user.is_active or user.role not in roles or unit is None:
        return False
    return within(unit, scope_of(user))


STAFF_ACCOUNT_ROLES: tuple[Role, ...] = (Role.OFFICER, Role.LEADER)


def may_manage_account(user: User | None, role: str, unit: Unit | None) -> bool:
    """Whether `user` (None: the command line, acting as admin) may create, disable or
    re-enable a `role` account of `unit`: admins any officer or leader account; an officer
    only officers of units strictly below their own (never above, never a leader or admin)."""
    if role not in STAFF_ACCOUNT_ROLES or unit is None:
        return False
    if user is None or user.role == Role.ADMIN:
        return True
    return (
        user.role == Role.OFFICER
        and role == Role.OFFICER
        and unit.code != user.unit_code
        and within(unit, user.unit)
    )


def may_enter_for(user: User, place: Unit | None) -> bool:
    """Whether `user` may enter responses or create resident accounts on others' behalf for
    `place` (a commune, or a hamlet: then only its officers and those above it)."""
    if place is None or not user.is_active or user.role not in MANAGERS:
        return False
    if place.level not in (UnitLevel.COMMUNE, UnitLevel.HAMLET):
        return False
    return within(place, scope_of(user))


def in_audience(audience: list[int] | None, unit: Unit, hamlet_code: int | None = None) -> bool:
    """Whether a person of `unit` (their commune) and, when they named one, of the hamlet
    `hamlet_code` may take part: no audience is everyone; a listed unit takes in the units
    below it (the province its communes, a commune its hamlets); a listed hamlet only the
    people who named it."""
    return in_audience_of(audience, unit.code, unit.parent_code, hamlet_code)


def in_audience_of(
    audience: list[int] | None, code: int, parent_code: int | None, hamlet_code: int | None = None
) -> bool:
    """`in_audience` for a unit read as its code and its parent's (a hot path's own query)."""
    if audience is None:  # "all"
        return True
    return (
        code in audience
        or parent_code in audience
        or (hamlet_code is not None and hamlet_code in audience)
    )


def audience_reaches(session: Any, audience: list[int] | None, unit: Unit) -> bool:
    """Whether some people of `unit` (a commune) may be in the audience: the whole commune
    (`in_audience`), or one of its hamlets that the audience lists (the hamlet, chosen later,
    decides: `in_audience` with it)."""
    if in_audience(audience, unit):
        return True
    listed = [code for code in audience or [] if code != unit.code]
    return bool(listed) and (
        session.scalar(
            select(Unit.code)
            .where(Unit.code.in_(listed), Unit.parent_code == unit.code, Unit.level == "hamlet")
            .limit(1)
        )
        is not None
    )


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


def place_in_scope(unit_column: Any, hamlet_column: Any, scope: Unit | None) -> Any:
    """The SQL condition that a place recorded as a commune (`unit_column`) and, optionally,
    a hamlet of it (`hamlet_column`) lies within `scope`: a hamlet officer reads only what
    names their hamlet; everyone else by the commune (`in_scope`)."""
    if scope is not None and scope.level == UnitLevel.HAMLET:
        return hamlet_column == scope.code
    return in_scope(unit_column, scope)


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
