from flask import Blueprint

bp = Blueprint("officer", __name__)

from app.officer import routes  # noqa: E402,F401
