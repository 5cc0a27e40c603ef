"""Kiosk mode: a shared device at the one-stop office, opened by an officer for one anonymous
survey (app/officer/entry.py). The device holds a signed cookie naming the kiosk, the survey,
the place its responses count in, the officer's grant and the end of its working day
(app/services/entry.py checks the grant on every request). Each person gets a fresh, empty
form, one page with every question; after sending, a thank-you and the next empty form. The
pages are never cached (`no-store`), so the back button shows nobody's answers, and no draft is
kept in the browser. The one-per-device cookie of the ordinary pages does not apply here; a
rate limit per kiosk does (app/ratelimits.py)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from app import clock, formats
from app.content.messages import render
from app.extensions import db
from app.models import Survey
from app.ratelimits import kiosk_try
from app.services import entry, survey_definition
from app.services import surveys as surveys_service
from app.signing import app_serializer
from app.surveys import bp
from app.surveys.forms import from_form

COOKIE = "kiosk"
Page = str | tuple[str, int] | Response


def _serializer() -> URLSafeSerializer:
    return app_serializer("survey-kiosk")


def set_kiosk_cookie(response: Response, kiosk: entry.Kiosk) -> None:
    response.set_cookie(
        COOKIE,
        _serializer().dumps(kiosk.as_dict()),
        max_age=int(entry.KIOSK_LASTS.total_seconds()),
        path="/surveys/",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )


def _cookie_kiosk() -> entry.Kiosk | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        return entry.Kiosk.from_dict(_serializer().loads(raw))
    except BadSignature:
        return None


def _no_store(page: Any, status: int = 200) -> Response:
    response = current_app.make_response((page, status))
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_a_kiosk() -> Response:
    return _no_store(render_template("surveys/kiosk_closed.html"), 403)


def _survey_or_404(slug: str) -> Survey:
    return surveys_service.by_slug(db.session, slug) or abort(404)


_lang = formats.language


def conditions_of(defn: survey_definition.SurveyDef) -> dict[str, str | None]:
    """The skip-logic note of every question, all on one page (paper forms, kiosks)."""
    from app.surveys.routes import _conditions

    return _conditions(defn, list(defn.questions))


def _form(
    survey: Survey,
    defn: survey_definition.SurveyDef,
    place: entry.Place,
    answers: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    notice: str | None = None,
) -> Response:
    page = render_template(
        "surveys/kiosk.html",
        survey=survey,
        defn=defn,
        place=place,
        answers=answers,
        errors=errors,
        conditions=conditions_of(defn),
        notice=notice,
        form=FlaskForm(),
    )
    return _no_store(page, status)


@bp.route("/<slug>/kiosk", methods=["GET", "POST"])
def kiosk(slug: str) -> Response:
    survey = _survey_or_404(slug)
    found = _cookie_kiosk()
    now = clock.now()
    place = entry.kiosk_place(db.session, found, survey, now) if found else None
    if found is None or place is None:
        return _not_a_kiosk()
    defn = survey_definition.definition(db.session, survey)
    if request.method == "GET":
        return _form(survey, defn, place, {}, {})
    if not FlaskForm().validate_on_submit():
        abort(400)
    raw = from_form(defn, request.form)
    answers, problems = surveys_service.clean_answers(defn, raw, hidden="drop")
    if problems:
        bad = {p.key for p in problems}
        kept = answers | {k: v for k, v in raw.items() if k in bad}
        errors = {p.key: render(p.message, p.params, _lang()) for p in problems}
        return _form(survey, defn, place, kept, errors, 422)
    wait = kiosk_try(found.id)
    if wait is not None:
        notice = _(
            "Please wait %(seconds)s seconds, then press Send again: this device takes one "
            "response at a time.",
            seconds=wait,
        )
        refused = _form(survey, defn, place, answers, {}, 429, notice)
        refused.headers["Retry-After"] = str(wait)
        return refused
    try:
        entry.kiosk_response(db.session, defn, place, answers, now)
    except surveys_service.SurveyError as error:
        page = render_template(
            "surveys/kiosk_closed.html", message=render(error.message, {}, _lang())
        )
        return _no_store(page, error.status)
    return redirect(url_for(".kiosk_thanks", slug=slug))


@bp.get("/<slug>/kiosk/thanks")
def kiosk_thanks(slug: str) -> Response:
    survey = _survey_or_404(slug)
    return _no_store(render_template("surveys/kiosk_thanks.html", survey=survey))


@bp.route("/<slug>/kiosk/end", methods=["GET", "POST"])
def kiosk_end(slug: str) -> Page:
    """The officer ends the kiosk on the device: signed in again, then confirmed."""
    survey = _survey_or_404(slug)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=url_for(".kiosk_end", slug=slug)))
    found = _cookie_kiosk()
    if request.method == "GET":
        page = render_template("surveys/kiosk_end.html", survey=survey, form=FlaskForm())
        return _no_store(page)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if found is not None:
        try:
            entry.end_kiosk(db.session, current_user._get_current_object(), found, clock.now())
        except entry.EntryError as error:
            abort(error.status, error.message)
    flash(_("Kiosk mode has ended on this device."), "success")
    response = redirect(url_for("officer.entry_hub"))
    response.delete_cookie(COOKIE, path="/surveys/")
    return response
