"""Background jobs over the API (api.md is silent on exports, so they follow its conventions):

    POST /api/v1/rounds/{round}/exports  {format}  → 202 the job, `Location` its status URL
    GET  /api/v1/jobs/{job}                         → 200 the job; `file_url` once done
    GET  /api/v1/jobs/{job}/file                    → the file

The same jobs as the pages (app/jobs): the same rule for who may start and read them (404
for anyone but the person who started it), the file downloaded from `file_url`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import Response, g, jsonify, url_for
from pydantic import BaseModel, Field

from app import clock, jobs
from app.api.schemas import ErrorOut, Request
from app.api.spec import endpoint
from app.errors import api_error
from app.extensions import db
from app.jobs.routes import hand_out
from app.models import Job, Round
from app.services import policy


class ExportIn(Request):
    format: Literal["csv", "xlsx"] = Field(default="xlsx", description="csv or xlsx")


class JobOut(BaseModel):
    id: str = Field(description="The job's opaque id")
    state: Literal["queued", "running", "done", "failed"]
    progress: int = Field(description="0 to 100")
    status_url: str
    file_url: str | None = Field(description="Where the file is, once `state` is done")
    filename: str | None
    size: int | None = Field(description="Bytes")
    sha256: str | None
    expires_at: datetime | None = Field(description="The file is kept until then")
    error: str | None = Field(description="Why it failed, in the reader's language")


def _out(job: Job) -> JobOut:
    found = jobs.status(job)
    return JobOut(
        **{k: v for k, v in found.items() if k in JobOut.model_fields},
        status_url=url_for("api.job_status", job_id=job.id),
        file_url=url_for("api.job_file", job_id=job.id) if job.state == "done" else None,
    )


@endpoint(
    "POST",
    "/rounds/<int:round_id>/exports",
    summary="Start the prize audit's export of a round (a background job): 202 and its status",
    body=ExportIn,
    responses={202: JobOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    roles=tuple(r.value for r in policy.MANAGERS),
    tag="contests",
)
def export_round(round_id: int, body: ExportIn) -> Response:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        return api_error(404)
    try:
        job = jobs.enqueue(
            db.session,
            "ranking",
            {"round": round_.id, "format": body.format},
            g.api_user,
            clock.now(),
        )
    except jobs.NotAllowed:
        return api_error(403)
    response = jsonify(_out(job).model_dump(mode="json"))
    response.status_code = 202
    response.headers["Location"] = url_for("api.job_status", job_id=job.id)
    return response


@endpoint(
    "GET",
    "/jobs/<job_id>",
    summary="A background job that the caller started: its state, progress and file",
    responses={200: JobOut, 404: ErrorOut},
    auth=True,
    tag="contests",
)
def job_status(job_id: str) -> Response:
    job = jobs.readable(db.session, job_id, g.api_user)
    if job is None:
        return api_error(404)
    response = jsonify(_out(job).model_dump(mode="json"))
    response.headers["Cache-Control"] = "no-store"
    return response


@endpoint(
    "GET",
    "/jobs/<job_id>/file",
    summary="The file a background job made (CSV, XLSX or ZIP), once its state is done",
    responses={200: None, 404: ErrorOut},
    auth=True,
    tag="contests",
)
def job_file(job_id: str) -> Response:
    job = jobs.readable(db.session, job_id, g.api_user)
    if job is None or job.state != "done":
        return api_error(404)
    return hand_out(job, g.api_user)
