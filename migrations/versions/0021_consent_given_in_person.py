"""consents say how they were given: online (the person's own sign-up) or in person

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01

Issue 20 (assisted entry). An officer may create a resident's account at a hamlet meeting or
at the one-stop office, after reading the purpose of data use to the person: that consent is
recorded as given `in_person`. Which officer took it is in the audit trail
(`entry.resident`), never in the consent. Existing consents were given online.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

GIVEN_IN = "given_in IN ('online', 'in_person')"


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # In place, the constraint inline (a batch copy of `consents` is not needed).
        op.execute(
            "ALTER TABLE consents ADD COLUMN given_in VARCHAR(10) DEFAULT 'online' NOT NULL"
            f" CONSTRAINT ck_consents_given_in CHECK ({GIVEN_IN})"
        )
        return
    op.add_column(
        "consents",
        sa.Column("given_in", sa.String(length=10), server_default="online", nullable=False),
    )
    op.create_check_constraint(op.f("ck_consents_given_in"), "consents", GIVEN_IN)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        sql = conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'consents'")
        ).scalar_one()
        inline = f" CONSTRAINT ck_consents_given_in CHECK ({GIVEN_IN})"
        version = conn.execute(sa.text("PRAGMA schema_version")).scalar_one()
        conn.execute(sa.text("PRAGMA writable_schema = ON"))
        conn.execute(
            sa.text(
                "UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'consents'"
            ),
            {"sql": sql.replace(inline, "")},
        )
        conn.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
        conn.execute(sa.text("PRAGMA writable_schema = OFF"))
        op.execute("ALTER TABLE consents DROP COLUMN given_in")
        return
    op.drop_constraint(op.f("ck_consents_given_in"), "consents", type_="check")
    op.drop_column("consents", "given_in")
