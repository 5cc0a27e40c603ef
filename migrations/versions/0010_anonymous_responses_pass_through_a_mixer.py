"""anonymous responses pass through a mixer

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

`survey_pending` holds sealed anonymous responses until the mixer moves them into
`survey_responses` (app/services/mixer.py, docs/anonymity.md).

Responses stored before this revision were written in the same transaction as their ledger
entry, so on PostgreSQL they share its `xmin`. Each one is rewritten here (a no-op UPDATE gives
every row this migration's transaction id), then CLUSTER copies the live rows, in key order, to
new files: the old row versions, which carried the old `xmin`, are gone from the tables.
SQLite keeps no transaction id in rows; nothing to do there.
"""

import sqlalchemy as sa
from alembic import op

import app.models.types

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ANONYMOUS = "SELECT id FROM surveys WHERE anonymous"


def upgrade():
    op.create_table(
        "survey_pending",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("queued_at", app.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_survey_pending_survey_id_surveys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_pending")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("survey_pending", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_pending_survey_id"), ["survey_id"], unique=False
        )
    if op.get_bind().dialect.name != "postgresql":
        return
    # Dead row versions of moved responses (sealed, but still there) are vacuumed right away.
    op.execute(
        "ALTER TABLE survey_pending SET (autovacuum_vacuum_threshold = 0, "
        "autovacuum_vacuum_scale_factor = 0)"
    )
    op.execute(f"UPDATE survey_responses SET demo = demo WHERE survey_id IN ({ANONYMOUS})")
    op.execute(
        "UPDATE survey_answers SET item = item WHERE response_id IN "
        f"(SELECT id FROM survey_responses WHERE survey_id IN ({ANONYMOUS}))"
    )
    op.execute("CLUSTER survey_responses USING pk_survey_responses")
    op.execute("CLUSTER survey_answers USING pk_survey_answers")


def downgrade():
    with op.batch_alter_table("survey_pending", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_pending_survey_id"))
    op.drop_table("survey_pending")
