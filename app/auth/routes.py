"""Sign-up, sign-in and sign-out pages. The rules live in app.services.accounts."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app import challenge, clock, devices
from app.auth import bp
from app.auth.forms import LoginForm, RegisterForm
from app.consent import CONSENT_TEXT
from app.extensions import db, limiter
from app.models import Unit, utcnow
from app.parse import ID_MAX, int_or_none
from app.ratelimits import REGISTRATIONS, signin_succeeded, signin_try
from app.security import safe_next
from app.services import eligibility, hamlets, units
from app.services.accounts import (
    AccountError,
    NewAccount,
    authenticate,
    create_account,
    end_sessions,
)
from app.unit_picker import searched, unit_picker


def _sign_in(user) -> None:  # type: ignore[no-untyped-def]
    # A fresh session on sign-in: nothing from before (a fixed session id) carries over.
    session.clear()
    login_user(user)
    session.permanent = True


def _register_page(
    form: RegisterForm, communes: list[Unit], challenge_error: str | None = None
) -> str:
    picker = unit_picker(
        communes,
        str(form.unit.label.text),
        selected=form.unit.raw_data[0] if form.unit.raw_data else "",
        placeholder=_("— Choose your commune/ward —"),
        required=True,
        errors=form.unit.errors,
    )
    check = challenge.for_page(challenge_error) if challenge.active() else None
    commune = int_or_none(form.unit.raw_data[0] if form.unit.raw_data else None, 1, ID_MAX)
    listed = hamlets.hamlets_of(db.session, commune) if commune is not None else []
    form.hamlet.choices = [("", _("— Not stated —"))] + [(h.code, h.name) for h in listed]
    return render_template(
        "auth/register.html",
        hamlets=listed,
        form=form,
        consent_text=CONSENT_TEXT,
        unit_picker=picker,
        challenge=check,
    )


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(REGISTRATIONS, methods=["POST"], exempt_when=searched)
def register() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    communes = units.communes(db.session)
    form.unit.choices = [("", _("— Choose your commune/ward —"))] + [
        (u.code, u.name) for u in communes
    ]
    if request.method == "POST" and searched():
        # The commune search without JavaScript: the page comes back with the matches and
        # everything typed but the passwords (never written back into a page: the picker comes
        # before them, so they are seldom typed yet); nothing is checked, nothing stored.
        page = make_response(_register_page(form, communes))
        page.headers["Cache-Control"] = "no-store"
        return page
    needs_birth_year, needs_phone = eligibility.signup_needs(db.session, clock.now())
    if needs_birth_year:
        form.birth_year.label.text = _("Year of birth (some contests are open from an age)")
    if form.validate_on_submit():
        if needs_birth_year and form.birth_year.data is None:
            form.birth_year.errors.append(_("Please enter a year such as 1985."))
            return _register_page(form, communes), 422
        refused = challenge.refusal(request.form)
        if refused is not None:
            return _register_page(form, communes, refused), 422
        new = NewAccount(
            name=form.name.data or "",
            phone=form.phone.data or "",
            password=form.password.data or "",
            unit_code=form.unit.data or 0,
            hamlet_code=form.hamlet.data,
            birth_year=form.birth_year.data,
            gender=form.gender.data or None,
        )
        try:
            user = create_account(db.session, new, utcnow(), consent=bool(form.consent.data))
        except AccountError as error:
            getattr(form, error.field).errors.append(error.message)
            return _register_page(form, communes), 409 if error.conflict else 422
        devices.remember_signup(db.session, user.id, utcnow())  # prize audit: bursts
        db.session.commit()
        challenge.note_signup()
        _sign_in(user)
        flash(_("Welcome! Your account has been created."), "success")
        if needs_phone:  # a contest takes verified phones only: offer it at once
            return redirect(url_for("account.verify", next=url_for("main.index")))
        return redirect(url_for("main.index"))
    status = 422 if form.is_submitted() else 200
    return _register_page(form, communes), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    destination = safe_next(form.next.data, url_for("main.index"))
    if current_user.is_authenticated:
        return redirect(destination)
    if form.validate_on_submit():
        phone, ip = form.phone.data or "", request.remote_addr or "unknown"
        wait = signin_try(phone, ip)
        if wait is not None:
            minutes = max(1, round(wait / 60))
            form.password.errors.append(
                _(
                    "Too many failed sign-ins. Please try again in %(minutes)d minutes.",
                    minutes=minutes,
                )
            )
            page = render_template("auth/login.html", form=form)
            return page, 429, {"Retry-After": str(wait)}  # type: ignore[return-value]
        user = authenticate(db.session, phone, form.password.data or "", utcnow())
        if user is None:
            form.password.errors.append(_("Wrong phone number or password."))
            return render_template("auth/login.html", form=form), 401
        signin_succeeded(phone, ip)
        _sign_in(user)
        if user.must_change_password:
            flash(_("Welcome! Please replace your one-time password with your own."), "info")
            return redirect(url_for("account.password"))
        return redirect(destination)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Response:
    # Server-side: the account's nonce changes, so every session of it (a copied cookie too,
    # on any device) and every API token stops working.
    end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("main.index"))
