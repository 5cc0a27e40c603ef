"""Answers entered on others' behalf (issue 20): assisted entry, paper forms, kiosk mode.

Who may: `policy.may_enter_for` (officers and admins, for a place within their scope). What
each way stores, and what it never stores:

- **Assisted** (identified surveys only): an officer enters a resident's answers, the resident
  found by phone or given an account on the spot (consent recorded as given in person; the
  account gets a one-time password for later sign-in). The response is the resident's
  (`user_id`, the ledger: one response per person holds), channel "assisted". The officer is
  in the audit trail (`entry.assisted`, `entry.resident`), never in the response or consent.
  Anonymous surveys refuse it: a trail entry "officer entered for resident R on day D" beside
  the day's lone assisted response of R's commune would name R's answers.
- **Paper forms** (anonymous surveys only): each form goes through `surveys.submit` with no
  account and channel "paper": sealed, mixed, stored with nothing about the officer. The
  batch — survey, officer, place, forms counted, start and last form — is one audit entry
  (`entry.paper`), its count updated in each form's transaction (so it is exact), and nothing
  per form.
- **Kiosk** (anonymous surveys only: an identified survey needs a person): a grant an officer
  opens for a shared device (`open_kiosk`, audit `kiosk.open`), valid for a working day while
  the officer may still enter for its place and until ended (`kiosk.end`). Responses are
  channel "kiosk", mixed; the one-per-device cookie does not apply, a rate limit per kiosk does
  (app/ratelimits.py: `kiosk_try`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.models import AuditEvent, Role, Survey, SurveyResponse, Unit, UnitLevel, User
from app.phones import PhoneError, normalize_phone
from app.services import accounts, audit, policy
from app.services import surveys as surveys_service
from app.services.staff import one_time_password
from app.services.survey_definition import SurveyDef
from app.text import vietnamese_key

KIOSK_LASTS = timedelta(hours=12)  # a working day, opening to closing of the one-stop office


class EntryError(Exception):
    """Refused, with what to do (translated), an HTTP status and the field concerned."""

    def __init__(self, message: str, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


@dataclass(frozen=True)
class Place:
    """Where responses are counted: a commune, and optionally one of its hamlets."""

    commune: Unit
    hamlet: Unit | None = None

    @property
    def unit(self) -> Unit:
        """The most precise unit: the hamlet when there is one."""
        return self.hamlet or self.commune

    @property
    def code(self) -> int:
        return self.unit.code

    @property
    def name(self) -> str:
        if self.hamlet is None:
            return self.commune.name
        return f"{self.hamlet.name}, {self.commune.name}"


def place_of(session: Session, code: int | None) -> Place | None:
    """A commune's or a hamlet's code as a Place; None for anything else."""
    unit = session.get(Unit, code) if code is not None else None
    if unit is None:
        return None
    if unit.level == UnitLevel.COMMUNE:
        return Place(unit)
    if unit.level == UnitLevel.HAMLET and unit.parent_code is not None:
        commune = session.get(Unit, unit.parent_code)
        return Place(commune, unit) if commune is not None else None
    return None


def resident_place(session: Session, user: User) -> Place:
    hamlet = session.get(Unit, user.hamlet_code) if user.hamlet_code else None
    if hamlet is not None and hamlet.parent_code != user.unit_code:
        hamlet = None  # a hamlet that moved to another commune no longer places them
    return Place(user.unit, hamlet)


def places_for(session: Session, officer: User, survey: Survey | None = None) -> list[Place]:
    """The places `officer` may enter for (and, given a survey, in its audience), each commune
    followed by its hamlets, in Vietnamese order."""
    scope = policy.scope_of(officer)
    units = session.scalars(
        select(Unit).where(Unit.level.in_([UnitLevel.COMMUNE, UnitLevel.HAMLET]))
    ).all()
    communes = {u.code: u for u in units if u.level == UnitLevel.COMMUNE}
    places: list[tuple[tuple[Any, ...], Place]] = []
    for unit in units:
        commune = communes.get(unit.parent_code or -1) if unit.level == UnitLevel.HAMLET else unit
        if commune is None:
            continue
        if scope is not None and not policy.within(unit, scope):
            continue
        if not policy.may_enter_for(officer, unit):
            continue
        if survey is not None and not surveys_service.in_audience(survey, commune):
            continue
        place = Place(commune, unit if unit.level == UnitLevel.HAMLET else None)
        key = (
            vietnamese_key(commune.name),
            commune.code,
            place.hamlet is not None,
            vietnamese_key(place.hamlet.name) if place.hamlet else "",
        )
        places.append((key, place))
    return [p for _key, p in sorted(places, key=lambda kp: kp[0])]


def _may(officer: User, place: Place) -> None:
    if not policy.may_enter_for(officer, place.unit):
        raise EntryError(
            _("You may enter answers only for the communes, wards and hamlets of your unit."),
            403,
            "unit",
        )


def _open_for(survey: Survey, place: Place, now: datetime) -> None:
    if not surveys_service.is_open(survey, now):
        raise EntryError(_("This survey is not open."), 409)
    if not surveys_service.in_audience(survey, place.commune):
        raise EntryError(_("This survey is not open to this commune or ward."), 403, "unit")


def _anonymous_only(survey: Survey, what: str) -> None:
    if not survey.anonymous:
        raise EntryError(
            _(
                "%(what)s is for anonymous surveys: for this survey, enter each person's "
                "answers with their phone number (assisted entry).",
                what=what,
            )
        )


# ------------------------------------------------------------------------------- residents


@dataclass(frozen=True)
class NewResident:
    user: User
    password: str  # the one-time password, shown once to the officer


def find_resident(session: Session, officer: User, phone_text: str) -> User | None:
    """The resident with this phone (None: no such account); EntryError for a malformed
    phone, a staff account, or a resident outside the officer's scope."""
    try:
        phone = normalize_phone(phone_text)
    except PhoneError as error:
        raise EntryError(str(error), 422, "phone") from None
    user = session.scalar(select(User).where(User.phone == phone, User.deleted_at.is_(None)))
    if user is None:
        return None
    if user.role != Role.RESIDENT or not user.is_active:
        raise EntryError(_("This phone number is not a resident's account."), 409, "phone")
    _may(officer, resident_place(session, user))
    return user


