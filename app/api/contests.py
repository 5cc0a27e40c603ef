"""Contests and attempts over the API (api.md): the quiz page's own script and mobile apps."""

from __future__ import annotations

from datetime import datetime

from flask import Response, g, jsonify, request
from flask_babel import gettext as _
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import admission, challenge, clock, devices
from app.api.schemas import (
    AnswerIn,
    AnswerOut,
    AttemptOut,
    ContestOut,
    ErrorOut,
    ResultOut,
    SubmitIn,
)
from app.api.spec import authenticate, caller_claim, endpoint, optional_user
from app.certificates.routes import certificate_pdf
from app.contests.texts import prediction_question
from app.errors import api_error
from app.extensions import db
from app.models import Attempt, Contest, Role, Round, User
from app.ratelimits import ATTEMPT_STARTS
from app.services import attempts as service
from app.services import certificates, eligibility

STARTERS = (Role.RESIDENT.value,)  # who may start an attempt


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
    return _body(
        attempt.id,
        attempt.state,
        attempt.deadline,
        service.remaining_s(attempt, now) if attempt.state == "open" else 0,
        [(q.key, q.text, q.multiple, q.choices) for q in questions],
        {q.key: [keys[i] for i in q.selected] for q in questions if q.selected},
        attempt.round.prediction,
        result,
    )


def started_body(started: service.Started, now: datetime) -> dict[str, object]:
    """A new attempt's body from the paper its start drew (nothing read back; the same body
    as `attempt_body` of the stored attempt — tests/test_hot_paths.py compares them)."""
    return _body(
        started.attempt_id,
        "open",
        started.deadline,
        round(max(0.0, (started.deadline - now).total_seconds()), 3),
        [
            (str(position), item.text, item.multiple, [item.options[i] for i in order])
            for position, (item, order) in enumerate(started.paper, start=1)
        ],
        {},
        started.prediction,
        None,
    )


# The attempt's deadline as AttemptOut's field serialises it (the same serializer, without
# validating the body around it: see `_body`).
_DEADLINE = TypeAdapter(datetime)


def _body(
    attempt_id: int,
    state: str,
    deadline: datetime,
    remaining: float,
    questions: list[tuple[str, str, bool, list[str]]],
    answers: dict[str, list[str]],
    target: str,
    result: ResultOut | None,
) -> dict[str, object]:
    """An attempt as the API answers it: the shape of `AttemptOut` (the OpenAPI document's
    schema; tests/test_hot_paths.py holds every kind of body to it), built as plain
    values. Validating the body as a model cost a start about 60 µs for its twenty questions
    (a micro-benchmark of the body: 75 µs with the model, 15 without), for values this module
    has just built itself."""
    keys = "ABCDEFGH"
    return {
        "id": attempt_id,
        "state": state,
        "deadline": _DEADLINE.dump_python(deadline, mode="json"),
        "remaining_s": float(remaining),
        "questions": [
            {
                "id": key,
                "text": text,
                "multiple": multiple,
                "choices": [{"key": keys[i], "text": choice} for i, choice in enumerate(choices)],
            }
            for key, text, multiple, choices in questions
        ],
        "answers": answers,
        "prediction": {"target": target, "question": prediction_question(target)}
        if target != "none"
        else None,
        "result": result.model_dump(mode="json") if result is not None else None,
    }


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
        503: ErrorOut,
    },
    roles=STARTERS,
    self_auth=True,
    limit=ATTEMPT_STARTS,
    tag="contests",
)
def start_attempt(round_id: int) -> Response | tuple[Response, int]:
    # Every start passes the challenge (when on), the contest's eligibility and its turn in
    # line (app/admission.py) before the one-query fast path, then the full path.
    return _start_in_turn(round_id, caller_claim())


def _begin(
    round_id: int, claim: tuple[int, str | None]
) -> tuple[Response | tuple[Response, int], bool] | None:
    """The one-query fast path (services.attempts.begin, which stores the device marks with
    the attempt): (the answer, whether it made an attempt), or None for what it cannot settle
    (the full path's)."""
    now = clock.now()
    marks = service.Marks(devices.device_id(), devices.client_mark(round_id))  # prize audit
    try:
        started = service.begin(
            db.session, round_id, now, owner_id=claim[0], owner_nonce=claim[1], marks=marks
        )
    except service.AttemptError as error:
        return _refusal(error), False
    if started is None:
        return None
    return (jsonify(started_body(started, now)), 201), True


def _fast_lane(
    round_id: int, claim: tuple[int, str | None]
) -> Response | tuple[Response, int] | None:
    """A bearer token's new attempt decided by the start's one read (services.attempts.gate:
    the token's account with its birth year and phones, the round, its contest's audience and
    eligibility conditions, the attempts made) with no account or round loaded before it: the
    read, the line (which loads them only for a person it would make wait), the paper. None
    for everything else — the challenge on, a refusal, an attempt in progress, a concurrent
    start — which the full path then settles and explains."""
    # With the challenge on, the full path checks it (a payload is spent by its first check).
    if claim[1] is None or challenge.active():
        return None
    now = clock.now()
    found = service.gate(db.session, round_id, now, owner_id=claim[0], owner_nonce=claim[1])
    if found is None or found.refusal() is not None:
        return None

    def load() -> tuple[Round, User]:
        round_ = _round_with_contest(round_id)
        user = db.session.get(User, claim[0])
        assert round_ is not None and user is not None  # the gate has just read both
        return round_, user

    marks = service.Marks(devices.device_id(), devices.client_mark(round_id))  # prize audit
    try:
        ticket = request.headers.get(TICKET_HEADER)
        with admission.turn_for(db.session, round_id, claim[0], ticket, load) as decision:
            if not decision.admitted:
                return _busy(decision)
            started = service.make(db.session, found, now, marks=marks)
            if started is None:
                return None
            decision.made_attempt()
    except service.AttemptError as error:
        return _refusal(error)
    return jsonify(started_body(started, now)), 201


