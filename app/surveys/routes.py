"""Residents answer surveys page by page; the server decides which questions show. Officers
follow responses per commune and close or extend a survey."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app import clock, formats
from app.access import STAFF, roles_required
from app.content.messages import render
from app.content.preview import condition_words
from app.extensions import db, limiter
from app.models import Survey, Unit, UnitLevel
from app.parse import ID_MAX, int_or_none, optional_int
from app.ratelimits import SURVEY_SUBMISSIONS, account_key
from app.services import analytics, hamlets, policy, survey_definition, survey_progress
from app.services import surveys as service
from app.services.units import communes
from app.surveys import bp
from app.surveys.forms import from_form, hidden_fields
from app.unit_picker import unit_picker

ANSWERED = "answered_surveys"  # in the signed session cookie, for people not signed in


def _survey_or_404(slug: str) -> Survey:
    return service.by_slug(db.session, slug) or abort(404)


_lang = formats.language


@bp.get("/")
def index() -> str:
    unit = current_user.unit if current_user.is_authenticated else None
    now = clock.now()
    listed = []
    hamlet = current_user.hamlet_code if current_user.is_authenticated else None
    for survey in service.open_surveys(db.session, now, unit, hamlet):
        defn = survey_definition.definition(db.session, survey)
        answered = current_user.is_authenticated and service.has_answered(
            db.session, survey, current_user
        )
        listed.append((survey, service.estimated_minutes(defn), answered))
    return render_template("surveys/index.html", surveys=listed)


def _respondent_or_404(slug: str) -> tuple[Survey, Unit | None]:
    """The survey and the commune of the person answering (None: none chosen yet): a signed-in
    person's own; else the one the request names, read with the survey by one statement."""
    if current_user.is_authenticated:
        return _survey_or_404(slug), current_user.unit
    code = int_or_none(request.values.get("unit"), 1, ID_MAX)
    if code is None:
        return _survey_or_404(slug), None
    found = service.by_slug_with_unit(db.session, slug, code) or abort(404)
    survey, unit = found
    return survey, unit if unit is not None and unit.level == UnitLevel.COMMUNE else None


def _refusal(survey: Survey) -> str | None:
    """Why this person cannot answer now, or None."""
    if not service.is_open(survey, clock.now()):
        return _("This survey is not open.")
    if current_user.is_authenticated:
        if service.has_answered(db.session, survey, current_user):
            return _("You have already answered this survey. Thank you!")
        if not service.in_audience(survey, current_user.unit, current_user.hamlet_code):
            return _("This survey is not open to your commune or ward.")
    elif survey.sign_in == "required":
        return None  # the page offers to sign in
    elif survey.slug in session.get(ANSWERED, []):
        return _("You have already answered this survey. Thank you!")
    return None


@bp.get("/<slug>")
def intro(slug: str) -> str:
    survey = _survey_or_404(slug)
    defn = survey_definition.definition(db.session, survey)
    units = (
        communes(db.session)
        if not current_user.is_authenticated and survey.sign_in == "optional"
        else []
    )
    if survey.audience:
        units = [u for u in units if policy.audience_reaches(db.session, survey.audience, u)]
    picker = unit_picker(
        units,
        _("Commune / ward where you live"),
        placeholder=_("— Choose your commune/ward —"),
        required=True,
        search_form="unit-search",  # a GET form: the first page holds nothing else to keep
    )
    return render_template(
        "surveys/intro.html",
        survey=survey,
        minutes=service.estimated_minutes(defn),
        refusal=_refusal(survey),
        unit_picker=picker,
        draft=current_user.is_authenticated
        and service.load_draft(db.session, survey, current_user),
    )


def _page_view(
    defn: survey_definition.SurveyDef,
    page: int,
    answers: dict[str, Any],
    problems: list[service.AnswerProblem],
    unit: Unit,
    status: int = 200,
) -> tuple[str, int]:
    questions = service.pending_on_page(defn, page, answers)
    shown = {q.key for q in questions}
    pages = _pages_with_questions(defn, answers)
    errors = {p.key: render(p.message, p.params, _lang()) for p in problems}
    listed, hamlet = _hamlet_choice(unit)
    page = render_template(
        "surveys/page.html",
        survey=defn.survey,
        hamlets=listed,
        hamlet=hamlet,
        defn=defn,
        page=page,
        questions=questions,
        answers=answers,
        errors=errors,
        hidden=hidden_fields(defn, answers, shown),
        unit=unit,
        first=page == pages[0],
        last=page == pages[-1],
        number=pages.index(page) + 1 if page in pages else 1,
        total=len(pages),
        form=FlaskForm(),
        conditions=_conditions(defn, questions),
    )
    return page, status


