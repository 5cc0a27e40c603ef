"""Pages for officers, leaders and admins, each within their unit."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app import clock
from app.access import STAFF, roles_required
from app.extensions import db
from app.officer import bp
from app.services import policy
from app.services.participation import followed, residents_per_unit


@bp.get("/")
@roles_required(*STAFF)
def dashboard() -> str:
    rows = residents_per_unit(db.session, current_user.unit)
    total = sum(r.people for r in rows)
    empty = [r for r in rows if r.people == 0]
    now = clock.now()
    return render_template(
        "officer/dashboard.html",
        rows=rows,
        total=total,
        empty=empty,
        scope=current_user.unit,
        followed=followed(db.session, policy.scope_of(current_user), now),
        now=now,
        missing_population=sum(1 for r in rows if not r.population),
    )


from app.officer import entry, staff  # noqa: E402,F401  (entry for others; staff and audit pages)
