"""The anonymity mixer's building blocks: sealing pending responses, queueing, claiming a batch.

An anonymous response is not written to `survey_responses` by the request that receives it:
that request writes the ledger entry and a *sealed* pending response in one transaction (so
exactly-once stays the database's job), and the response is moved later, with others, by a
transaction of its own under a fresh random key (`app.services.surveys.settle`). On PostgreSQL
every row carries the id of the transaction that wrote it (`xmin`) and a physical position
(`ctid`); written with the ledger entry, a response would share its `xmin` and follow the
ledger's order. Moved in a batch, all the batch's responses share the mixer's `xmin`, are laid
out in the order of their new random keys, and relate to no ledger entry.

While it waits, the pending row does share the ledger entry's transaction. It is therefore
sealed: encrypted and authenticated (Fernet: AES-128-CBC with HMAC-SHA256) with a key derived
from the application's SECRET_KEY, which the database does not hold, and padded to a size
bucket, so that a reader of the tables learns neither the answers nor their length from it.
This module imports no service: `app.services.surveys` builds on it.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import Integer, bindparam, delete, func, insert, literal_column, select
from sqlalchemy.orm import Session

from app import db_direct
from app.models import SurveyLedger, SurveyPending

log = logging.getLogger(__name__)

PAD_TO = 2048  # sealed payloads are padded to 2 KiB, 4 KiB, 8 KiB…: the length tells little


def _fernet(secret: str | bytes) -> Fernet:
    material = secret.encode() if isinstance(secret, str) else secret
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"civic survey pending v1"
    ).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


class Sealer:
    """Seals with the current SECRET_KEY; opens with it or any of SECRET_KEY_FALLBACKS, so
    that responses waiting while the key is rotated are not lost."""

    def __init__(self, secret: str | bytes, fallbacks: Sequence[str | bytes] = ()) -> None:
        self._keys = MultiFernet([_fernet(secret), *(_fernet(f) for f in fallbacks)])

    def seal(self, payload: Mapping[str, Any]) -> bytes:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        size = PAD_TO
        while size < len(text) + 1:
            size *= 2
        return self._keys.encrypt(text + b" " * (size - len(text)))

    def open(self, sealed: bytes) -> dict[str, Any] | None:
        try:
            return json.loads(self._keys.decrypt(sealed))  # type: ignore[no-any-return]
        except (InvalidToken, ValueError):
            return None


@dataclass(frozen=True)
class Mixing:
    """How the mixer runs: a batch moves as soon as `batch` responses of a survey wait, or when
    the oldest has waited `wait` (so a lone response is counted within minutes)."""

    sealer: Sealer
    batch: int = 20
    wait: timedelta = timedelta(minutes=4)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Mixing:
        batch, wait = settings(config)
        return cls(
            Sealer(config["SECRET_KEY"], config.get("SECRET_KEY_FALLBACKS") or ()),
            batch=batch,
            wait=wait,
        )


def settings(config: Mapping[str, Any]) -> tuple[int, timedelta]:
    """SURVEY_MIX_BATCH and SURVEY_MIX_WAIT_SECONDS, refused (RuntimeError, naming the setting)
    when they would leave responses pending for ever (a batch of none) or break the move (a
    negative batch or wait); checked when the app starts (app.surveys.mixing)."""
    batch, wait = int(config["SURVEY_MIX_BATCH"]), int(config["SURVEY_MIX_WAIT_SECONDS"])
    if batch < 1:
        raise RuntimeError(f"SURVEY_MIX_BATCH must be at least 1, not {batch}.")
    if wait < 0:
        raise RuntimeError(f"SURVEY_MIX_WAIT_SECONDS must not be negative, not {wait}.")
    return batch, timedelta(seconds=wait)


def current() -> Mixing:
    """The running app's mixing settings, built once per app."""
    mixing = current_app.extensions.get("survey_mixing")
    if mixing is None:
        mixing = current_app.extensions["survey_mixing"] = Mixing.from_config(current_app.config)
    return mixing  # type: ignore[no-any-return]


_PENDING = SurveyPending.__table__
_KEY = bindparam("key", type_=_PENDING.c.id.type)
_OF_SURVEY = bindparam("survey_id", type_=_PENDING.c.survey_id.type)
_OTHERS = (_PENDING.c.survey_id == _OF_SURVEY, _PENDING.c.id != _KEY)
_BATCH = bindparam("batch", type_=Integer)
_IN_LINE = _PENDING.c.queued_at  # the survey's pending rows in line: ix_survey_pending_waiting


def _waiting_of(*where: Any) -> tuple[Any, Any]:
    """How many of a survey's pending rows wait, counted up to a batch (`is_due` needs no
    more), and since when the oldest has: both by walking the survey's index entries in queue
    order and stopping (a count of all of them read every entry a vacuum has not yet removed:
    each moved batch leaves its rows dead in the index until then)."""
    first = select(_IN_LINE).where(*where).order_by(_IN_LINE)
    return (
        select(func.count()).select_from(first.limit(_BATCH).subquery()).scalar_subquery(),
        first.limit(1).scalar_subquery(),
    )


