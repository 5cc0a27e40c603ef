"""Survey responses, stored so that anonymity holds by construction and the database can count.

- `survey_responses`: one row per response. Random UUID key, the respondent's unit, the day (no
  time), whether the person was signed in; the account only for identified surveys.
- `survey_answers`: one row per answered value (a choice ticked, a grid row, a number, a text),
  indexed for the dashboards' GROUP BY.
- `survey_ledger`: who has answered which survey — (survey, account) and nothing else: no key,
  time or order shared with the responses. Written in the same transaction as the response.
- `survey_drafts`: identified surveys only: answers so far, to resume.
- `survey_pending`: anonymous responses on their way to `survey_responses`, sealed (encrypted
  with a key the database does not hold). The request writes the ledger entry and the pending
  response in one transaction; the mixer (app/services/mixer.py) moves pending responses into
  `survey_responses` in batches, under fresh random keys, in transactions of its own, so that
  nothing a response row carries on PostgreSQL (`xmin`, `ctid`) relates it to a ledger entry.

On SQLite these tables are WITHOUT ROWID: their rows are stored in key order, so no insertion
order is visible. On PostgreSQL the mixer writes each batch in key order (see docs/anonymity.md).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime

WITHOUT_ROWID = {"sqlite_with_rowid": False}
CHANNELS = ("online", "assisted", "kiosk", "paper")


class SurveyResponse(db.Model):
    __tablename__ = "survey_responses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    unit_code: Mapped[int] = mapped_column(ForeignKey("units.code"))  # the commune, always
    # The hamlet within that commune, when the respondent named one (issue 20).
    hamlet_code: Mapped[int | None] = mapped_column(ForeignKey("units.code"))
    # How it came in (CHANNELS): the resident's own device, entered by an officer for an
    # identified resident, the one-stop office's shared device, or a paper form keyed in.
    channel: Mapped[str] = mapped_column(String(10), default="online", server_default="online")
    submitted_on: Mapped[date] = mapped_column(Date)  # the day only, never the time
    signed_in: Mapped[bool] = mapped_column(Boolean)  # False: answered without an account
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # identified surveys only
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # Its part of the satisfaction index (survey.md), kept so that the index is a GROUP BY over
    # this table: the mean of its index items rescaled to 0–100 (None: no index item
    # answered), how many it answered, how many of those in the top two values. Written at
    # submission; computed again when the survey changes what its index counts.
    index_score: Mapped[float | None] = mapped_column(Float)
    index_items: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    index_top: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The answers to the survey's first demographic questions, 5 bits each
    # (app/services/survey_definition.py `groups_code`): results break down by them from here.
    # No default: every way of storing a response computes it (migration 0022).
    groups: Mapped[int] = mapped_column(BigInteger)

    answers: Mapped[list[SurveyAnswer]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_survey_responses_survey_unit", "survey_id", "unit_code"),
        Index(
            "uq_survey_responses_identified",
            "survey_id",
            "user_id",
            unique=True,
            sqlite_where=db.text("user_id IS NOT NULL"),
            postgresql_where=db.text("user_id IS NOT NULL"),
        ),
        CheckConstraint("channel IN ('online', 'assisted', 'kiosk', 'paper')", name="channel"),
        # The results' cube asks whether a survey has any response that is not an online one
        # without a hamlet (app/services/cube.py: _spread): one look-up here, not a scan.
        Index(
            "ix_survey_responses_spread",
            "survey_id",
            sqlite_where=db.text("channel <> 'online' OR hamlet_code IS NOT NULL"),
            postgresql_where=db.text("channel <> 'online' OR hamlet_code IS NOT NULL"),
        ),
        WITHOUT_ROWID,
    )


class SurveyAnswer(db.Model):
    """One answered value. `item`: the choice number (multiple), the row number (grid), 0 for a
    single value, -1 for an "other" text. `value`: the choice, scale value or rating. A
    multiple-choice or grid answer also has a row at item 0 with no value: one per respondent."""

    __tablename__ = "survey_answers"

    response_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"), primary_key=True)
    item: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_survey_answers_question_value", "question_id", "item", "value"),
        WITHOUT_ROWID,
    )


class SurveyLedger(db.Model):
    """That an account has answered a survey: one response per person, nothing about which."""

    __tablename__ = "survey_ledger"

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)

    __table_args__ = (WITHOUT_ROWID,)


class SurveyDraft(db.Model):
    """Answers so far of an identified survey, to resume later. Never for anonymous surveys."""

    __tablename__ = "survey_drafts"

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    page: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SurveyPending(db.Model):
    """An anonymous response not yet moved by the mixer: sealed, so that a reader of the
    database learns nothing from it while it shares its transaction with the ledger entry."""

    __tablename__ = "survey_pending"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())  # for the mixer's deadline only

    __table_args__ = (
        # A survey's rows in line (app/services/mixer.py: how many wait, the oldest, a claim).
        Index("ix_survey_pending_waiting", "survey_id", "queued_at"),
        # Vacuumed, it keeps its pages: planned as an empty table, it was read whole by every
        # response's count of its survey's waiting rows (migration 0025).
        {**WITHOUT_ROWID, "postgresql_with": {"vacuum_truncate": "false"}},
    )
