"""Timed attempts at contest rounds: draw a paper, save answers, submit exactly once.

The database decides every race: a partial unique index allows one attempt in progress per
person and round; answers and submission are conditional UPDATEs (a stale `seq` or a closed
attempt changes nothing). Time comes in as `now`; the grace after the deadline is a parameter.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import metrics
from app.content.messages import N_
from app.models import (
    Attempt,
    AttemptQuestion,
    Bank,
    Contest,
    Question,
    QuestionVersion,
    Round,
    Unit,
    User,
)
from app.models.content import CURRENT
from app.models.contests import paper_digest
from app.parse import SEQ_MAX
from app.services import policy, standings

KEYS = ("A", "B", "C", "D", "E", "F", "G", "H")  # a tuple: "AB" or "" is no key


class AttemptError(Exception):
    """A refusal people can understand; `status` is the HTTP status the pages and API use."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RoundNotOpen(AttemptError):
    pass


class NoAttemptsLeft(AttemptError):
    pass


class NotInAudience(AttemptError):
    status = 403


class AttemptClosed(AttemptError):
    pass


class BadAnswer(AttemptError):
    status = 422


class PredictionRequired(AttemptError):
    status = 422


def round_state(round_: Round, now: datetime) -> str:
    if now < round_.opens_at:
        return "upcoming"
    return "open" if now < round_.closes_at else "closed"


def in_audience(contest: Contest, unit: Unit) -> bool:
    return policy.in_audience(contest.audience, unit)


def remaining_s(attempt: Attempt, now: datetime) -> float:
    return round(max(0.0, (attempt.deadline - now).total_seconds()), 3)


def is_late(attempt: Attempt, now: datetime, grace: timedelta) -> bool:
    return now > attempt.deadline + grace


# ------------------------------------------------------------------------------------- draw


@dataclass(frozen=True)
class Candidate:
    question_id: int
    version_id: int
    choices: int
    shuffle: bool


# Candidates per (round, draw, bank versions): computed once per process and content version,
# so a start costs the same whatever the size of the bank (a random sample, not a scan).
_POOLS: dict[tuple[Any, ...], list[list[Candidate]]] = {}


def draw_pools(session: Session, round_: Round) -> list[list[Candidate]]:
    slugs = sorted({d["bank"] for d in round_.draw})
    versions = session.execute(
        select(Bank.slug, Bank.id, Bank.version).where(Bank.slug.in_(slugs))
    ).all()
    key = (round_.id, repr(round_.draw), tuple(sorted((s, v) for s, _i, v in versions)))
    if key not in _POOLS:
        ids = {slug: bank_id for slug, bank_id, _v in versions}
        pools = []
        for draw in round_.draw:
            stmt = (
                select(
                    Question.id,
                    QuestionVersion.id,
                    QuestionVersion.choices,
                    QuestionVersion.shuffle,
                )
                .join(QuestionVersion, CURRENT)
                .where(Question.bank_id == ids.get(draw["bank"], -1), Question.retired_at.is_(None))
                .order_by(Question.position)
            )
            if draw.get("difficulty"):
                stmt = stmt.where(QuestionVersion.difficulty.in_(draw["difficulty"]))
            if draw.get("topic"):
                stmt = stmt.where(QuestionVersion.topic.in_(draw["topic"]))
            pools.append([Candidate(q, v, len(c), s) for q, v, c, s in session.execute(stmt)])
        if len(_POOLS) > 512:
            _POOLS.clear()
        _POOLS[key] = pools
    return _POOLS[key]


def draw_paper(
    pools: list[list[Candidate]], counts: Sequence[int], rng: random.Random
) -> list[Candidate]:
    """`count` questions from each pool, never the same question twice, in a random order."""
    used: set[int] = set()
    paper: list[Candidate] = []
    for pool, count in zip(pools, counts, strict=True):
        picked = [
            c
            for c in rng.sample(pool, min(len(pool), count + len(used)))
            if c.question_id not in used
        ]
        if len(picked) < count:  # many overlaps: fall back to the whole pool
            picked = [c for c in pool if c.question_id not in used]
            rng.shuffle(picked)
        chosen = picked[:count]
        if len(chosen) < count:
            raise RoundNotOpen(N_("This round cannot be drawn: its bank has too few questions."))
        used.update(c.question_id for c in chosen)
        paper += chosen
    rng.shuffle(paper)
    return paper


# ------------------------------------------------------------------------------------ start


def open_attempt(session: Session, round_id: int, user_id: int) -> Attempt | None:
    return session.scalar(
        select(Attempt).where(
            Attempt.round_id == round_id, Attempt.user_id == user_id, Attempt.state == "open"
        )
    )


