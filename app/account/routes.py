"""A person's own data: see it, download it, erase it."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.account import bp
from app.account.forms import DeleteAccountForm, PasswordForm
from app.downloads import named_file
from app.extensions import db
from app.models import utcnow
from app.ratelimits import signin_succeeded, signin_try
from app.services.accounts import AccountError, change_password, delete_account, personal_data


@bp.get("/")
@login_required
def profile() -> str:
    return render_template("account/profile.html", user=current_user)


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
            form.current.errors.append(
                _(
                    "Too many failed sign-ins. Please try again in %(minutes)d minutes.",
                    minutes=max(1, round(wait / 60)),
                )
            )
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
