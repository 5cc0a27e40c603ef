"""The cube (app/services/cube.py) changes how results are read, never what they are: every
view and the suppression decision equal those of the per-view queries it replaced
(tests/reference_analytics.py, the code before it), on the sample surveys with demo responses
(several demographic questions, a grid, multiple choices with "other", numbers, ratings; groups
small enough to hide, at two thresholds) and on the small hand-made survey of test_analytics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import cache, db
from app.models import Survey, SurveyResponse, Unit
from app.services import analytics, demo_responses
from app.services.survey_definition import definition
from tests import reference_analytics as before
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, load_content
from tests.test_analytics import NOW
from tests.test_analytics import survey as survey

SURVEYS = Path(__file__).resolve().parent.parent / "surveys"
SAMPLES = ["hai-long-chinh-quyen-2026", "kenh-thong-tin-chinh-sach-2026"]


def views(session: Any, row: Survey) -> list[dict[str, Any]]:
    """Every breakdown at every kind of scope: the whole survey, the province, the commune with
    the most responses, one with fewer than the threshold, one with none."""
    defn = definition(session, row)
    per_unit = dict(
        session.execute(
            select(SurveyResponse.unit_code, func.count())
            .where(SurveyResponse.survey_id == row.id)
            .group_by(SurveyResponse.unit_code)
        ).all()
    )
    biggest = max(per_unit, key=lambda u: (per_unit[u], u))
    small = min(per_unit, key=lambda u: (per_unit[u], u))
    empty = session.scalar(
        select(Unit.code).where(Unit.parent_code == PROVINCE, Unit.code.not_in(list(per_unit)))
    )
    scopes = [None, PROVINCE, biggest, small, empty, VI_THANH, NINH_KIEU]
    bys = [None, "unit", *[q.key for q in defn.questions if q.demographic]]
    return [{"by": by, "scope": scope} for by in bys for scope in scopes]


def every_view(module: Any, session: Any, row: Survey) -> list[Any]:
    """Every view of `row` by `module` (results with the headline, and the index alone), read
    with `now` so that each computes its decision once (the cache emptied first: nothing of
    the other module's is served)."""
    cache.clear()
    out = []
    for view in views(session, row):
        scope = session.get(Unit, view["scope"]) if view["scope"] is not None else None
        kwargs = {"by": view["by"], "scope": scope, "now": NOW}
        out.append((view, module.results(session, row, overall=True, **kwargs)))
        out.append((view, module.index_results(session, row, **kwargs)))
    return out


def same_everywhere(session: Any, row: Survey) -> int:
    """Compares the decision and every view of `row`; returns how many groups the views hide
    (so that the test sees suppression)."""
    mine_decision = analytics.hidden_groups(session, row)
    known = {k: t for k, t in mine_decision.tables.items() if not str(k[0]).startswith("*")}
    # Issue 20 added the channel and hamlet tables (keys "*channel", "*hamlet") and the
    # channels' shares: the reference, older, has neither; everything else is the same.
    assert known == before.hidden_groups(session, row).tables
    new, old = every_view(analytics, session, row), every_view(before, session, row)
    assert len(new) == len(old)
    hidden = 0
    for (view, mine), (_view, theirs) in zip(new, old, strict=True):
        mine = {k: v for k, v in mine.items() if k != "channels"}
        assert mine == theirs, view
        hidden += sum(
            1 for q in mine.get("questions", []) for g in q["groups"] if g.get("suppressed")
        ) + sum(1 for g in mine["index"] if g.get("suppressed"))
    return hidden


@pytest.mark.parametrize("slug", SAMPLES)
def test_the_cube_gives_the_figures_and_the_decision_of_the_per_view_queries(app, slug):
    load_content(app, [(f"{slug}.yaml", (SURVEYS / f"{slug}.yaml").read_text())], NOW)
    with app.app_context():
        row = db.session.scalar(select(Survey).where(Survey.slug == slug))
        demo_responses.generate(db.session, row, 500, seed=14)
        hidden = 0
        for threshold in (5, 12):
            row.min_group = threshold
            row.version += 1  # new rules, a new stamp (as a content load does)
            db.session.commit()
            hidden += same_everywhere(db.session, row)
        assert hidden > 0  # small groups were there to hide


def test_the_cube_agrees_on_the_hand_made_survey(survey):
    with survey.app_context():
        row = db.session.scalar(select(Survey))
        assert same_everywhere(db.session, row) > 0
