"""an index in ranking order

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FINISHED = "state IN ('submitted', 'expired')"


def upgrade():
    op.create_index(
        "ix_attempts_ranking",
        "attempts",
        ["round_id", "user_id", "score", "duration_ms", "submitted_at", "id"],
        unique=False,
        sqlite_where=sa.text(FINISHED),
        postgresql_where=sa.text(FINISHED),
    )


def downgrade():
    op.drop_index("ix_attempts_ranking", table_name="attempts")
