"""Contests and attempts over the API (api.md): the quiz page's own script and mobile apps."""

from __future__ import annotations

from datetime import datetime

from flask import Response, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from app import challenge, clock
from app.api.schemas import (
    AnswerIn,
    AnswerOut,
    AttemptOut,
    ContestOut,
    ErrorOut,
    ResultOut,
    SubmitIn,
)
from app.api.spec import caller_claim, endpoint, optional_user
from app.contests.texts import prediction_question
from app.errors import api_error
from app.extensions import db
from app.models import Attempt, Contest, Role, Round
from app.ratelimits import ATTEMPT_STARTS
from app.services import attempts as service
from app.services import eligibility


@endpoint(
    "GET",
    "/contests",
    summary="Contests and their rounds",
    responses={200: list[ContestOut]},
    tag="contests",
)
def contests() -> Response:
    now = clock.now()
    rows = db.session.scalars(select(Contest).order_by(Contest.created_at.desc())).all()
    return jsonify(
        [
            {
                "id": c.slug,
                "title": c.title,
                "description": c.description,
                "prizes": c.prizes,
                "rounds": [
                    {
                        "id": r.id,
                        "title": r.title or r.key,
                        "opens": r.opens_at.isoformat(),
                        "closes": r.closes_at.isoformat(),
                        "time_limit_s": r.time_limit_s,
                        "attempts": r.attempts,
                        "state": service.round_state(r, now),
                    }
                    for r in c.rounds
                ],
            }
            for c in rows
        ]
    )


def attempt_body(attempt: Attempt) -> dict[str, object]:
    now = clock.now()
    questions = service.paper(db.session, attempt)
    keys = "ABCDEFGH"
    result = None
    if attempt.state != "open":
        review = None
        if service.review_allowed(attempt, now):
            review = [
                {
                    "id": q.key,
                    "correct": [keys[i] for i in q.right],
                    "right": bool(q.correct),
                    "explanation": q.explanation,
                    "source": q.source,
                }
                for q in questions
            ]
        result = ResultOut(
            score=attempt.score or 0,
            max_score=attempt.max_score,
            duration_s=(attempt.duration_ms or 0) / 1000,
            review=review,
        )
    target = attempt.round.prediction
    body = AttemptOut(
        id=attempt.id,
        state=attempt.state,
        deadline=attempt.deadline,
        remaining_s=service.remaining_s(attempt, now) if attempt.state == "open" else 0,
        questions=[
            {
                "id": q.key,
                "text": q.text,
                "multiple": q.multiple,
                "choices": [{"key": keys[i], "text": text} for i, text in enumerate(q.choices)],
            }
            for q in questions
        ],
        answers={q.key: [keys[i] for i in q.selected] for q in questions if q.selected},
        prediction={"target": target, "question": prediction_question(target)}
        if target != "none"
        else None,
        result=result,
    )
    return body.model_dump(mode="json")


def _own(attempt_id: int) -> Attempt | None:
    attempt = db.session.get(Attempt, attempt_id)
    return attempt if attempt is not None and attempt.user_id == g.api_user.id else None


def _refusal(error: service.AttemptError) -> Response:
    return api_error(error.status, _(error.message))


@endpoint(
    "POST",
    "/rounds/<int:round_id>/attempts",
    summary="Start an attempt (or get the one in progress)",
    responses={
        200: AttemptOut,
        201: AttemptOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        429: ErrorOut,
    },
    roles=(Role.RESIDENT.value,),
    limit=ATTEMPT_STARTS,
    tag="contests",
)
def start_attempt(round_id: int) -> Response | tuple[Response, int]:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        return api_error(404)
    stopped = challenge.refusal(header=request.headers.get(challenge.HEADER))
    if stopped is not None:
        return api_error(403, stopped, [{"field": "challenge", "message": stopped}])
    refused = eligibility.refusal(g.api_user, round_, clock.now())
    if refused is not None:
        message = _(refused.message, **refused.params)
        return api_error(
            409, message, [{"field": refused.fix or "eligibility", "message": message}]
        )
    try:
        attempt, created = service.start(db.session, round_, g.api_user, clock.now(), clock.grace())
    except service.AttemptError as error:
        return _refusal(error)
    return jsonify(attempt_body(attempt)), 201 if created else 200


