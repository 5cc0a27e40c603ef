"""Attempts at contest rounds: the paper drawn for each, the answers, the score."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.content import QuestionVersion, Round
from app.models.types import UTCDateTime


def paper_digest(version_ids: Iterable[int]) -> str:
    """The identity of a set of question versions, whatever their order: the first 128 bits of
    the SHA-256 of their ids, sorted and joined by commas (migration 0011 computes the same
    in SQL)."""
    joined = ",".join(str(v) for v in sorted(version_ids))
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


class Attempt(db.Model):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1st, 2nd… attempt of this person at this round
    state: Mapped[str] = mapped_column(String(10), default="open")  # open | submitted | expired
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int | None] = mapped_column(Integer)  # measured by the server
    score: Mapped[int | None] = mapped_column(Integer)
    max_score: Mapped[int] = mapped_column(Integer)
    prediction: Mapped[int | None] = mapped_column(Integer)
    # Which set of questions it was given (paper_digest): attempts given the same set share it,
    # so that Cronbach's alpha finds them without reading every answered question.
    paper: Mapped[str | None] = mapped_column(String(32))
    # The commune/ward the attempt counts in: the person's commune when they started their
    # first attempt at the round (app.services.attempts.competing_commune), kept whatever their
    # account says later, so that participation, the ranking by unit and the statistics all
    # count a person in one commune per round, and read it here instead of joining `users`.
    unit_code: Mapped[int] = mapped_column(Integer)

    round: Mapped[Round] = relationship()
    questions: Mapped[list[AttemptQuestion]] = relationship(
        back_populates="attempt", order_by="AttemptQuestion.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("round_id", "user_id", "number"),
        # One attempt in progress per person and round, whatever the code above it does.
        Index(
            "uq_attempts_open",
            "round_id",
            "user_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        # For `flask contests finalize` and the ranking: finished attempts per round.
        Index("ix_attempts_round_state", "round_id", "state"),
        # Finished attempts per person in a round, in ranking order: the window functions of
        # app.services.standings.rebuild read it instead of sorting every attempt of the round.
        Index(
            "ix_attempts_ranking",
            "round_id",
            "user_id",
            "score",
            "duration_ms",
            "submitted_at",
            "id",
            sqlite_where=text("state IN ('submitted', 'expired')"),
            postgresql_where=text("state IN ('submitted', 'expired')"),
        ),
        # The sets of questions of a round's finished attempts, in order: the statistics count
        # the attempts of each set (Cronbach's alpha) by reading this index alone.
        Index(
            "ix_attempts_paper",
            "round_id",
            "paper",
            sqlite_where=text("state IN ('submitted', 'expired')"),
            postgresql_where=text("state IN ('submitted', 'expired')"),
        ),
    )


class AttemptQuestion(db.Model):
    """One question of one attempt's paper: the exact version shown, the order its choices were
    shown in, and the answer saved (one row per question, so facility is a GROUP BY)."""

    __tablename__ = "attempt_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 1-based; the question id the API hands out
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"), index=True)
    choice_order: Mapped[list[int]] = mapped_column(JSON)  # shown position -> original index
    selected: Mapped[list[int] | None] = mapped_column(JSON)  # original indices, sorted
    seq: Mapped[int] = mapped_column(Integer, default=0)  # the client's counter of the last write
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    correct: Mapped[bool | None] = mapped_column(Boolean)  # set when the attempt is scored

    attempt: Mapped[Attempt] = relationship(back_populates="questions")
    version: Mapped[QuestionVersion] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        # Room on each page for a row's answered and marked versions (migration 0024).
        {"postgresql_with": {"fillfactor": 90}},
    )


class BestAttempt(db.Model):
    """Each person's best finished attempt at a round, kept in ranking order by the database.

    Written by app.services.standings on every submit (an upsert that keeps the better of the
    two) and rebuilt from `attempts` when the round's figure is frozen, so that a page of a
    province-wide ranking is an index range, not a sort of every attempt. `tiebreak` is 0
    while the ranking is provisional; once final it is the prediction's distance to the
    frozen figure (NO_PREDICTION when there is none). `attempts` stays the record: the
    re-check (`flask contests recheck`) compares this table with it.
    """

    __tablename__ = "best_attempts"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), unique=True
    )
    score: Mapped[int] = mapped_column(Integer)
    max_score: Mapped[int] = mapped_column(Integer)
    prediction: Mapped[int | None] = mapped_column(Integer)
    tiebreak: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    unit_code: Mapped[int] = mapped_column(Integer)  # the attempt's (Attempt.unit_code)


# The ranking's order: a page is a range of this index, a place a count along it.
Index(
    "ix_best_attempts_order",
    BestAttempt.round_id,
    BestAttempt.score.desc(),
    BestAttempt.tiebreak,
    BestAttempt.duration_ms,
    BestAttempt.submitted_at,
    BestAttempt.attempt_id,
    BestAttempt.user_id,  # so that numbering a whole round reads the index alone
)
