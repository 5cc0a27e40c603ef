"""Leaderboards over the API: GET /rounds/{round}/leaderboard and /units (api.md)."""

from __future__ import annotations

from flask import Response, jsonify

from app import clock
from app.api.ranking_schemas import (
    LeaderboardOut,
    LeaderboardQuery,
    LeaderEntryOut,
    UnitEntryOut,
    UnitsLeaderboardOut,
)
from app.api.schemas import ErrorOut
from app.api.spec import endpoint
from app.errors import api_error
from app.extensions import db
from app.models import Round
from app.services import ranking as service


@endpoint(
    "GET",
    "/rounds/<int:round_id>/leaderboard",
    summary="The ranking of a round: provisional while open, final after the close",
    query=LeaderboardQuery,
    responses={200: LeaderboardOut, 404: ErrorOut},
    tag="contests",
)
def leaderboard(round_id: int, query: LeaderboardQuery) -> Response:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        return api_error(404)
    board = service.board(
        db.session,
        round_,
        clock.now(),
        clock.grace(),
        unit=query.unit,
        offset=query.offset,
        limit=query.limit,
    )
    body = LeaderboardOut(
        round=round_.id,
        final=board.final,
        prediction=board.target,
        figure=board.figure,
        total=board.total,
        entries=[
            LeaderEntryOut(
                rank=row.standing.place,
                name=row.name,
                unit=row.unit_code,
                unit_name=row.unit_name,
                phone_verified=row.phone_verified,
                score=row.standing.score,
                max_score=row.standing.max_score,
                prediction=row.standing.prediction,
                distance=row.standing.distance,
                duration_s=row.duration_s,
                submitted_at=row.standing.submitted_at,
            )
            for row in board.rows
        ],
    )
    return jsonify(body.model_dump(mode="json"))


def _unit_entry(u: service.UnitStanding) -> UnitEntryOut:
    return UnitEntryOut(
        rank=u.place,
        code=u.code,
        name=u.name,
        population=u.population,
        participants=u.participants,
        per_thousand=u.per_thousand,
        mean_score=u.mean_score,
    )


@endpoint(
    "GET",
    "/rounds/<int:round_id>/units",
    summary="The unit (collective) ranking of a round",
    responses={200: UnitsLeaderboardOut, 404: ErrorOut},
    tag="contests",
)
def units_leaderboard(round_id: int) -> Response:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        return api_error(404)
    result = service.unit_ranking(db.session, round_, clock.now(), clock.grace())
    body = UnitsLeaderboardOut(
        round=round_.id,
        final=result.final,
        units=[_unit_entry(u) for u in result.ranked],
        population_unknown=[_unit_entry(u) for u in result.unknown],
    )
    return jsonify(body.model_dump(mode="json"))
