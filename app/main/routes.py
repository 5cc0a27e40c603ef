from __future__ import annotations

from flask import Response, abort, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user

from app import clock
from app.access import roles_required
from app.assets import send_asset
from app.db_read import read_session
from app.extensions import db
from app.main import bp
from app.models import Role
from app.plotly_assets import plotly_js, plotly_style_ids, plotly_version
from app.services import health as health_service
from app.services import overview as service
from app.services import policy


@bp.get("/")
def index() -> str:
    """Residents' welcome; a leader's home is the overview of their scope."""
    if current_user.is_authenticated and current_user.role == Role.LEADER:
        return _overview()
    return render_template("main/index.html")


@bp.get("/overview")
@roles_required(*policy.STAFF)
def overview() -> str:
    return _overview()


def _overview() -> str:
    scope = policy.scope_of(current_user)
    return render_template(
        "main/overview.html",
        scope=scope,
        data=service.overview(read_session(), scope, clock.now(), clock.grace()),
        brief_unit=scope.code if scope is not None and scope.level == "commune" else None,
    )


@bp.get("/privacy")
def privacy() -> str:
    from app.consent import CONSENT_TEXT, CONSENT_VERSION

    return render_template("main/privacy.html", text=CONSENT_TEXT, version=CONSENT_VERSION)


@bp.get("/favicon.ico")
def favicon() -> Response:
    # Browsers ask for /favicon.ico whatever the page says; send them to the real one.
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/vendor/plotly-<version>.min.js")
def plotly(version: str) -> Response:
    """plotly.js's cartesian bundle (vendored, no CDN), compressed, cached for a year: the
    version is in the address, so an upgrade changes it. Served from memory (app/assets.py),
    so a phone that leaves mid-download leaves no file open behind it."""
    if version != plotly_version():
        abort(404)
    return send_asset(str(plotly_js()), "text/javascript", version=version)


@bp.app_context_processor
def _plotly_helpers() -> dict[str, object]:
    return {"plotly_version": plotly_version, "plotly_style_ids": plotly_style_ids}


@bp.get("/health")
def health() -> tuple[Response, int]:
    """For the load balancer and the operators (api.md): each part's state, 503 when one is
    down or silent for 2 s. Asks nothing of the session or the mixer (see app/surveys/mixing.py),
    so a hung database cannot hold it past the bound."""
    report = health_service.check(db.engine, current_app.config["REDIS_URL"])
    response = jsonify(report.parts)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if report.ok else 503