# For a response being queued: its survey's others (the pending row just written excluded).
_WAITING = _waiting_of(*_OTHERS)
# For the mixer about to move a survey's batch. On PostgreSQL it also takes the survey's
# mixer lock for its transaction, if free (an advisory lock, `MIXER_LOCK` and the survey's id):
# while one mixer moves a survey's batch, every response arriving finds the batch due (the
# rows being moved stay visible until that mixer commits), and each would otherwise claim the
# few rows not yet held, open and delete them, find them no batch and roll back.
MIXER_LOCK = 0x6D6978  # "mix": the first key of the survey mixers' advisory locks
_WAITING_OF = select(*_waiting_of(_PENDING.c.survey_id == _OF_SURVEY))
_WAITING_OF_LOCKED = _WAITING_OF.add_columns(
    func.pg_try_advisory_xact_lock(literal_column(str(MIXER_LOCK)), _OF_SURVEY)
)
# The mixer's claim: a survey's pending rows in queue order, rows another mixer holds skipped
# (PostgreSQL; SQLite writes one at a time and renders no lock); then those opened are deleted
# by their keys. (One DELETE … WHERE id IN (that SELECT) was tried: with the queue's
# statistics small, PostgreSQL planned it as a sequential scan of the whole queue.)
_CLAIM = (
    select(_PENDING.c.id, _PENDING.c.sealed, _PENDING.c.queued_at)
    .where(_PENDING.c.survey_id == _OF_SURVEY)
    .order_by(_IN_LINE)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update(skip_locked=True)
)
_TAKE = (
    delete(_PENDING)
    .where(_PENDING.c.id.in_(bindparam("keys", expanding=True)))
    .returning(_PENDING.c.id)
)
# The sealed response, answering how many of the survey's others wait and since when: built
# once (building it on every response cost about a tenth of a web answer's Python).
_SEALED_ROW = {
    "id": _KEY,
    "survey_id": _OF_SURVEY,
    "sealed": bindparam("sealed", type_=_PENDING.c.sealed.type),
    "queued_at": bindparam("queued_at", type_=_PENDING.c.queued_at.type),
}
_QUEUE = insert(_PENDING).values(**_SEALED_ROW).returning(*_WAITING)


def _counted_after(queued: Any) -> Any:
    """PostgreSQL: the rows inserted by the data-modifying CTE `queued` (one), answering how
    many of the survey's others wait (up to a batch) and since when by ONE walk of the
    survey's index entries in line — the oldest is the first of those walked. (Two scalar
    subqueries walked them twice, each first stepping over the entries of rows moved since
    the last VACUUM.) The statement's own snapshot does not see the row it inserts: the
    others, as `_OTHERS` says with `id != key`."""
    line = (
        select(_IN_LINE)
        .where(_PENDING.c.survey_id == _OF_SURVEY)
        .order_by(_IN_LINE)
        .limit(_BATCH)
        .subquery("in_line")
    )
    return select(func.count(line.c.queued_at), func.min(line.c.queued_at)).select_from(
        queued.outerjoin(line, literal_column("true"))
    )


# PostgreSQL's `_QUEUE`, counting by one walk (`_counted_after`).
_QUEUE_PG = _counted_after(
    insert(_PENDING).values(**_SEALED_ROW).returning(_PENDING.c.id).cte("queued")
)


def queue(
    session: Session, mixing: Mixing, survey_id: int, payload: Mapping[str, Any], now: datetime
) -> tuple[int, datetime]:
    """Insert a sealed pending response in the caller's transaction (it commits, with the
    ledger). Returns how many of the survey's responses wait, this one included (counted up
    to a batch and one: `is_due` needs no more), and since when the oldest has: read by the
    same statement, so the check costs no round trip."""
    values = {
        "key": uuid.uuid4(),
        "survey_id": survey_id,
        "sealed": mixing.sealer.seal(payload),
        "queued_at": now,
        "batch": mixing.batch,
    }
    postgresql = session.connection().dialect.name == "postgresql"
    statement = _QUEUE_PG if postgresql else _QUEUE  # no entity (app/db_direct.py)
    count, oldest = db_direct.first(session, statement, values)
    return int(count) + 1, min(now, oldest) if oldest is not None else now


_LEDGER = SurveyLedger.__table__
_OF_ACCOUNT = bindparam("user_id", type_=_LEDGER.c.user_id.type)
_ENTERED = (
    insert(_LEDGER)
    .values(survey_id=_OF_SURVEY, user_id=_OF_ACCOUNT)
    .returning(_LEDGER.c.survey_id)
    .cte("entered")
)
# PostgreSQL: the ledger entry and the sealed response in one statement (the entry a
# data-modifying CTE, the sealed row inserted from what it returns: a second answer of the
# account fails the whole statement on the ledger's key), answering as _QUEUE_PG does.
_QUEUE_ENTERED = _counted_after(
    insert(_PENDING)
    .from_select(
        ["id", "survey_id", "sealed", "queued_at"],
        select(_KEY, _ENTERED.c.survey_id, _SEALED_ROW["sealed"], _SEALED_ROW["queued_at"]),
    )
    .returning(_PENDING.c.id)
    .cte("queued")
)
_ENTER = insert(_LEDGER).values(survey_id=_OF_SURVEY, user_id=_OF_ACCOUNT)


