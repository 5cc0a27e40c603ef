"""responses keep their index score

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

Each response keeps its part of the satisfaction index (app.services.surveys.index_figures),
so that the index is a GROUP BY over survey_responses; filled here for the responses stored.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE on both engines: a batch "move and copy" of survey_responses on SQLite
    # would drop the old table, and with it (ON DELETE CASCADE) every answer.
    op.add_column("survey_responses", sa.Column("index_score", sa.Float(), nullable=True))
    op.add_column(
        "survey_responses",
        sa.Column("index_items", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "survey_responses", sa.Column("index_top", sa.Integer(), server_default="0", nullable=False)
    )
    backfill(op.get_bind())


def backfill(conn):
    """The figures of app.services.analytics.restamp_index, for every survey at once: the
    mean of each response's index items rescaled to 0-100, their number, those in the top two."""
    surveys = sa.table("surveys", sa.column("id"), sa.column("scales", sa.JSON))
    questions = sa.table(
        "survey_questions",
        sa.column("id"),
        sa.column("survey_id"),
        sa.column("index"),
        sa.column("choices", sa.JSON),
        sa.column("scale"),
        sa.column("retired_at"),
    )
    responses = sa.table(
        "survey_responses",
        sa.column("id"),
        sa.column("index_score"),
        sa.column("index_items"),
        sa.column("index_top"),
    )
    answers = sa.table(
        "survey_answers",
        sa.column("response_id"),
        sa.column("question_id"),
        sa.column("value"),
    )
    scales = {
        sid: value or {} for sid, value in conn.execute(sa.select(surveys.c.id, surveys.c.scales))
    }
    points = {}
    for qid, sid, index, choices, scale in conn.execute(
        sa.select(
            questions.c.id,
            questions.c.survey_id,
            questions.c["index"],
            questions.c.choices,
            questions.c.scale,
        ).where(questions.c.retired_at.is_(None))
    ):
        k = len(choices) if choices else len(scales.get(sid, {}).get(scale or "", []))
        if index and k > 1:
            points[qid] = k
    if not points:
        return
    k = sa.case(*[(answers.c.question_id == qid, n) for qid, n in points.items()])
    per_response = (
        sa.select(
            answers.c.response_id.label("rid"),
            sa.func.avg((answers.c.value - 1) * 100.0 / (k - 1)).label("score"),
            sa.func.count().label("answered"),
            sa.func.sum(sa.case((answers.c.value >= k - 1, 1), else_=0)).label("top"),
        )
        .where(answers.c.question_id.in_(list(points)), answers.c.value.is_not(None))
        .group_by(answers.c.response_id)
        .subquery()
    )
    conn.execute(
        responses.update()
        .where(responses.c.id == per_response.c.rid)
        .values(
            index_score=per_response.c.score,
            index_items=per_response.c.answered,
            index_top=per_response.c.top,
        )
    )


def downgrade():
    for column in ("index_top", "index_items", "index_score"):  # SQLite 3.35+ and PostgreSQL
        op.execute(f"ALTER TABLE survey_responses DROP COLUMN {column}")
