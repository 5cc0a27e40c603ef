"""Residents' contest pages: rounds, a timed attempt that works with and without JavaScript,
the result and the review. The rules live in app.services.attempts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import admission, challenge, clock, devices
from app.content.messages import N_
from app.contests import bp
from app.contests.texts import prediction_question, review_policy, state_label
from app.errors import DomainError
from app.extensions import db, limiter
from app.models import Attempt, Contest, Role, Round
from app.parse import PREDICTION_MAX, SEQ_MAX, bounded_int, optional_int
from app.ratelimits import ATTEMPT_STARTS, account_key
from app.services import attempts as service
from app.services import eligibility


@bp.app_context_processor
def _helpers() -> dict[str, object]:
    return {"state_label": state_label, "review_policy": review_policy}


@bp.get("/")
def index() -> str:
    contests = db.session.scalars(select(Contest).order_by(Contest.created_at.desc())).all()
    now = clock.now()
    visible = [
        c
        for c in contests
        if not current_user.is_authenticated
        or service.in_audience(c, current_user.unit, current_user.hamlet_code)
    ]
    return render_template(
        "contests/index.html", contests=visible, now=now, state=service.round_state
    )


def _round_or_404(round_id: int) -> Round:
    return db.session.get(Round, round_id) or abort(404)


@bp.get("/rounds/<int:round_id>")
def round_page(round_id: int) -> str:
    round_ = _round_or_404(round_id)
    mine = []
    if current_user.is_authenticated:
        mine = service.attempts_of(db.session, round_.id, current_user.id)
    now = clock.now()
    state = service.round_state(round_, now)
    check = None
    if state == "open" and current_user.is_authenticated and challenge.active():
        check = challenge.for_page()
    return render_template(
        "contests/round.html",
        round=round_,
        contest=round_.contest,
        mine=mine,
        state=state,
        form=FlaskForm(),
        prediction=prediction_question(round_.prediction),
        challenge=check,
    )


@bp.post("/rounds/<int:round_id>/start")
@login_required
@limiter.limit(ATTEMPT_STARTS, key_func=account_key, deduct_when=lambda _r: admission.counted())
def start(round_id: int) -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    round_ = _round_or_404(round_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.role != Role.RESIDENT:
        abort(403)
    stopped = challenge.refusal(request.form)
    if stopped is not None:
        flash(stopped, "danger")
        return redirect(url_for(".round_page", round_id=round_.id))
    return _start_or_wait(round_)


@bp.get("/rounds/<int:round_id>/queue")
@login_required
@limiter.limit(ATTEMPT_STARTS, key_func=account_key, deduct_when=lambda _r: admission.counted())
def queue(round_id: int) -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Where the waiting page refreshes to: the start asked for (by the form, CSRF-checked) goes
    ahead once its turn comes. Without a ticket of that form, back to the round's page."""
    round_ = _round_or_404(round_id)
    if current_user.role != Role.RESIDENT or str(round_.id) not in session.get(QUEUE, {}):
        return redirect(url_for(".round_page", round_id=round_.id))
    return _start_or_wait(round_)


QUEUE = "queue"  # the session's tickets: {round id: signed ticket}


def _start_or_wait(
    round_: Round,
) -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The start, once admission control lets it run (app/admission.py); else the waiting
    page, the ticket kept in the session so that each refresh keeps the person's place."""
    tickets = dict(session.get(QUEUE, {}))
    key = str(round_.id)
    refused = eligibility.refusal(current_user, round_, clock.now())
    if refused is not None:
        return render_template("contests/ineligible.html", round=round_, refusal=refused), 409
    try:
        with admission.turn(db.session, round_, current_user, tickets.get(key)) as decision:
            if not decision.admitted:
                tickets[key] = decision.ticket
                session[QUEUE] = dict(list(tickets.items())[-5:])
                page = render_template("contests/waiting.html", round=round_, decision=decision)
                # No JavaScript needed: the browser comes back by itself when the turn should
                # come. The Refresh header does what <meta http-equiv="refresh"> does; axe-core's
                # meta-refresh rule (WCAG 2.2.1) refuses the tag. The page says that it refreshes
                # and when, holds nothing to lose, and the wait is for a live opening.
                again = url_for(".queue", round_id=round_.id)
                return page, 200, {"Refresh": f"{decision.retry_s}; url={again}"}
            if tickets.pop(key, None) is not None:
                session[QUEUE] = tickets
            attempt, created = service.start(
                db.session, round_, current_user, clock.now(), clock.grace()
            )
            if created:
                decision.made_attempt()
    except service.AttemptError as error:
        if tickets.pop(key, None) is not None:
            session[QUEUE] = tickets
        return render_template(
            "errors/error.html", status=error.status, message=_(error.message)
        ), error.status
    devices.remember_start(db.session, attempt.id, round_.id)  # prize audit: where it began
    db.session.commit()
    return redirect(url_for(".attempt_page", attempt_id=attempt.id))


def _own_attempt(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)
    return attempt


