from flask import Blueprint

bp = Blueprint("dashboards", __name__)

from app.dashboards import contests, routes  # noqa: E402,F401
