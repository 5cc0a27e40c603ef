"""Pages for officers, leaders and admins, each within their unit."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app import clock
from app.access import STAFF, roles_required
from app.extensions import db
from app.models import UnitLevel
from app.officer import bp
from app.services import policy
from app.services.participation import followed, residents_per_hamlet, residents_per_unit


@bp.get("/")
@roles_required(*STAFF)
def dashboard() -> str:
    scope = current_user.unit
    if scope.level == UnitLevel.HAMLET:  # a hamlet officer: their hamlet's row, no commune's
        rows, hamlet_rows = [], residents_per_unit(db.session, scope)
    else:
        rows = residents_per_unit(db.session, scope)
        hamlet_rows = residents_per_hamlet(db.session, scope) if scope.level == "commune" else []
    total = sum(r.people for r in rows or hamlet_rows)
    empty = [r for r in rows if r.people == 0]
    now = clock.now()
    return render_template(
        "officer/dashboard.html",
        rows=rows,
        hamlet_rows=hamlet_rows,
        total=total,
        empty=empty,
        scope=current_user.unit,
        followed=followed(db.session, policy.scope_of(current_user), now),
        now=now,
        missing_population=sum(1 for r in rows if not r.population),
    )


from app.officer import (  # noqa: E402,F401  (entry for others; staff, audit and hamlet pages)
    entry,
    hamlets,
    staff,
)