def _hamlet_choice(unit: Unit) -> tuple[list[Unit], Unit | None]:
    """The hamlets of the respondent's commune (none: not asked) and the one chosen: as sent
    (`hamlet`, empty: none named), else a signed-in resident's own. A code that is not one of
    the commune's hamlets names none."""
    listed = hamlets.hamlets_of(db.session, unit.code)
    if not listed:
        return [], None
    return listed, _chosen_hamlet(unit)


def _chosen_hamlet(unit: Unit) -> Unit | None:
    """`_hamlet_choice`'s hamlet without the list (storing an answer needs no more): as sent,
    else a signed-in resident's own; one of the commune's hamlets or none (a commune without
    hamlets has none to name)."""
    sent = request.values.get("hamlet")
    if sent is None and current_user.is_authenticated:
        code = current_user.hamlet_code
    else:
        code = int_or_none(sent, 1, ID_MAX)
    return hamlets.hamlet_of(db.session, unit, code)


def _pages_with_questions(defn: survey_definition.SurveyDef, answers: dict[str, Any]) -> list[int]:
    pages = [p for p in range(len(defn.pages)) if service.pending_on_page(defn, p, answers)]
    return pages or [0]


def _conditions(
    defn: survey_definition.SurveyDef, shown: list[survey_definition.QuestionDef]
) -> dict[str, str | None]:
    """The skip-logic note of each question shown, naming the questions it depends on by their
    number on this page (by their text when they are on an earlier page)."""
    by_key = defn.by_key
    numbers = {q.key: n for n, q in enumerate(shown, start=1)}

    def lookup(key: str) -> tuple[str, str, list[str]] | None:
        target = by_key.get(key)
        return (target.type, target.text or target.key, target.choices) if target else None

    return {
        q.key: condition_words(q.show_if, lookup, _lang(), numbers.get) for q in shown if q.show_if
    }


@bp.route("/<slug>/page/<int:page>", methods=["GET", "POST"])
@limiter.limit(
    SURVEY_SUBMISSIONS,
    key_func=account_key,
    methods=["POST"],
    exempt_when=lambda: request.form.get("action") != "submit",
)
def answer(slug: str, page: int) -> Response | str | tuple[str, int]:
    survey, unit = _respondent_or_404(slug)
    if survey.sign_in == "required" and not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=url_for(".intro", slug=slug)))
    refusal = _refusal(survey)
    if refusal:
        flash(refusal, "info")
        return redirect(url_for(".intro", slug=slug))
    if unit is None or not policy.audience_reaches(db.session, survey.audience, unit):
        flash(_("Please choose your commune or ward first."), "danger")
        return redirect(url_for(".intro", slug=slug))
    defn = survey_definition.definition(db.session, survey)
    page = min(max(page, 0), len(defn.pages) - 1)
    if request.method == "GET":
        answers: dict[str, Any] = {}
        if current_user.is_authenticated:
            draft = service.load_draft(db.session, survey, current_user)
            answers = dict(draft.answers) if draft else {}
        return _page_view(defn, page, answers, [], unit)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if request.form.get("action") == "start":  # from the intro page: the commune was chosen
        return _page_view(defn, 0, {}, [], unit)
    raw = from_form(defn, request.form)
    answers, problems = service.clean_answers(defn, raw, hidden="drop", pages=[page])
    answers = _keep_typed(raw, answers, problems)
    action = request.form.get("action", "next")
    pages = _pages_with_questions(defn, answers)
    if action == "back":
        earlier = [p for p in pages if p < page]
        return _page_view(defn, earlier[-1] if earlier else page, answers, [], unit)
    if problems:
        return _page_view(defn, page, answers, problems, unit, 422)
    later = [p for p in pages if p > page]
    now = clock.now()
    if action != "submit" and later:
        if current_user.is_authenticated:
            service.save_draft(db.session, survey, current_user, answers, later[0], now)
        return _page_view(defn, later[0], answers, [], unit)
    answers, problems = service.clean_answers(defn, raw, hidden="drop")
    if problems:
        first_bad = defn.by_key[problems[0].key].page
        return _page_view(defn, first_bad, _keep_typed(raw, answers, problems), problems, unit, 422)
    try:
        service.submit(
            db.session,
            defn,
            answers,
            now,
            user=current_user if current_user.is_authenticated else None,
            unit=unit,
            hamlet=_chosen_hamlet(unit),
        )
    except service.SurveyError as error:
        flash(render(error.message, {}, _lang()), "info")
        return redirect(url_for(".intro", slug=slug))
    if not current_user.is_authenticated:  # `slug`: the survey found by it, not read again
        session[ANSWERED] = [*session.get(ANSWERED, []), slug][-50:]
    return redirect(url_for(".thanks", slug=slug))


