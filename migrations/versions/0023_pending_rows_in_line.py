"""the mixer's pending rows indexed in line: (survey, queue time)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02

Issue 17. Every anonymous response asks how many of its survey's responses wait and since
when, and the mixer asks again and claims them. Indexed by survey alone, PostgreSQL answered
with a bitmap scan of every entry of the survey — and each batch the mixer moves leaves its
rows dead in the index until a vacuum: after 21,641 responses moved, 21,652 entries read twice
per response (1.1 ms). Indexed by (survey, queue time), the statements walk the survey's rows
in line and stop after a batch (app/services/mixer.py).
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_survey_pending_waiting", "survey_pending", ["survey_id", "queued_at"], unique=False
    )
    op.drop_index("ix_survey_pending_survey_id", table_name="survey_pending")


def downgrade():
    op.create_index(
        "ix_survey_pending_survey_id", "survey_pending", ["survey_id"], unique=False
    )
    op.drop_index("ix_survey_pending_waiting", table_name="survey_pending")
