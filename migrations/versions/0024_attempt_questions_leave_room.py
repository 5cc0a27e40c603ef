"""attempt questions leave room on their pages for their answers (fillfactor 90)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02

Issue 17. Every answer saved updates its question's row, and the submit updates all twenty
again (each marked right or wrong). Packed full, a page had no room for the new version of
a row: PostgreSQL wrote it on another page and added it to each of the table's three indexes
(57% of the updates were heap-only in a `bench/run.py` run). With a tenth of each page left
free, the new version stays on its page and the indexes are not touched (a heap-only update).
New pages only: pages written before keep their rows until the table is rewritten.
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE attempt_questions SET (fillfactor = 90)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE attempt_questions RESET (fillfactor)")
