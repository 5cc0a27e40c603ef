"""Answering surveys: which questions show, what an answer may be, one response per person,
and anonymity by construction (app/models/surveys.py says how the tables keep it).

Answer values are those of api.md: `single`/`scale` → the 1-based choice number (a `single`
with `other` may be `{"other": "text"}`), `multiple` → a list of choice numbers or
`{"choices": [...], "other": "text"}`, `rating` → 0..10, `number` → a number, `text` → a
string, `grid` → `{"1": value, ...}` by 1-based row.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, aliased

from app import db_direct, metrics
from app.content.messages import N_
from app.models import (
    CHANNELS,
    Survey,
    SurveyAnswer,
    SurveyDraft,
    SurveyLedger,
    SurveyResponse,
    Unit,
    UnitLevel,
    User,
)
from app.services import mixer, policy
from app.services.survey_definition import (
    ANSWERED,
    QuestionDef,
    Questions,
    SurveyDef,
    cached_questions,
    definition,
    stored_figures,
)
from app.services.tokens import holds_token
from app.text import has_stray_controls

log = logging.getLogger(__name__)

TEXT_MAX = 2000
STRAY_CONTROLS = N_("Your answer contains invisible control characters: please retype it.")
OTHER_MAX = 200
CHOICE_TYPES = {"single", "multiple", "scale"}


class SurveyError(Exception):
    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SurveyClosed(SurveyError):
    pass


class AlreadyAnswered(SurveyError):
    pass


class NotInAudience(SurveyError):
    status = 403


@dataclass(frozen=True)
class AnswerProblem:
    key: str
    message: str  # an N_ msgid
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def estimated_minutes(defn: SurveyDef) -> int:
    seconds = 0.0
    for q in defn.questions:
        seconds += {"text": 60, "grid": 8 * max(1, len(q.rows)), "number": 12}.get(q.type, 10)
    return max(1, math.ceil(seconds / 60))


# Built once: every survey page, answer and API call finds its survey by its slug (building
# the statement each time cost about a quarter of the lookup).
_BY_SLUG = select(Survey).where(Survey.slug == bindparam("slug"))
# With the unit a person not signed in names (the web survey's pages), by the same statement.
_BY_SLUG_WITH_UNIT = (
    select(Survey, Unit)
    .outerjoin(Unit, Unit.code == bindparam("unit", type_=Unit.code.type))
    .where(Survey.slug == bindparam("slug"))
)


SLUG_MAX = 64  # Survey.slug's length


def addressable(slug: str) -> bool:
    """Whether `slug` could name a survey at all: an address longer than any slug, or with a
    NUL (which PostgreSQL refuses in text, a 500), never reaches the database."""
    return len(slug) <= SLUG_MAX and "\x00" not in slug


def by_slug(session: Session, slug: str) -> Survey | None:
    """The survey named `slug` in addresses, or None."""
    if not addressable(slug):
        return None
    return session.scalar(_BY_SLUG, {"slug": slug})


def by_slug_with_unit(session: Session, slug: str, unit: int) -> tuple[Survey, Unit | None] | None:
    """`by_slug` with the unit of code `unit` (None: no such unit) read by the same statement,
    or None for no such survey."""
    if not addressable(slug):
        return None
    found = session.execute(_BY_SLUG_WITH_UNIT, {"slug": slug, "unit": unit}).first()
    return (found[0], found[1]) if found is not None else None


def is_open(survey: Survey, now: datetime) -> bool:
    return open_between(survey.opens_at, survey.closes_at, now)


def open_between(opens_at: datetime, closes_at: datetime, now: datetime) -> bool:
    """`is_open` for a survey read as its times (a hot path's own query)."""
    return opens_at <= now < closes_at


def in_audience(survey: Survey, unit: Unit, hamlet_code: int | None = None) -> bool:
    return policy.in_audience(survey.audience, unit, hamlet_code)


def open_surveys(
    session: Session, now: datetime, unit: Unit | None, hamlet_code: int | None = None
) -> list[Survey]:
    surveys = session.scalars(
        select(Survey)
        .where(Survey.opens_at <= now, Survey.closes_at > now)
        .order_by(Survey.closes_at)
    ).all()
    return [s for s in surveys if unit is None or in_audience(s, unit, hamlet_code)]


def local_day(now: datetime, survey: Survey) -> date:
    return day_in(now, survey.timezone)


def day_in(now: datetime, timezone: str) -> date:
    """`local_day` for a survey read as its timezone (a hot path's own query)."""
    return now.astimezone(ZoneInfo(timezone)).date()


# ------------------------------------------------------------------------------ visibility


def _chosen(value: Any) -> set[int]:
    """The numbers a value stands for, for show_if: a choice, a rating, or ticked choices."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, int) and not isinstance(v, bool)}
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        return _chosen(value["choices"])
    return set()


def visible_keys(defn: Questions, answers: dict[str, Any]) -> set[str]:
    """Questions shown given these answers: every show_if entry holds, on a shown question
    (a question shown only by a hidden one is hidden too)."""
    shown: set[str] = set()
    for q in defn.questions:
        conditions = q.show_if or {}
        if all(
            key in shown and _chosen(answers.get(key)) & set(values)
            for key, values in conditions.items()
        ):
            shown.add(q.key)
    return shown


def pending_on_page(defn: SurveyDef, page: int, answers: dict[str, Any]) -> list[QuestionDef]:
    """The questions a page shows now: those whose conditions hold, or depend on this page."""
    shown = visible_keys(defn, answers)
    same_page = {q.key for q in defn.page_questions(page)}
    result = []
    for q in defn.page_questions(page):
        depends_here = any(key in same_page for key in (q.show_if or {}))
        if q.key in shown or depends_here:
            result.append(q)
    return result


# ------------------------------------------------------------------------------- validation


def _int(value: Any) -> int | None:
    """A choice number, mark or row: ASCII digits or a JSON integer (app.parse)."""
    from app.parse import ID_MAX, int_or_none

    return int_or_none(value, -ID_MAX, ID_MAX)


def _number(value: Any) -> float | None:
    """A `number` answer: "12,5", "12.5", or a finite JSON number (app.parse)."""
    from app.parse import decimal_number

    return decimal_number(value)


def _empty(value: Any) -> bool:
    if isinstance(value, dict) and ("choices" in value or "other" in value):
        return not value.get("choices") and not value.get("other")
    return value is None or value == "" or value == [] or value == {}


def check_value(q: QuestionDef, value: Any) -> tuple[Any, AnswerProblem | None]:
    """One answer in its stored form, or the problem with it."""

    def problem(message: str, **params: Any) -> tuple[None, AnswerProblem]:
        return None, AnswerProblem(q.key, message, params)

    k = len(q.choices)
    if q.type in {"single", "scale"}:
        if q.type == "single" and q.other and isinstance(value, dict) and set(value) == {"other"}:
            text = str(value["other"]).strip()
            if not text or len(text) > OTHER_MAX:
                return problem(
                    N_("Please write your other answer (at most %(n)d characters)."), n=OTHER_MAX
                )
            if has_stray_controls(text):
                return problem(STRAY_CONTROLS)
            return {"other": text}, None
        number = _int(value)
        if number is None or not 1 <= number <= k:
            return problem(N_("Please choose one of the answers listed."))
        return number, None
    if q.type == "multiple":
        other = None
        items = value
        if isinstance(value, dict):
            items, other = value.get("choices", []), value.get("other")
        if not isinstance(items, list):
            return problem(N_("Please choose among the answers listed."))
        numbers = [_int(v) for v in items]
        if any(n is None or not 1 <= n <= k for n in numbers) or len(set(numbers)) != len(numbers):
            return problem(N_("Please choose among the answers listed."))
        if other is not None:
            other = str(other).strip()
            if not q.other:
                return problem(N_("This question has no other answer."))
            if len(other) > OTHER_MAX:
                return problem(
                    N_("Please write your other answer (at most %(n)d characters)."), n=OTHER_MAX
                )
            if has_stray_controls(other):
                return problem(STRAY_CONTROLS)
        count = len(numbers) + (1 if other else 0)
        if q.max is not None and count > q.max:
            return problem(N_("Choose at most %(n)d answers."), n=int(q.max))
        if count == 0:
            return None, None
        chosen = sorted(n for n in numbers if n is not None)
        return ({"choices": chosen, "other": other} if other else chosen), None
    if q.type == "rating":
        number = _int(value)
        if number is None or not 0 <= number <= 10:
            return problem(N_("Please choose a mark from 0 to 10."))
        return number, None
    if q.type == "number":
        number = _number(value)
        if number is None:
            return problem(N_("Please enter a number."))
        if not q.decimal and not number.is_integer():
            return problem(N_("Please enter a whole number."))
        low = q.min if q.min is not None else -math.inf
        high = q.max if q.max is not None else math.inf
        if not low <= number <= high:
            return problem(
                N_("Please enter a number from %(low)s to %(high)s."),
                low=_plain(q.min),
                high=_plain(q.max),
            )
        return (int(number) if not q.decimal else number), None
    if q.type == "text":
        if not isinstance(value, str):
            return problem(N_("Please write your answer as text."))
        text = value.strip()
        if len(text) > TEXT_MAX:
            return problem(
                N_("Please shorten your answer to at most %(n)d characters."), n=TEXT_MAX
            )
        if has_stray_controls(text):
            return problem(STRAY_CONTROLS)
        return (text or None), None
    if q.type == "grid":
        if not isinstance(value, dict):
            return problem(N_("Please answer each line."))
        clean = {}
        for row, row_value in value.items():
            index, mark = _int(row), _int(row_value)
            if index is None or not 1 <= index <= len(q.rows) or mark is None or not 1 <= mark <= k:
                return problem(N_("Please answer each line with one of the answers listed."))
            clean[str(index)] = mark
        return clean or None, None
    return problem(N_("This question cannot be answered."))


def _plain(number: float | None) -> str:
    if number is None:
        return "…"
    return str(int(number)) if float(number).is_integer() else str(number)


def clean_answers(
    defn: Questions,
    raw: dict[str, Any],
    *,
    hidden: str = "refuse",
    pages: Iterable[int] | None = None,
) -> tuple[dict[str, Any], list[AnswerProblem]]:
    """Check answers against the survey. `hidden`: "refuse" (API: an answer to a hidden question
    is an error) or "drop" (web form: a value left from an earlier choice is removed).
    `pages`: check that required questions are answered on these pages only (page by page)."""
    by_key = defn.by_key
    problems: list[AnswerProblem] = []
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        q = by_key.get(key)
        if q is None:
            problems.append(AnswerProblem(key, N_("There is no such question in this survey.")))
            continue
        if _empty(value):
            continue
        stored, problem = check_value(q, value)
        if problem:
            problems.append(problem)
        elif stored is not None:
            clean[key] = stored
    shown = visible_keys(defn, clean)
    for key in list(clean):
        if key not in shown:
            if hidden == "refuse":
                problems.append(
                    AnswerProblem(
                        key,
                        N_("This question is not shown for your earlier answers: leave it out."),
                    )
                )
            del clean[key]
    wanted = set(pages) if pages is not None else None
    bad = {p.key for p in problems}
    for q in defn.questions:
        if q.required and q.key in shown and q.key not in clean and q.key not in bad:
            if wanted is None or q.page in wanted:
                problems.append(AnswerProblem(q.key, N_("This question needs an answer.")))
    for q in defn.questions:
        if q.type == "grid" and q.required and q.key in clean and len(clean[q.key]) < len(q.rows):
            if wanted is None or q.page in wanted:
                problems.append(AnswerProblem(q.key, N_("Please answer each line.")))
    order = {q.key: i for i, q in enumerate(defn.questions)}
    return clean, sorted(problems, key=lambda p: order.get(p.key, -1))


# ---------------------------------------------------------------------------------- storage


def _values(q: QuestionDef, value: Any) -> list[tuple[int, int | None, float | None, str | None]]:
    """An answer as stored rows: (item, value, number, text). A multiple-choice or grid
    answer has several rows, one per choice ticked or row answered, and one more at item 0
    with no value: one row per respondent, so that the database counts them without DISTINCT."""
    if q.type in {"single", "scale", "rating"}:
        return (
            [(-1, None, None, value["other"])]
            if isinstance(value, dict)
            else [(0, value, None, None)]
        )
    if q.type == "multiple":
        choices = value["choices"] if isinstance(value, dict) else value
        rows: list[tuple[int, int | None, float | None, str | None]] = [
            (ANSWERED, None, None, None),
            *((c, c, None, None) for c in choices),
        ]
        if isinstance(value, dict) and value.get("other"):
            rows.append((-1, None, None, value["other"]))
        return rows
    if q.type == "number":
        return [(0, None, float(value), None)]
    if q.type == "text":
        return [(0, None, None, value)]
    return [
        (ANSWERED, None, None, None),
        *((int(row), mark, None, None) for row, mark in value.items()),
    ]  # grid


def _figures_by_current_rules(
    session: Session, defn: SurveyDef, response: SurveyResponse, answers: dict[str, Any]
) -> None:
    """The response's stored figures (its index figures and demographic groups:
    survey_definition.stored_figures) by the rules of the survey as it stands when the response
    is stored. A content load that changes those rules updates the survey's row, then
    recomputes every stored response (survey_definition.restamp_index, restamp_groups) before
    it commits. Read with FOR SHARE on PostgreSQL (SQLite writes one at a time anyway), the
    survey's version either waits for such a load to commit, and then shows a new version
    (the figures are computed again here), or makes the load wait for this response, whose
    figures its recomputation then includes."""
    version = session.scalar(
        select(Survey.version).where(Survey.id == defn.survey.id).with_for_update(read=True)
    )
    if version == defn.version:
        return
    session.expire(defn.survey)
    for name, value in stored_figures(definition(session, defn.survey), answers).items():
        setattr(response, name, value)


def _rows(defn: SurveyDef, response_id: uuid.UUID, answers: dict[str, Any]) -> list[SurveyAnswer]:
    by_key = defn.by_key
    return [
        SurveyAnswer(
            response_id=response_id,
            question_id=by_key[key].id,
            item=item,
            value=v,
            number=n,
            text=t,
        )
        for key, value in answers.items()
        for item, v, n, t in _values(by_key[key], value)
    ]


def submit(
    session: Session,
    defn: SurveyDef,
    answers: dict[str, Any],
    now: datetime,
    *,
    user: User | None,
    unit: Unit,
    mixing: mixer.Mixing | None = None,
    channel: str = "online",
    hamlet: Unit | None = None,
) -> SurveyResponse | None:
    """Store one response (already checked with clean_answers). For a signed-in person the
    ledger entry is written in the same transaction; a second response is AlreadyAnswered.

    An identified survey's response is stored and returned. An anonymous survey's response is
    sealed and queued for the mixer in the ledger entry's transaction, then moved with others
    by `settle` (at once when a batch is due): None is returned, since nothing may tie the
    stored response to this call.

    `channel` says how the response came in (CHANNELS: the callers that enter responses for
    others pass theirs); `hamlet`, a hamlet of `unit`, places it below its commune."""
    survey = defn.survey
    survey_id = survey.id  # read before the commit expires the row
    if not is_open(survey, now):
        raise SurveyClosed(N_("This survey is not open."))
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if hamlet is not None and (hamlet.level != UnitLevel.HAMLET or hamlet.parent_code != unit.code):
        raise SurveyError(N_("This hamlet is not part of your commune or ward."))
    hamlet_code = hamlet.code if hamlet is not None else None
    if not in_audience(survey, unit, hamlet_code):
        raise NotInAudience(N_("This survey is not open to your commune or ward."))
    figures = stored_figures(defn, answers)
    # The flag as it is now (FOR SHARE): the definition was read earlier in the request, and a
    # re-publish as anonymous in between must not get an identified row.
    anonymous = db_direct.first(session, _ANONYMOUS_NOW, {"id": survey_id}).anonymous
    response = None
    pending: tuple[int, datetime] | None = None
    if user is not None:
        session.add(SurveyLedger(survey_id=survey_id, user_id=user.id))
    if not anonymous:
        response = SurveyResponse(
            id=uuid.uuid4(),
            survey_id=survey_id,
            unit_code=unit.code,
            hamlet_code=hamlet_code,
            channel=channel,
            submitted_on=local_day(now, survey),
            signed_in=user is not None,
            user_id=user.id if user is not None else None,
            **figures,
        )
        response.answers = _rows(defn, response.id, answers)
        session.add(response)
    try:
        session.flush()
        if response is not None:
            _figures_by_current_rules(session, defn, response, answers)
            if user is not None:  # anonymous surveys have no server drafts
                session.execute(
                    delete(SurveyDraft).where(
                        SurveyDraft.survey_id == survey_id, SurveyDraft.user_id == user.id
                    )
                )
        else:
            mixing = mixing or mixer.current()
            payload = _sealed_payload(
                defn,
                answers,
                figures,
                unit=unit.code,
                hamlet=hamlet_code,
                channel=channel,
                day=local_day(now, survey),
                signed_in=user is not None,
            )
            pending = mixer.queue(session, mixing, survey_id, payload, now)
        session.commit()
    except IntegrityError:
        # The ledger's key (survey, account) decides concurrent and repeated answers.
        session.rollback()
        raise AlreadyAnswered(ALREADY_ANSWERED) from None
    _stored(session, survey_id, bool(anonymous), mixing, pending, now)
    return response


ALREADY_ANSWERED = N_("You have already answered this survey. Thank you!")
# `submit`'s read of the survey's flag as it is now (FOR SHARE), built once.
_ANONYMOUS_NOW = (
    select(Survey.anonymous)
    .where(Survey.id == bindparam("id", type_=Survey.id.type))
    .with_for_update(read=True)
)


def _sealed_payload(
    defn: Questions,
    answers: dict[str, Any],
    figures: dict[str, Any],
    *,
    unit: int,
    hamlet: int | None,
    channel: str,
    day: date,
    signed_in: bool,
) -> dict[str, Any]:
    """What an anonymous response's sealed pending row holds, for `settle` to store: every way
    of answering seals it from here, so the mixer cannot tell one way from another."""
    by_key = defn.by_key
    return {
        "unit": unit,
        "hamlet": hamlet,
        "channel": channel,
        "day": day.isoformat(),
        "signed_in": signed_in,
        "version": defn.version,
        "answers": answers,
        "rows": [
            [by_key[key].id, *row]
            for key, value in answers.items()
            for row in _values(by_key[key], value)
        ],
        "figures": figures,
    }


def _stored(
    session: Session,
    survey_id: int,
    anonymous: bool,
    mixing: mixer.Mixing | None,
    pending: tuple[int, datetime] | None,
    now: datetime,
) -> None:
    """After a response's commit: counted, and the survey's batch moved when this response
    filled it (mixer.fills_batch)."""
    metrics.survey_response(anonymous=anonymous)
    if mixing is not None and pending is not None and mixer.fills_batch(mixing, *pending, now):
        settle(session, now, survey_id=survey_id, mixing=mixing)


# The API's fast lane's one read (`respond_fast`): the survey by its slug, taken FOR SHARE as
# `submit` takes it (a re-publish waits for this response, or this read sees it), with the
# bearer token's account — its claim checked as user_for_token does — its commune, and the
# hamlet it named. Built once.
_HAMLET = aliased(Unit)
_RESPONDENT = (
    select(
        Survey.id,
        Survey.anonymous,
        Survey.version,
        Survey.opens_at,
        Survey.closes_at,
        Survey.timezone,
        Survey.audience,
        User.unit_code,
        Unit.parent_code,
        User.hamlet_code,
        _HAMLET.level.label("hamlet_level"),
        _HAMLET.parent_code.label("hamlet_parent"),
    )
    .join_from(Survey, User, User.id == bindparam("user_id"))
    .join(Unit, Unit.code == User.unit_code)
    .outerjoin(_HAMLET, _HAMLET.code == User.hamlet_code)
    .where(Survey.slug == bindparam("slug"), holds_token(bindparam("owner_nonce")))
    .with_for_update(read=True, of=Survey)
)


def respond_fast(
    session: Session,
    slug: str,
    raw: dict[str, Any],
    now: datetime,
    *,
    owner_id: int,
    owner_nonce: str,
    mixing: mixer.Mixing | None = None,
) -> list[AnswerProblem] | None:
    """A bearer token's online response to an anonymous survey, by one read (`_RESPONDENT`)
    and the writes (the ledger entry and the sealed row: mixer.queue_entered), the questions
    from the process's cache: what `submit` stores for the same answers. Returns the answers'
    problems (none: stored and committed), or None, having written nothing, for everything
    the full path settles and explains — no such survey or a token no longer valid, a survey
    not anonymous or not open, not in its audience, a hamlet not of the account's commune,
    questions not yet read by this process. A second answer: AlreadyAnswered."""
    # It loads no entity: not through the ORM's execution and, on PostgreSQL, not through
    # SQLAlchemy's either (app/db_direct.py), as the attempts' hot paths run.
    if not addressable(slug):
        return None
    params = {"slug": slug, "user_id": owner_id, "owner_nonce": owner_nonce}
    row = db_direct.first(session, _RESPONDENT, params)
    if row is None or not row.anonymous or not open_between(row.opens_at, row.closes_at, now):
        return None
    hamlet = row.hamlet_code
    if hamlet is not None and (
        row.hamlet_level != UnitLevel.HAMLET or row.hamlet_parent != row.unit_code
    ):
        return None
    if not policy.in_audience_of(row.audience, row.unit_code, row.parent_code, hamlet):
        return None
    questions = cached_questions(session, row.id, row.version)
    if questions is None:
        return None
    answers, problems = clean_answers(questions, raw, hidden="refuse")
    if problems:
        session.rollback()
        return problems
    payload = _sealed_payload(
        questions,
        answers,
        stored_figures(questions, answers),
        unit=row.unit_code,
        hamlet=hamlet,
        channel="online",
        day=day_in(now, row.timezone),
        signed_in=True,
    )
    mixing = mixing or mixer.current()
    try:
        pending = mixer.queue_entered(session, mixing, row.id, owner_id, payload, now)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AlreadyAnswered(ALREADY_ANSWERED) from None
    _stored(session, row.id, True, mixing, pending, now)
    return []


def settle(
    session: Session,
    now: datetime,
    *,
    survey_id: int | None = None,
    force: bool = False,
    mixing: mixer.Mixing | None = None,
) -> int:
    """The mixer: move the pending anonymous responses of each survey whose batch is due (all
    of them with `force`) into `survey_responses`, one transaction per survey, under fresh
    random keys, written in key order. Returns how many responses were moved.

    Called after each anonymous submission, before results are read, and by `flask surveys
    mix` (scheduled). The stored figures (index, groups) follow the survey's rules when the
    response is moved (read FOR SHARE, as `_figures_by_current_rules` explains)."""
    mixing = mixing or mixer.current()
    moved = 0
    for pending_survey, (count, oldest) in mixer.waiting(session, mixing, survey_id).items():
        if not force and not mixer.is_due(mixing, count, oldest, now):
            continue
        payloads, claimed_oldest = mixer.claim(session, mixing, pending_survey)
        if not payloads or (
            not force and not mixer.is_due(mixing, len(payloads), claimed_oldest or now, now)
        ):
            # Another mixer holds the rest of the batch: moving what is left would make a
            # batch of one (a response tied to its ledger entry by order). It waits.
            session.rollback()
            continue
        version = session.scalar(
            select(Survey.version).where(Survey.id == pending_survey).with_for_update(read=True)
        )
        current: SurveyDef | None = None
        keyed: list[tuple[uuid.UUID, dict[str, Any], list[list[Any]]]] = []
        for payload in payloads:
            key = uuid.uuid4()
            figures = payload.get("figures")  # payloads sealed before migration 0022: none
            if payload["version"] != version or figures is None:
                if current is None:
                    survey = session.get(Survey, pending_survey, populate_existing=True)
                    assert survey is not None
                    current = definition(session, survey)
                figures = stored_figures(current, payload["answers"])
            response = {
                "id": key,
                "survey_id": pending_survey,
                "unit_code": payload["unit"],
                # Payloads sealed before issue 20 carry neither: online, no hamlet.
                "hamlet_code": payload.get("hamlet"),
                "channel": payload.get("channel", "online"),
                "submitted_on": date.fromisoformat(payload["day"]),
                "signed_in": payload["signed_in"],
                "user_id": None,
                "demo": False,
                **figures,
            }
            keyed.append((key, response, payload["rows"]))
        # Written in key order: the responses by their new keys, each one's answers by
        # (question, item) — the order of both tables' primary keys.
        keyed.sort(key=lambda entry: entry[0])
        responses = [response for _key, response, _rows in keyed]
        rows = [
            {
                "response_id": key,
                "question_id": question,
                "item": item,
                "value": value,
                "number": number,
                "text": text,
            }
            for key, _response, answered in keyed
            for question, item, value, number, text in sorted(answered, key=lambda r: r[:2])
        ]
        try:
            _move(session, responses, rows)
            session.commit()
        except DBAPIError:
            # A batch the database refuses (a NUL in a text, sealed before such answers were
            # refused): it stays pending, claimed rows restored; the other surveys move.
            session.rollback()
            log.exception(
                "survey %s: a batch of %d pending responses could not be moved; it stays pending",
                pending_survey,
                len(responses),
            )
            continue
        moved += len(responses)
    if survey_id is not None and not moved:
        # The survey's mixer lock (mixer.waiting takes it when free, whatever it then finds)
        # goes now, not when the caller's request ends.
        session.rollback()
    return moved


_RESPONSES = SurveyResponse.__table__
_ANSWERS = SurveyAnswer.__table__


def _from_arrays(table: Any, prefix: str) -> Any:
    """PostgreSQL: INSERT … SELECT FROM unnest(one array per column), the rows in the arrays'
    order; each column's array bound as `prefix` + its name."""
    names = [column.name for column in table.c]
    arrays = func.unnest(
        *(bindparam(prefix + name, type_=postgresql.ARRAY(table.c[name].type)) for name in names)
    )
    rows = arrays.table_valued(*names).render_derived()
    return insert(table).from_select(names, select(*(rows.c[name] for name in names)))


