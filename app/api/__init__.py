"""JSON API v1 (`../shared/specs/api.md`): the same services as the pages, as JSON."""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__)
# CSRF is checked per call in app.api.spec: only calls that rely on the browser's session need it.
csrf.exempt(bp)

from app.api import (  # noqa: E402,F401
    auth,
    content,
    contests,
    jobs,
    ranking,
    results,
    round_stats,
    surveys,
    units,
)
