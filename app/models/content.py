"""Content: question banks with versioned questions, contests with rounds, surveys with their
questions, and the history of every accepted upload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class ContentVersion(db.Model):
    """One accepted upload of a bank, contest or survey: the file as written, who, when, and
    what it changed. Never updated, never deleted."""

    __tablename__ = "content_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # bank | contest | survey
    slug: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "slug", "version"),)


class Bank(db.Model):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), default="vi")
    topics: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    owner_unit_code: Mapped[int] = mapped_column(ForeignKey("units.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="bank", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(db.Model):
    """A question's identity in its bank (its `id` in the file); the text lives in versions."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    key: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)  # the current version's number
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    bank: Mapped[Bank] = relationship(back_populates="questions")
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question", order_by="QuestionVersion.version", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("bank_id", "key"),
        Index("ix_questions_live", "bank_id", "retired_at"),
    )

    @property
    def current(self) -> QuestionVersion:
        return next(v for v in self.versions if v.version == self.version)


class QuestionVersion(db.Model):
    """What a question said at one time. Attempts refer to these rows, so history never moves."""

    __tablename__ = "question_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(12))  # choice | true_false
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str]] = mapped_column(JSON)  # true_false: ["Đúng", "Sai"]
    answer: Mapped[list[int]] = mapped_column(JSON)  # 0-based positions of the right choices
    explanation: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(32))
    difficulty: Mapped[str] = mapped_column(String(6), default="medium")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    shuffle: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    question: Mapped[Question] = relationship(back_populates="versions")

    __table_args__ = (UniqueConstraint("question_id", "version"),)


class Contest(db.Model):
    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    prizes: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[list[int] | None] = mapped_column(JSON)  # None: everyone
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    # none | participants | winners: who gets a PDF certificate (app.services.certificates)
    certificates: Mapped[str] = mapped_column(String(12), default="none", server_default="none")
    issuer: Mapped[str | None] = mapped_column(String(500))  # the body named on certificates
    # Eligibility (question-bank.md), checked at each start (app/services/eligibility.py): the
    # age reached in the round's year, from the account's birth year; a phone proved by a code.
    min_age: Mapped[int | None] = mapped_column(Integer)
    verified_phone: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1)
    owner_unit_code: Mapped[int] = mapped_column(ForeignKey("units.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    rounds: Mapped[list[Round]] = relationship(
        back_populates="contest", order_by="Round.position", cascade="all, delete-orphan"
    )


class Round(db.Model):
    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"))
    key: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(500))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    time_limit_s: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    draw: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    prediction: Mapped[str] = mapped_column(String(12), default="none")
    review: Mapped[str] = mapped_column(String(12), default="after_close")
    # The real figure people predicted (full scores, entries or participants), counted once
    # when the round closes and kept: the final ranking depends on it.
    frozen_figure: Mapped[int | None] = mapped_column(Integer)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    contest: Mapped[Contest] = relationship(back_populates="rounds")

    __table_args__ = (UniqueConstraint("contest_id", "key"),)


class Survey(db.Model):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    audience: Mapped[list[int] | None] = mapped_column(JSON)
    min_group: Mapped[int | None] = mapped_column(Integer)
    sign_in: Mapped[str] = mapped_column(String(10), default="required")
    show_results: Mapped[bool] = mapped_column(Boolean, default=False)
    wave: Mapped[int | None] = mapped_column(Integer)
    series: Mapped[str | None] = mapped_column(String(64), index=True)
    scales: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    pages: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON
    )  # [{title, description, questions: [key…]}]
    version: Mapped[int] = mapped_column(Integer, default=1)
    owner_unit_code: Mapped[int] = mapped_column(ForeignKey("units.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="survey", order_by="SurveyQuestion.position", cascade="all, delete-orphan"
    )


class SurveyQuestion(db.Model):
    """One question of a survey; answers (one row per answered value) will refer to it."""

    __tablename__ = "survey_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    key: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    page: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(Text)  # a grid may have none: its rows speak
    help: Mapped[str | None] = mapped_column(Text)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    show_if: Mapped[dict[str, list[int]] | None] = mapped_column(JSON)
    choices: Mapped[list[str] | None] = mapped_column(JSON)  # inline choices, as written
    scale: Mapped[str | None] = mapped_column(String(32))  # the named scale, as written
    rows: Mapped[list[str] | None] = mapped_column(JSON)
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    decimal: Mapped[bool | None] = mapped_column(Boolean)
    other: Mapped[bool | None] = mapped_column(Boolean)
    demographic: Mapped[bool | None] = mapped_column(Boolean)
    index: Mapped[bool | None] = mapped_column(Boolean)
    low: Mapped[str | None] = mapped_column(String(500))
    high: Mapped[str | None] = mapped_column(String(500))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    survey: Mapped[Survey] = relationship(back_populates="questions")

    __table_args__ = (UniqueConstraint("survey_id", "key"),)


# Join condition of a question with its current version: `.join(QuestionVersion, CURRENT)`.
CURRENT = and_(
    QuestionVersion.question_id == Question.id, QuestionVersion.version == Question.version
)