def attempts_of(session: Session, round_id: int, user_id: int) -> list[Attempt]:
    return list(
        session.scalars(
            select(Attempt)
            .where(Attempt.round_id == round_id, Attempt.user_id == user_id)
            .order_by(Attempt.number)
        )
    )


def competing_commune(session: Session, round_id: int, user: User) -> int:
    """The commune/ward a new attempt of `user` at the round counts in: that of their earlier
    attempts at the round, if any, else their account's commune now. So one person counts in
    one commune per round, the one they lived in when they first took part, even when they
    move before a second attempt: participation, the ranking by unit and the statistics (which
    all read Attempt.unit_code) then agree, and no view counts them in a commune another view
    does not."""
    earlier = session.scalar(
        select(Attempt.unit_code)
        .where(Attempt.round_id == round_id, Attempt.user_id == user.id)
        .order_by(Attempt.number)
        .limit(1)
    )
    return int(earlier) if earlier is not None else user.unit_code


def start(
    session: Session,
    round_: Round,
    user: User,
    now: datetime,
    grace: timedelta,
    rng: random.Random | None = None,
) -> tuple[Attempt, bool]:
    """The attempt in progress, or a new one with its paper drawn. (attempt, created)."""
    if not in_audience(round_.contest, user.unit):
        raise NotInAudience(N_("This contest is not open to your commune or ward."))
    current = open_attempt(session, round_.id, user.id)
    if current is not None:
        if not is_late(current, now, grace):
            return current, False
        finish(session, current, now, grace)
    if round_state(round_, now) != "open":
        raise RoundNotOpen(N_("This round is not open."))
    done = (
        session.scalar(
            select(func.count(Attempt.id)).where(
                Attempt.round_id == round_.id, Attempt.user_id == user.id
            )
        )
        or 0
    )
    if done >= round_.attempts:
        raise NoAttemptsLeft(N_("You have used all your attempts at this round."))
    rng = rng or random.SystemRandom()
    paper = draw_paper(draw_pools(session, round_), [d["count"] for d in round_.draw], rng)
    attempt = Attempt(
        round_id=round_.id,
        user_id=user.id,
        number=done + 1,
        state="open",
        started_at=now,
        deadline=min(now + timedelta(seconds=round_.time_limit_s), round_.closes_at),
        max_score=len(paper),
        paper=paper_digest(item.version_id for item in paper),
        unit_code=competing_commune(session, round_.id, user),
    )
    for position, item in enumerate(paper, start=1):
        order = list(range(item.choices))
        if item.shuffle:
            rng.shuffle(order)
        attempt.questions.append(
            AttemptQuestion(
                position=position, question_version_id=item.version_id, choice_order=order
            )
        )
    session.add(attempt)
    try:
        session.commit()
    except IntegrityError:
        # Another start of the same person won the race: theirs is the attempt in progress.
        session.rollback()
        current = open_attempt(session, round_.id, user.id)
        if current is None:
            raise NoAttemptsLeft(N_("You have used all your attempts at this round.")) from None
        return current, False
    metrics.attempt_started()  # once per attempt: only the start that stored it
    return attempt, True


# ---------------------------------------------------------------------------------- answers


def _still_open(attempt_id: int, now: datetime, grace: timedelta) -> Any:
    return select(Attempt.id).where(
        Attempt.id == attempt_id, Attempt.state == "open", Attempt.deadline >= now - grace
    )


def selected_indices(shown: list[int], answer: list[int], keys: Sequence[str]) -> list[int]:
    """Shown keys ("A", "C") -> original choice indices; BadAnswer for keys not on the paper.
    `shown` is the attempt's choice order, `answer` the question's right choices."""
    try:
        indices = sorted({shown[KEYS.index(key.upper())] for key in keys})
    except (ValueError, IndexError, AttributeError):
        raise BadAnswer(N_("That choice is not one of this question's.")) from None
    if len(answer) == 1 and len(indices) > 1:
        raise BadAnswer(N_("Choose one answer only for this question."))
    return indices


@dataclass(frozen=True)
class AnswerTarget:
    """Everything an answer write needs, read in one SELECT (the hot path of a contest)."""

    attempt_id: int
    state: str
    deadline: datetime
    item_id: int
    choice_order: list[int]
    answer: list[int]


