"""responses keep their demographic groups

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01

Issue 14 (results at 1,000,000 responses): each response keeps the answers to its survey's
first demographic questions as one number (app.services.survey_definition.groups_code: 5 bits
a question, in the definition's order), so that the results' one pass groups the answers by
their response's row instead of joining them to each demographic answer again. Filled here for
the responses stored, survey by survey, with one UPDATE each (the figures of restamp_groups).
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

GROUP_BITS = 5
GROUP_MASK = 31
GROUPED = 12


def upgrade():
    # Plain ALTER TABLE on both engines (a batch copy of survey_responses on SQLite would drop
    # the old table and, ON DELETE CASCADE, every answer).
    op.add_column(
        "survey_responses",
        sa.Column("groups", sa.BigInteger(), server_default="0", nullable=False),
    )
    backfill(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        # No default from now on: a way of storing responses that forgot the column would give
        # every one of them group 0 (wrong breakdowns, silently); without a default it fails.
        # (SQLite cannot drop a default without copying the table, which would drop, ON DELETE
        # CASCADE, every answer: there the default stays.)
        op.alter_column("survey_responses", "groups", server_default=None)


def backfill(conn):
    questions = sa.table(
        "survey_questions",
        sa.column("id"),
        sa.column("survey_id"),
        sa.column("position"),
        sa.column("demographic"),
        sa.column("retired_at"),
    )
    responses = sa.table(
        "survey_responses", sa.column("id"), sa.column("survey_id"), sa.column("groups")
    )
    answers = sa.table(
        "survey_answers",
        sa.column("response_id"),
        sa.column("question_id"),
        sa.column("item"),
        sa.column("value"),
    )
    layouts = {}
    for qid, sid in conn.execute(
        sa.select(questions.c.id, questions.c.survey_id)
        .where(questions.c.retired_at.is_(None), questions.c.demographic.is_(True))
        .order_by(questions.c.survey_id, questions.c.position, questions.c.id)
    ):
        layout = layouts.setdefault(sid, [])
        if len(layout) < GROUPED:
            layout.append(qid)
    for sid, layout in layouts.items():
        shift = sa.case(
            *[(answers.c.question_id == qid, 1 << (GROUP_BITS * i)) for i, qid in enumerate(layout)]
        )
        per_response = (
            sa.select(
                answers.c.response_id.label("rid"),
                sa.func.sum(sa.cast(answers.c.value, sa.BigInteger) * shift).label("code"),
            )
            .where(
                answers.c.question_id.in_(layout),
                answers.c.item == 0,
                answers.c.value.between(1, GROUP_MASK),
            )
            .group_by(answers.c.response_id)
            .subquery()
        )
        conn.execute(
            responses.update()
            .where(responses.c.survey_id == sid, responses.c.id == per_response.c.rid)
            .values(groups=sa.cast(per_response.c.code, sa.BigInteger))
        )


def downgrade():
    op.execute("ALTER TABLE survey_responses DROP COLUMN groups")  # SQLite 3.35+ and PostgreSQL
