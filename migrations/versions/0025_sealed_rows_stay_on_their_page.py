"""sealed pending responses stay on the queue's own pages (no TOAST, no compression attempt)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02

Issue 17. A sealed response is at least 2,828 bytes (2 KiB of padded payload, encrypted and
base64-encoded), past the 2 KB at which PostgreSQL shrinks a row: it tried to compress the
ciphertext, which does not compress, then wrote it out of line as two chunks of the queue's
TOAST table, each with an index entry, which the mixer read back and deleted a moment later.
With the table's target at its largest (8,160 bytes) the rows of the 2 KiB and 4 KiB buckets
stay in the queue's pages; larger ones (long text answers) still go out of line, but without
the compression attempt (storage EXTERNAL). Nothing is rewritten: rows already out of line
stay there until the mixer deletes them.
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE survey_pending SET (toast_tuple_target = 8160)")
        op.execute("ALTER TABLE survey_pending ALTER COLUMN sealed SET STORAGE EXTERNAL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE survey_pending ALTER COLUMN sealed SET STORAGE EXTENDED")
        op.execute("ALTER TABLE survey_pending RESET (toast_tuple_target)")
