"""GET /api/v1/surveys/{survey}/results (api.md): leaders and officers within their unit;
anyone who answered a `show_results` survey, overall only."""

from __future__ import annotations

from flask import Response, jsonify
from flask_babel import gettext as _

from app import clock
from app.api.schemas import ErrorOut
from app.api.spec import endpoint, optional_user
from app.api.survey_schemas import ResultsQuery
from app.db_read import read_session
from app.errors import api_error
from app.extensions import db
from app.models import Unit
from app.services import analytics, policy
from app.services import surveys as service
from app.services.policy import within
from app.services.result_models import SurveyResults

READERS = policy.STAFF


@endpoint(
    "GET",
    "/surveys/<slug>/results",
    summary="Results per question and group, small groups hidden",
    query=ResultsQuery,
    responses={200: SurveyResults, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    tag="surveys",
)
def survey_results(slug: str, query: ResultsQuery) -> Response:
    survey = service.by_slug(db.session, slug)
    if survey is None:
        return api_error(404)
    user = optional_user()
    if user is None:
        return api_error(401)
    scope = user.unit
    if user.role in READERS:
        if query.unit is not None:
            wanted = db.session.get(Unit, query.unit)
            if wanted is None:
                return api_error(404)
            if not within(wanted, policy.scope_of(user)):
                return api_error(403, _("You do not have permission to see this page."))
            scope = wanted
        by = query.by
    elif survey.show_results and service.has_answered(db.session, survey, user):
        scope, by = None, None  # the overall results only, never breakdowns
    else:
        return api_error(403)
    try:
        body = dict(
            analytics.results(
                read_session(),
                survey,
                now=clock.now(),
                by=by,
                scope=scope,
                labels={"all": _("All")},
            )
        )  # a copy: the cached answer is shared
    except analytics.UnknownBreakdown:
        return api_error(
            422,
            _(analytics.BREAKDOWNS),
            [
                {
                    "field": "by",
                    "message": _(analytics.BREAKDOWNS),
                }
            ],
        )
    if body.get("suppressed"):
        body["message"] = _(
            "The figures of this unit are hidden: fewer people answered there than the "
            "threshold, or they would let a smaller group be worked out from the others."
        )
        body["trends"] = []
        return jsonify(body)
    body["trends"] = (
        analytics.trends(read_session(), survey, scope=scope, now=clock.now()) if by is None else []
    )
    return jsonify(body)