def create_resident(
    session: Session,
    officer: User,
    name: str,
    phone_text: str,
    place: Place | None,
    now: datetime,
    *,
    consent: bool,
) -> NewResident:
    """A resident's account made by an officer, who read the purpose of data use to the person
    (`consent`: they agreed, in person). The account gets a one-time password, to be told or
    printed for the person, who replaces it at first sign-in (a contest's round, say); for a
    survey entered on their behalf they never need it. Commits, with the audit entry."""
    if place is None:
        raise EntryError(_("Please choose the commune, ward or hamlet."), 422, "unit")
    _may(officer, place)
    try:
        phone = normalize_phone(phone_text)
    except PhoneError as error:
        raise EntryError(str(error), 422, "phone") from None
    if len(name.strip()) > accounts.NAME_MAX:
        raise EntryError(
            _("The name must have at most %(n)d characters.", n=accounts.NAME_MAX), 422, "name"
        )
    if not consent:
        raise EntryError(
            _("Read the purpose of data use to the person: the account needs their agreement."),
            422,
            "consent",
        )
    password = one_time_password()
    try:
        user = accounts.add_account(
            session,
            accounts.NewAccount(
                name=name, phone=phone, password=password, unit_code=place.commune.code
            ),
            now,
            consent=True,
            given_in="in_person",
            hamlet_code=place.hamlet.code if place.hamlet else None,
        )
        user.must_change_password = True
        session.flush()
    except accounts.AccountError as error:
        session.rollback()
        raise EntryError(error.message, 409 if error.conflict else 422, error.field) from None
    except IntegrityError:
        session.rollback()
        raise EntryError(_("This phone number already has an account."), 409, "phone") from None
    audit.record(
        session,
        officer,
        "entry.resident",
        f"user:{user.id}",
        place.code,
        now,
        {"consent": "in_person"},
    )
    try:
        session.commit()
    except IntegrityError:  # the same phone signed up meanwhile: the unique index decides
        session.rollback()
        raise EntryError(_("This phone number already has an account."), 409, "phone") from None
    return NewResident(user, password)


# -------------------------------------------------------------------------------- assisted


def assisted(
    session: Session,
    officer: User,
    defn: SurveyDef,
    resident: User,
    answers: dict[str, Any],
    now: datetime,
) -> SurveyResponse:
    """Store `answers` (checked with clean_answers) as the resident's response, channel
    "assisted"; the officer in the audit trail only, in the same transaction. Raises
    EntryError, or surveys.SurveyError (AlreadyAnswered: the ledger decides)."""
    survey = defn.survey
    if survey.anonymous:
        raise EntryError(
            _(
                "This survey is anonymous: nobody may answer it on a named person's behalf. "
                "Enter paper forms, or open it in kiosk mode."
            )
        )
    place = resident_place(session, resident)
    _may(officer, place)
    audit.record(
        session,
        officer,
        "entry.assisted",
        f"survey:{survey.slug}",
        place.code,
        now,
        {"user_id": resident.id},
    )
    try:
        response = surveys_service.submit(
            session,
            defn,
            answers,
            now,
            user=resident,
            unit=place.commune,
            channel="assisted",
            hamlet=place.hamlet,
        )
    except surveys_service.SurveyError:
        session.rollback()  # the trail's entry goes with the response that was refused
        raise
    assert response is not None  # an identified survey's response is returned
    return response


