"""Accounts over the API: register, token, and the caller's own data."""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, request
from flask_babel import gettext as _

from app import challenge, devices
from app.api.schemas import (
    ChallengeOut,
    ErrorOut,
    MeIn,
    MeOut,
    RegisterIn,
    RegisterOut,
    TokenIn,
    TokenOut,
    VerifiedOut,
    VerifyIn,
    VerifySentOut,
)
from app.api.spec import endpoint
from app.api.units import unit_out
from app.errors import api_error
from app.extensions import db
from app.models import Unit, utcnow
from app.phones import mask_phone
from app.ratelimits import REGISTRATIONS, signin_succeeded, signin_try
from app.services.accounts import (
    AccountError,
    NewAccount,
    authenticate,
    create_account,
    delete_account,
    set_birth_year,
)
from app.services.phone_codes import CodeError
from app.services.tokens import issue_token
from app.verify_request import confirm_code, send_code


@endpoint(
    "POST",
    "/auth/register",
    summary="Create a resident account",
    body=RegisterIn,
    responses={201: RegisterOut, 403: ErrorOut, 409: ErrorOut, 429: ErrorOut},
    limit=REGISTRATIONS,
    tag="auth",
)
def register(body: RegisterIn) -> Response | tuple[Response, int]:
    stopped = challenge.refusal(header=request.headers.get(challenge.HEADER))
    if stopped is not None:
        return api_error(403, stopped, [{"field": "challenge", "message": stopped}])
    new = NewAccount(
        name=body.name,
        phone=body.phone,
        password=body.password,
        unit_code=body.unit,
        hamlet_code=body.hamlet,
        birth_year=body.birth_year,
        gender=body.gender.value if body.gender else None,
    )
    try:
        user = create_account(db.session, new, utcnow(), consent=body.consent)
    except AccountError as error:
        status = 409 if error.conflict else 422
        return api_error(status, error.message, [{"field": error.field, "message": error.message}])
    devices.remember_signup(db.session, user.id, utcnow())  # prize audit: bursts
    db.session.commit()
    challenge.note_signup()
    return jsonify(RegisterOut(id=user.id).model_dump()), 201


@endpoint(
    "POST",
    "/auth/token",
    summary="Exchange phone and password for a bearer token",
    body=TokenIn,
    responses={200: TokenOut, 401: ErrorOut, 429: ErrorOut},
    tag="auth",
)
def token(body: TokenIn) -> Response:
    ip = request.remote_addr or "unknown"
    wait = signin_try(body.phone, ip)
    if wait is not None:
        response = api_error(429, _("Too many failed sign-ins. Please try again later."))
        response.headers["Retry-After"] = str(wait)
        return response
    now = utcnow()
    user = authenticate(db.session, body.phone, body.password, now)
    if user is None:
        return api_error(401, _("Wrong phone number or password."))
    signin_succeeded(body.phone, ip)
    if user.must_change_password:
        return api_error(403, _("Please change your one-time password first."))
    value, expires_at = issue_token(
        current_app.config["SECRET_KEY"], user, now, current_app.config["API_TOKEN_LIFETIME"]
    )
    return jsonify(TokenOut(token=value, expires_at=expires_at).model_dump(mode="json"))


def _me() -> MeOut:
    user = g.api_user
    return MeOut(
        id=user.id,
        name=user.name,
        phone=user.phone,
        phone_masked=mask_phone(user.phone) if user.phone else None,
        phone_verified=user.phone_verified,
        role=user.role,
        unit=unit_out(user.unit),
        hamlet=unit_out(db.session.get(Unit, user.hamlet_code)) if user.hamlet_code else None,
        birth_year=user.birth_year,
        gender=user.gender,
        consents=[{"version": c.version, "given_at": c.given_at} for c in user.consents],
    )


@endpoint(
    "GET",
    "/me",
    summary="The caller's own account data",
    responses={200: MeOut},
    auth=True,
    tag="auth",
)
def me() -> Response:
    return jsonify(_me().model_dump(mode="json"))


@endpoint(
    "PATCH",
    "/me",
    summary="Give or correct the caller's year of birth (contests with min_age need it)",
    body=MeIn,
    responses={200: MeOut},
    auth=True,
    tag="auth",
)
def patch_me(body: MeIn) -> Response:
    set_birth_year(db.session, g.api_user, body.birth_year)
    return jsonify(_me().model_dump(mode="json"))


@endpoint(
    "DELETE",
    "/me",
    summary="Delete the caller's account (name, phone, details erased)",
    responses={204: None, 403: ErrorOut},
    auth=True,
    tag="auth",
)
def delete_me() -> tuple[str, int]:
    delete_account(db.session, g.api_user, utcnow())
    return "", 204


@endpoint(
    "POST",
    "/auth/verify",
    summary="Verify the account's phone: {} sends a 6-digit code, {code} checks it",
    body=VerifyIn,
    responses={
        200: VerifiedOut,
        202: VerifySentOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    auth=True,
    tag="auth",
)
def verify(body: VerifyIn) -> Response | tuple[Response, int]:
    user = g.api_user
    try:
        if body.code is None:
            sent = send_code(user)
            out = VerifySentOut(
                sent=True, phone_masked=mask_phone(sent.phone), expires_at=sent.expires_at
            )
            return jsonify(out.model_dump(mode="json")), 202
        confirm_code(user, body.code)
    except CodeError as error:
        details = [{"field": "code", "message": error.message}] if error.status == 422 else None
        response = api_error(error.status, error.message, details)
        if error.wait is not None:
            response.headers["Retry-After"] = str(error.wait)
        return response
    return jsonify(VerifiedOut(verified=True).model_dump())


@endpoint(
    "GET",
    "/challenge",
    summary="The proof-of-work challenge: solve it and send the payload in X-Altcha",
    responses={200: ChallengeOut},
    tag="auth",
)
def get_challenge() -> Response:
    """Whether sign-up and attempt start ask for it now, and a fresh ALTCHA challenge (v2
    parameters, signed, 10 minutes): solve it, send base64(JSON {challenge, solution})."""
    out = ChallengeOut(active=challenge.active(), challenge=challenge.new_pow())
    response = jsonify(out.model_dump())
    response.headers["Cache-Control"] = "no-store"
    return response
