"""Officers publish content over the API: a YAML file in, what was stored (or every problem)."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from app import formats
from app.api.schemas import ContentOut, ErrorOut
from app.api.spec import endpoint
from app.content.pipeline import load_files
from app.content.reader import MAX_BYTES
from app.content.store import Actor
from app.errors import api_error
from app.extensions import db
from app.models import utcnow
from app.services import policy

EDITORS = tuple(r.value for r in policy.MANAGERS)
RESPONSES = {201: ContentOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}


def _publish(kind: str) -> Response | tuple[Response, int]:
    raw = request.get_data(cache=False)
    lang = formats.language()
    if len(raw) > MAX_BYTES:
        return api_error(
            413, None, [{"line": 1, "column": 1, "message": f"> {MAX_BYTES // 2**20} MiB"}]
        )
    user = g.api_user
    actor = Actor.of(user)
    outcome = load_files(db.session, [(f"{kind}.yaml", raw)], actor, utcnow(), expect_kind=kind)[0]
    problems = outcome.refused.problems if outcome.refused else outcome.result.problems
    if problems:
        details = [{"line": p.line, "column": p.column, "message": p.text(lang)} for p in problems]
        if outcome.refused and outcome.refused.forbidden:
            return api_error(403, details[0]["message"], details)
        return api_error(409 if outcome.refused else 422, details[0]["message"], details)
    report = outcome.report
    assert report is not None
    body = {
        kind: report.slug,
        "version": report.version,
        "status": report.status,
        "added": report.added,
        "changed": report.changed,
        "retired": report.retired,
        ("rounds" if kind == "contest" else "questions"): report.count,
    }
    return jsonify(body), 201


@endpoint(
    "POST",
    "/banks",
    summary="Publish a question bank (YAML)",
    yaml_body=True,
    roles=EDITORS,
    responses=RESPONSES,
    tag="content",
)
def post_bank() -> Response | tuple[Response, int]:
    return _publish("bank")


@endpoint(
    "POST",
    "/contests",
    summary="Publish a contest (YAML)",
    yaml_body=True,
    roles=EDITORS,
    responses=RESPONSES,
    tag="content",
)
def post_contest() -> Response | tuple[Response, int]:
    return _publish("contest")


@endpoint(
    "POST",
    "/surveys",
    summary="Publish a survey (YAML)",
    yaml_body=True,
    roles=EDITORS,
    responses=RESPONSES,
    tag="content",
)
def post_survey() -> Response | tuple[Response, int]:
    return _publish("survey")
