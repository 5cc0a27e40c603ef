from __future__ import annotations

from flask import Response, jsonify, render_template
from sqlalchemy import text

from app.extensions import db
from app.main import bp


@bp.get("/")
def index() -> str:
    return render_template("main/index.html")


@bp.get("/privacy")
def privacy() -> str:
    from app.consent import CONSENT_TEXT, CONSENT_VERSION

    return render_template("main/privacy.html", text=CONSENT_TEXT, version=CONSENT_VERSION)


@bp.get("/healthz")
def healthz() -> Response:
    """For the load balancer: the app answers and its database does."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