# The hot path's two statements, built once: each request only binds its values (no
# statement construction, and the compiled SQL comes from SQLAlchemy's cache).
_TARGET = (
    select(
        Attempt.id,
        Attempt.state,
        Attempt.deadline,
        AttemptQuestion.id,
        AttemptQuestion.choice_order,
        QuestionVersion.answer,
    )
    .join(
        AttemptQuestion,
        and_(
            AttemptQuestion.attempt_id == Attempt.id,
            AttemptQuestion.position == bindparam("position"),
        ),
    )
    .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
    .where(Attempt.id == bindparam("attempt_id"), Attempt.user_id == bindparam("owner_id"))
)
_TARGET_OF_TOKEN = _TARGET.join(User, User.id == Attempt.user_id).where(
    User.auth_nonce == bindparam("owner_nonce"), User.deleted_at.is_(None)
)
# (Bound names must differ from the updated columns' names: hence b_….)
_items = AttemptQuestion.__table__
_attempts = Attempt.__table__
_STILL_OPEN = select(_attempts.c.id).where(
    _attempts.c.id == bindparam("b_attempt"),
    _attempts.c.state == "open",
    _attempts.c.deadline >= bindparam("b_open_until", type_=Attempt.deadline.type),
)
_WRITE = _items.update().where(
    _items.c.id == bindparam("b_item"), _items.c.attempt_id.in_(_STILL_OPEN.scalar_subquery())
)
_WRITE_NEXT = _WRITE.values(  # no seq from the client: one more than the stored one, at most
    selected=bindparam("b_selected", type_=_items.c.selected.type),  # SEQ_MAX (a 32-bit column)
    seq=case((_items.c.seq < SEQ_MAX, _items.c.seq + 1), else_=_items.c.seq),
    answered_at=bindparam("b_now", type_=_items.c.answered_at.type),
)
_WRITE_NEWER = _WRITE.where(_items.c.seq < bindparam("b_seq")).values(  # a newer seq only
    selected=bindparam("b_selected", type_=_items.c.selected.type),
    seq=bindparam("b_seq"),
    answered_at=bindparam("b_now", type_=_items.c.answered_at.type),
)


def answer_target(
    session: Session,
    attempt_id: int,
    position: int,
    *,
    owner_id: int,
    owner_nonce: str | None = None,
) -> AnswerTarget | None:
    """The question `position` of the owner's attempt, or None (not theirs, no such question,
    or — with `owner_nonce` — a token of an account that was deleted or signed out)."""
    params: dict[str, Any] = {"attempt_id": attempt_id, "position": position, "owner_id": owner_id}
    if owner_nonce is None:
        row = session.execute(_TARGET, params).one_or_none()
    else:
        row = session.execute(_TARGET_OF_TOKEN, params | {"owner_nonce": owner_nonce}).one_or_none()
    return AnswerTarget(*row) if row else None


def write_answer(
    session: Session,
    target: AnswerTarget,
    keys: Sequence[str],
    seq: int | None,
    now: datetime,
    grace: timedelta,
) -> bool:
    """Store an answer unless a newer one (higher seq) is stored. True when it was written.
    AttemptClosed when the attempt is over (the caller finishes a late one)."""
    if target.state != "open" or now > target.deadline + grace:
        raise AttemptClosed(N_("This attempt is over: answers can no longer change."))
    indices = selected_indices(target.choice_order, target.answer, keys)
    params: dict[str, Any] = {
        "b_item": target.item_id,
        "b_attempt": target.attempt_id,
        "b_open_until": now - grace,
        "b_selected": indices,
        "b_now": now,
    }
    if seq is None:
        written = session.execute(_WRITE_NEXT, params).rowcount
    else:
        written = session.execute(_WRITE_NEWER, params | {"b_seq": seq}).rowcount
    session.commit()
    if not written:
        state = session.scalar(select(Attempt.state).where(Attempt.id == target.attempt_id))
        if state != "open":
            raise AttemptClosed(N_("This attempt is over: answers can no longer change."))
    return bool(written)


def save_answer(
    session: Session,
    attempt: Attempt,
    position: int,
    keys: Sequence[str],
    seq: int | None,
    now: datetime,
    grace: timedelta,
) -> bool:
    """Store an answer of a loaded attempt (the page's form); finishes it when it is late."""
    if attempt.state == "open" and is_late(attempt, now, grace):
        finish(session, attempt, now, grace)
    target = answer_target(session, attempt.id, position, owner_id=attempt.user_id)
    if target is None:
        raise BadAnswer(N_("No such question in this attempt."))
    return write_answer(session, target, keys, seq, now, grace)


def save_answers(
    session: Session,
    attempt: Attempt,
    answers: Mapping[int, tuple[Sequence[str], int | None]],
    now: datetime,
    grace: timedelta,
) -> list[int]:
    """Store the answers of a page's form ({position: (keys, seq)}), each only if newer than
    the stored one; the positions whose stored answer changed, in order (a re-sent or older
    form changes nothing, so names nothing)."""
    before = _selections(session, attempt.id)
    for position, (keys, seq) in answers.items():
        save_answer(session, attempt, position, keys, seq, now, grace)
    after = _selections(session, attempt.id)
    return sorted(p for p in answers if after.get(p) != before.get(p))


def _selections(session: Session, attempt_id: int) -> dict[int, list[int]]:
    rows = session.execute(
        select(AttemptQuestion.position, AttemptQuestion.selected).where(
            AttemptQuestion.attempt_id == attempt_id
        )
    )
    return {position: sorted(selected or []) for position, selected in rows}