def _start_in_turn(
    round_id: int, claim: tuple[int, str | None] | None
) -> Response | tuple[Response, int]:
    """The fast lane first (`_fast_lane`). Then: the challenge and eligibility (403, 409),
    admission control (app/admission.py: a person in an attempt passes, one who cannot start
    is refused before taking a place), then the fast path, then the full one: a forged
    or stale token (401), not a resident (403), no such round (404), the attempt in progress
    (200), the refusals of the rules (403, 409)."""
    fast = _fast_lane(round_id, claim) if claim is not None else None
    if fast is not None:
        return fast
    refusal = authenticate(STARTERS)
    if refusal is not None:
        return refusal  # type: ignore[no-any-return]
    round_ = _round_with_contest(round_id)
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
    ticket = request.headers.get(TICKET_HEADER)
    try:
        with admission.turn(db.session, round_, g.api_user, ticket) as decision:
            if not decision.admitted:
                return _busy(decision)
            fast = _begin(round_id, claim) if claim is not None else None
            if fast is not None:
                if fast[1]:
                    decision.made_attempt()
                return fast[0]
            attempt, created = service.start(
                db.session, round_, g.api_user, clock.now(), clock.grace()
            )
            if created:
                decision.made_attempt()
    except service.AttemptError as error:
        return _refusal(error)
    devices.remember_start(db.session, attempt.id, round_.id)  # prize audit: where it began
    db.session.commit()
    return jsonify(attempt_body(attempt)), 201 if created else 200


def _round_with_contest(round_id: int) -> Round | None:
    """The round with its contest (audience, eligibility, timezone): one read, not two."""
    return db.session.get(Round, round_id, options=[joinedload(Round.contest)])


TICKET_HEADER = "X-Queue-Ticket"


def _busy(decision: admission.Decision) -> Response:
    """503 with Retry-After: the caller's place in line and the ticket that keeps it (in the
    X-Queue-Ticket header and the body's `queue.ticket`; sent back in X-Queue-Ticket with the
    next try). A forged or borrowed ticket holds no place (app/admission.py)."""
    message = _(
        "Many people are starting at this moment. Your place in line: %(place)d. "
        "Please try again in %(seconds)d seconds; your place is kept.",
        place=decision.position,
        seconds=decision.retry_s,
    )
    queue = {
        "position": decision.position,
        "wait_s": decision.wait_s,
        "retry_after_s": decision.retry_s,
        "ticket": decision.ticket,
    }
    response = api_error(503, message, queue=queue)
    response.headers["Retry-After"] = str(decision.retry_s)
    response.headers[TICKET_HEADER] = decision.ticket or ""
    return response


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
    try:
        deadline = service.record_answer(
            db.session,
            attempt_id,
            question,
            body.choices,
            body.seq,
            now,
            grace,
            owner_id=claim[0],
            owner_nonce=claim[1],
        )
    except service.AttemptError as error:
        return _answer_refusal(error, question)
    if deadline is None:
        return _answer_slowly(attempt_id, question, body, now)  # every refusal, as before
    return jsonify(
        AnswerOut(remaining_s=round(max(0.0, (deadline - now).total_seconds()), 3)).model_dump()
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
    self_auth=True,
    tag="contests",
)
def submit(attempt_id: int, body: SubmitIn) -> Response:
    claim = caller_claim()
    if claim is not None:
        done = service.submit(
            db.session,
            attempt_id,
            body.prediction,
            clock.now(),
            clock.grace(),
            owner_id=claim[0],
            owner_nonce=claim[1],
        )
        if done is not None:
            result = ResultOut(
                score=done.score, max_score=done.max_score, duration_s=done.duration_ms / 1000
            )
            return jsonify(result.model_dump(exclude_none=True))
    return _submit_slowly(attempt_id, body)


def _submit_slowly(attempt_id: int, body: SubmitIn) -> Response:
    """The full path: a forged or stale token (401), another's attempt (404), a missing
    prediction (422), a late attempt (finished as expired), a repeated submit (the same
    result again)."""
    refusal = authenticate()
    if refusal is not None:
        return refusal  # type: ignore[no-any-return]
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


@endpoint(
    "GET",
    "/attempts/<int:attempt_id>/certificate",
    summary="The certificate of a submitted attempt (PDF)",
    responses={200: "application/pdf", 404: ErrorOut, 409: ErrorOut},
    auth=True,
    tag="contests",
)
def attempt_certificate(attempt_id: int) -> Response:
    attempt = _own(attempt_id)
    if attempt is None:
        return api_error(404)
    try:
        certificate = certificates.issue(db.session, attempt, clock.now(), clock.grace())
    except certificates.CertificateError as error:
        return api_error(error.status, _(error.message))
    return certificate_pdf(certificate)
