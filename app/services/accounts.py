"""Accounts: sign-up, sign-in, personal data export and erasure. No request in sight."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.consent import CONSENT_VERSION
from app.models import Consent, PhoneCode, Role, SurveyDraft, Unit, UnitLevel, User
from app.services import passwords
from app.services.refusals import FieldError
from app.text import clean_line, has_hidden_characters

PASSWORD_MIN = passwords.MIN_LENGTH
PASSWORD_MAX = passwords.MAX_LENGTH
NAME_MAX = 100
# A fixed hash to compare against when the phone is unknown, so the response time does not
# reveal which phone numbers have accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(FieldError):
    """A problem with one field of a sign-up: `field` names it, the message says what to fix."""


@dataclass(frozen=True)
class NewAccount:
    name: str
    phone: str  # already normalised by app.phones.normalize_phone
    password: str
    unit_code: int
    birth_year: int | None = None
    gender: str | None = None
    role: str = Role.RESIDENT
    hamlet_code: int | None = None  # optional: a hamlet of `unit_code` (issue 20)


def _password_text(password: str) -> str:
    # The same password typed on two keyboards (composed or decomposed accents) must match.
    return unicodedata.normalize("NFC", password)


def hash_password(password: str) -> str:
    return generate_password_hash(_password_text(password))  # scrypt, Werkzeug's default


def create_account(session: Session, new: NewAccount, now: datetime, *, consent: bool) -> User:
    """Store a new account with its consent record. Commits; AccountError on a bad field."""
    user = add_account(session, new, now, consent=consent)
    try:
        session.commit()
    except IntegrityError:
        # Two sign-ups with the same phone at once: the unique index decides.
        session.rollback()
        raise AccountError(
            "phone", _("This phone number already has an account."), conflict=True
        ) from None
    return user


def add_account(
    session: Session,
    new: NewAccount,
    now: datetime,
    *,
    consent: bool,
    given_in: str = "online",
    hamlet_code: int | None = None,
) -> User:
    """A new account checked and added to `session`, with its consent record (`given_in`:
    online, or in_person when an officer read the purpose to the person); the caller commits
    and handles the unique phone's IntegrityError. AccountError on a bad field (a hamlet not
    of the commune included)."""
    name = clean_line(new.name)
    if not name:
        raise AccountError("name", _("Please enter your full name."))
    if has_hidden_characters(name):
        raise AccountError(
            "name", _("The name contains invisible or control characters: please retype it.")
        )
    weak = passwords.problem(new.password, new.phone)
    if weak:
        raise AccountError("password", weak)
    unit = session.get(Unit, new.unit_code)
    if unit is None:
        raise AccountError("unit", _("Please choose your commune or ward from the list."))
    if new.role == Role.RESIDENT and unit.level != UnitLevel.COMMUNE:
        raise AccountError("unit", _("Please choose your commune or ward from the list."))
    # The hamlet: as the officer placed the person (`hamlet_code`), else as they chose it.
    hamlet_code = check_hamlet(
        session, unit, hamlet_code if hamlet_code is not None else new.hamlet_code
    )
    if new.role == Role.RESIDENT and not consent:
        raise AccountError("consent", _("You must agree to the purpose of data use to sign up."))
    if session.scalar(select(User.id).where(User.phone == new.phone)) is not None:
        raise AccountError("phone", _("This phone number already has an account."), conflict=True)
    user = User(
        name=name,
        phone=new.phone,
        password_hash=hash_password(new.password),
        role=str(new.role),
        unit_code=unit.code,
        hamlet_code=hamlet_code,
        birth_year=new.birth_year,
        gender=new.gender,
        created_at=now,
    )
    session.add(user)
    if consent:
        user.consents.append(Consent(version=CONSENT_VERSION, given_at=now, given_in=given_in))
    return user


def authenticate(session: Session, phone: str, password: str, now: datetime) -> User | None:
    user = session.scalar(select(User).where(User.phone == phone, User.deleted_at.is_(None)))
    if user is None or user.password_hash is None or user.disabled_at is not None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, _password_text(password)):
        return None
    user.last_login_at = now
    session.commit()
    return user


def end_sessions(user: User) -> None:
    """Every session and token of the account stops working (they carry the old nonce).
    The caller commits."""
    user.auth_nonce = secrets.token_hex(16)


def password_matches(user: User, password: str) -> bool:
    return user.password_hash is not None and check_password_hash(
        user.password_hash, _password_text(password)
    )


def check_hamlet(session: Session, commune: Unit, code: int | None) -> int | None:
    """`code` when it is a hamlet of `commune` (None: none named); AccountError naming the
    field `hamlet` otherwise."""
    if code is None:
        return None
    hamlet = session.get(Unit, code)
    if hamlet is None or hamlet.level != UnitLevel.HAMLET or hamlet.parent_code != commune.code:
        raise AccountError(
            "hamlet",
            _("Please choose a hamlet of your commune or ward from the list, or none."),
        )
    return code


def set_hamlet(session: Session, user: User, code: int | None) -> None:
    """The resident names their hamlet within their commune, or none. Commits."""
    user.hamlet_code = check_hamlet(session, user.unit, code)
    session.commit()


def set_birth_year(session: Session, user: User, year: int) -> None:
    """The person gives (or corrects) their year of birth, which some contests need. Commits."""
    if not 1900 <= year <= 2100:
        raise AccountError("birth_year", _("Please enter a year such as 1985."))
    user.birth_year = year
    session.commit()


def change_password(session: Session, user: User, current: str, new: str, now: datetime) -> None:
    """Check the current password, set the new one, end every session and token. Commits;
    AccountError on a bad field."""
    if not password_matches(user, current):
        raise AccountError("current", _("The current password is not right."))
    weak = passwords.problem(new, user.phone)
    if weak:
        raise AccountError("password", weak)
    if check_password_hash(user.password_hash, _password_text(new)):
        raise AccountError("password", _("Please choose a password you have not used here."))
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(user)
    session.commit()


def load_session_user(session: Session, session_id: str) -> User | None:
    """Flask-Login's user loader: 'id.nonce' -> the live account, or None."""
    user_id, _sep, nonce = session_id.partition(".")
    if not re.fullmatch(r"[0-9]{1,9}", user_id):  # isdigit() would take "²"
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.is_active or user.auth_nonce != nonce:
        return None
    return user