@endpoint(
    "PUT",
    "/attempts/<int:attempt_id>/answers/<int:question>",
    summary="Save one answer",
    body=AnswerIn,
    responses={200: AnswerOut, 404: ErrorOut, 409: ErrorOut},
    auth=True,
    self_auth=True,
    tag="contests",
)
def put_answer(attempt_id: int, question: int, body: AnswerIn) -> Response:
    claim = caller_claim()
    if claim is None:
        return api_error(401)
    now, grace = clock.now(), clock.grace()
    target = service.answer_target(
        db.session, attempt_id, question, owner_id=claim[0], owner_nonce=claim[1]
    )
    if target is None or (target.state == "open" and now > target.deadline + grace):
        return _answer_slowly(attempt_id, question, body, now)  # every refusal, as before
    try:
        service.write_answer(db.session, target, body.choices, body.seq, now, grace)
    except service.AttemptError as error:
        return _answer_refusal(error, question)
    return jsonify(
        AnswerOut(
            remaining_s=round(max(0.0, (target.deadline - now).total_seconds()), 3)
        ).model_dump()
    )


def _answer_slowly(attempt_id: int, question: int, body: AnswerIn, now: datetime) -> Response:
    """The full path, for what the one-query fast path could not settle: a forged or stale
    token (401), another person's attempt (404), no such question (422), a late attempt (409)."""
    g.api_user = optional_user(csrf=True)
    if g.api_user is None:
        return api_error(401)
    attempt = _own(attempt_id)
    if attempt is None:
        return api_error(404)
    try:
        service.save_answer(
            db.session, attempt, question, body.choices, body.seq, now, clock.grace()
        )
    except service.AttemptError as error:
        return _answer_refusal(error, question)
    return jsonify(AnswerOut(remaining_s=service.remaining_s(attempt, now)).model_dump())


def _answer_refusal(error: service.AttemptError, question: int) -> Response:
    if isinstance(error, service.BadAnswer):
        return api_error(
            422, _(error.message), [{"question": str(question), "message": _(error.message)}]
        )
    return _refusal(error)


@endpoint(
    "POST",
    "/attempts/<int:attempt_id>/submit",
    summary="Submit; again gives the same result",
    body=SubmitIn,
    responses={200: ResultOut, 404: ErrorOut, 422: ErrorOut},
    auth=True,
    tag="contests",
)
def submit(attempt_id: int, body: SubmitIn) -> Response:
    attempt = _own(attempt_id)
    if attempt is None:
        return api_error(404)
    try:
        attempt = service.finish(db.session, attempt, clock.now(), clock.grace(), body.prediction)
    except service.PredictionRequired as error:
        return api_error(
            422, _(error.message), [{"field": "prediction", "message": _(error.message)}]
        )
    result = ResultOut(
        score=attempt.score or 0,
        max_score=attempt.max_score,
        duration_s=(attempt.duration_ms or 0) / 1000,
    )
    return jsonify(result.model_dump(exclude_none=True))


@endpoint(
    "GET",
    "/attempts/<int:attempt_id>",
    summary="An attempt with its answers and, when allowed, the review",
    responses={200: AttemptOut, 404: ErrorOut},
    auth=True,
    tag="contests",
)
def get_attempt(attempt_id: int) -> Response:
    attempt = _own(attempt_id)
    if attempt is None:
        return api_error(404)
    now = clock.now()
    if attempt.state == "open" and service.is_late(attempt, now, clock.grace()):
        service.finish(db.session, attempt, now, clock.grace())
    return jsonify(attempt_body(attempt))
