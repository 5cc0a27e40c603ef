"""Suspicious entries before prizes are paid, and disqualification: the one home of both.

`report(session, round_, now)` reads a round's attempts and the marks their starts and
sign-ups left (app.devices: a device id, keyed hashes of the address and user agent) and flags
each entry (a person in the round) for one or more reasons, each with its figures:

- `device`: two or more accounts started attempts at the round from one device (its cookie).
- `client`: two or more accounts started attempts from one address and user agent, within
  CLIENT_WINDOW of each other (mobile networks share addresses among strangers, so the same
  address alone, or on different days, says little).
- `copy`: two accounts' papers share COPY_MIN_COMMON or more questions (the same question
  versions, in whatever order they were shown) with COPY_MIN_SHARE or more of them answered
  identically, and at least one of the two took less than SHORT_FRACTION of the round's median
  time.
- `fast`: a perfect score in less than the round's 1st percentile of times (FAST_PERCENTILE)
  and less than SHORT_FRACTION of its median: faster than reading the paper allows.
- `burst`: BURST_ACCOUNTS or more accounts (this one among them) were created from one address
  within BURST_WINDOW either side of this one's creation.

A flag is a reason to look, not a verdict: an officer decides, and `disqualify` records the
decision with its reason (audit-logged). A disqualified person's attempts count nowhere in the
round: the ranking (app.services.standings leaves them out of `best_attempts`), its exports
and `flask contests recheck` (app.services.ranking_audit) all leave them out the same way;
their certificates of the round are revoked.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.content.messages import N_
from app.models import (
    AccountOrigin,
    Attempt,
    AttemptDevice,
    AttemptQuestion,
    BestAttempt,
    Certificate,
    Disqualification,
    Round,
    Unit,
    User,
)
from app.phones import mask_phone
from app.services import audit, ranking
from app.services.standings import FINISHED

CLIENT_WINDOW = timedelta(minutes=30)
COPY_MIN_COMMON = 10
COPY_MIN_SHARE = 0.9
SHORT_FRACTION = 1 / 3
FAST_PERCENTILE = 0.01
BURST_ACCOUNTS = 5
BURST_WINDOW = timedelta(minutes=10)
REASON_MAX = 500
KINDS = ("device", "client", "copy", "fast", "burst")


class DisqualifyError(ValueError):
    """A disqualification refused: `message` is a msgid for the page; `status` its code."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Flag:
    kind: str  # one of KINDS
    attempt_id: int  # the attempt concerned
    others: tuple[int, ...]  # the other accounts (user ids) involved
    figures: dict[str, Any]


@dataclass
class Entry:
    user_id: int
    name: str | None  # None: the account was deleted
    phone: str  # masked
    unit_name: str
    attempts: int
    best_score: int
    max_score: int
    flags: list[Flag] = field(default_factory=list)
    disqualified: Disqualification | None = None


@dataclass
class Report:
    round_id: int
    now: datetime
    attempts: int  # finished attempts looked at
    median_ms: int | None
    p1_ms: int | None
    entries: list[Entry]  # flagged or disqualified, most flags first

    @property
    def flagged(self) -> list[Entry]:
        return [e for e in self.entries if e.flags]


