"""Pages of background jobs: the progress page, its status for the page's script, the file.

    /jobs/<id>        [jobs.page]      "Preparing the file… 45 %", then the download link
    /jobs/<id>.json   [jobs.state]     the same as JSON, for static/js/job.js
    /jobs/<id>/file   [jobs.download]  the file (recorded in the audit trail where the kind says)

Every one answers 404 unless the signed-in user started the job and may still run it
(app/jobs.readable): a guessed id, someone else's job and a job past its day look alike."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import clock, jobs
from app.downloads import named_file
from app.extensions import db
from app.models import Job
from app.services import audit

bp = Blueprint("jobs", __name__)


def start(kind: str, args: dict[str, Any]) -> Response:
    """A page's "make the file" button: start the job (or find the same one running) and go
    to its progress page. 403 when the user may not run it."""
    try:
        job = jobs.enqueue(db.session, kind, args, current_user, clock.now())
    except jobs.NotAllowed:
        abort(403)
    return redirect(url_for("jobs.page", job_id=job.id), code=303)  # type: ignore[return-value]


def _job_or_404(job_id: str) -> Job:
    return jobs.readable(db.session, job_id, current_user) or abort(404)


@bp.get("/<job_id>")
@login_required
def page(job_id: str) -> str:
    job = _job_or_404(job_id)
    spec = jobs.KINDS[job.kind]
    return render_template(
        "jobs/job.html",
        job=job,
        title=spec.title,
        back=spec.back(dict(job.args)) if spec.back else None,
        label=label(job),
        error=jobs.ERRORS.get(job.error or "", ""),
    )


@bp.get("/<job_id>.json")
@login_required
def state(job_id: str) -> Response:
    job = _job_or_404(job_id)
    found = jobs.status(job)
    found["file_url"] = url_for("jobs.download", job_id=job.id) if job.state == "done" else None
    found["label"] = label(job)
    response = jsonify(found)
    response.headers["Cache-Control"] = "no-store"
    return response


def label(job: Job) -> str:
    """What the page says of the job's state (the script writes the same words)."""
    if job.state == "queued":
        return _("Waiting for its turn…")
    if job.state == "running":
        return _("Preparing the file… %(percent)s%%", percent=job.progress)
    if job.state == "done":
        return _("The file is ready.")
    return _("The file could not be made.")


@bp.get("/<job_id>/file")
@login_required
def download(job_id: str) -> Response:
    return hand_out(_job_or_404(job_id), current_user)


def hand_out(job: Job, user: Any) -> Response:
    """The job's file (404 while it is not done), recorded in the audit trail where its kind
    says (as the direct export was): the page's download and the API's."""
    if job.state != "done" or not job.filename or not job.mimetype:
        abort(404)
    spec = jobs.KINDS[job.kind]
    meta = job.meta or {}
    if spec.audit_action and meta.get("target"):
        audit.record(
            db.session,
            user,
            spec.audit_action,
            meta["target"],
            meta.get("unit"),
            clock.now(),
            {**(meta.get("detail") or {}), "job": job.id},
        )
        db.session.commit()
    response = named_file(jobs.file_of(db.session, job), job.mimetype, job.filename)
    response.headers["Cache-Control"] = "private, no-store"
    if job.sha256:
        response.headers["X-Content-SHA256"] = job.sha256
    return response
