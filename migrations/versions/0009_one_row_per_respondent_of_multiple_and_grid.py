"""one row per respondent of multiple-choice and grid questions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23

A multiple-choice or grid answer gets a row at item 0 with no value (app.services.surveys:
ANSWERED), so that the results count its respondents in their one pass over the answers
instead of a count(DISTINCT) of responses. Data only: the rows of answers stored before.
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SEVERAL = "SELECT id FROM survey_questions WHERE type IN ('multiple', 'grid')"


def upgrade():
    op.execute(f"""
        INSERT INTO survey_answers (response_id, question_id, item, value, number, text)
        SELECT response_id, question_id, 0, NULL, NULL, NULL
        FROM survey_answers
        WHERE question_id IN ({SEVERAL})
        GROUP BY response_id, question_id
        HAVING min(abs(item)) > 0
    """)


def downgrade():
    op.execute(f"DELETE FROM survey_answers WHERE item = 0 AND question_id IN ({SEVERAL})")
