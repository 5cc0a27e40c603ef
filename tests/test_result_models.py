"""Survey results have one declared shape (app/services/result_models.py), checked where they
are made and published in the OpenAPI document."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Survey
from app.services import analytics
from app.services.result_models import SurveyResults, checked
from tests.test_analytics import survey as survey


def test_a_hidden_group_can_never_carry_a_figure():
    hidden = {"group": 31120, "label": "Phường Cái Khế", "suppressed": True, "n": 3}
    result = {
        "survey": "s",
        "threshold": 5,
        "by": "unit",
        "questions": [{"id": "q", "type": "scale", "groups": [hidden]}],
    }
    with pytest.raises(ValueError, match="suppressed group carries no figure"):
        checked(result)
    with pytest.raises(ValueError):  # nor a field the shape does not know
        checked(result | {"questions": [], "raw": [1, 2, 3]})


def test_every_view_the_service_makes_has_the_declared_shape(survey):
    with survey.app_context():
        row = db.session.scalar(select(Survey))
        for by in (None, "unit", "gioi-tinh"):
            result = analytics.results(db.session, row, by=by, overall=True)
            assert SurveyResults.model_validate(result).by == (by or "all")


def test_the_api_publishes_the_shape(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/surveys/{slug}/results"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/SurveyResults"}
    groups = spec["components"]["schemas"]["Group"]["properties"]
    assert {"group", "label", "suppressed", "n", "counts", "ci95"} <= set(groups)
