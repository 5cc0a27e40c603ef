"""Surveys over the API: list, read, respond (api.md)."""

from __future__ import annotations

from flask import Response, jsonify, request

from app import clock, formats
from app.api.schemas import ErrorOut
from app.api.spec import caller_claim, endpoint, optional_user
from app.api.survey_schemas import ResponseIn, ResponseOut, SurveyOut, SurveySummaryOut
from app.content.messages import N_, render
from app.errors import api_error
from app.extensions import db
from app.models import CHANNELS, Survey, Unit, UnitLevel, User
from app.ratelimits import SURVEY_SUBMISSIONS
from app.services import entry, hamlets, policy, survey_definition
from app.services import surveys as service


def _summary(survey: Survey, defn: survey_definition.SurveyDef) -> dict[str, object]:
    return {
        "id": survey.slug,
        "title": survey.title,
        "anonymous": survey.anonymous,
        "opens": survey.opens_at.isoformat(),
        "closes": survey.closes_at.isoformat(),
        "minutes": service.estimated_minutes(defn),
    }


@endpoint(
    "GET",
    "/surveys",
    summary="Surveys open to the caller",
    responses={200: list[SurveySummaryOut]},
    tag="surveys",
)
def list_surveys() -> Response:
    user = optional_user()
    found = service.open_surveys(db.session, clock.now(), user.unit if user else None)
    return jsonify([_summary(s, survey_definition.definition(db.session, s)) for s in found])


def _survey(slug: str) -> Survey | None:
    return service.by_slug(db.session, slug)


@endpoint(
    "GET",
    "/surveys/<slug>",
    summary="A survey's pages and questions",
    responses={200: SurveyOut, 404: ErrorOut},
    tag="surveys",
)
def get_survey(slug: str) -> Response:
    survey = _survey(slug)
    if survey is None:
        return api_error(404)
    defn = survey_definition.definition(db.session, survey)
    pages = [
        {
            "title": page["title"],
            "description": page.get("description"),
            "questions": [
                {
                    "id": q.key,
                    "type": q.type,
                    "text": q.text,
                    "help": q.help,
                    "required": q.required,
                    "choices": q.choices,
                    "rows": q.rows,
                    "other": q.other,
                    "max": q.max,
                    "min": q.min,
                    "decimal": q.decimal,
                    "low": q.low,
                    "high": q.high,
                    "show_if": q.show_if,
                }
                for q in defn.page_questions(index)
            ],
        }
        for index, page in enumerate(defn.pages)
    ]
    body = _summary(survey, defn) | {
        "description": survey.description,
        "sign_in": survey.sign_in,
        "show_results": survey.show_results,
        "pages": pages,
    }
    return jsonify(SurveyOut.model_validate(body).model_dump(mode="json"))


