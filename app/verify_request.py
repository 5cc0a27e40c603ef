"""The request's side of phone verification, shared by the pages and the API: which sender,
which key, which client address the send limits count (app/services/phone_codes.py)."""

from __future__ import annotations

from flask import current_app, request

from app import clock
from app.extensions import db
from app.models import User
from app.ratelimits import code_send_try
from app.services import phone_codes
from app.sms import sender_for


def send_code(user: User, phone: str | None = None) -> phone_codes.Sent:
    ip = request.remote_addr or "unknown"
    return phone_codes.send(
        db.session,
        user,
        clock.now(),
        secret=current_app.config["SECRET_KEY"],
        sender=sender_for(current_app.config),
        limit=lambda target: code_send_try(target, ip),
        phone=phone,
    )


def confirm_code(user: User, typed: str) -> str:
    return phone_codes.confirm(
        db.session, user, typed, clock.now(), secret=current_app.config["SECRET_KEY"]
    )
