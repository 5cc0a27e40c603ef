"""one hamlet of a name per commune

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01

Issue 20, hamlets: two hamlets of one commune may not share a name once folded (accents, case
and spacing ignored: "Ấp Thạnh Lợi" and "ap thanh loi" are one hamlet). The page and the CSV
import check it first and say which line; this partial unique index decides when two officers
add the same hamlet at once. Provinces and communes come from the official list and are not
concerned.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

WHERE = sa.text("level = 'hamlet'")


def upgrade():
    op.create_index(
        "uq_units_hamlet_name",
        "units",
        ["parent_code", "search_name"],
        unique=True,
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def downgrade():
    op.drop_index("uq_units_hamlet_name", "units")
