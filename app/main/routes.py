from __future__ import annotations

from flask import Response, jsonify, redirect, render_template, send_file, url_for
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


@bp.get("/favicon.ico")
def favicon() -> Response:
    # Browsers ask for /favicon.ico whatever the page says; send them to the real one.
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/vendor/plotly.min.js")
def plotly() -> Response:
    """plotly.js from the copy bundled in the plotly package: served by the app, no CDN."""
    from importlib.resources import files

    path = files("plotly") / "package_data" / "plotly.min.js"
    response = send_file(str(path), mimetype="text/javascript", max_age=30 * 24 * 3600)
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """For the load balancer: the app answers and its database does."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
