"""Who may enter a contest (question-bank.md, `eligibility`), checked by the server at each
start, before anything is drawn: the page and the API call `refusal` with the round and the
account they already hold, so the check costs no query (the account's birth year and verified
phone are columns of `users`; `min_age` and `verified_phone` of `contests`, the row the start
loads anyway for its audience)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.content.messages import N_
from app.models import Contest, Round, User

# What the person can do about a refusal: the page links to it, the API names the field.
FIX_BIRTH_YEAR = "birth_year"
FIX_VERIFY_PHONE = "phone_verified"


@dataclass(frozen=True)
class Refusal:
    """Why this person may not start; `message` is a msgid with `params`; `fix` is None when
    nothing the person can do changes it (too young)."""

    reason: str  # birth_year_missing | too_young | phone_not_verified
    message: str
    fix: str | None
    params: dict[str, Any] = field(default_factory=dict)


def round_year(round_: Round, contest: Contest) -> int:
    """The year of the round, in the contest's timezone: ages are reached in it."""
    return _year(round_.opens_at, contest.timezone)


def _year(opens_at: datetime, timezone: str) -> int:
    return opens_at.astimezone(ZoneInfo(timezone)).year


def has_conditions(min_age: int | None, verified_phone: bool | None) -> bool:
    """Whether a contest's eligibility asks anything of the person (`refusal` has something
    to check)."""
    return bool(min_age or verified_phone)


def refusal(user: User, round_: Round, now: datetime) -> Refusal | None:
    """None when `user` may start at `round_`, else the first reason they may not."""
    contest = round_.contest
    return check(
        min_age=contest.min_age,
        verified_phone=contest.verified_phone,
        opens_at=round_.opens_at,
        timezone=contest.timezone,
        birth_year=user.birth_year,
        phone_verified=user.phone_verified,
    )


def check(
    *,
    min_age: int | None,
    verified_phone: bool | None,
    opens_at: datetime,
    timezone: str,
    birth_year: int | None,
    phone_verified: bool,
) -> Refusal | None:
    """`refusal` from plain values: the contest's conditions, its round's opening and timezone,
    the person's birth year and whether their phone is verified (the start's one read brings
    them all: services.attempts.Gate)."""
    if not has_conditions(min_age, verified_phone):
        return None
    if min_age:
        if birth_year is None:
            return Refusal(
                "birth_year_missing",
                N_(
                    "This contest is open from the age of %(age)d: please add your year of "
                    "birth to your account."
                ),
                FIX_BIRTH_YEAR,
                {"age": min_age},
            )
        year = _year(opens_at, timezone)
        if year - birth_year < min_age:
            return Refusal(
                "too_young",
                N_(
                    "This contest is open to people who are %(age)d or older in %(year)d "
                    "(born in %(born)d or before)."
                ),
                None,
                {"age": min_age, "year": year, "born": year - min_age},
            )
    if verified_phone and not phone_verified:
        return Refusal(
            "phone_not_verified",
            N_(
                "This contest accepts only verified phone numbers: please verify yours with "
                "the code we send to it."
            ),
            FIX_VERIFY_PHONE,
        )
    return None


def signup_needs(session: Session, now: datetime) -> tuple[bool, bool]:
    """(birth year, verified phone): whether a contest still to close asks for them, so the
    sign-up asks for the birth year and offers to verify the phone at once."""
    rows = session.execute(
        select(Contest.min_age, Contest.verified_phone)
        .where(or_(Contest.min_age.is_not(None), Contest.verified_phone.is_(True)))
        .where(Contest.rounds.any(Round.closes_at > now))
    ).all()
    return any(r.min_age for r in rows), any(r.verified_phone for r in rows)
