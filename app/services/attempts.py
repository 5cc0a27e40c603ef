"""Timed attempts at contest rounds: draw a paper, save answers, submit exactly once.

The database decides every race: a partial unique index allows one attempt in progress per
person and round; answers and submission are conditional UPDATEs (a stale `seq` or a closed
attempt changes nothing). Time comes in as `now`; the grace after the deadline is a parameter.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app import db_direct, metrics
from app.content.messages import N_
from app.models import (
    Attempt,
    AttemptDevice,
    AttemptQuestion,
    Bank,
    Contest,
    Question,
    QuestionVersion,
    Role,
    Round,
    Unit,
    User,
)
from app.models.content import CURRENT
from app.models.contests import paper_digest
from app.models.people import phone_is_verified
from app.models.types import UTCDateTime
from app.parse import SEQ_MAX
from app.services import eligibility, policy, standings
from app.services.tokens import holds_token

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


def round_state(round_: Round | Any, now: datetime) -> str:
    """ "upcoming", "open" or "closed": of a round, or of a row with its opens_at, closes_at."""
    if now < round_.opens_at:
        return "upcoming"
    return "open" if now < round_.closes_at else "closed"


def in_audience(contest: Contest, unit: Unit, hamlet_code: int | None = None) -> bool:
    return policy.in_audience(contest.audience, unit, hamlet_code)


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
    # What the paper shows of it (a question version is never rewritten, so it can be kept):
    # a start answers with its paper without reading it back.
    text: str = ""
    options: tuple[str, ...] = ()
    multiple: bool = False


# Candidates per (round, draw, banks' ids and versions): computed once per process, engine and
# content version, so a start costs the same whatever the size of the bank (a random sample,
# not a scan). Per engine, because two databases (tests, benchmarks) may number alike.
_POOLS: WeakKeyDictionary[Any, dict[tuple[Any, ...], list[list[Candidate]]]] = WeakKeyDictionary()
# The banks each round drew from last time, per engine: a start reads their versions in its
# one query (a new draw costs one query more, once).
_SLUGS: WeakKeyDictionary[Any, dict[int, list[str]]] = WeakKeyDictionary()

BankVersions = tuple[tuple[str, int, int], ...]  # (slug, id, version), sorted


def _slugs(draw: list[dict[str, Any]]) -> list[str]:
    return sorted({d["bank"] for d in draw})


def _bank_versions(session: Session, slugs: list[str]) -> BankVersions:
    rows = session.execute(
        select(Bank.slug, Bank.id, Bank.version).where(Bank.slug.in_(slugs))
    ).all()
    return tuple(sorted((slug, bank_id, version) for slug, bank_id, version in rows))


# The same, as one text value in the start's query: "slug:id:version,…" (a slug is letters,
# digits and hyphens).
_VERSIONS_TEXT = (
    select(
        func.aggregate_strings(
            Bank.slug + ":" + cast(Bank.id, String) + ":" + cast(Bank.version, String), ","
        )
    )
    .where(Bank.slug.in_(bindparam("slugs", expanding=True)))
    .scalar_subquery()
)


def _parse_versions(value: str | None) -> BankVersions:
    rows = []
    for item in (value or "").split(","):
        if item:
            slug, bank_id, version = item.rsplit(":", 2)
            rows.append((slug, int(bank_id), int(version)))
    return tuple(sorted(rows))


def _pools(
    session: Session, round_id: int, draw: list[dict[str, Any]], versions: BankVersions
) -> list[list[Candidate]]:
    cache = _POOLS.setdefault(session.get_bind(), {})
    key = (round_id, repr(draw), versions)
    pools = cache.get(key)
    if pools is None:
        ids = {slug: bank_id for slug, bank_id, _v in versions}
        pools = []
        for part in draw:
            stmt = (
                select(
                    Question.id,
                    QuestionVersion.id,
                    QuestionVersion.choices,
                    QuestionVersion.shuffle,
                    QuestionVersion.text,
                    QuestionVersion.answer,
                )
                .join(QuestionVersion, CURRENT)
                .where(Question.bank_id == ids.get(part["bank"], -1), Question.retired_at.is_(None))
                .order_by(Question.position)
            )
            if part.get("difficulty"):
                stmt = stmt.where(QuestionVersion.difficulty.in_(part["difficulty"]))
            if part.get("topic"):
                stmt = stmt.where(QuestionVersion.topic.in_(part["topic"]))
            pools.append(
                [
                    Candidate(q, v, len(c), s, t, tuple(c), len(a) > 1)
                    for q, v, c, s, t, a in session.execute(stmt)
                ]
            )
        if len(cache) > 512:
            cache.clear()
        cache[key] = pools
    return pools


def draw_pools(session: Session, round_: Round) -> list[list[Candidate]]:
    slugs = _slugs(round_.draw)
    _SLUGS.setdefault(session.get_bind(), {})[round_.id] = slugs
    return _pools(session, round_.id, round_.draw, _bank_versions(session, slugs))


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


def in_progress(attempt: Attempt | None, now: datetime, grace: timedelta) -> bool:
    """An attempt in progress: open and not late. Its owner is never held back (admission
    control), and a start answers with it instead of making another."""
    return attempt is not None and attempt.state == "open" and not is_late(attempt, now, grace)


def _start_state(
    session: Session, round_: Round, user: User, now: datetime, grace: timedelta
) -> tuple[Attempt | None, list[Attempt]]:
    """The one home of a start's refusals, in their order: the contest's audience, then the
    attempt in progress (answered with, whatever else holds), the round open, attempts left
    (a late attempt counts: the start finishes it first). (attempt in progress, attempts made)
    from one query of the person's attempts at the round."""
    if not in_audience(round_.contest, user.unit, user.hamlet_code):
        raise NotInAudience(N_("This contest is not open to your commune or ward."))
    made = attempts_of(session, round_.id, user.id)
    current = next((a for a in made if in_progress(a, now, grace)), None)
    if current is not None:
        return current, made
    if round_state(round_, now) != "open":
        raise RoundNotOpen(N_("This round is not open."))
    if len(made) >= round_.attempts:
        raise NoAttemptsLeft(N_("You have used all your attempts at this round."))
    return None, made


