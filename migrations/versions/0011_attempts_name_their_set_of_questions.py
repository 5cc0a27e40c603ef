"""attempts name their set of questions

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

`attempts.paper`: app.models.contests.paper_digest of the attempt's question versions, so that
a round's statistics find the attempts given one set of questions (Cronbach's alpha) in the
attempts table instead of a second pass over every answered question; `ix_attempts_paper`
lets that count read an index only. Filled here for the attempts stored before: in SQL on
PostgreSQL, in Python elsewhere (the same digest).
"""

from itertools import groupby

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

POSTGRES = """
UPDATE attempts SET paper = papers.digest
FROM (
    SELECT attempt_id, substr(encode(sha256(convert_to(
        string_agg(question_version_id::text, ',' ORDER BY question_version_id), 'UTF8')), 'hex'),
        1, 32) AS digest
    FROM attempt_questions GROUP BY attempt_id
) AS papers
WHERE attempts.id = papers.attempt_id AND attempts.paper IS NULL
"""


def upgrade():
    op.add_column("attempts", sa.Column("paper", sa.String(length=32), nullable=True))
    backfill(op.get_bind())
    finished = sa.text("state IN ('submitted', 'expired')")
    op.create_index(
        "ix_attempts_paper",
        "attempts",
        ["round_id", "paper"],
        sqlite_where=finished,
        postgresql_where=finished,
    )


def backfill(conn):
    """Every attempt without a paper digest gets it."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(POSTGRES))
        return
    from app.models.contests import paper_digest

    rows = conn.execute(
        sa.text(
            "SELECT aq.attempt_id, aq.question_version_id FROM attempt_questions aq"
            " JOIN attempts a ON a.id = aq.attempt_id WHERE a.paper IS NULL ORDER BY aq.attempt_id"
        )
    ).all()
    update = sa.text("UPDATE attempts SET paper = :paper WHERE id = :id")
    batch = []
    for attempt, versions in groupby(rows, key=lambda row: row[0]):
        batch.append({"id": attempt, "paper": paper_digest(v for _a, v in versions)})
        if len(batch) >= 5000:
            conn.execute(update, batch)
            batch = []
    if batch:
        conn.execute(update, batch)


def downgrade():
    op.drop_index("ix_attempts_paper", table_name="attempts")
    # Plain ALTER TABLE (SQLite 3.35+ and PostgreSQL): a batch copy of attempts on SQLite
    # would drop the old table, and with it (ON DELETE CASCADE) every answered question.
    op.execute("ALTER TABLE attempts DROP COLUMN paper")
