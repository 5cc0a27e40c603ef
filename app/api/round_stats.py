"""GET /api/v1/rounds/{round}/stats (api.md, "Round statistics"): leaders and officers within
their scope, an admin everywhere; `?unit=CODE` narrows it to a unit's people."""

from __future__ import annotations

from flask import Response, g, jsonify
from flask_babel import gettext as _
from pydantic import Field

from app import clock
from app.api.schemas import ErrorOut, Request
from app.api.spec import endpoint
from app.db_read import read_session
from app.errors import api_error
from app.extensions import db
from app.models import Round, Unit
from app.parse import Id
from app.services import contest_stats, policy


class RoundStatsQuery(Request):
    unit: Id | None = Field(
        default=None, description="Only the people of this unit (within the caller's scope)"
    )


@endpoint(
    "GET",
    "/rounds/<int:round_id>/stats",
    summary="Round statistics: participation, scores, questions, topics, reliability",
    query=RoundStatsQuery,
    responses={200: contest_stats.RoundStats, 403: ErrorOut, 404: ErrorOut},
    roles=tuple(role.value for role in policy.STAFF),
    tag="contests",
)
def round_stats(round_id: int, query: RoundStatsQuery) -> Response:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        return api_error(404)
    unit = None
    if query.unit is not None:
        unit = db.session.get(Unit, query.unit)
        if unit is None:
            return api_error(404, _("No commune, ward or province has this code."))
    try:
        stats = contest_stats.round_stats(
            read_session(),
            round_,
            scope=policy.scope_of(g.api_user),
            unit=unit,
            now=clock.now(),
            grace=clock.grace(),
        )
    except contest_stats.OutsideScope:
        return api_error(403, _("You do not have permission to see this page."))
    return jsonify(stats.model_dump(mode="json"))
