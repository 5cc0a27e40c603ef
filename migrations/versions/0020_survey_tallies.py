"""tallies of hand-counted paper forms

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01

Issue 20: an officer imports the counts of paper forms counted by hand (per question and value)
for a commune or one of its hamlets; they are stored as aggregates (`survey_tallies`, one per
import, and `survey_tally_counts`, its counts) and added to the survey's results as channel
"paper". A withdrawn tally keeps its rows with `withdrawn_at` set and counts no more.
A partial index finds a survey's responses that are not online ones without a hamlet.
"""

import sqlalchemy as sa
from alembic import op

import app.models.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


SPREAD = "channel <> 'online' OR hamlet_code IS NOT NULL"


def upgrade():
    # Whether a survey has a response that is not an online one without a hamlet, looked up
    # rather than scanned (app/services/cube.py: _spread).
    op.create_index(
        "ix_survey_responses_spread",
        "survey_responses",
        ["survey_id"],
        sqlite_where=sa.text(SPREAD),
        postgresql_where=sa.text(SPREAD),
    )
    op.create_table(
        "survey_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.Integer(), nullable=False),
        sa.Column("hamlet_code", sa.Integer(), nullable=True),
        sa.Column("forms", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", app.models.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint("forms > 0", name=op.f("ck_survey_tallies_forms")),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_survey_tallies_survey_id_surveys")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name=op.f("fk_survey_tallies_unit_code_units")
        ),
        sa.ForeignKeyConstraint(
            ["hamlet_code"], ["units.code"], name=op.f("fk_survey_tallies_hamlet_code_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_tallies")),
    )
    op.create_index(
        "ix_survey_tallies_survey", "survey_tallies", ["survey_id", "withdrawn_at"], unique=False
    )
    op.create_table(
        "survey_tally_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tally_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.CheckConstraint("n >= 0", name=op.f("ck_survey_tally_counts_n")),
        sa.ForeignKeyConstraint(
            ["tally_id"],
            ["survey_tallies.id"],
            name=op.f("fk_survey_tally_counts_tally_id_survey_tallies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["survey_questions.id"],
            name=op.f("fk_survey_tally_counts_question_id_survey_questions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_tally_counts")),
    )
    op.create_index(
        op.f("ix_survey_tally_counts_tally_id"), "survey_tally_counts", ["tally_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_survey_tally_counts_tally_id"), table_name="survey_tally_counts")
    op.drop_table("survey_tally_counts")
    op.drop_index("ix_survey_tallies_survey", table_name="survey_tallies")
    op.drop_table("survey_tallies")
    op.drop_index("ix_survey_responses_spread", table_name="survey_responses")
