"""survey responses' channel and hamlet; hamlets as units below a commune; residents' hamlet

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01

Issue 20 (reaching everyone). `survey_responses.channel` says how a response came in: online
(the resident's own device), assisted (an officer entered it for an identified resident),
kiosk (the shared device of a one-stop office) or paper (a paper form keyed in by an officer);
existing responses are online. Hamlets (ấp, khu vực, tổ dân phố) are units of level `hamlet`
whose parent is their commune; a resident may name theirs (`users.hamlet_code`) and a response
may carry it (`survey_responses.hamlet_code`) beside its commune (`unit_code`, unchanged).

SQLite cannot alter a constraint, and copying `units`, `users` or `survey_responses` (batch
mode) would be refused while other tables refer to them, or would drop every answer (ON DELETE
CASCADE). There the columns are added in place with their constraints written inline, and the
units' CHECK is widened by SQLite's documented procedure for loosening a CHECK constraint
(https://sqlite.org/lang_altertable.html#otheralter: edit the table's SQL in sqlite_schema
under writable_schema and bump schema_version; existing rows satisfy the looser check).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

CHANNELS = "channel IN ('online', 'assisted', 'kiosk', 'paper')"
OLD_LEVELS = "level IN ('province', 'commune')"
NEW_LEVELS = "level IN ('province', 'commune', 'hamlet')"


def _sqlite_check(conn, table: str, old: str, new: str) -> None:
    sql = conn.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar_one()
    if old not in sql:
        raise RuntimeError(f"{table}: the check {old!r} is not in {sql!r}")
    version = conn.execute(sa.text("PRAGMA schema_version")).scalar_one()
    conn.execute(sa.text("PRAGMA writable_schema = ON"))
    conn.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t"),
        {"sql": sql.replace(old, new), "t": table},
    )
    conn.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    conn.execute(sa.text("PRAGMA writable_schema = OFF"))


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_check(conn, "units", OLD_LEVELS, NEW_LEVELS)
        op.execute(
            "ALTER TABLE users ADD COLUMN hamlet_code INTEGER"
            " CONSTRAINT fk_users_hamlet_code_units REFERENCES units (code)"
        )
        op.execute(
            "ALTER TABLE survey_responses ADD COLUMN channel VARCHAR(10) DEFAULT 'online'"
            f" NOT NULL CONSTRAINT ck_survey_responses_channel CHECK ({CHANNELS})"
        )
        op.execute(
            "ALTER TABLE survey_responses ADD COLUMN hamlet_code INTEGER"
            " CONSTRAINT fk_survey_responses_hamlet_code_units REFERENCES units (code)"
        )
        op.create_index("ix_users_hamlet_code", "users", ["hamlet_code"])
        return
    op.drop_constraint(op.f("ck_units_level"), "units", type_="check")
    op.create_check_constraint(op.f("ck_units_level"), "units", NEW_LEVELS)
    op.add_column("users", sa.Column("hamlet_code", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_users_hamlet_code_units"), "users", "units", ["hamlet_code"], ["code"]
    )
    op.create_index("ix_users_hamlet_code", "users", ["hamlet_code"])
    op.add_column(
        "survey_responses",
        sa.Column("channel", sa.String(length=10), server_default="online", nullable=False),
    )
    op.add_column("survey_responses", sa.Column("hamlet_code", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_survey_responses_hamlet_code_units"),
        "survey_responses",
        "units",
        ["hamlet_code"],
        ["code"],
    )
    op.create_check_constraint(op.f("ck_survey_responses_channel"), "survey_responses", CHANNELS)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # DROP COLUMN refuses a column with a constraint: the index goes first, and the
        # columns' inline constraints go with an edit of the table's SQL, as in upgrade().
        op.drop_index("ix_users_hamlet_code", "users")
        conn.execute(sa.text("DELETE FROM units WHERE level = 'hamlet'"))
        for table, column_sql in (
            ("users", " CONSTRAINT fk_users_hamlet_code_units REFERENCES units (code)"),
            (
                "survey_responses",
                " CONSTRAINT fk_survey_responses_hamlet_code_units REFERENCES units (code)",
            ),
            (
                "survey_responses",
                f" CONSTRAINT ck_survey_responses_channel CHECK ({CHANNELS})",
            ),
        ):
            _sqlite_check(conn, table, column_sql, "")
        op.execute("ALTER TABLE survey_responses DROP COLUMN hamlet_code")
        op.execute("ALTER TABLE survey_responses DROP COLUMN channel")
        op.execute("ALTER TABLE users DROP COLUMN hamlet_code")
        _sqlite_check(conn, "units", NEW_LEVELS, OLD_LEVELS)
        return
    op.drop_constraint(op.f("ck_survey_responses_channel"), "survey_responses", type_="check")
    op.drop_constraint(
        op.f("fk_survey_responses_hamlet_code_units"), "survey_responses", type_="foreignkey"
    )
    op.drop_column("survey_responses", "hamlet_code")
    op.drop_column("survey_responses", "channel")
    op.drop_index("ix_users_hamlet_code", "users")
    op.drop_constraint(op.f("fk_users_hamlet_code_units"), "users", type_="foreignkey")
    op.drop_column("users", "hamlet_code")
    op.execute("DELETE FROM units WHERE level = 'hamlet'")
    op.drop_constraint(op.f("ck_units_level"), "units", type_="check")
    op.create_check_constraint(op.f("ck_units_level"), "units", OLD_LEVELS)
