"""attempts keep their commune

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

`attempts.unit_code`: the commune/ward an attempt counts in (the person's commune when they
started their first attempt at the round: app.services.attempts.competing_commune), and
`best_attempts.unit_code`, its copy on each person's best attempt. Participation per commune,
the ranking by unit and the round statistics read it instead of joining `users`, and all of
them count a person in the same commune whatever their account says later.

Filled here for the rows stored before, from the account's commune today (the only one
known): every attempt of one person then shares a commune, as the rule above requires.
NOT NULL: the columns are added with a DEFAULT 0 that the backfill replaces (SQLite cannot add
a NOT NULL column without one, nor make a column NOT NULL without copying the table — which
would drop the old `attempts` and, ON DELETE CASCADE, every answered question); PostgreSQL then
drops the default, so that an insert which forgets the commune fails there.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("attempts", "best_attempts"):
        op.add_column(
            table, sa.Column("unit_code", sa.Integer(), nullable=False, server_default="0")
        )
    backfill(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        for table in ("attempts", "best_attempts"):
            op.alter_column(table, "unit_code", server_default=None)


def backfill(conn):
    """Every attempt gets its person's commune, every best attempt its attempt's (UPDATE …
    FROM: PostgreSQL, and SQLite since 3.33)."""
    conn.execute(
        sa.text(
            "UPDATE attempts SET unit_code = users.unit_code FROM users"
            " WHERE users.id = attempts.user_id"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE best_attempts SET unit_code = attempts.unit_code FROM attempts"
            " WHERE attempts.id = best_attempts.attempt_id"
        )
    )


def downgrade():
    # Plain ALTER TABLE (SQLite 3.35+ and PostgreSQL), as in 0011: no copy of `attempts`.
    op.execute("ALTER TABLE best_attempts DROP COLUMN unit_code")
    op.execute("ALTER TABLE attempts DROP COLUMN unit_code")
