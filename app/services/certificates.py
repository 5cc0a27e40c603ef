"""Certificates of contest attempts (question-bank.md `certificates`; api.md
`/api/v1/attempts/{attempt}/certificate`, `/certificates/{code}`): who may have one, the code
that anyone can check, issue once (a re-download gives the same code), revoke, and the PDF.

- `participants`: every finished attempt of a person not disqualified gets a participation
  certificate; `winners`: only the best attempts at WINNER_PLACES first places, once the
  round's ranking is final (app.services.ranking.is_final: the close plus the grace). In a
  `participants` contest a winner's best attempt gets the winner's certificate once final.
- The code: CODE_LENGTH characters drawn by `secrets` from ALPHABET (32 symbols: no 0/O, no
  1/I), 50 bits, shown as two groups of five ("K7M2Q-9XH4T"); typed back in any case, with or
  without the dash or spaces.
- Revoked certificates stay: the verification page says they were revoked, when, and why.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.content.messages import N_
from app.models import Attempt, BestAttempt, Certificate, Disqualification, Unit, User
from app.services import audit, ranking, standings
from app.services.standings import FINISHED

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 10
WINNER_PLACES = 10  # the winners list's default (ranking.winners): places that get a prize
REASON_MAX = 500


class CertificateError(Exception):
    """No certificate for this attempt: `message` is a msgid; `status` the HTTP code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(typed: str) -> str | None:
    """A code as typed (any case, dashes, spaces) in its stored form; None if it cannot be one."""
    code = "".join(ch for ch in (typed or "").upper() if ch not in "- \t")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def shown(code: str) -> str:
    """The code as printed: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


def _place(session: Session, attempt: Attempt) -> int | None:
    """The attempt's place in the round's ranking when it is its person's best (else None)."""
    held = session.execute(
        select(*ranking.STANDING_COLUMNS).where(
            BestAttempt.round_id == attempt.round_id, BestAttempt.attempt_id == attempt.id
        )
    ).first()
    if held is None:
        return None
    ahead = session.scalar(
        select(func.count()).where(
            BestAttempt.round_id == attempt.round_id,
            standings.before(BestAttempt, standings.bound(held)),
        )
    )
    return (ahead or 0) + 1


def entitlement(
    session: Session, attempt: Attempt, now: datetime, grace: timedelta
) -> tuple[str, int | None]:
    """(kind, place) of the certificate this attempt may have now, or CertificateError."""
    round_ = attempt.round
    mode = round_.contest.certificates
    if mode == "none":
        raise CertificateError(N_("This contest does not give certificates."), 404)
    if attempt.state not in FINISHED:
        raise CertificateError(N_("The certificate is given once the attempt is submitted."), 409)
    out = session.get(Disqualification, (attempt.round_id, attempt.user_id))
    if out is not None:
        raise CertificateError(N_("This entry was disqualified: no certificate is given."), 409)
    final = ranking.settle(session, round_, now, grace)
    if final:
        place = _place(session, attempt)
        if place is not None and place <= WINNER_PLACES:
            return "winner", place
    if mode == "participants":
        return "participant", None
    if not final:
        raise CertificateError(
            N_("Winners' certificates are given once the round's ranking is final."), 409
        )
    raise CertificateError(N_("Certificates of this contest are for its winners only."), 409)


def issue(session: Session, attempt: Attempt, now: datetime, grace: timedelta) -> Certificate:
    """The attempt's certificate: the one already issued for it (same code), else a new one
    (committed). Two downloads at once end with one row: the unique index decides."""
    kind, place = entitlement(session, attempt, now, grace)
    held = session.scalar(
        select(Certificate).where(Certificate.attempt_id == attempt.id, Certificate.kind == kind)
    )
    if held is not None:
        return held
    for _try in range(5):
        row = Certificate(
            code=new_code(),
            attempt_id=attempt.id,
            user_id=attempt.user_id,
            round_id=attempt.round_id,
            kind=kind,
            place=place,
            issued_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
            session.commit()
            return row
        except IntegrityError:
            held = session.scalar(
                select(Certificate).where(
                    Certificate.attempt_id == attempt.id, Certificate.kind == kind
                )
            )
            if held is not None:  # issued meanwhile by another request
                return held
    raise RuntimeError("no free certificate code after 5 tries")  # 2**50 codes: never


def find(session: Session, typed: str) -> Certificate | None:
    code = normalise(typed)
    if code is None:
        return None
    return session.scalar(select(Certificate).where(Certificate.code == code))


def revoke(
    session: Session, certificate: Certificate, officer: User, reason: str, now: datetime
) -> bool:
    """Revoke with a reason (audit-logged, committed); False when it already was."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise CertificateError(N_("Give the reason for revoking the certificate."), 422)
    if len(reason) > REASON_MAX:
        raise CertificateError(N_("The reason is too long (at most 500 characters)."), 422)
    if certificate.revoked_at is not None:
        return False
    certificate.revoked_at, certificate.revoked_reason = now, reason
    round_ = certificate.attempt.round
    audit.record(
        session,
        officer,
        "certificate.revoke",
        f"certificate:{certificate.id}",
        round_.contest.owner_unit_code,
        now,
        {"round": round_.id},
    )
    session.commit()
    return True


@dataclass(frozen=True)
class Details:
    """What a certificate says (the PDF: the full name; the verification page: shortened)."""

    certificate: Certificate
    code: str  # as printed
    name: str | None  # None: the account was deleted
    short_name: str | None
    unit_name: str
    contest_title: str
    round_title: str
    score: int
    max_score: int
    submitted_at: datetime
    timezone: str
    issuer: str | None

    @property
    def revoked(self) -> bool:
        return self.certificate.revoked_at is not None


def details(session: Session, certificate: Certificate) -> Details:
    attempt = certificate.attempt
    round_ = attempt.round
    contest = round_.contest
    user = session.get(User, certificate.user_id)
    name = None if user is None or user.deleted_at is not None else user.name
    unit = session.get(Unit, attempt.unit_code)
    return Details(
        certificate,
        shown(certificate.code),
        name,
        ranking.short_name(name),
        unit.name if unit else "",
        contest.title,
        round_.title or round_.key,
        attempt.score or 0,
        attempt.max_score,
        attempt.submitted_at or attempt.deadline,
        contest.timezone,
        contest.issuer,
    )


def qr_svg(url: str) -> str:
    """The verification URL as a QR code: an SVG data URI (segno), for the PDF."""
    import segno

    data: str = segno.make(url, error="m").svg_data_uri(scale=4, border=2)
    return data