@endpoint(
    "POST",
    "/surveys/<slug>/responses",
    summary="Answer a survey (once); officers: a paper form or a resident's answers (channel)",
    body=ResponseIn,
    responses={
        201: ResponseOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    limit=SURVEY_SUBMISSIONS,
    tag="surveys",
)
def respond(slug: str, body: ResponseIn) -> Response | tuple[Response, int]:
    if body.channel in (None, "online") and "hamlet" not in body.model_fields_set:
        try:
            fast = _fast_lane(slug, body)
        except service.SurveyError as error:
            return api_error(error.status, render(error.message, {}, formats.language()))
        if fast is not None:  # the language is looked up only for words to say
            return _answered(fast, formats.language() if fast else "vi")
    lang = formats.language()
    survey = _survey(slug)
    if survey is None:
        return api_error(404)
    channel = body.channel or "online"
    if channel not in CHANNELS:
        message = render(N_("Unknown channel: online, assisted, kiosk or paper."), {}, lang)
        return api_error(422, message, [{"field": "channel", "message": message}])
    user = optional_user(csrf=True)
    if channel != "online":
        return _on_behalf(survey, body, user, channel, lang)
    if user is None and (survey.sign_in == "required" or request.headers.get("Authorization")):
        return api_error(401)
    if user is not None:
        unit = user.unit
    else:
        unit = db.session.get(Unit, body.unit) if body.unit else None
        if unit is None or unit.level != UnitLevel.COMMUNE:
            message = render(N_("Please choose your commune or ward first."), {}, lang)
            return api_error(422, message, [{"field": "unit", "message": message}])
    code = body.hamlet if "hamlet" in body.model_fields_set or user is None else user.hamlet_code
    hamlet = hamlets.hamlet_of(db.session, unit, code)
    if code is not None and hamlet is None:
        message = render(N_("This hamlet is not part of your commune or ward."), {}, lang)
        return api_error(422, message, [{"field": "hamlet", "message": message}])
    defn = survey_definition.definition(db.session, survey)
    answers, problems = service.clean_answers(defn, body.answers, hidden="refuse")
    if problems:
        return _answered(problems, lang)
    try:
        service.submit(db.session, defn, answers, clock.now(), user=user, unit=unit, hamlet=hamlet)
    except service.SurveyError as error:
        return api_error(error.status, render(error.message, {}, lang))
    return _answered([], lang)


def _fast_lane(slug: str, body: ResponseIn) -> list[service.AnswerProblem] | None:
    """A bearer token's own online answer, hamlet as its account names it: the one-read fast
    lane (services.surveys.respond_fast), or None for the full path, which settles and
    explains everything else (a forged or stale token, a survey not found, closed, out of
    the audience, identified; a session's caller, whose CSRF check is the full path's)."""
    claim = caller_claim() if request.headers.get("Authorization") else None
    if claim is None or claim[1] is None:
        return None
    return service.respond_fast(
        db.session, slug, body.answers, clock.now(), owner_id=claim[0], owner_nonce=claim[1]
    )


def _answered(problems: list[service.AnswerProblem], lang: str) -> Response | tuple[Response, int]:
    """201 for a stored response; 422 naming each question whose answer is refused."""
    if problems:
        details = [
            {"question": p.key, "message": render(p.message, p.params, lang)} for p in problems
        ]
        return api_error(422, details[0]["message"], details)
    return jsonify({"status": "received"}), 201


def _on_behalf(
    survey: Survey, body: ResponseIn, user: User | None, channel: str, lang: str
) -> Response | tuple[Response, int]:
    """`channel` paper or assisted: an officer (within scope) entering for someone else
    (app/services/entry.py). Residents and callers not signed in: 403."""
    if user is None or user.role not in policy.MANAGERS:
        return api_error(
            403, render(N_("Only officers enter answers on someone else's behalf."), {}, lang)
        )
    if channel == "kiosk":
        message = render(N_("Kiosk responses come from a kiosk's page, not the API."), {}, lang)
        return api_error(422, message, [{"field": "channel", "message": message}])
    defn = survey_definition.definition(db.session, survey)
    answers, problems = service.clean_answers(defn, body.answers, hidden="refuse")
    if problems:
        return _answered(problems, lang)
    now = clock.now()
    password = None
    try:
        if channel == "paper":
            place = entry.place_of(db.session, body.unit)
            if survey.anonymous and place is None:
                message = render(N_("Please choose the commune, ward or hamlet."), {}, lang)
                return api_error(422, message, [{"field": "unit", "message": message}])
            if not survey.anonymous or place is None:
                raise entry.EntryError(
                    render(N_("Paper forms are entered for anonymous surveys only."), {}, lang)
                )
            batch_id = entry.api_batch(db.session, user, survey, place, now)
            entry.paper_form(db.session, user, defn, batch_id, answers, now)
        else:
            if survey.anonymous:
                raise entry.EntryError(
                    render(
                        N_("This survey is anonymous: nobody may answer it for a named person."),
                        {},
                        lang,
                    )
                )
            if not body.phone:
                message = render(N_("Please give the resident's phone number."), {}, lang)
                return api_error(422, message, [{"field": "phone", "message": message}])
            if not service.is_open(survey, now):
                return api_error(409, render(N_("This survey is not open."), {}, lang))
            resident = entry.find_resident(db.session, user, body.phone)
            if resident is None:
                if not body.name:
                    message = N_("No resident has this phone number: give a name to create one.")
                    return api_error(404, render(message, {}, lang))
                place = entry.place_of(db.session, body.unit or user.unit_code)
                # All or nothing: an answer the survey would refuse makes no account first.
                hamlet = place.hamlet.code if place is not None and place.hamlet else None
                if place is not None and not service.in_audience(survey, place.commune, hamlet):
                    raise service.NotInAudience(
                        N_("This survey is not open to your commune or ward.")
                    )
                made = entry.create_resident(
                    db.session, user, body.name, body.phone, place, now, consent=True
                )
                resident, password = made.user, made.password
            entry.assisted(db.session, user, defn, resident, answers, now)
    except entry.EntryError as error:
        details = [{"field": error.field, "message": error.message}] if error.field else None
        return api_error(error.status, error.message, details)
    except service.SurveyError as error:
        return api_error(error.status, render(error.message, {}, lang))
    out: dict[str, object] = {"status": "received"}
    if password is not None:
        out["one_time_password"] = password
    return jsonify(out), 201