def check_start(
    session: Session, round_: Round, user: User, now: datetime, grace: timedelta
) -> Attempt | None:
    """Whether `start` may run, decided before anything costly (admission control runs it for
    a person the line would make wait): the person's attempt in progress (a start only
    answers with it), or None when a new attempt may be made; raises the refusal `start`
    would meet (NotInAudience, RoundNotOpen, NoAttemptsLeft)."""
    return _start_state(session, round_, user, now, grace)[0]


def start(
    session: Session,
    round_: Round,
    user: User,
    now: datetime,
    grace: timedelta,
    rng: random.Random | None = None,
) -> tuple[Attempt, bool]:
    """The attempt in progress, or a new one with its paper drawn. (attempt, created)."""
    current, made = _start_state(session, round_, user, now, grace)
    if current is not None:
        return current, False
    for late in made:
        if late.state == "open":
            finish(session, late, now, grace)
    new = _new_attempt(
        session,
        round_,
        user.id,
        len(made) + 1,
        competing_commune(session, round_.id, user),
        draw_pools(session, round_),
        now,
        rng,
    )
    if new is None:
        # Another start of the same person won the race: theirs is the attempt in progress.
        current = open_attempt(session, round_.id, user.id)
        if current is None:
            raise NoAttemptsLeft(N_("You have used all your attempts at this round."))
        return current, False
    attempt = session.get(Attempt, new.attempt_id)
    assert attempt is not None
    return attempt, True


@dataclass(frozen=True)
class Started:
    """A new attempt as its start answers it: the paper from memory, not read back."""

    attempt_id: int
    deadline: datetime
    prediction: str  # the round's prediction target, or "none"
    paper: list[tuple[Candidate, list[int]]]  # in order: (question, shown -> original index)