# ----------------------------------------------------------------------------- paper forms


def start_batch(
    session: Session, officer: User, survey: Survey, place: Place, now: datetime, via: str = "page"
) -> int:
    """A new batch of paper forms for `place`: its audit entry, with no form yet. Commits;
    returns the entry's id (the batch's handle)."""
    _anonymous_only(survey, _("Paper form entry"))
    _may(officer, place)
    _open_for(survey, place, now)
    event = audit.record(
        session,
        officer,
        "entry.paper",
        f"survey:{survey.slug}",
        place.code,
        now,
        {"forms": 0, "started": now.isoformat(), "last": None, "ended": None, "via": via},
    )
    session.commit()
    return event.id


@dataclass(frozen=True)
class Batch:
    id: int
    survey_slug: str
    place: Place
    forms: int
    started: datetime
    ended: datetime | None


def batch(session: Session, officer: User, batch_id: int | None, survey: Survey) -> Batch | None:
    """The officer's batch `batch_id` of this survey, or None (not theirs, not this survey)."""
    event = session.get(AuditEvent, batch_id) if batch_id is not None else None
    if (
        event is None
        or event.action != "entry.paper"
        or event.actor_id != officer.id
        or event.target != f"survey:{survey.slug}"
        or not event.detail
    ):
        return None
    place = place_of(session, event.unit_code)
    if place is None:
        return None
    detail = event.detail
    ended = detail.get("ended")
    return Batch(
        event.id,
        survey.slug,
        place,
        int(detail.get("forms") or 0),
        datetime.fromisoformat(str(detail["started"])),
        datetime.fromisoformat(str(ended)) if ended else None,
    )


def _locked(session: Session, event_id: int) -> AuditEvent:
    """The batch's entry, read after a write to it: the write takes SQLite's write lock (a
    read first would see a count another form is about to raise) or PostgreSQL's row lock, so
    concurrent forms of one batch (two tabs) wait for each other and count exactly."""
    session.execute(
        update(AuditEvent).where(AuditEvent.id == event_id).values(action=AuditEvent.action)
    )
    event = session.get(AuditEvent, event_id, populate_existing=True)
    assert event is not None and event.detail is not None
    return event


def paper_form(
    session: Session,
    officer: User,
    defn: SurveyDef,
    batch_id: int,
    answers: dict[str, Any],
    now: datetime,
) -> int:
    """Store one paper form (checked with clean_answers) of the batch: no account, channel
    "paper", sealed for the mixer; the batch's count goes up in the same transaction (its
    entry locked, so two tabs of one batch count exactly). Returns the batch's count."""
    survey = defn.survey
    _anonymous_only(survey, _("Paper form entry"))
    found = batch(session, officer, batch_id, survey)
    if found is None:
        raise EntryError(_("This batch of paper forms is not yours: start a new one."), 403)
    if found.ended is not None:
        raise EntryError(_("This batch is finished: start a new one."), 409)
    _may(officer, found.place)
    event = _locked(session, found.id)
    count = int(event.detail.get("forms") or 0) + 1
    event.detail = {**event.detail, "forms": count, "last": now.isoformat()}
    flag_modified(event, "detail")
    try:
        surveys_service.submit(
            session,
            defn,
            answers,
            now,
            user=None,
            unit=found.place.commune,
            channel="paper",
            hamlet=found.place.hamlet,
        )
    except surveys_service.SurveyError:
        session.rollback()
        raise
    return count


def end_batch(
    session: Session, officer: User, batch_id: int | None, survey: Survey, now: datetime
) -> Batch:
    found = batch(session, officer, batch_id, survey)
    if found is None:
        raise EntryError(_("This batch of paper forms is not yours: start a new one."), 403)
    event = _locked(session, found.id)
    if not event.detail.get("ended"):
        event.detail = {**event.detail, "ended": now.isoformat()}
        flag_modified(event, "detail")
    session.commit()
    ended = batch(session, officer, found.id, survey)
    assert ended is not None
    return ended


def api_batch(session: Session, officer: User, survey: Survey, place: Place, now: datetime) -> int:
    """Paper forms sent through the API: one batch per officer, survey, place and local day
    (api.md), started with the day's first form."""
    zone = ZoneInfo(survey.timezone)
    day_start = datetime.combine(now.astimezone(zone).date(), time(), zone)
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "entry.paper",
            AuditEvent.actor_id == officer.id,
            AuditEvent.target == f"survey:{survey.slug}",
            AuditEvent.unit_code == place.code,
            AuditEvent.at >= day_start,
        )
    ).all()
    for event in events:
        if event.detail and event.detail.get("via") == "api" and not event.detail.get("ended"):
            return event.id
    return start_batch(session, officer, survey, place, now, via="api")


