"""unit names without stray spaces

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

The official list (`vietnam-provinces`) spells some names with a double space ("Xã  Phú Hữu",
"Xã  Đại Hải" in Cần Thơ): they sorted before every other "Xã" and read oddly. `load_units`
now stores names trimmed with inner spaces collapsed (app.text.clean_line); this cleans the
names stored before, and their search form. Data only: nothing to undo.
"""

import sqlalchemy as sa
from alembic import op

from app.text import clean_line, fold

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

units = sa.table(
    "units",
    sa.column("code", sa.Integer),
    sa.column("name", sa.String),
    sa.column("search_name", sa.String),
)


def upgrade():
    connection = op.get_bind()
    for code, name in connection.execute(sa.select(units.c.code, units.c.name)).all():
        if name != clean_line(name):
            connection.execute(
                units.update()
                .where(units.c.code == code)
                .values(name=clean_line(name), search_name=fold(name))
            )


def downgrade():
    pass  # the stray spaces carried no meaning