def _keep_typed(
    raw: dict[str, Any], clean: dict[str, Any], problems: list[service.AnswerProblem]
) -> dict[str, Any]:
    """What the person typed stays in the form, even where it was refused."""
    bad = {p.key for p in problems}
    return clean | {key: value for key, value in raw.items() if key in bad}


@bp.get("/<slug>/thanks")
def thanks(slug: str) -> str:
    survey = _survey_or_404(slug)
    results = None
    if survey.show_results and _answered(survey):  # overall results, for those who answered
        results = survey_progress.overall_results(
            db.session, survey_definition.definition(db.session, survey)
        )
    return render_template("surveys/thanks.html", survey=survey, results=results)


def _answered(survey: Survey) -> bool:
    if current_user.is_authenticated:
        return service.has_answered(db.session, survey, current_user)
    return survey.slug in session.get(ANSWERED, [])


def _managed_or_403(survey: Survey) -> None:
    """Closing and extending: officers of the survey's owner unit (or a unit above it), admins."""
    if not policy.may_manage(current_user, db.session.get(Unit, survey.owner_unit_code)):
        abort(403)


@bp.route("/<slug>/progress", methods=["GET", "POST"])
@roles_required(*STAFF)
def progress(slug: str) -> Response | str:
    survey = _survey_or_404(slug)
    scope = current_user.unit
    form = FlaskForm()
    if request.method == "POST":
        # The buttons of the progress page lead to a confirmation page; nothing is saved here.
        _managed_or_403(survey)
        if not form.validate_on_submit():
            abort(403)
        if request.form.get("action") == "close":
            return render_template("surveys/close_confirm.html", survey=survey, form=form)
        days = request.form.get("days", "7")
        until = survey_progress.extension_until(survey, clock.now(), days)
        return render_template(
            "surveys/extend_confirm.html", survey=survey, form=form, days=days, until=until
        )
    reader = policy.scope_of(current_user)
    rows = survey_progress.responses_per_unit(db.session, survey, reader)
    completion = (
        survey_progress.completion(db.session, survey, reader) if not survey.anonymous else None
    )
    owner = db.session.get(Unit, survey.owner_unit_code)
    asked = optional_int(request.args.get("unit"), 1, ID_MAX, "unit")
    commune = survey_progress.hamlet_commune(db.session, reader, asked)
    return render_template(
        "surveys/progress.html",
        survey=survey,
        rows=rows,
        commune=commune,
        hamlet_rows=(
            survey_progress.responses_per_hamlet(db.session, survey, commune, reader)
            if commune is not None
            else []
        ),
        completion=completion,
        threshold=survey.min_group or analytics.DEFAULT_THRESHOLD,
        form=form,
        scope=scope,
        may_manage=policy.may_manage(current_user, owner),
        is_open=survey.closes_at > clock.now(),
        missing_population=sum(1 for r in rows if not r.population),
    )


@bp.route("/<slug>/close", methods=["GET", "POST"])
@roles_required(*STAFF)
def close(slug: str) -> Response | str:
    """The confirmed close (the second page's button); a GET shows that page again."""
    survey = _survey_or_404(slug)
    _managed_or_403(survey)
    form = FlaskForm()
    if request.method == "GET":
        return render_template("surveys/close_confirm.html", survey=survey, form=form)
    if not form.validate_on_submit():
        abort(403)
    if survey_progress.close_survey(db.session, survey, clock.now(), current_user):
        flash(_("The survey is closed."), "success")
    else:
        flash(_("The survey was already closed."), "info")
    return redirect(url_for(".progress", slug=slug))


@bp.route("/<slug>/extend", methods=["GET", "POST"])
@roles_required(*STAFF)
def extend(slug: str) -> Response | str:
    """The confirmed extension: saves the closing time the officer was shown."""
    survey = _survey_or_404(slug)
    _managed_or_403(survey)
    if request.method == "GET":
        return redirect(url_for(".progress", slug=slug))
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(403)
    if survey_progress.extend_survey(
        db.session, survey, clock.now(), request.form.get("until"), current_user
    ):
        flash(
            _(
                "The survey now closes on %(when)s.",
                when=formats.when(survey.closes_at, survey.timezone),
            ),
            "success",
        )
    else:
        flash(
            _(
                "Nothing changed: the survey already closes on %(when)s.",
                when=formats.when(survey.closes_at, survey.timezone),
            ),
            "info",
        )
    return redirect(url_for(".progress", slug=slug))
