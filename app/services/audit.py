"""The audit trail: who did what, when, in which unit — one home for writing and reading it.

`record` adds an entry to the caller's session; the caller commits it with the change it
describes, so a change that fails leaves no entry and an entry never stands without its change.
What goes in: staff ids (the actor; accounts created, disabled, re-enabled), content kinds and
slugs, survey slugs, round ids, counts, file formats. What never goes in: a resident's name,
phone or answers — an export of personal data is recorded as "which survey or round, how many
rows", not as what it held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import formats
from app.models import AuditEvent, Unit, User
from app.services.exports import Column, Table
from app.services.policy import in_scope

# Every action the trail knows, with what the admins' page calls it.
ACTIONS: dict[str, Any] = {
    "content.publish": _l("Content published"),
    "content.republish": _l("Content re-published"),
    "export.responses": _l("Raw survey responses exported"),
    "export.ranking": _l("Prize audit (ranking) exported"),
    "export.suspicious": _l("Suspicious entries exported"),
    "survey.close": _l("Survey closed"),
    "survey.extend": _l("Survey extended"),
    "staff.create": _l("Staff account created"),
    "staff.import": _l("Staff accounts imported"),
    "staff.disable": _l("Staff account disabled"),
    "staff.enable": _l("Staff account re-enabled"),
    "staff.reset": _l("One-time password issued again"),
    "entry.disqualify": _l("Contest entry disqualified"),
    "certificate.revoke": _l("Certificate revoked"),
    "hamlet.create": _l("Hamlet added"),
    "hamlet.update": _l("Hamlet changed"),
    "hamlet.delete": _l("Hamlet deleted"),
    "hamlet.import": _l("Hamlets imported"),
    "survey.tally": _l("Hand-counted paper forms imported"),
    "survey.tally_withdraw": _l("Hand-counted paper forms withdrawn"),
    "entry.resident": _l("Resident account created in person"),
    "entry.assisted": _l("Survey answered on a resident's behalf"),
    "entry.paper": _l("Paper forms entered"),
    "kiosk.open": _l("Kiosk mode opened"),
    "kiosk.end": _l("Kiosk mode ended"),
}
# Keys a detail may never carry: the trail holds no personal data of residents.
PERSONAL_KEYS = frozenset({"name", "phone", "password", "answers", "birth_year", "gender"})
PAGE_SIZE = 50


class AuditError(ValueError):
    pass


def _plain(detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not detail:
        return None
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if key in PERSONAL_KEYS:
            raise AuditError(f"the audit trail holds no personal data ({key!r})")
        if not isinstance(value, str | int | float | bool | list | type(None)):
            raise AuditError(f"audit detail {key!r}: plain values only")
        out[key] = value
    return out


def record(
    session: Session,
    actor: User | int | None,
    action: str,
    target: str,
    unit_code: int | None,
    now: datetime,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one entry (actor: a user or their id; None: the command line) to `session`; the
    caller commits it together with the change it records."""
    if action not in ACTIONS:
        raise AuditError(f"unknown audit action {action!r}")
    event = AuditEvent(
        at=now,
        actor_id=actor if isinstance(actor, int) or actor is None else actor.id,
        action=action,
        target=target[:120],
        unit_code=unit_code,
        detail=_plain(detail),
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class Filters:
    action: str | None = None
    unit_code: int | None = None  # this unit and the units below it
    actor_id: int | None = None
    since: date | None = None  # local days, both ends included
    until: date | None = None
    timezone: str = formats.DEFAULT_TIMEZONE


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor_id: int | None
    actor_role: str | None
    action: str
    label: str
    target: str
    unit_code: int | None
    unit_name: str | None
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    total: int
    page: int
    pages: int


def _where(session: Session, filters: Filters) -> list[Any]:
    zone = ZoneInfo(filters.timezone)
    conditions: list[Any] = []
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.unit_code is not None:
        unit = session.get(Unit, filters.unit_code)
        conditions.append(
            in_scope(AuditEvent.unit_code, unit)
            if unit is not None
            else AuditEvent.unit_code == filters.unit_code
        )
    if filters.actor_id is not None:
        conditions.append(AuditEvent.actor_id == filters.actor_id)
    if filters.since is not None:
        conditions.append(AuditEvent.at >= datetime.combine(filters.since, time(), zone))
    if filters.until is not None:
        end = datetime.combine(filters.until + timedelta(days=1), time(), zone)
        conditions.append(AuditEvent.at < end)
    return conditions


def _query(session: Session, filters: Filters) -> Any:
    return (
        select(AuditEvent, User.role, Unit.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Unit, Unit.code == AuditEvent.unit_code)
        .where(*_where(session, filters))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )


def _entry(event: AuditEvent, role: str | None, unit_name: str | None) -> Entry:
    return Entry(
        id=event.id,
        at=event.at,
        actor_id=event.actor_id,
        actor_role=role,
        action=event.action,
        label=str(ACTIONS.get(event.action, event.action)),
        target=event.target,
        unit_code=event.unit_code,
        unit_name=unit_name,
        detail=event.detail,
    )


def entries(session: Session, filters: Filters, page: int = 1) -> Page:
    total = session.scalar(
        select(func.count()).select_from(AuditEvent).where(*_where(session, filters))
    )
    pages = max(1, -(-(total or 0) // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = session.execute(
        _query(session, filters).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return Page([_entry(*row) for row in rows], total or 0, page, pages)


def detail_text(detail: Mapping[str, Any] | None) -> str:
    if not detail:
        return ""
    parts = []
    for key, value in detail.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value[:20]) + (" …" if len(value) > 20 else "")
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


COLUMNS: list[tuple[str, Any, str]] = [
    ("at", _l("When"), "datetime_seconds"),
    ("actor_id", _l("Who (account id)"), "number"),
    ("actor_role", _l("Role"), "text"),
    ("action", _l("Action"), "text"),
    ("target", _l("What"), "text"),
    ("unit_code", _l("Unit code"), "number"),
    ("unit", _l("Unit"), "text"),
    ("detail", _l("Detail"), "text"),
]


def table(session: Session, filters: Filters) -> Table:
    """The filtered trail as an exports.Table (CSV/XLSX through app/services/exports.py)."""
    columns = [Column(key, str(label), kind) for key, label, kind in COLUMNS]
    rows = [
        [
            e.at,
            e.actor_id,
            e.actor_role,
            e.action,
            e.target,
            e.unit_code,
            e.unit_name,
            detail_text(e.detail),
        ]
        for e in (_entry(*row) for row in session.execute(_query(session, filters)).all())
    ]
    return Table(columns, rows, filters.timezone)
