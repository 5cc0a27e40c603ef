"""phone verification codes, the verified phone, contests' eligibility

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

Users gain `verified_phone` (the number proved by a code: verified while it equals `phone`);
`phone_codes` holds the one code in force per account, as an HMAC (app/services/phone_codes.py);
contests gain `min_age` and `verified_phone` (question-bank.md, `eligibility`).
"""

import sqlalchemy as sa
from alembic import op

import app.models.types

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    # In place (recreate="never"): copying `users` would be refused on SQLite while attempts
    # and responses refer to it (see 0014).
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("verified_phone", sa.String(length=10), nullable=True))
    with op.batch_alter_table("contests", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("min_age", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("verified_phone", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "phone_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=10), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", app.models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("tries >= 0", name=op.f("ck_phone_codes_tries")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_phone_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_codes")),
    )
    with op.batch_alter_table("phone_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_codes_user_id"), ["user_id"], unique=True)


def downgrade():
    with op.batch_alter_table("phone_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_codes_user_id"))
    op.drop_table("phone_codes")
    with op.batch_alter_table("contests", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("verified_phone")
        batch_op.drop_column("min_age")
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("verified_phone")