# The start's one read: the account (its token claim checked as user_for_token does), its
# commune, the round and its contest's audience, the attempt in progress, how many were made,
# the commune of the first, and the versions of the banks the round drew from last time.
_MINE = and_(Attempt.round_id == bindparam("round_id"), Attempt.user_id == bindparam("user_id"))
# 'open' written in the statement, not bound: the partial index of open attempts
# (uq_attempts_open, WHERE state = 'open') serves only a query whose predicate is its own, and
# a plan kept for a prepared statement (PostgreSQL's generic plan, SQLite's every plan) cannot
# see a bound value's. Bound, the read walked every open attempt of the round.
_OPEN = literal_column("'open'")
_GATE = (
    select(
        User.role,
        User.unit_code,
        User.hamlet_code,
        Unit.parent_code,
        Contest.audience,
        Contest.min_age,
        Contest.verified_phone,
        Contest.timezone,
        User.birth_year,
        User.phone.label("user_phone"),
        User.verified_phone.label("user_verified_phone"),
        Round.id,
        Round.opens_at,
        Round.closes_at,
        Round.attempts,
        Round.time_limit_s,
        Round.draw,
        Round.prediction,
        select(Attempt.id).where(_MINE, Attempt.state == _OPEN).scalar_subquery().label("open"),
        select(func.count(Attempt.id)).where(_MINE).scalar_subquery().label("done"),
        select(Attempt.unit_code)
        .where(_MINE)
        .order_by(Attempt.number)
        .limit(1)
        .scalar_subquery()
        .label("first_unit"),
        _VERSIONS_TEXT.label("versions"),
    )
    .select_from(User)
    .join(Unit, Unit.code == User.unit_code)
    .join(Round, Round.id == bindparam("round_id"))
    .join(Contest, Contest.id == Round.contest_id)
    .where(User.id == bindparam("user_id"))
)
_GATE_OF_TOKEN = _GATE.where(holds_token(bindparam("owner_nonce")))


@dataclass(frozen=True)
class Gate:
    """What the start's one read found for a resident who may start now: the row (the
    account's commune, the round, its contest's audience and conditions, the attempts made)
    and the pools to draw from."""

    owner_id: int
    row: Any
    pools: list[list[Candidate]]

    def refusal(self) -> eligibility.Refusal | None:
        """Why the contest's eligibility conditions refuse this person, from the read's row
        (app/services/eligibility.py, the one home of what they are); the caller checks it
        before `make`."""
        row = self.row
        return eligibility.check(
            min_age=row.min_age,
            verified_phone=row.verified_phone,
            opens_at=row.opens_at,
            timezone=row.timezone,
            birth_year=row.birth_year,
            phone_verified=phone_is_verified(row.user_phone, row.user_verified_phone),
        )


def gate(
    session: Session,
    round_id: int,
    now: datetime,
    *,
    owner_id: int,
    owner_nonce: str | None = None,
) -> Gate | None:
    """The hot path's one read: the same rules as `start`, decided from one query. None for
    everything else — no such account or round, a token no longer valid (`owner_nonce`), not a
    resident, outside the audience, an attempt in progress, the round not open, no attempts
    left — which the caller then hands to `start`, the full path with its refusals."""
    slugs = _SLUGS.setdefault(session.get_bind(), {})
    params: dict[str, Any] = {
        "round_id": round_id,
        "user_id": owner_id,
        "slugs": slugs.get(round_id, []),
    }
    if owner_nonce is None:
        row = db_direct.first(session, _GATE, params)
    else:
        row = db_direct.first(session, _GATE_OF_TOKEN, params | {"owner_nonce": owner_nonce})
    if not _lets_through(row, now):
        return None
    if _slugs(row.draw) == params["slugs"]:
        versions = _parse_versions(row.versions)
    else:  # the first start of this round in this process, or its draw changed
        slugs[round_id] = _slugs(row.draw)
        versions = _bank_versions(session, slugs[round_id])
    return Gate(owner_id, row, _pools(session, round_id, row.draw, versions))


def _lets_through(row: Any, now: datetime) -> bool:
    """Whether the start's read (`gate`'s row) lets a new attempt be made now: a resident
    with no attempt in progress, within the contest's audience, the round open, attempts
    left. The contest's eligibility conditions are `Gate.refusal`'s."""
    return not (
        row is None
        or row.role != Role.RESIDENT
        or row.open is not None
        or not policy.in_audience_of(row.audience, row.unit_code, row.parent_code, row.hamlet_code)
        or round_state(row, now) != "open"
        or row.done >= row.attempts
    )