# ----------------------------------------------------------------------------------- kiosk


@dataclass(frozen=True)
class Kiosk:
    """What the signed kiosk cookie holds."""

    id: str
    survey: str
    place: int
    officer: int
    until: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "survey": self.survey,
            "place": self.place,
            "officer": self.officer,
            "until": self.until.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Kiosk | None:
        try:
            return cls(
                str(data["id"]),
                str(data["survey"]),
                int(data["place"]),
                int(data["officer"]),
                datetime.fromisoformat(str(data["until"])),
            )
        except (KeyError, TypeError, ValueError):
            return None


def open_kiosk(
    session: Session, officer: User, survey: Survey, place: Place, now: datetime
) -> Kiosk:
    """Open `survey` in kiosk mode for `place` on a shared device. Commits the audit entry."""
    _anonymous_only(survey, _("Kiosk mode"))
    _may(officer, place)
    _open_for(survey, place, now)
    kiosk = Kiosk(uuid.uuid4().hex, survey.slug, place.code, officer.id, now + KIOSK_LASTS)
    audit.record(
        session,
        officer,
        "kiosk.open",
        f"kiosk:{kiosk.id}",
        place.code,
        now,
        {"survey": survey.slug, "until": kiosk.until.isoformat()},
    )
    session.commit()
    return kiosk


def kiosk_place(session: Session, kiosk: Kiosk, survey: Survey, now: datetime) -> Place | None:
    """The place a kiosk counts its responses in, while it is valid: for this survey, within
    its day, not ended, and its officer still active and allowed there. None otherwise."""
    if kiosk.survey != survey.slug or now >= kiosk.until or not survey.anonymous:
        return None
    place = place_of(session, kiosk.place)
    officer = session.get(User, kiosk.officer)
    if place is None or officer is None or not policy.may_enter_for(officer, place.unit):
        return None
    ended = session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == "kiosk.end", AuditEvent.target == f"kiosk:{kiosk.id}"
        )
    )
    return None if ended is not None else place


@dataclass(frozen=True)
class OpenKiosk:
    id: str
    survey: str
    place: Place
    until: datetime


def open_kiosks(session: Session, officer: User, now: datetime) -> list[OpenKiosk]:
    """The kiosks `officer` opened that are still open (not ended, their day not over)."""
    since = now - KIOSK_LASTS
    opened = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == "kiosk.open",
            AuditEvent.actor_id == officer.id,
            AuditEvent.at > since,
        )
        .order_by(AuditEvent.at)
    ).all()
    ended = set(
        session.scalars(
            select(AuditEvent.target).where(AuditEvent.action == "kiosk.end", AuditEvent.at > since)
        )
    )
    found = []
    for event in opened:
        place = place_of(session, event.unit_code)
        detail = event.detail or {}
        if event.target in ended or place is None or "until" not in detail:
            continue
        until = datetime.fromisoformat(str(detail["until"]))
        if until > now:
            found.append(
                OpenKiosk(event.target.removeprefix("kiosk:"), str(detail["survey"]), place, until)
            )
    return found


def end_kiosk_by_id(session: Session, officer: User, kiosk_id: str, now: datetime) -> None:
    """End one of the officer's open kiosks from another device (their own phone, say)."""
    for kiosk in open_kiosks(session, officer, now):
        if kiosk.id == kiosk_id:
            end_kiosk(
                session,
                officer,
                Kiosk(kiosk.id, kiosk.survey, kiosk.place.code, officer.id, kiosk.until),
                now,
            )
            return
    raise EntryError(_("You may not end this kiosk."), 404)


def end_kiosk(session: Session, officer: User, kiosk: Kiosk, now: datetime) -> None:
    """End a kiosk: the officer who opened it, or one whose scope holds its place."""
    place = place_of(session, kiosk.place)
    if officer.id != kiosk.officer and (
        place is None or not policy.may_enter_for(officer, place.unit)
    ):
        raise EntryError(_("You may not end this kiosk."), 403)
    audit.record(
        session,
        officer,
        "kiosk.end",
        f"kiosk:{kiosk.id}",
        kiosk.place,
        now,
        {"survey": kiosk.survey},
    )
    session.commit()


def kiosk_response(
    session: Session, defn: SurveyDef, place: Place, answers: dict[str, Any], now: datetime
) -> None:
    """One response from a kiosk (checked with clean_answers): anonymous, channel "kiosk"."""
    surveys_service.submit(
        session,
        defn,
        answers,
        now,
        user=None,
        unit=place.commune,
        channel="kiosk",
        hamlet=place.hamlet,
    )