@bp.get("/attempts/<int:attempt_id>")
@login_required
def attempt_page(attempt_id: int) -> Response | str:
    attempt = _own_attempt(attempt_id)
    now = clock.now()
    if attempt.state == "open" and service.is_late(attempt, now, clock.grace()):
        service.finish(db.session, attempt, now, clock.grace())
    if attempt.state != "open":
        return redirect(url_for(".result", attempt_id=attempt.id))
    return _attempt_page(attempt, FlaskForm())


def _attempt_page(
    attempt: Attempt,
    form: FlaskForm,
    *,
    prediction_error: str | None = None,
    prediction_typed: str | None = None,
) -> str:
    now = clock.now()
    saved = optional_int(request.args.get("saved"), 1, len(attempt.questions), "saved")
    return render_template(
        "contests/attempt.html",
        attempt=attempt,
        questions=service.paper(db.session, attempt),
        remaining=service.remaining_s(attempt, now),
        now=now,
        form=form,
        prediction=prediction_question(attempt.round.prediction),
        prediction_error=prediction_error,
        prediction_typed=prediction_typed,
        saved=str(saved) if saved else None,
    )


@bp.post("/attempts/<int:attempt_id>")
@login_required
def attempt_post(attempt_id: int) -> Response | tuple[str, int] | str:
    """The page's form without JavaScript: save every answer shown; "Lưu" returns to the
    question answered; "Nộp bài" asks first when questions or the prediction are missing."""
    attempt = _own_attempt(attempt_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    now, grace = clock.now(), clock.grace()
    answers = {  # every counter read before anything is saved: a bad one changes nothing
        item.position: (
            request.form.getlist(f"q-{item.position}"),
            bounded_int(form_seq, 0, SEQ_MAX - 1, f"seq-{item.position}") + 1,
        )
        for item in attempt.questions
        if (form_seq := request.form.get(f"seq-{item.position}")) is not None
    }
    typed = request.form.get("prediction", "")
    try:
        changed = service.save_answers(db.session, attempt, answers, now, grace)
        if request.form.get("action") == "submit":
            try:
                prediction = _prediction(typed)
            except DomainError as error:
                return _prediction_refused(attempt, form, error.message(), typed)
            check = service.before_submit(db.session, attempt, prediction)
            if not check.complete and not request.form.get("confirmed"):
                # its own address, so that its links back to the questions load the page
                return redirect(
                    url_for(".confirm", attempt_id=attempt.id, prediction=typed or None)
                )
            service.finish(db.session, attempt, now, grace, prediction)
            return redirect(url_for(".result", attempt_id=attempt.id))
    except service.AttemptClosed:
        return redirect(url_for(".result", attempt_id=attempt.id))
    except service.PredictionRequired as error:
        return _prediction_refused(attempt, form, _(error.message), typed)
    except service.AttemptError as error:
        flash(_(error.message), "danger")
        return _attempt_page(attempt, form), error.status
    if not changed:
        return redirect(url_for(".attempt_page", attempt_id=attempt.id))
    last = changed[-1]  # where the person was: the page opens there, saying it is saved
    return redirect(
        url_for(".attempt_page", attempt_id=attempt.id, saved=last, _anchor=f"q-{last}")
    )


def _prediction_refused(
    attempt: Attempt, form: FlaskForm, message: str, typed: str
) -> tuple[str, int]:
    """The attempt page again, the prediction field marked, focused and explained beside it."""
    page = _attempt_page(attempt, form, prediction_error=message, prediction_typed=typed)
    return page, 422


@bp.get("/attempts/<int:attempt_id>/confirm")
@login_required
def confirm(attempt_id: int) -> Response | str:
    """Before submitting without JavaScript: the blank questions, each linked back, and the
    prediction when it is missing (asked here too). The answers are already saved."""
    attempt = _own_attempt(attempt_id)
    if attempt.state != "open":
        return redirect(url_for(".result", attempt_id=attempt.id))
    typed = request.args.get("prediction", "")
    try:
        prediction = _prediction(typed)
    except DomainError:
        prediction, typed = None, ""
    return render_template(
        "contests/confirm.html",
        attempt=attempt,
        check=service.before_submit(db.session, attempt, prediction),
        now=clock.now(),
        form=FlaskForm(),
        prediction=prediction_question(attempt.round.prediction),
        prediction_typed=typed,
    )


def _prediction(raw: str) -> int | None:
    """The prediction as typed: "1.250", "1,250" and "1 250" are 1250."""
    value = raw.strip().replace(".", "").replace(",", "").replace(" ", "")
    message = N_("The prediction must be a whole number, for example 125.")
    return optional_int(value, 0, PREDICTION_MAX, "prediction", message=message)


@bp.get("/attempts/<int:attempt_id>/result")
@login_required
def result(attempt_id: int) -> Response | str:
    attempt = _own_attempt(attempt_id)
    now = clock.now()
    if attempt.state == "open":
        if not service.is_late(attempt, now, clock.grace()):
            return redirect(url_for(".attempt_page", attempt_id=attempt.id))
        service.finish(db.session, attempt, now, clock.grace())
    review = service.review_allowed(attempt, now)
    return render_template(
        "contests/result.html",
        attempt=attempt,
        review=review,
        questions=service.paper(db.session, attempt) if review else [],
    )