def make(
    session: Session,
    found: Gate,
    now: datetime,
    *,
    rng: random.Random | None = None,
    marks: Marks | None = None,
) -> Started | None:
    """The hot path's one write: the attempt the `gate` let through, its paper drawn and stored
    with the start's device `marks`, committed. None when a concurrent start of the same
    person won (the caller hands it to `start`, which answers with theirs)."""
    row = found.row
    first_unit = row.first_unit if row.first_unit is not None else row.unit_code
    made = _new_attempt(
        session, row, found.owner_id, row.done + 1, int(first_unit), found.pools, now, rng, marks
    )
    if made is None:
        return None
    return Started(made.attempt_id, made.deadline, row.prediction, made.paper)


def begin(
    session: Session,
    round_id: int,
    now: datetime,
    *,
    owner_id: int,
    owner_nonce: str | None = None,
    rng: random.Random | None = None,
    marks: Marks | None = None,
) -> Started | None:
    """A resident's new attempt in one read and one write (`gate`, then `make`), for a caller
    that has checked the contest's eligibility conditions already. None for everything the
    full path (`start`) settles."""
    found = gate(session, round_id, now, owner_id=owner_id, owner_nonce=owner_nonce)
    return None if found is None else make(session, found, now, rng=rng, marks=marks)


_ENTROPY = random.SystemRandom()


@dataclass(frozen=True)
class _Made:
    attempt_id: int
    deadline: datetime
    paper: list[tuple[Candidate, list[int]]]


_attempt_rows = Attempt.__table__
_INSERT_ATTEMPT = insert(_attempt_rows).returning(_attempt_rows.c.id)
_INSERT_QUESTIONS = insert(AttemptQuestion.__table__)
_ATTEMPT_COLUMNS = (
    "round_id",
    "user_id",
    "number",
    "state",
    "started_at",
    "deadline",
    "max_score",
    "paper",
    "unit_code",
)


def _paper_statement(marked: bool) -> Any:
    """PostgreSQL: the attempt (its values bound, in _ATTEMPT_COLUMNS' order), its questions
    (`versions` and `orders`, in paper order) and, when `marked`, its device marks (`device`,
    `client`) in one statement, answering the new attempt's id as `attempt_id`."""
    values = select(
        bindparam("round_id", type_=Integer),
        bindparam("user_id", type_=Integer),
        bindparam("number", type_=Integer),
        literal("open"),
        bindparam("started_at", type_=UTCDateTime()),
        bindparam("deadline", type_=UTCDateTime()),
        bindparam("max_score", type_=Integer),
        bindparam("paper", type_=String),
        bindparam("unit_code", type_=Integer),
    )
    new = insert(_attempt_rows).from_select(_ATTEMPT_COLUMNS, values)
    new = new.returning(_attempt_rows.c.id).cte("new")
    drawn = (
        func.unnest(bindparam("versions", type_=postgresql.ARRAY(Integer)))
        .table_valued("version_id", with_ordinality="position")
        .render_derived()
    )
    orders = (
        func.json_array_elements(cast(bindparam("orders", type_=String), JSON))
        .table_valued("choice_order", with_ordinality="position")
        .render_derived()
    )
    questions = insert(AttemptQuestion.__table__).from_select(
        ["attempt_id", "position", "question_version_id", "choice_order", "seq"],
        select(new.c.id, drawn.c.position, drawn.c.version_id, orders.c.choice_order, literal(0))
        .select_from(new)
        .join(drawn, true())
        .join(orders, orders.c.position == drawn.c.position),
    )
    statement = select(select(new.c.id).scalar_subquery().label("attempt_id"))
    statement = statement.add_cte(questions.cte("questions"))
    if marked:
        marks = insert(AttemptDevice.__table__).from_select(
            ["attempt_id", "device", "client"],
            select(
                new.c.id, bindparam("device", type_=String), bindparam("client", type_=String)
            ).select_from(new),
        )
        statement = statement.add_cte(marks.cte("marked"))
    return statement


_INSERT_PAPER_PG = _paper_statement(marked=False)
_INSERT_PAPER_MARKED_PG = _paper_statement(marked=True)