# A batch's responses and their answers in one statement (the answers' key to their response
# is checked at the statement's end, when both are written), each table's rows in key order.
_MOVE_PG = _from_arrays(_ANSWERS, "a_").add_cte(
    _from_arrays(_RESPONSES, "r_").cte("moved_responses")
)


def _move(session: Session, responses: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Write a batch's responses and answers, in the order given: one statement on PostgreSQL
    (its executemany sent one INSERT per row: 0.09 ms each, 0.7 ms a response), Core
    executemany on SQLite."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(_RESPONSES), responses)
        if rows:
            connection.execute(insert(_ANSWERS), rows)
        return
    values = {f"r_{c.name}": [r[c.name] for r in responses] for c in _RESPONSES.c}
    values |= {f"a_{c.name}": [r[c.name] for r in rows] for c in _ANSWERS.c}
    connection.execute(_MOVE_PG, values)


def has_answered(session: Session, survey: Survey, user: User) -> bool:
    return session.get(SurveyLedger, (survey.id, user.id)) is not None


def save_draft(
    session: Session, survey: Survey, user: User, answers: dict[str, Any], page: int, now: datetime
) -> None:
    """Identified surveys only: anonymous drafts never reach the server. The survey's flag is
    read afresh, FOR SHARE, in the write's transaction: a re-publish as anonymous (which
    deletes the drafts) either waits for this draft, or this draft sees the new flag."""
    anonymous = session.scalar(
        select(Survey.anonymous).where(Survey.id == survey.id).with_for_update(read=True)
    )
    if anonymous is not False:
        session.rollback()
        return
    draft = session.get(SurveyDraft, (survey.id, user.id))
    if draft is None:
        session.add(
            SurveyDraft(
                survey_id=survey.id, user_id=user.id, answers=answers, page=page, updated_at=now
            )
        )
    else:
        draft.answers, draft.page, draft.updated_at = answers, page, now
    session.commit()


def load_draft(session: Session, survey: Survey, user: User) -> SurveyDraft | None:
    return None if survey.anonymous else session.get(SurveyDraft, (survey.id, user.id))
