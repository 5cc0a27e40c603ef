"""Prize integrity: certificates with a verification code, the device and client marks of
attempts and sign-ups (for app.services.suspicious), and disqualified entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.contests import Attempt
from app.models.types import UTCDateTime


class Certificate(db.Model):
    """A certificate issued for an attempt: the code printed on it and checked at
    /certificates/<code>. Issued once per attempt and kind (a re-download gives the same code);
    revoked, never deleted."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # participant | winner
    place: Mapped[int | None] = mapped_column(Integer)  # winners: the final place
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    attempt: Mapped[Attempt] = relationship()

    __table_args__ = (UniqueConstraint("attempt_id", "kind"),)


class Disqualification(db.Model):
    """An entry (a person in a round) taken out of the ranking by an officer, with the reason.
    The ranking, its exports and the re-check leave every attempt of that person at that
    round out (app.services.standings)."""

    __tablename__ = "disqualifications"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AttemptDevice(db.Model):
    """Where an attempt was started from: the browser's device id (a long-lived random id in a
    signed cookie) and a keyed hash of the client address and user agent, keyed per round so
    that it compares attempts within the round and nothing else. No raw address is kept."""

    __tablename__ = "attempt_devices"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    device: Mapped[str | None] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(32))  # HMAC(round, address, user agent)


class AccountOrigin(db.Model):
    """Where an account was created from: its device id and a keyed hash of the address (for
    bursts of sign-ups from one address). Deleted with the account's personal data."""

    __tablename__ = "account_origins"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    device: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(32))  # HMAC(address)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_account_origins_address", "address", "created_at"),)