def deadline(started: datetime, time_limit_s: int, closes_at: datetime) -> datetime:
    """When an attempt begun at `started` ends: its time limit, cut by the round's close."""
    return min(started + timedelta(seconds=time_limit_s), closes_at)


def _drawn_paper(
    pools: list[list[Candidate]],
    draw: list[dict[str, Any]],
    now: datetime,
    rng: random.Random | None,
) -> tuple[list[tuple[Candidate, list[int]]], dict[str, Any]]:
    """A paper drawn from `pools` as the round's `draw` asks (each question with the order its
    choices are shown in), and the values that store it (the questions in paper order, their
    orders, the paper's digest, its size, when it began)."""
    # Each paper from its own generator seeded with 128 bits from the OS: as unpredictable as
    # drawing from the OS for every number (no state is shared between papers to learn from),
    # without a system call for each of its ~150 random numbers.
    rng = rng or random.Random(_ENTROPY.getrandbits(128))  # noqa: S311 (seeded from the OS)
    drawn = draw_paper(pools, [d["count"] for d in draw], rng)
    paper = []
    for item in drawn:
        order = list(range(item.choices))
        if item.shuffle:
            rng.shuffle(order)
        paper.append((item, order))
    return paper, {
        "started_at": now,
        "max_score": len(paper),
        "paper": paper_digest(item.version_id for item in drawn),
        "versions": [item.version_id for item in drawn],
        "orders": json.dumps([order for _item, order in paper]),
    }


@dataclass(frozen=True)
class Marks:
    """Where a start came from (app/devices.py): stored with the attempt it made."""

    device: str
    client: str


def _new_attempt(
    session: Session,
    round_: Round | Any,
    user_id: int,
    number: int,
    unit_code: int,
    pools: list[list[Candidate]],
    now: datetime,
    rng: random.Random | None,
    marks: Marks | None = None,
) -> _Made | None:
    """Draw a paper and store the attempt with it (and the start's `marks`), committed. None
    when the database refused it: another start of the same person won the race (one open
    attempt, one `number`)."""
    paper, drawn = _drawn_paper(pools, round_.draw, now, rng)
    values: dict[str, Any] = {
        "round_id": round_.id,
        "user_id": user_id,
        "number": number,
        "deadline": deadline(now, round_.time_limit_s, round_.closes_at),
        "unit_code": unit_code,
        "started_at": now,
        "max_score": drawn["max_score"],
        "paper": drawn["paper"],
    }
    try:
        if session.get_bind().dialect.name == "postgresql":
            marked = {} if marks is None else {"device": marks.device, "client": marks.client}
            statement = _INSERT_PAPER_PG if marks is None else _INSERT_PAPER_MARKED_PG
            attempt_id = db_direct.first(session, statement, values | marked | drawn).attempt_id
        else:
            attempt_id = session.execute(_INSERT_ATTEMPT, values | {"state": "open"}).scalar_one()
            session.execute(
                _INSERT_QUESTIONS,
                [
                    {
                        "attempt_id": attempt_id,
                        "position": position,
                        "question_version_id": item.version_id,
                        "choice_order": order,
                        "seq": 0,
                    }
                    for position, (item, order) in enumerate(paper, start=1)
                ],
            )
            if marks is not None:
                session.execute(
                    insert(AttemptDevice.__table__),
                    {"attempt_id": attempt_id, "device": marks.device, "client": marks.client},
                )
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    metrics.attempt_started()  # once per attempt: only the start that stored it
    return _Made(attempt_id, values["deadline"], paper)


# ---------------------------------------------------------------------------------- answers


def _still_open(attempt_id: int, now: datetime, grace: timedelta) -> Any:
    return select(Attempt.id).where(
        Attempt.id == attempt_id, Attempt.state == "open", Attempt.deadline >= now - grace
    )


def shown_positions(keys: Sequence[str]) -> list[int]:
    """Keys as shown ("A", "C") -> their positions on the paper (0, 2), sorted, each once;
    BadAnswer for anything that is not a key."""
    try:
        return sorted({KEYS.index(key.upper()) for key in keys})
    except (ValueError, AttributeError):
        raise BadAnswer(N_("That choice is not one of this question's.")) from None