# ----------------------------------------------------------------------------------- submit


def needs_prediction(attempt: Attempt, prediction: int | None) -> bool:
    """Whether submitting now lacks the round's tie-break prediction (zero is a prediction)."""
    return attempt.round.prediction != "none" and prediction is None


@dataclass(frozen=True)
class SubmitCheck:
    """What a person is told before submitting: the questions left blank, a missing prediction."""

    unanswered: list[int]  # positions
    prediction_missing: bool

    @property
    def complete(self) -> bool:
        return not self.unanswered and not self.prediction_missing


def before_submit(session: Session, attempt: Attempt, prediction: int | None) -> SubmitCheck:
    blank = sorted(p for p, chosen in _selections(session, attempt.id).items() if not chosen)
    return SubmitCheck(blank, needs_prediction(attempt, prediction))


def finish(
    session: Session,
    attempt: Attempt,
    now: datetime,
    grace: timedelta,
    prediction: int | None = None,
) -> Attempt:
    """Submit once: the first call scores the attempt, every later call returns the same result.
    Past the deadline (plus grace) the attempt is finished from its saved answers, as expired."""
    late = is_late(attempt, now, grace)
    if attempt.state == "open" and not late and needs_prediction(attempt, prediction):
        raise PredictionRequired(N_("Please enter your prediction before submitting."))
    ended = min(now, attempt.deadline)
    changed = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == "open")
        .values(
            state="expired" if late else "submitted",
            submitted_at=ended,
            duration_ms=max(0, round((ended - attempt.started_at).total_seconds() * 1000)),
            prediction=None if late else prediction,
        ),
        execution_options={"synchronize_session": False},
    ).rowcount
    if changed:
        _score(session, attempt.id)
        standings.record(session, attempt.id, standings.figure_of(attempt.round))
    session.commit()
    if changed:  # once per attempt: a second submit changed nothing
        metrics.attempt_finished("expired" if late else "submitted")
    session.refresh(attempt)
    return attempt


def _score(session: Session, attempt_id: int) -> None:
    rows = session.execute(
        select(AttemptQuestion.id, AttemptQuestion.selected, QuestionVersion.answer)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .where(AttemptQuestion.attempt_id == attempt_id)
    ).all()
    marks = [
        {"id": row_id, "correct": sorted(selected or []) == sorted(answer)}
        for row_id, selected, answer in rows
    ]
    if marks:  # one executemany, not one UPDATE per question
        session.execute(update(AttemptQuestion), marks)
    session.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id)
        .values(score=sum(m["correct"] for m in marks)),
        execution_options={"synchronize_session": False},
    )


def finalize_expired(session: Session, now: datetime, grace: timedelta) -> int:
    """Finish every attempt left open past its deadline (for a scheduler). Returns how many."""
    late = session.scalars(
        select(Attempt).where(Attempt.state == "open", Attempt.deadline < now - grace)
    ).all()
    for attempt in late:
        finish(session, attempt, now, grace)
    return len(late)


# ----------------------------------------------------------------------------------- review


def review_allowed(attempt: Attempt, now: datetime) -> bool:
    if attempt.state == "open":
        return False
    policy = attempt.round.review
    if policy == "after_submit":
        return True
    return policy == "after_close" and now >= attempt.round.closes_at


# ------------------------------------------------------------------------------------ views


@dataclass
class PaperQuestion:
    """One question of an attempt as its owner sees it: choices in the order shown."""

    position: int
    text: str
    choices: list[str]
    multiple: bool
    selected: list[int]  # shown positions
    seq: int
    right: list[int]  # shown positions; for review only
    correct: bool | None
    explanation: str | None
    source: str | None

    @property
    def key(self) -> str:
        return str(self.position)


def paper(session: Session, attempt: Attempt) -> list[PaperQuestion]:
    question_ids = [item.version.question_id for item in attempt.questions]
    sources = {
        question_id: {s["id"]: s["title"] for s in bank_sources}
        for question_id, bank_sources in session.execute(
            select(Question.id, Bank.sources).join(Bank).where(Question.id.in_(question_ids))
        )
    }
    views = []
    for item in attempt.questions:
        version, order = item.version, item.choice_order
        views.append(
            PaperQuestion(
                position=item.position,
                text=version.text,
                choices=[version.choices[i] for i in order],
                multiple=len(version.answer) > 1,
                selected=sorted(order.index(i) for i in (item.selected or [])),
                seq=item.seq,
                right=sorted(order.index(i) for i in version.answer),
                correct=item.correct,
                explanation=version.explanation,
                source=sources.get(version.question_id, {}).get(
                    version.source or "", version.source
                ),
            )
        )
    return views
