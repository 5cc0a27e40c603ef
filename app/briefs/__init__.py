from flask import Blueprint

bp = Blueprint("briefs", __name__)

from app.briefs import routes  # noqa: E402,F401
