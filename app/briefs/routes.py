"""One-page briefs per commune/ward (PDF) for leaders and officers within their scope."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_login import current_user

from app import clock
from app.access import roles_required
from app.briefs import bp
from app.db_read import read_session
from app.downloads import named_file
from app.extensions import db
from app.jobs.routes import start as start_job
from app.models import Unit, UnitLevel
from app.services import brief as service
from app.services import policy
from app.services.units import communes


@bp.get("/")
@roles_required(*policy.STAFF)
def index() -> str:
    scope = policy.scope_of(current_user)
    shown = [unit for unit in communes(db.session) if policy.within(unit, scope)]
    return render_template("briefs/index.html", communes=shown)


@bp.get("/<int:code>.pdf")
@roles_required(*policy.STAFF)
def brief(code: int) -> Response:
    unit = db.session.get(Unit, code)  # the app's int converter stops at ID_MAX
    if unit is None or unit.level != UnitLevel.COMMUNE:
        abort(404)
    if not policy.within(unit, policy.scope_of(current_user)):
        abort(403)
    data = service.brief(read_session(), unit, clock.now(), grace=clock.grace())
    body = service.pdf(render_template("briefs/brief.html", brief=data))
    response = named_file(body, "application/pdf", f"tom-tat-{unit.code}.pdf", inline=True)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/all.zip")
@roles_required(*policy.STAFF)
def all_briefs() -> Response:
    """The briefs of every commune/ward in the reader's scope, as a ZIP made by a job."""
    return start_job("briefs", {"unit": current_user.unit_code})