def selected_indices(shown: list[int], answer: list[int], keys: Sequence[str]) -> list[int]:
    """Shown keys ("A", "C") -> original choice indices; BadAnswer for keys not on the paper.
    `shown` is the attempt's choice order, `answer` the question's right choices."""
    try:
        indices = sorted(shown[position] for position in shown_positions(keys))
    except IndexError:
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
    holds_token(bindparam("owner_nonce"))
)
# (Bound names must differ from the updated columns' names: hence b_….)
_items = AttemptQuestion.__table__
_attempts = _attempt_rows
_versions = QuestionVersion.__table__
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
    or — with `owner_nonce` — a token the token check refuses: signed out, deleted, disabled,
    a password to change)."""
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


# PostgreSQL: the whole answer save in one UPDATE — the owner's question (the token's claim
# checked), the attempt open and in time, the keys on the paper (mapped to the original
# indices through the stored choice order), one key only for a one-answer question, a newer
# seq — RETURNING the deadline. Whatever it leaves unwritten goes the full way, which says why.
_picked = (
    func.unnest(bindparam("b_shown", type_=postgresql.ARRAY(Integer)))
    .table_valued("p")
    .render_derived(name="picked")
)
_index = cast(_items.c.choice_order.op("->>")(_picked.c.p), Integer)
_SAVE = (
    update(_items)
    .where(
        _items.c.attempt_id == bindparam("b_attempt"),
        _items.c.position == bindparam("b_position"),
        _attempts.c.id == _items.c.attempt_id,
        _attempts.c.user_id == bindparam("b_owner"),
        _attempts.c.state == "open",
        _attempts.c.deadline >= bindparam("b_open_until", type_=UTCDateTime()),
        _versions.c.id == _items.c.question_version_id,
        func.json_array_length(_items.c.choice_order) > bindparam("b_last", type_=Integer()),
        (bindparam("b_chosen", type_=Integer()) <= 1)
        | (func.json_array_length(_versions.c.answer) > 1),
    )
    .values(
        selected=func.coalesce(
            select(func.json_agg(postgresql.aggregate_order_by(_index, _index)))
            .select_from(_picked)
            .scalar_subquery(),
            cast(text("'[]'"), _items.c.selected.type),
        ),
        answered_at=bindparam("b_now", type_=UTCDateTime()),
    )
    .returning(_attempts.c.deadline)
)
_SAVES = {
    (newer, token): (
        (_SAVE.where(_items.c.seq < bindparam("b_seq")).values(seq=bindparam("b_seq")))
        if newer
        else _SAVE.values(seq=case((_items.c.seq < SEQ_MAX, _items.c.seq + 1), else_=_items.c.seq))
    ).where(*([User.id == _attempts.c.user_id, holds_token(bindparam("b_nonce"))] if token else []))
    for newer in (False, True)
    for token in (False, True)
}


def record_answer(
    session: Session,
    attempt_id: int,
    position: int,
    keys: Sequence[str],
    seq: int | None,
    now: datetime,
    grace: timedelta,
    *,
    owner_id: int,
    owner_nonce: str | None = None,
) -> datetime | None:
    """An answer of the owner (the API's hot path), committed: the attempt's deadline when it
    was stored, or — on PostgreSQL, one statement — None for anything that statement did not
    store (the caller's full path then stores it or says why). BadAnswer for keys that are no
    keys. Other engines: `answer_target` and `write_answer`."""
    if session.get_bind().dialect.name != "postgresql":
        target = answer_target(
            session, attempt_id, position, owner_id=owner_id, owner_nonce=owner_nonce
        )
        if target is None or (target.state == "open" and now > target.deadline + grace):
            return None
        write_answer(session, target, keys, seq, now, grace)
        return target.deadline
    positions = shown_positions(keys)
    params: dict[str, Any] = {
        "b_attempt": attempt_id,
        "b_position": position,
        "b_owner": owner_id,
        "b_open_until": now - grace,
        "b_last": positions[-1] if positions else -1,
        "b_chosen": len(positions),
        "b_shown": positions,
        "b_now": now,
    }
    if seq is not None:
        params["b_seq"] = seq
    if owner_nonce is not None:
        params["b_nonce"] = owner_nonce
    saved = db_direct.first(session, _SAVES[(seq is not None, owner_nonce is not None)], params)
    session.commit()
    return None if saved is None else saved.deadline


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
    closed = _close(
        session,
        attempt.id,
        _closing(attempt.started_at, attempt.deadline, now, late, prediction),
        standings.figure_of(attempt.round),
    )
    session.commit()
    if closed is not None:  # once per attempt: a second submit changed nothing
        metrics.attempt_finished("expired" if late else "submitted")
    session.refresh(attempt)
    return attempt


@dataclass(frozen=True)
class Result:
    """A submitted attempt's result, as the submit answers it."""

    score: int
    max_score: int
    duration_ms: int


# The submit's one read: the owner's attempt (the token's claim checked as user_for_token
# does), its state and times, and what its round asks and has frozen.
_SUBMIT_TARGET = (
    select(
        Attempt.state,
        Attempt.started_at,
        Attempt.deadline,
        Round.prediction,
        Round.frozen_at,
        Round.frozen_figure,
    )
    .join(Round, Round.id == Attempt.round_id)
    .where(Attempt.id == bindparam("attempt_id"), Attempt.user_id == bindparam("owner_id"))
)
_SUBMIT_TARGET_OF_TOKEN = _SUBMIT_TARGET.join(User, User.id == Attempt.user_id).where(
    holds_token(bindparam("owner_nonce"))
)


def submit(
    session: Session,
    attempt_id: int,
    prediction: int | None,
    now: datetime,
    grace: timedelta,
    *,
    owner_id: int,
    owner_nonce: str | None = None,
) -> Result | None:
    """The first submit of an open attempt in time, in one read and one write (the hot path):
    closed, scored and ranked, committed. None for everything else — not the owner's, a token
    no longer valid, already finished (by this person's other request too), late, a
    prediction missing — which the caller hands to `finish`, the full path."""
    params: dict[str, Any] = {"attempt_id": attempt_id, "owner_id": owner_id}
    if owner_nonce is None:
        row = db_direct.first(session, _SUBMIT_TARGET, params)
    else:
        row = db_direct.first(
            session, _SUBMIT_TARGET_OF_TOKEN, params | {"owner_nonce": owner_nonce}
        )
    if (
        row is None
        or row.state != "open"
        or now > row.deadline + grace
        or _asks_prediction(row.prediction, prediction)
    ):
        return None
    closing = _closing(row.started_at, row.deadline, now, False, prediction)
    result = _close(session, attempt_id, closing, standings.figure_of(row))
    session.commit()
    if result is not None:  # once per attempt: only the request that closed it
        metrics.attempt_finished("submitted")
    return result


def _asks_prediction(target: str, prediction: int | None) -> bool:
    return target != "none" and prediction is None


def _closing(
    started_at: datetime, deadline: datetime, now: datetime, late: bool, prediction: int | None
) -> dict[str, Any]:
    """The values a finished attempt gets: its state, end (never past the deadline), duration
    measured by the server, and the prediction (none when it is finished late)."""
    ended = min(now, deadline)
    return {
        "b_state": "expired" if late else "submitted",
        "b_ended": ended,
        "b_duration": max(0, round((ended - started_at).total_seconds() * 1000)),
        "b_prediction": None if late else prediction,
    }


class same_choices(FunctionElement[bool]):
    """SQL: whether an answer row's chosen set equals its question's right set — the scoring
    rule, applied where the rows are. Both are JSON arrays of choice indices; NULL (no answer)
    is the empty set; the order either is stored in does not matter."""

    type = Boolean()
    inherit_cache = True
    name = "same_choices"


@compiles(same_choices, "postgresql")
def _same_choices_pg(element: same_choices, compiler: SQLCompiler, **kw: Any) -> str:
    selected, answer = (compiler.process(c, **kw) for c in element.clauses)
    chosen = f"CAST(COALESCE(CAST({selected} AS TEXT), '[]') AS JSONB)"
    right = f"CAST({answer} AS JSONB)"
    return f"({chosen} @> {right} AND {right} @> {chosen})"


@compiles(same_choices)
def _same_choices_sqlite(element: same_choices, compiler: SQLCompiler, **kw: Any) -> str:
    selected, answer = (compiler.process(c, **kw) for c in element.clauses)
    chosen = f"COALESCE({selected}, '[]')"
    # Compiled column expressions only, no values: not an injection vector.
    count = "(SELECT count(*) FROM json_each({}))"
    differ = "NOT EXISTS (SELECT value FROM json_each({}) EXCEPT SELECT value FROM json_each({}))"
    return f"({count.format(chosen)} = {count.format(answer)} AND {differ.format(answer, chosen)})"


_CLOSE = (
    update(_attempt_rows)
    .where(_attempt_rows.c.id == bindparam("b_attempt"), _attempt_rows.c.state == "open")
    .values(
        state=bindparam("b_state", type_=String()),
        submitted_at=bindparam("b_ended", type_=UTCDateTime()),
        duration_ms=bindparam("b_duration", type_=Integer()),
        prediction=bindparam("b_prediction", type_=Integer()),
    )
)
_MARKS = (
    select(_items.c.id, same_choices(_items.c.selected, _versions.c.answer).label("ok"))
    .join(_versions, _versions.c.id == _items.c.question_version_id)
    .where(_items.c.attempt_id == bindparam("b_attempt"))
)
_RESULT = (_attempt_rows.c.score, _attempt_rows.c.max_score, _attempt_rows.c.duration_ms)
_CLOSE_STATEMENTS: dict[tuple[str, bool], Any] = {}


def _close_statement(dialect: str, with_figure: bool) -> Any:
    """Built once per engine and kind of ranking (provisional, or measured to a figure).
    PostgreSQL: one statement closes the attempt if it is still open, marks each answer, sets
    the score and enters it in `best_attempts` (all from one snapshot, so the marks and the
    score agree); RETURNING the result. Other engines: the closing UPDATE alone (RETURNING
    the result), the rest after it (SQLite's writer lock keeps them together)."""
    key = (dialect, with_figure)
    if key not in _CLOSE_STATEMENTS:
        if dialect != "postgresql":
            marks = _MARKS.subquery()
            count = select(func.count()).select_from(marks).where(marks.c.ok).scalar_subquery()
            statement = _CLOSE.values(score=count).returning(*_RESULT)
        else:
            marks = _MARKS.cte("marks")
            count = select(func.count()).select_from(marks).where(marks.c.ok).scalar_subquery()
            closed = _CLOSE.values(score=count).returning(*_attempt_rows.c).cte("closed")
            marked = (
                update(_items)
                .where(_items.c.id == marks.c.id, _items.c.attempt_id == closed.c.id)
                .values(correct=marks.c.ok)
                .cte("marked")
            )
            figure = bindparam("b_figure", type_=Integer()) if with_figure else None
            ranked = standings.upsert(dialect, standings.candidates(closed.c, figure)).cte("ranked")
            statement = select(closed.c.score, closed.c.max_score, closed.c.duration_ms).add_cte(
                marked, ranked
            )
        _CLOSE_STATEMENTS[key] = statement
    return _CLOSE_STATEMENTS[key]


_MARK = (
    update(_items)
    .where(_items.c.attempt_id == bindparam("b_attempt"))
    .values(
        correct=same_choices(
            _items.c.selected,
            select(_versions.c.answer)
            .where(_versions.c.id == _items.c.question_version_id)
            .scalar_subquery(),
        )
    )
)


def _close(
    session: Session, attempt_id: int, closing: dict[str, Any], figure: int | None
) -> Result | None:
    """Close the attempt if it is still open (the conditional UPDATE is the arbiter: exactly
    one caller closes it), mark its answers, score it and rank it, in the caller's
    transaction. The result when this call closed it, else None."""
    dialect = session.get_bind().dialect.name
    params = closing | {"b_attempt": attempt_id}
    if figure is not None:
        params["b_figure"] = figure
    session.flush()  # a caller's pending changes first, as the ORM's execution would
    row = db_direct.first(session, _close_statement(dialect, figure is not None), params)
    if row is None:
        return None
    if dialect != "postgresql":
        session.execute(_MARK, {"b_attempt": attempt_id})
        standings.record(session, attempt_id, figure)
    return Result(row.score or 0, row.max_score, row.duration_ms or 0)


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
