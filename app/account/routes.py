"""A person's own data: see it, download it, erase it."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app import clock
from app.account import bp
from app.account.forms import (
    BirthYearForm,
    CodeForm,
    DeleteAccountForm,
    HamletForm,
    PasswordForm,
    PhoneChangeForm,
    SendCodeForm,
)
from app.downloads import named_file
from app.extensions import db
from app.models import utcnow
from app.phones import mask_phone
from app.ratelimits import signin_succeeded, signin_try
from app.security import safe_next
from app.services import hamlets, phone_codes
from app.services.accounts import (
    AccountError,
    change_password,
    delete_account,
    password_matches,
    personal_data,
    set_birth_year,
    set_hamlet,
)
from app.verify_request import confirm_code, send_code


@bp.get("/")
@login_required
def profile() -> str:
    pending = phone_codes.pending_phone(db.session, current_user, clock.now())
    listed = hamlets.hamlets_of(db.session, current_user.unit_code)
    hamlet = next((h for h in listed if h.code == current_user.hamlet_code), None)
    return render_template(
        "account/profile.html", user=current_user, pending=pending, hamlets=listed, hamlet=hamlet
    )


@bp.route("/hamlet", methods=["GET", "POST"])
@login_required
def hamlet() -> Response | tuple[str, int]:
    """The person names their hamlet (ấp, khu vực, tổ dân phố) within their commune, or none."""
    form = HamletForm()
    listed = hamlets.hamlets_of(db.session, current_user.unit_code)
    form.hamlet.choices = [("", _("— Not stated —"))] + [(h.code, h.name) for h in listed]
    if request.method == "GET":
        form.hamlet.data = current_user.hamlet_code
    if form.validate_on_submit():
        try:
            set_hamlet(db.session, current_user._get_current_object(), form.hamlet.data)
        except AccountError as error:
            form.hamlet.errors = [error.message]
            return render_template("account/hamlet.html", form=form, hamlets=listed), 422
        flash(_("Your hamlet is saved."), "success")
        return redirect(url_for("account.profile"))
    status = 422 if form.is_submitted() else 200
    return render_template("account/hamlet.html", form=form, hamlets=listed), status


def _too_many_tries(wait: int) -> str:
    return _(
        "Too many failed sign-ins. Please try again in %(minutes)d minutes.",
        minutes=max(1, round(wait / 60)),
    )


def _verify_page(
    send_form: SendCodeForm, code_form: CodeForm, status: int = 200, send_error: str | None = None
) -> tuple[str, int]:
    user = current_user._get_current_object()
    pending = phone_codes.pending_phone(db.session, user, clock.now())
    target = pending or user.phone or ""
    return render_template(
        "account/verify.html",
        send_form=send_form,
        code_form=code_form,
        target=mask_phone(target),
        changing=pending is not None,
        verified=user.phone_verified and pending is None,
        send_error=send_error,
        next=safe_next(request.values.get("next"), ""),
    ), status


@bp.route("/verify", methods=["GET", "POST"])
@login_required
def verify() -> Response | tuple[str, int]:
    """ "Xác minh số điện thoại": send a code to the phone (or the number being moved to),
    type it back. Without JavaScript, two plain forms."""
    send_form, code_form = SendCodeForm(prefix="s"), CodeForm(prefix="c")
    user = current_user._get_current_object()
    destination = safe_next(request.values.get("next"), url_for("account.profile"))
    if send_form.send.data and send_form.validate_on_submit():
        pending = phone_codes.pending_phone(db.session, user, clock.now())
        try:
            sent = send_code(user, pending)
        except phone_codes.CodeError as error:
            page, status = _verify_page(send_form, code_form, error.status, error.message)
            headers = {"Retry-After": str(error.wait)} if error.wait else {}
            return page, status, headers  # type: ignore[return-value]
        flash(_("A code was sent to %(phone)s.", phone=mask_phone(sent.phone)), "info")
        return redirect(url_for("account.verify", next=request.values.get("next") or None))
    if code_form.confirm.data:
        if not code_form.validate_on_submit():
            return _verify_page(send_form, code_form, 422)
        try:
            confirm_code(user, code_form.code.data or "")
        except phone_codes.CodeError as error:
            code_form.code.errors = [error.message]
            return _verify_page(send_form, code_form, error.status)
        flash(_("Your phone number is verified."), "success")
        return redirect(destination)
    return _verify_page(send_form, code_form, 422 if request.method == "POST" else 200)


@bp.route("/phone", methods=["GET", "POST"])
@login_required
def phone() -> Response | tuple[str, int]:
    """Change the phone: the current password, then a code to the new number; the account
    keeps the old number until that code comes back (the verify page)."""
    form = PhoneChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        ip = request.remote_addr or "unknown"
        wait = signin_try(user.phone or "", ip)
        if wait is not None:
            form.current.errors.append(_too_many_tries(wait))
            return render_template("account/phone.html", form=form), 429
        if not password_matches(user, form.current.data or ""):
            form.current.errors.append(_("The current password is not right."))
            return render_template("account/phone.html", form=form), 422
        signin_succeeded(user.phone or "", ip)
        if form.phone.data == user.phone:
            form.phone.errors.append(_("This is already your phone number."))
            return render_template("account/phone.html", form=form), 422
        try:
            sent = send_code(user, form.phone.data)
        except phone_codes.CodeError as error:
            form.phone.errors.append(error.message)
            return render_template("account/phone.html", form=form), error.status
        flash(_("A code was sent to %(phone)s.", phone=mask_phone(sent.phone)), "info")
        return redirect(url_for("account.verify"))
    status = 422 if form.is_submitted() else 200
    return render_template("account/phone.html", form=form), status


@bp.route("/birth-year", methods=["GET", "POST"])
@login_required
def birth_year() -> Response | tuple[str, int]:
    form = BirthYearForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        form.birth_year.data = current_user.birth_year
    if form.validate_on_submit():
        try:
            set_birth_year(db.session, current_user._get_current_object(), form.birth_year.data)
        except AccountError as error:
            form.birth_year.errors = [error.message]
            return render_template("account/birth_year.html", form=form), 422
        flash(_("Your year of birth is saved."), "success")
        return redirect(safe_next(form.next.data, url_for("account.profile")))
    status = 422 if form.is_submitted() else 200
    return render_template("account/birth_year.html", form=form), status


@bp.get("/data.json")
@login_required
def download() -> Response:
    body = json.dumps(personal_data(db.session, current_user), ensure_ascii=False, indent=2)
    return named_file(body, "application/json", "du-lieu-cua-toi.json")


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete() -> Response | str | tuple[str, int]:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        delete_account(db.session, current_user._get_current_object(), utcnow())
        logout_user()
        session.clear()
        flash(_("Your account has been deleted. Thank you for taking part."), "info")
        return redirect(url_for("main.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("account/delete.html", form=form), status


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Response | str | tuple[str, int]:
    """Change the password: every other session and token of the account ends; this browser
    gets a fresh session."""
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        wait = signin_try(user.phone or "", request.remote_addr or "unknown")
        if wait is not None:  # the current password is guessed no faster than at sign-in
            form.current.errors.append(_too_many_tries(wait))
            return render_template("account/password.html", form=form), 429
        try:
            change_password(
                db.session, user, form.current.data or "", form.password.data or "", utcnow()
            )
        except AccountError as error:
            getattr(form, error.field).errors.append(error.message)
            return render_template("account/password.html", form=form), 422
        signin_succeeded(user.phone or "", request.remote_addr or "unknown")
        session.clear()
        login_user(user)
        session.permanent = True
        flash(_("Your password has been changed. You are signed out everywhere else."), "success")
        return redirect(url_for("account.profile"))
    status = 422 if form.is_submitted() else 200
    return render_template("account/password.html", form=form), status