def percentile(sorted_values: list[int], share: float) -> int | None:
    """Nearest-rank percentile of sorted values (None for none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def _median(sorted_values: list[int]) -> int | None:
    if not sorted_values:
        return None
    n = len(sorted_values)
    middle = n // 2
    if n % 2:
        return sorted_values[middle]
    return (sorted_values[middle - 1] + sorted_values[middle]) // 2


def _shared(
    rows: list[tuple[int, int, str | None, datetime]], kind: str, window: timedelta | None
) -> list[tuple[int, Flag]]:
    """(user, flag) for accounts sharing a mark (rows: attempt, user, mark, started), within
    `window` of each other when given."""
    groups: dict[str, list[tuple[int, int, datetime]]] = defaultdict(list)
    for attempt_id, user_id, mark, started in rows:
        if mark:
            groups[mark].append((attempt_id, user_id, started))
    found: list[tuple[int, Flag]] = []
    for members in groups.values():
        if len({user for _a, user, _s in members}) < 2:
            continue
        for attempt_id, user_id, started in members:
            near = sorted(
                {
                    other
                    for _a, other, when in members
                    if other != user_id and (window is None or abs(when - started) <= window)
                }
            )
            if not near:
                continue
            figures: dict[str, Any] = {"accounts": len(near) + 1}
            if window is not None:
                gaps = [
                    abs(when - started)
                    for _a, other, when in members
                    if other != user_id and abs(when - started) <= window
                ]
                figures["minutes"] = round(min(gaps).total_seconds() / 60, 1)
            found.append((user_id, Flag(kind, attempt_id, tuple(near), figures)))
    return found


def _marks(session: Session, round_: Round) -> list[tuple[int, Flag]]:
    rows = session.execute(
        select(Attempt.id, Attempt.user_id, AttemptDevice.device, AttemptDevice.client)
        .add_columns(Attempt.started_at)
        .join(AttemptDevice, AttemptDevice.attempt_id == Attempt.id)
        .where(Attempt.round_id == round_.id)
        .order_by(Attempt.id)
    ).all()
    devices = [(a, u, device, started) for a, u, device, _c, started in rows]
    clients = [(a, u, client, started) for a, u, _d, client, started in rows]
    # The same device is reason enough; one address and browser only when close in time.
    flags = _shared(devices, "device", None)
    device_pairs = {(u, o) for u, f in flags for o in f.others}
    for user_id, flag in _shared(clients, "client", CLIENT_WINDOW):
        others = tuple(o for o in flag.others if (user_id, o) not in device_pairs)
        if others:
            flags.append((user_id, Flag("client", flag.attempt_id, others, flag.figures)))
    return flags


def _copies(session: Session, finished: list[Any], median_ms: int | None) -> list[tuple[int, Flag]]:
    """Pairs of papers answered (nearly) alike, at least one of them in a short time."""
    if median_ms is None:
        return []
    short = {a.id for a in finished if a.duration_ms < median_ms * SHORT_FRACTION}
    if not short:
        return []
    owner = {a.id: a.user_id for a in finished}
    duration = {a.id: a.duration_ms for a in finished}
    mine, theirs = aliased(AttemptQuestion), aliased(AttemptQuestion)
    pairs = session.execute(
        select(mine.attempt_id, theirs.attempt_id, func.count())
        .join(theirs, theirs.question_version_id == mine.question_version_id)
        .where(
            mine.attempt_id.in_(short),
            theirs.attempt_id.in_(list(owner)),
            theirs.attempt_id != mine.attempt_id,
        )
        .group_by(mine.attempt_id, theirs.attempt_id)
        .having(func.count() >= COPY_MIN_COMMON)
    ).all()
    pairs = [(a, b, n) for a, b, n in pairs if owner[a] != owner[b]]
    if not pairs:
        return []
    wanted = {a for a, _b, _n in pairs} | {b for _a, b, _n in pairs}
    answers: dict[int, dict[int, list[int] | None]] = defaultdict(dict)
    for attempt_id, version_id, selected in session.execute(
        select(
            AttemptQuestion.attempt_id,
            AttemptQuestion.question_version_id,
            AttemptQuestion.selected,
        ).where(AttemptQuestion.attempt_id.in_(wanted))
    ):
        answers[attempt_id][version_id] = sorted(selected) if selected else None
    found: list[tuple[int, Flag]] = []
    seen: set[tuple[int, int]] = set()
    for a, b, _n in pairs:
        key = (min(a, b), max(a, b))
        if key in seen:
            continue
        seen.add(key)
        common = set(answers[a]) & set(answers[b])
        same = sum(
            1 for v in common if answers[a][v] is not None and answers[a][v] == answers[b][v]
        )
        if len(common) < COPY_MIN_COMMON or same < COPY_MIN_SHARE * len(common):
            continue
        for one, other in ((a, b), (b, a)):
            figures = {
                "common": len(common),
                "same": same,
                "seconds": round(duration[one] / 1000),
                "other_seconds": round(duration[other] / 1000),
                "other_attempt": other,
            }
            found.append((owner[one], Flag("copy", one, (owner[other],), figures)))
    return found


def _fast(finished: list[Any], median_ms: int | None, p1_ms: int | None) -> list[tuple[int, Flag]]:
    if median_ms is None or p1_ms is None:
        return []
    found = []
    for a in finished:
        if (
            a.score == a.max_score
            and a.duration_ms < p1_ms
            and a.duration_ms < median_ms * SHORT_FRACTION
        ):
            figures = {
                "seconds": round(a.duration_ms / 1000),
                "p1_seconds": round(p1_ms / 1000),
                "median_seconds": round(median_ms / 1000),
            }
            found.append((a.user_id, Flag("fast", a.id, (), figures)))
    return found


def _bursts(session: Session, round_: Round, first: dict[int, int]) -> list[tuple[int, Flag]]:
    """Entrants whose account was made in a burst of accounts from one address."""
    if not first:
        return []
    origins = session.execute(
        select(AccountOrigin.user_id, AccountOrigin.address, AccountOrigin.created_at).where(
            AccountOrigin.user_id.in_(list(first)), AccountOrigin.address.is_not(None)
        )
    ).all()
    addresses = {address for _u, address, _c in origins}
    if not addresses:
        return []
    made: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for user_id, address, created in session.execute(
        select(AccountOrigin.user_id, AccountOrigin.address, AccountOrigin.created_at).where(
            AccountOrigin.address.in_(addresses)
        )
    ):
        made[address].append((user_id, created))
    found = []
    for user_id, address, created in origins:
        near = [
            (other, when) for other, when in made[address] if abs(when - created) <= BURST_WINDOW
        ]
        if len(near) >= BURST_ACCOUNTS:
            span = max(w for _o, w in near) - min(w for _o, w in near)
            figures = {"accounts": len(near), "minutes": round(span.total_seconds() / 60, 1)}
            others = tuple(sorted(o for o, _w in near if o != user_id))
            found.append((user_id, Flag("burst", first[user_id], others, figures)))
    return found


def report(session: Session, round_: Round, now: datetime) -> Report:
    """Every flagged (or disqualified) entry of the round, with why and the figures."""
    finished = session.execute(
        select(
            Attempt.id,
            Attempt.user_id,
            Attempt.score,
            Attempt.max_score,
            Attempt.duration_ms,
        )
        .where(
            Attempt.round_id == round_.id,
            Attempt.state.in_(FINISHED),
            Attempt.duration_ms.is_not(None),
        )
        .order_by(Attempt.id)
    ).all()
    durations = sorted(a.duration_ms for a in finished)
    median_ms, p1_ms = _median(durations), percentile(durations, FAST_PERCENTILE)
    first: dict[int, int] = {}
    for attempt_id, user_id in session.execute(
        select(Attempt.id, Attempt.user_id)
        .where(Attempt.round_id == round_.id)
        .order_by(Attempt.id)
    ):
        first.setdefault(user_id, attempt_id)
    flags = [
        *_marks(session, round_),
        *_copies(session, finished, median_ms),
        *_fast(finished, median_ms, p1_ms),
        *_bursts(session, round_, first),
    ]
    by_user: dict[int, list[Flag]] = defaultdict(list)
    for user_id, flag in flags:
        by_user[user_id].append(flag)
    out = {
        d.user_id: d
        for d in session.scalars(
            select(Disqualification).where(Disqualification.round_id == round_.id)
        )
    }
    listed = set(by_user) | set(out)
    entries = _entries(session, round_, listed, finished)
    for entry in entries:
        entry.flags = sorted(by_user.get(entry.user_id, []), key=lambda f: KINDS.index(f.kind))
        entry.disqualified = out.get(entry.user_id)
    entries.sort(key=lambda e: (-len(e.flags), e.disqualified is not None, e.user_id))
    return Report(round_.id, now, len(finished), median_ms, p1_ms, entries)


def _entries(
    session: Session, round_: Round, user_ids: set[int], finished: list[Any]
) -> list[Entry]:
    if not user_ids:
        return []
    best: dict[int, tuple[int, int, int]] = {}
    for a in finished:
        if a.user_id in user_ids:
            count, score, top = best.get(a.user_id, (0, -1, a.max_score))
            best[a.user_id] = (count + 1, max(score, a.score or 0), top)
    units = dict(session.execute(select(Unit.code, Unit.name)).all())
    people = {
        uid: (name, phone, deleted, code)
        for uid, name, phone, deleted, code in session.execute(
            select(User.id, User.name, User.phone, User.deleted_at, User.unit_code).where(
                User.id.in_(user_ids)
            )
        )
    }
    entries = []
    for uid in user_ids:
        name, phone, deleted, code = people.get(uid, (None, None, True, 0))
        count, score, top = best.get(uid, (0, 0, 0))
        entries.append(
            Entry(
                uid,
                None if deleted else name,
                mask_phone(phone) if phone and not deleted else "",
                units.get(code, ""),
                count,
                max(score, 0),
                top,
            )
        )
    return entries


# ------------------------------------------------------------------------ disqualification


def disqualify(
    session: Session,
    round_: Round,
    user_id: int,
    officer: User,
    reason: str,
    now: datetime,
    grace: timedelta,
) -> Disqualification:
    """Take a person's entry out of the round, with the reason (audit-logged, committed): the
    ranking loses their row at once, their certificates of the round are revoked.

    A round due to be frozen is frozen first, so that the order of the two is definite: the
    frozen figure leaves out exactly the disqualifications made before it (`at` < frozen_at)
    and the re-check counts it the same way."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise DisqualifyError(N_("Give the reason for the disqualification."))
    if len(reason) > REASON_MAX:
        raise DisqualifyError(N_("The reason is too long (at most 500 characters)."))
    entered = session.scalar(
        select(func.count(Attempt.id)).where(
            Attempt.round_id == round_.id, Attempt.user_id == user_id
        )
    )
    if not entered:
        raise DisqualifyError(N_("This person has no entry in this round."), 404)
    ranking.settle(session, round_, now, grace)
    row = Disqualification(
        round_id=round_.id, user_id=user_id, reason=reason, officer_id=officer.id, at=now
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise DisqualifyError(N_("This entry is already disqualified."), 409) from None
    session.execute(
        delete(BestAttempt).where(BestAttempt.round_id == round_.id, BestAttempt.user_id == user_id)
    )
    revoked = session.execute(
        update(Certificate)
        .where(
            Certificate.round_id == round_.id,
            Certificate.user_id == user_id,
            Certificate.revoked_at.is_(None),
        )
        .values(revoked_at=now, revoked_reason=reason)
    ).rowcount
    audit.record(
        session,
        officer,
        "entry.disqualify",
        f"round:{round_.id}",
        round_.contest.owner_unit_code,
        now,
        {"user_id": user_id, "certificates_revoked": int(revoked or 0)},
    )
    session.commit()
    return row
