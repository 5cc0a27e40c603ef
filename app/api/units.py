"""Administrative units and the OpenAPI document."""

from __future__ import annotations

from flask import Response, jsonify

from app.api import bp
from app.api.schemas import UnitOut, UnitsQuery
from app.api.spec import endpoint, openapi_document
from app.extensions import db
from app.models import Unit
from app.services.units import search_units


def unit_out(unit: Unit) -> UnitOut:
    return UnitOut(
        code=unit.code,
        name=unit.name,
        level=unit.level,
        parent=unit.parent_code,  # type: ignore[arg-type]
        population=unit.population,
    )


@endpoint(
    "GET",
    "/units",
    summary="The province and its communes/wards, or with ?parent= a commune's hamlets",
    query=UnitsQuery,
    responses={200: list[UnitOut]},
    tag="units",
)
def units(query: UnitsQuery) -> Response:
    found = search_units(db.session, query.q, query.level, query.parent)
    return jsonify([unit_out(u).model_dump() for u in found])


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
