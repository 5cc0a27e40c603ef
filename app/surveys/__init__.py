from flask import Blueprint

bp = Blueprint("surveys", __name__)

from app.surveys import kiosk, routes  # noqa: E402,F401  (kiosk: kiosk mode)
