from flask import Blueprint

bp = Blueprint("contests", __name__)

from app.contests import ranking, routes  # noqa: E402,F401
