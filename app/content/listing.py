"""Content an officer may see and manage: the list with history, scope, download rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Bank, ContentVersion, Contest, Round, Survey, Unit, User
from app.services import policy

MODELS: dict[str, Any] = {"bank": Bank, "contest": Contest, "survey": Survey}


@dataclass(frozen=True)
class Entry:
    kind: str
    slug: str
    title: str
    version: int
    owner: str
    updated_at: datetime
    published_by: str | None
    changes: dict[str, Any]


def _scope_filter(model: Any, user: User) -> Any:
    """Rows owned by the user's unit or a unit below it (admins: everything)."""
    return policy.in_scope(model.owner_unit_code, policy.scope_of(user))


def in_scope(session: Session, user: User) -> list[Entry]:
    """Every bank, contest and survey the user may manage, with its last published version."""
    latest = (
        select(ContentVersion.kind, ContentVersion.slug, func.max(ContentVersion.id).label("id"))
        .group_by(ContentVersion.kind, ContentVersion.slug)
        .subquery()
    )
    entries: list[Entry] = []
    for kind, model in MODELS.items():
        rows = session.execute(
            select(model, Unit.name, ContentVersion, User.name)
            .join(Unit, Unit.code == model.owner_unit_code)
            .outerjoin(latest, (latest.c.kind == kind) & (latest.c.slug == model.slug))
            .outerjoin(ContentVersion, ContentVersion.id == latest.c.id)
            .outerjoin(User, User.id == ContentVersion.loaded_by_id)
            .where(_scope_filter(model, user))
            .order_by(model.updated_at.desc())
        )
        for row, owner, version, who in rows:
            entries.append(
                Entry(
                    kind,
                    row.slug,
                    row.title,
                    row.version,
                    owner,
                    row.updated_at,
                    who if version and version.loaded_by_id else None,
                    version.changes if version else {},
                )
            )
    return entries


def find(session: Session, user: User, kind: str, slug: str) -> Any | None:
    model = MODELS.get(kind)
    if model is None:
        return None
    return session.scalar(select(model).where(model.slug == slug, _scope_filter(model, user)))


def history(session: Session, kind: str, slug: str) -> list[tuple[ContentVersion, str | None]]:
    rows = session.execute(
        select(ContentVersion, User.name)
        .outerjoin(User, User.id == ContentVersion.loaded_by_id)
        .where(ContentVersion.kind == kind, ContentVersion.slug == slug)
        .order_by(ContentVersion.version.desc())
    )
    return [(version, name) for version, name in rows]


def open_rounds_drawing_from(session: Session, bank_slug: str, now: datetime) -> list[Round]:
    """Rounds open now whose draw names this bank: its answers must not leak meanwhile."""
    rounds = session.scalars(select(Round).where(Round.opens_at <= now, Round.closes_at > now))
    return [r for r in rounds if any(d.get("bank") == bank_slug for d in r.draw)]
