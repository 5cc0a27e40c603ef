"""Proving a phone belongs to its account: a 6-digit code sent to it, typed back.

- One code in force per account (`phone_codes.user_id` is unique): a new send replaces it.
- Kept as HMAC-SHA256(SECRET_KEY, user, phone, code), compared in constant time. A 6-digit
  code has a million values: anyone holding the database *and* the key finds it by trying
  them all, and hashing alone could not stop that. What protects a code is its life (10
  minutes) and its tries (5, counted by one conditional UPDATE before the comparison, so
  concurrent guesses cannot take a sixth); the key keeps a copy of the database alone useless.
- Sends are limited per phone and per client address (`app/ratelimits.py`, counted before
  the message leaves) so nobody can run up the gateway's bill.
- Changing the phone: the code goes to the new number; the account keeps the old one until
  the code comes back, then takes the new one, verified.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import PhoneCode, User
from app.sms import Message, Sender, SendError

CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5
_CODE = re.compile(r"^[0-9]{6}$")


class CodeError(ValueError):
    """A refusal with its HTTP status; `wait` (seconds) for 429."""

    def __init__(self, status: int, message: str, *, wait: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.wait = status, message, wait


@dataclass(frozen=True)
class Sent:
    phone: str
    expires_at: datetime


def _digest(secret: str, user_id: int, phone: str, code: str) -> str:
    message = f"{user_id}:{phone}:{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def pending_phone(session: Session, user: User, now: datetime) -> str | None:
    """The number a live code was sent to, when it is not the account's own (a change)."""
    row = session.scalar(select(PhoneCode).where(PhoneCode.user_id == user.id))
    if row is None or row.expires_at <= now or row.phone == user.phone:
        return None
    return row.phone


def send(
    session: Session,
    user: User,
    now: datetime,
    *,
    secret: str,
    sender: Sender,
    limit: Callable[[str], int | None],
    phone: str | None = None,
) -> Sent:
    """Send a new code to the account's phone, or to `phone` (already normalised) when the
    person is moving to it. `limit(phone)` counts the send and returns None, or the seconds
    to wait (429). Commits; CodeError on refusal."""
    target = phone or user.phone
    if target is None:
        raise CodeError(409, _("This account has no phone number."))
    if target == user.phone and user.phone_verified:
        raise CodeError(409, _("This phone number is already verified."))
    if target != user.phone:
        taken = session.scalar(select(User.id).where(User.phone == target, User.id != user.id))
        if taken is not None:
            raise CodeError(409, _("This phone number already has an account."))
    wait = limit(target)
    if wait is not None:
        raise CodeError(
            429,
            _(
                "Too many codes sent. Please try again in %(minutes)d minutes.",
                minutes=max(1, round(wait / 60)),
            ),
            wait=wait,
        )
    code = f"{secrets.randbelow(10**6):06d}"
    expires_at = now + CODE_LIFETIME
    session.execute(delete(PhoneCode).where(PhoneCode.user_id == user.id))
    session.add(
        PhoneCode(
            user_id=user.id,
            phone=target,
            code_hash=_digest(secret, user.id, target, code),
            tries=0,
            created_at=now,
            expires_at=expires_at,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        # Another send for the same account at the same moment: its code is the one in force.
        session.rollback()
        raise CodeError(409, _("A code was just sent. Please wait for it.")) from None
    text = _(
        "Your verification code is %(code)s. It is valid for 10 minutes. Never give it to anyone.",
        code=code,
    )
    try:
        sender.send(Message(to=target, text=text, code=code))
    except SendError:
        session.execute(delete(PhoneCode).where(PhoneCode.user_id == user.id))
        session.commit()
        raise CodeError(
            503, _("The code could not be sent just now. Please try again in a few minutes.")
        ) from None
    return Sent(phone=target, expires_at=expires_at)


def confirm(session: Session, user: User, typed: str, now: datetime, *, secret: str) -> str:
    """Check the code typed; the phone it was sent to becomes the account's, verified. Returns
    that phone. Commits; CodeError (422 wrong, expired, void; 409 number taken meanwhile)."""
    code = re.sub(r"\s", "", typed or "")
    if not _CODE.fullmatch(code):
        raise CodeError(422, _("Enter the 6 digits of the code."))
    row = session.scalar(select(PhoneCode).where(PhoneCode.user_id == user.id))
    if row is None:
        raise CodeError(422, _("There is no code to check: please ask for a new code."))
    code_id, phone, expected = row.id, row.phone, row.code_hash
    if row.expires_at <= now:
        session.execute(delete(PhoneCode).where(PhoneCode.id == code_id))
        session.commit()
        raise CodeError(422, _("This code has expired: please ask for a new code."))
    # The try is counted before the comparison, by one statement: concurrent guesses cannot
    # take more than MAX_TRIES between them.
    counted = session.execute(
        update(PhoneCode)
        .where(PhoneCode.id == code_id, PhoneCode.tries < MAX_TRIES)
        .values(tries=PhoneCode.tries + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    void = _("Too many wrong codes: this code no longer works. Please ask for a new code.")
    if not counted:
        raise CodeError(422, void)
    if not hmac.compare_digest(expected, _digest(secret, user.id, phone, code)):
        tries = session.scalar(select(PhoneCode.tries).where(PhoneCode.id == code_id))
        if tries is None or tries >= MAX_TRIES:
            session.execute(delete(PhoneCode).where(PhoneCode.id == code_id))
            session.commit()
            raise CodeError(422, void)
        left = MAX_TRIES - tries
        raise CodeError(
            422,
            ngettext("Wrong code. %(num)d try left.", "Wrong code. %(num)d tries left.", left),
        )
    session.execute(delete(PhoneCode).where(PhoneCode.id == code_id))
    user.phone = phone
    user.verified_phone = phone
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise CodeError(409, _("This phone number already has an account.")) from None
    return phone
