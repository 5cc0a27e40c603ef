from flask import Blueprint

bp = Blueprint("dashboards", __name__)

from app.dashboards import contests, routes, tallies  # noqa: E402,F401
