"""prize integrity: certificates, device and client marks, disqualifications

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10

Contests gain `certificates` (none | participants | winners) and `issuer` (the body named on
them). `certificates` keeps every code issued (re-downloads give the same one; revoked, never
deleted); `attempt_devices` and `account_origins` the device id and keyed hashes of the
client address (app/services/suspicious.py reads them); `disqualifications` the entries an
officer took out of a round's ranking, with the reason.
"""

import sqlalchemy as sa
from alembic import op

import app.models.types

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contests", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("certificates", sa.String(length=12), server_default="none", nullable=False)
        )
        batch_op.add_column(sa.Column("issuer", sa.String(length=500), nullable=True))
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("place", sa.Integer(), nullable=True),
        sa.Column("issued_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_certificates_attempt_id_attempts")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_certificates_round_id_rounds")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_certificates_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("attempt_id", "kind", name=op.f("uq_certificates_attempt_id")),
        sa.UniqueConstraint("code", name=op.f("uq_certificates_code")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificates_user_id"), ["user_id"], unique=False)
    op.create_table(
        "disqualifications",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("at", app.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["users.id"],
            name=op.f("fk_disqualifications_officer_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_disqualifications_round_id_rounds")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_disqualifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("round_id", "user_id", name=op.f("pk_disqualifications")),
    )
    op.create_table(
        "attempt_devices",
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=32), nullable=True),
        sa.Column("client", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_attempt_devices_attempt_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_attempt_devices")),
    )
    op.create_table(
        "account_origins",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=32), nullable=True),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_origins_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_account_origins")),
    )
    with op.batch_alter_table("account_origins", schema=None) as batch_op:
        batch_op.create_index("ix_account_origins_address", ["address", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("account_origins", schema=None) as batch_op:
        batch_op.drop_index("ix_account_origins_address")
    op.drop_table("account_origins")
    op.drop_table("attempt_devices")
    op.drop_table("disqualifications")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_user_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_round_id"))
    op.drop_table("certificates")
    with op.batch_alter_table("contests", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("issuer")
        batch_op.drop_column("certificates")