def queue_entered(
    session: Session,
    mixing: Mixing,
    survey_id: int,
    user_id: int,
    payload: Mapping[str, Any],
    now: datetime,
) -> tuple[int, datetime]:
    """`queue` with the account's ledger entry (survey, account) written first in the same
    transaction: one statement on PostgreSQL, two on SQLite. A second answer of the account
    raises IntegrityError (the ledger's key), nothing written."""
    values = {
        "key": uuid.uuid4(),
        "survey_id": survey_id,
        "user_id": user_id,
        "sealed": mixing.sealer.seal(payload),
        "queued_at": now,
        "batch": mixing.batch,
    }
    connection = session.connection()  # no entity: not through the ORM's execution
    if connection.dialect.name == "postgresql":  # nor SQLAlchemy's (app/db_direct.py)
        count, oldest = db_direct.first(session, _QUEUE_ENTERED, values)
    else:
        connection.execute(_ENTER, values)
        count, oldest = connection.execute(_QUEUE, values).one()
    return int(count) + 1, min(now, oldest) if oldest is not None else now


def waiting(
    session: Session, mixing: Mixing, survey_id: int | None = None
) -> dict[int, tuple[int, datetime]]:
    """Per survey with pending responses: how many wait (for one survey, counted up to a
    batch), and since when the oldest has. For one survey on PostgreSQL, the survey's mixer
    lock is taken for the caller's transaction, and a survey another mixer holds is left out
    (its mixer moves it; what arrives meanwhile waits for the next due check)."""
    if survey_id is not None:
        values = {"survey_id": survey_id, "batch": mixing.batch}
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            count, oldest, free = connection.execute(_WAITING_OF_LOCKED, values).one()
        else:  # SQLite writes one transaction at a time
            (count, oldest), free = connection.execute(_WAITING_OF, values).one(), True
        return {survey_id: (count, oldest)} if count and free else {}
    stmt = select(
        SurveyPending.survey_id, func.count(), func.min(SurveyPending.queued_at)
    ).group_by(SurveyPending.survey_id)
    return {row[0]: (row[1], row[2]) for row in session.execute(stmt)}


def is_due(mixing: Mixing, count: int, oldest: datetime, now: datetime) -> bool:
    return count >= mixing.batch or (count > 0 and oldest <= now - mixing.wait)


# How long a full batch may wait before any response arriving moves it (see `fills_batch`).
STALLED = timedelta(seconds=2)


def fills_batch(mixing: Mixing, count: int, oldest: datetime, now: datetime) -> bool:
    """Whether the response just queued (`queue`'s answer: counted up to a batch and one)
    should move its survey's batch: it is the one that filled it, or the oldest has waited
    `wait` (a lone response), or a full batch has waited STALLED. A response that finds more
    than a batch waiting otherwise leaves it: a mixer is moving it (its rows stay visible
    until it commits; each arriving response tried to move it too, a lock test and a
    rollback for nothing), or concurrent responses each counted one short of a batch and
    nobody filled it — the first response after STALLED, or the scheduled mixer, moves it."""
    if count == mixing.batch:
        return True
    waited = min(STALLED, mixing.wait) if count > mixing.batch else mixing.wait
    return count > 0 and oldest <= now - waited


def claim(
    session: Session, mixing: Mixing, survey_id: int, limit: int = 5000
) -> tuple[list[dict[str, Any]], datetime | None]:
    """Take pending responses of the survey (in the caller's transaction) and open them. Only
    the rows this call deletes are returned, so two mixers never move the same response: on
    PostgreSQL rows another mixer holds are skipped; SQLite writes one at a time. Returns the
    opened payloads and the oldest queue time among them (the caller checks that what it got
    is still a due batch: skipped rows may leave it a lone response)."""
    connection = session.connection()
    found = connection.execute(_CLAIM, {"survey_id": survey_id, "limit": limit}).all()
    opened = {row.id: (mixing.sealer.open(row.sealed), row.queued_at) for row in found}
    unreadable = sum(payload is None for payload, _at in opened.values())
    if unreadable:
        # Sealed under a key no longer configured: they stay until it is (nothing is lost).
        log.error(
            "survey %s: %d pending responses cannot be opened with SECRET_KEY or "
            "SECRET_KEY_FALLBACKS; they stay pending",
            survey_id,
            unreadable,
        )
    readable = [key for key, (payload, _at) in opened.items() if payload is not None]
    if not readable:
        return [], None
    taken = [opened[key] for key in connection.execute(_TAKE, {"keys": readable}).scalars()]
    if not taken:
        return [], None
    return [payload for payload, _at in taken], min(at for _payload, at in taken)  # type: ignore[misc]
