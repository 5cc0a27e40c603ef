"""the anonymity mixer's queue keeps its pages when vacuumed (vacuum_truncate off)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02

Issue 17. Every VACUUM of the emptied queue — the scheduled mixer's every minute, and
autovacuum's, set by 0010 to follow every change of this table — cut it down to no page.
PostgreSQL then planned the statements every response runs on it (how many of the survey's
responses wait, and since when) as for an empty table: read it whole and sort it, a plan each
connection kept as the queue filled again with rows moved and not yet vacuumed
(bench/surveys_bench.py: 686 sequential scans, 474,848 rows read in one round). Kept, the
pages tell the planner the queue's real size and it walks the index. The table keeps the size
of its longest line; its TOAST table (the sealed values) is still given back.
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE survey_pending SET (vacuum_truncate = false)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE survey_pending RESET (vacuum_truncate)")