def _hamlet_data(session: Session, user: User) -> dict[str, Any] | None:
    hamlet = session.get(Unit, user.hamlet_code) if user.hamlet_code else None
    return {"code": hamlet.code, "name": hamlet.name} if hamlet else None


def personal_data(session: Session, user: User) -> dict[str, Any]:
    """Everything the app holds about a person, as they may download it."""
    from app.models import Attempt, Round
    from app.services.personal_surveys import survey_sections

    attempts = session.execute(
        select(Attempt, Round.title, Round.key)
        .join(Round, Round.id == Attempt.round_id)
        .where(Attempt.user_id == user.id)
        .order_by(Attempt.started_at)
    ).all()
    return {
        "account": {
            "id": user.id,
            "name": user.name,
            "phone": user.phone,
            "phone_verified": user.phone_verified,
            "role": user.role,
            "unit": {"code": user.unit.code, "name": user.unit.name},
            "hamlet": _hamlet_data(session, user),
            "birth_year": user.birth_year,
            "gender": user.gender,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        },
        "consents": [
            {"version": c.version, "given_at": c.given_at.isoformat(), "given_in": c.given_in}
            for c in user.consents
        ],
        "attempts": [
            {
                "round": title or key,
                "state": attempt.state,
                "started_at": attempt.started_at.isoformat(),
                "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
                "score": attempt.score,
                "max_score": attempt.max_score,
                "prediction": attempt.prediction,
            }
            for attempt, title, key in attempts
        ],
        **survey_sections(session, user),
    }


def delete_account(session: Session, user: User, now: datetime) -> None:
    """Erase name, phone, password and optional fields; keep the row as a placeholder.

    What the person took part in (attempts, survey responses, the ledger of anonymous surveys
    answered) stays linked to the placeholder, so participation counts per commune, results and
    the one-entry-per-person rules keep holding. Survey drafts, counted nowhere, are deleted,
    and so is a verification code in force (it names the number it was sent to).
    Every session and token dies.
    """
    session.execute(delete(SurveyDraft).where(SurveyDraft.user_id == user.id))
    session.execute(delete(PhoneCode).where(PhoneCode.user_id == user.id))  # a number, pending
    user.name = None
    user.phone = None
    user.verified_phone = None
    user.password_hash = None
    user.birth_year = None
    user.gender = None
    user.last_login_at = None
    user.deleted_at = now
    end_sessions(user)
    session.commit()
