"""Tallies of hand-counted paper forms (issue 20): the counts an officer keyed in from forms
counted by hand, per question and value, for one commune (or one of its hamlets). Stored as
aggregates only — there are no responses behind them — and added to the survey's results as
channel "paper" (app/services/tallies.py has the rule). The officer who imported or withdrew a
tally is in the audit trail, not here.

- `survey_tallies`: one import: the survey, the commune and optional hamlet, how many forms were
  counted, when it was imported and, once withdrawn, when (a withdrawn tally counts no more).
- `survey_tally_counts`: its counts as the answers table has them: (question, item, value, n)
  — a single, scale or rating value at item 0; a multiple-choice choice at its own item, and the
  forms that answered the question at item 0 with no value.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime


class SurveyTally(db.Model):
    __tablename__ = "survey_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    unit_code: Mapped[int] = mapped_column(ForeignKey("units.code"))  # the commune
    hamlet_code: Mapped[int | None] = mapped_column(ForeignKey("units.code"))
    forms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("forms > 0", name="forms"),
        Index("ix_survey_tallies_survey", "survey_id", "withdrawn_at"),
    )


class SurveyTallyCount(db.Model):
    __tablename__ = "survey_tally_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    tally_id: Mapped[int] = mapped_column(
        ForeignKey("survey_tallies.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"))
    item: Mapped[int] = mapped_column(Integer)
    value: Mapped[int | None] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("n >= 0", name="n"),)
