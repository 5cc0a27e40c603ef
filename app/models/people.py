"""People and places: administrative units, accounts and their consent records."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class UnitLevel(StrEnum):
    PROVINCE = "province"
    COMMUNE = "commune"
    HAMLET = "hamlet"  # ấp, khu vực, tổ dân phố: defined by the commune's officers (issue 20)


# A hamlet's code (agreed for issue 20): its commune's code × HAMLET_CODE_BASE + n, n = 1..999.
HAMLET_CODE_BASE = 1000


def hamlet_code_parts(code: int) -> tuple[int, int] | None:
    """(commune code, n) of a code of the hamlet scheme, or None when it is not one."""
    commune, number = divmod(code, HAMLET_CODE_BASE)
    return (commune, number) if commune > 0 and 1 <= number < HAMLET_CODE_BASE else None


class Role(StrEnum):
    RESIDENT = "resident"
    OFFICER = "officer"
    LEADER = "leader"
    ADMIN = "admin"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


class Unit(db.Model):
    """A province or a commune/ward, from the official list (`vietnam-provinces`), or a hamlet
    (ấp, khu vực, tổ dân phố) below a commune, defined by that commune's officers."""

    __tablename__ = "units"

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    division_type: Mapped[str] = mapped_column(String(30))
    parent_code: Mapped[int | None] = mapped_column(ForeignKey("units.code"), index=True)
    # Lower case without diacritics, for search that ignores them ("vi thanh").
    search_name: Mapped[str] = mapped_column(String(100), index=True)
    population: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("level IN ('province', 'commune', 'hamlet')", name="level"),
        CheckConstraint("population IS NULL OR population >= 0", name="population"),
        # One hamlet of a (folded) name per commune, whoever adds it (migration 0019).
        Index(
            "uq_units_hamlet_name",
            "parent_code",
            "search_name",
            unique=True,
            sqlite_where=text("level = 'hamlet'"),
            postgresql_where=text("level = 'hamlet'"),
        ),
    )

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Name, phone and password are erased (NULL) when the person deletes their account; the row
    # stays as an anonymous placeholder so that counts and one-entry rules still hold.
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(10), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10), default=Role.RESIDENT, index=True)
    unit_code: Mapped[int] = mapped_column(ForeignKey("units.code"), index=True)
    # A resident's hamlet within `unit_code` (their commune), when they named one (issue 20).
    hamlet_code: Mapped[int | None] = mapped_column(ForeignKey("units.code"), index=True)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(10))
    # Rotated on account deletion: every session and API token issued before stops working.
    auth_nonce: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Staff accounts made by an administrator start with a one-time password: until the person
    # chooses their own, every page but the password change and sign-out leads there and the
    # API refuses (app/security.py, app/api/spec.py).
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # A disabled account cannot sign in; its sessions and tokens ended when it was disabled.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The phone number its owner proved to hold with a code (app/services/phone_codes.py). The
    # phone is verified while it equals `phone`: any path that changes `phone` unverifies it.
    verified_phone: Mapped[str | None] = mapped_column(String(10))

    unit: Mapped[Unit] = relationship(lazy="joined", foreign_keys=[unit_code])
    consents: Mapped[list[Consent]] = relationship(
        back_populates="user", order_by="Consent.given_at", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("role IN ('resident', 'officer', 'leader', 'admin')", name="role"),
        CheckConstraint("gender IS NULL OR gender IN ('male', 'female', 'other')", name="gender"),
        CheckConstraint(
            "birth_year IS NULL OR (birth_year >= 1900 AND birth_year <= 2100)", name="birth_year"
        ),
    )

    # Flask-Login: the session carries id and nonce, so a deleted account's sessions die.
    def get_id(self) -> str:
        return f"{self.id}.{self.auth_nonce}"

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None and self.disabled_at is None

    @property
    def phone_verified(self) -> bool:
        return phone_is_verified(self.phone, self.verified_phone)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.OFFICER, Role.LEADER, Role.ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class Consent(db.Model):
    """That a person agreed to the stated purpose: which text version, and when."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # online: the person's own sign-up; in_person: read to them by an officer, who created the
    # account (which officer: the audit trail's `entry.resident`, never this row).
    given_in: Mapped[str] = mapped_column(String(10), default="online", server_default="online")

    user: Mapped[User] = relationship(back_populates="consents")

    __table_args__ = (CheckConstraint("given_in IN ('online', 'in_person')", name="given_in"),)


class PhoneCode(db.Model):
    """The one code in force for an account: sent to `phone` (its own, or the number it is
    moving to), kept as an HMAC only, void after `expires_at` or MAX_TRIES tries."""

    __tablename__ = "phone_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=True
    )
    phone: Mapped[str] = mapped_column(String(10))
    code_hash: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("tries >= 0", name="tries"),)


class AuditEvent(db.Model):
    """Who did what, when, in which unit (app/services/audit.py). No resident's personal data:
    targets are ids and slugs, actors are staff ids."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # None: the command line.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(120))
    unit_code: Mapped[int | None] = mapped_column(ForeignKey("units.code"), index=True)
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)


def phone_is_verified(phone: str | None, verified_phone: str | None) -> bool:
    """A phone counts as verified while it is the number a code was last proved for: a new
    number is unverified until its own code comes back."""
    return phone is not None and verified_phone == phone
