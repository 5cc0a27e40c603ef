"""Entering answers on others' behalf (issue 20): "Nhập hộ" for identified surveys, paper forms
of anonymous surveys, and opening a survey in kiosk mode. The rules live in
app/services/entry.py (what is stored, the audit trail) and app/services/policy.py (who may)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app import clock, formats
from app.access import roles_required
from app.consent import CONSENT_TEXT
from app.content.messages import render
from app.extensions import db
from app.models import Role, Survey, User
from app.officer import bp
from app.parse import ID_MAX, int_or_none
from app.phones import mask_phone
from app.services import entry, policy, survey_definition
from app.services import surveys as surveys_service
from app.surveys.forms import from_form
from app.surveys.kiosk import conditions_of, set_kiosk_cookie

BATCHES = "paper_batches"  # in the officer's signed session: survey slug -> batch (audit id)
Page = str | tuple[str, int] | Response
T = TypeVar("T")


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


_lang = formats.language


def _survey_or_404(slug: str) -> Survey:
    return surveys_service.by_slug(db.session, slug) or abort(404)


def _refused(error: entry.EntryError, back: str | None = None) -> tuple[str, int]:
    return render_template("officer/entry/refused.html", message=error.message, back=back), (
        error.status
    )


def _errors(problems: list[surveys_service.AnswerProblem]) -> dict[str, str]:
    return {p.key: render(p.message, p.params, _lang()) for p in problems}


def _keep_typed(
    raw: dict[str, Any], clean: dict[str, Any], problems: list[surveys_service.AnswerProblem]
) -> dict[str, Any]:
    bad = {p.key for p in problems}
    return clean | {key: value for key, value in raw.items() if key in bad}


def _place_from_form() -> entry.Place | None:
    return entry.place_of(db.session, int_or_none(request.form.get("unit"), 1, ID_MAX))


def _open_at_place(open_: Callable[[entry.Place], T]) -> tuple[T | None, str | None, int]:
    """The place chosen in the form, then `open_(place)` (a paper batch, a kiosk): its result,
    or the message and status that refused it."""
    place = _place_from_form()
    if place is None:
        return None, _("Please choose the commune, ward or hamlet."), 422
    try:
        return open_(place), None, 200
    except entry.EntryError as refused:
        return None, refused.message, refused.status


@dataclass
class _Sent:
    """One survey form sent on someone's behalf: saved (`saved`), sent back with what was typed
    and the problems (422), or refused (`refusal`, the page to show)."""

    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200
    refusal: tuple[str, int] | None = None
    saved: Any = None


def _take_answers(
    defn: survey_definition.SurveyDef, save: Callable[[dict[str, Any]], Any], back: str
) -> _Sent:
    """The answers of the form (assisted entry, a paper form), checked, then `save(answers)`."""
    raw = from_form(defn, request.form)
    answers, problems = surveys_service.clean_answers(defn, raw, hidden="drop")
    if problems:
        return _Sent(_keep_typed(raw, answers, problems), _errors(problems), 422)
    try:
        return _Sent(answers, saved=save(answers))
    except entry.EntryError as error:
        return _Sent(refusal=_refused(error, back))
    except surveys_service.SurveyError as error:
        message = render(error.message, {}, _lang())
        return _Sent(refusal=_refused(entry.EntryError(message, error.status), back))


@bp.get("/entry/")
@roles_required(*policy.MANAGERS)
def entry_hub() -> str:
    me = _me()
    listed = []
    for survey in surveys_service.open_surveys(db.session, clock.now(), None):
        if entry.places_for(db.session, me, survey):
            listed.append(survey)
    kiosks = entry.open_kiosks(db.session, me, clock.now())
    return render_template(
        "officer/entry/hub.html", surveys=listed, kiosks=kiosks, form=FlaskForm()
    )


@bp.post("/entry/kiosks/<kiosk_id>/end")
@roles_required(*policy.MANAGERS)
def entry_kiosk_end(kiosk_id: str) -> Page:
    """End a kiosk from elsewhere (the officer's own phone): the shared device stops at once."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        entry.end_kiosk_by_id(db.session, _me(), kiosk_id[:64], clock.now())
    except entry.EntryError as error:
        return _refused(error, url_for(".entry_hub"))
    flash(_("Kiosk mode has ended on that device."), "success")
    return redirect(url_for(".entry_hub"))


# ----------------------------------------------------------------------------- residents


@bp.route("/entry/residents/new", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def entry_resident_new() -> Page:
    me = _me()
    places = entry.places_for(db.session, me)
    slug = request.values.get("survey") or ""
    survey = surveys_service.by_slug(db.session, slug) if slug else None
    values = {
        "name": request.values.get("name", ""),
        "phone": request.values.get("phone", ""),
        "unit": request.values.get("unit") or str(me.unit_code),
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            made = entry.create_resident(
                db.session,
                me,
                values["name"],
                values["phone"],
                _place_from_form(),
                clock.now(),
                consent=request.form.get("consent") == "y",
            )
        except entry.EntryError as error:
            errors[error.field or "name"] = error.message
            status = error.status
        else:
            return render_template(
                "officer/entry/resident_issued.html",
                made=made,
                place=entry.resident_place(db.session, made.user),
                survey=survey if survey is not None and not survey.anonymous else None,
            ), 201
    return render_template(
        "officer/entry/resident_new.html",
        places=places,
        values=values,
        errors=errors,
        survey=survey,
        consent_text=CONSENT_TEXT,
        form=FlaskForm(),
    ), status


# ------------------------------------------------------------------------------ assisted


def _identified_or_refused(survey: Survey) -> tuple[str, int] | None:
    if survey.anonymous:
        return _refused(
            entry.EntryError(
                _(
                    "This survey is anonymous: nobody may answer it on a named person's "
                    "behalf. Enter paper forms, or open it in kiosk mode."
                )
            ),
            url_for(".entry_hub"),
        )
    return None


@bp.route("/entry/<slug>/assisted", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def entry_assisted_find(slug: str) -> Page:
    survey = _survey_or_404(slug)
    refusal = _identified_or_refused(survey)
    if refusal:
        return refusal
    phone = request.form.get("phone", "")
    error = None
    status = 200
    if request.method == "POST":
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            resident = entry.find_resident(db.session, _me(), phone)
        except entry.EntryError as refused:
            error, status = refused.message, refused.status
        else:
            if resident is not None:
                return redirect(url_for(".entry_assisted", slug=slug, user_id=resident.id))
            status = 404
    return render_template(
        "officer/entry/assisted_find.html",
        survey=survey,
        phone=phone,
        error=error,
        missing=status == 404,
        form=FlaskForm(),
    ), status


@bp.route("/entry/<slug>/assisted/<int:user_id>", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def entry_assisted(slug: str, user_id: int) -> Page:
    survey = _survey_or_404(slug)
    refusal = _identified_or_refused(survey)
    if refusal:
        return refusal
    me = _me()
    resident = db.session.get(User, user_id)
    if resident is None or resident.role != Role.RESIDENT or not resident.is_active:
        abort(404)
    place = entry.resident_place(db.session, resident)
    if not policy.may_enter_for(me, place.unit):
        abort(403)
    defn = survey_definition.definition(db.session, survey)
    back = url_for(".entry_assisted_find", slug=slug)
    if not surveys_service.is_open(survey, clock.now()):
        return _refused(entry.EntryError(_("This survey is not open."), 409), back)
    if surveys_service.has_answered(db.session, survey, resident):
        message = _("This person has already answered this survey: one response per person.")
        return _refused(entry.EntryError(message, 409), back)
    sent = _Sent()
    if request.method == "POST":
        if not FlaskForm().validate_on_submit():
            abort(400)
        sent = _take_answers(
            defn,
            lambda answers: entry.assisted(db.session, me, defn, resident, answers, clock.now()),
            back,
        )
        if sent.refusal:
            return sent.refusal
        if sent.status == 200:
            flash(_("Saved: the answers of %(name)s.", name=resident.name or ""), "success")
            return redirect(back)
    return render_template(
        "officer/entry/assisted_form.html",
        survey=survey,
        defn=defn,
        resident=resident,
        masked=mask_phone(resident.phone or ""),
        place=place,
        answers=sent.answers,
        errors=sent.errors,
        conditions=conditions_of(defn),
        form=FlaskForm(),
    ), sent.status


# --------------------------------------------------------------------------- paper forms


def _anonymous_or_refused(survey: Survey, what: str) -> tuple[str, int] | None:
    if not survey.anonymous:
        return _refused(
            entry.EntryError(
                _(
                    "%(what)s is for anonymous surveys: for this survey, enter each person's "
                    "answers with their phone number (assisted entry).",
                    what=what,
                )
            ),
            url_for(".entry_hub"),
        )
    return None


def _current_batch(survey: Survey) -> entry.Batch | None:
    batch_id = (session.get(BATCHES) or {}).get(survey.slug)
    found = entry.batch(db.session, _me(), batch_id, survey)
    return found if found is not None and found.ended is None else None


@bp.route("/entry/<slug>/paper", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def entry_paper(slug: str) -> Page:
    survey = _survey_or_404(slug)
    refusal = _anonymous_or_refused(survey, _("Paper form entry"))
    if refusal:
        return refusal
    me = _me()
    error = None
    status = 200
    if request.method == "POST":
        if not FlaskForm().validate_on_submit():
            abort(400)
        batch_id, error, status = _open_at_place(
            lambda place: entry.start_batch(db.session, me, survey, place, clock.now())
        )
        if batch_id is not None:
            session[BATCHES] = {**(session.get(BATCHES) or {}), slug: batch_id}
            return redirect(url_for(".entry_paper_form", slug=slug))
    return render_template(
        "officer/entry/paper_start.html",
        survey=survey,
        places=entry.places_for(db.session, me, survey),
        current=_current_batch(survey),
        chosen=request.form.get("unit", ""),
        error=error,
        form=FlaskForm(),
    ), status


@bp.route("/entry/<slug>/paper/form", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def entry_paper_form(slug: str) -> Page:
    survey = _survey_or_404(slug)
    refusal = _anonymous_or_refused(survey, _("Paper form entry"))
    if refusal:
        return refusal
    batch = _current_batch(survey)
    if batch is None:
        flash(_("Start a batch first: choose where the forms were filled in."), "info")
        return redirect(url_for(".entry_paper", slug=slug))
    defn = survey_definition.definition(db.session, survey)
    sent = _Sent()
    if request.method == "POST":
        if not FlaskForm().validate_on_submit():
            abort(400)
        sent = _take_answers(
            defn,
            lambda answers: entry.paper_form(
                db.session, _me(), defn, batch.id, answers, clock.now()
            ),
            url_for(".entry_paper", slug=slug),
        )
        if sent.refusal:
            return sent.refusal
        if sent.status == 200:
            flash(_("Form no. %(n)s saved. Next form:", n=sent.saved), "success")
            return redirect(url_for(".entry_paper_form", slug=slug))
    return render_template(
        "officer/entry/paper_form.html",
        survey=survey,
        defn=defn,
        batch=batch,
        answers=sent.answers,
        errors=sent.errors,
        conditions=conditions_of(defn),
        form=FlaskForm(),
    ), sent.status


@bp.post("/entry/<slug>/paper/end")
@roles_required(*policy.MANAGERS)
def entry_paper_end(slug: str) -> Page:
    survey = _survey_or_404(slug)
    if not FlaskForm().validate_on_submit():
        abort(400)
    batch_id = (session.get(BATCHES) or {}).get(slug)
    try:
        ended = entry.end_batch(db.session, _me(), batch_id, survey, clock.now())
    except entry.EntryError as error:
        return _refused(error, url_for(".entry_paper", slug=slug))
    session[BATCHES] = {k: v for k, v in (session.get(BATCHES) or {}).items() if k != slug}
    return render_template("officer/entry/paper_done.html", survey=survey, batch=ended)


# --------------------------------------------------------------------------------- kiosk


@bp.route("/entry/<slug>/kiosk", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def entry_kiosk(slug: str) -> Page:
    survey = _survey_or_404(slug)
    refusal = _anonymous_or_refused(survey, _("Kiosk mode"))
    if refusal:
        return refusal
    me = _me()
    error = None
    status = 200
    if request.method == "POST":
        if not FlaskForm().validate_on_submit():
            abort(400)
        kiosk, error, status = _open_at_place(
            lambda place: entry.open_kiosk(db.session, me, survey, place, clock.now())
        )
        if kiosk is not None:
            # The shared device must not stay signed in as the officer.
            logout_user()
            session.clear()
            response = make_response(redirect(url_for("surveys.kiosk", slug=slug)))
            set_kiosk_cookie(response, kiosk)
            return response
    return render_template(
        "officer/entry/kiosk_open.html",
        survey=survey,
        places=entry.places_for(db.session, me, survey),
        chosen=request.form.get("unit", ""),
        error=error,
        hours=int(entry.KIOSK_LASTS.total_seconds() // 3600),
        form=FlaskForm(),
    ), status
