"""Figures of a survey computed once and kept under a stamp of the survey's responses.

Results are aggregates over every response of a survey: at a million responses a cold view
reads tens of millions of answer rows. `analytics.results` and `analytics.hidden_groups`, given
`now`, keep what they compute here — each view (survey, breakdown, scope, language of the
labels) in the app's cache (Flask-Caching: in-process by default, Redis when `REDIS_URL` is
set) with the stamp it was computed at:

- read within `STALE_SECONDS` (60 s) of its last check, an entry is served as it is: a page may
  be at most 60 s behind the responses while the survey is open;
- after that, the stamp (the survey's version, its stored and its pending responses counted on
  their index) is read again: unchanged, the entry is served and checked again in 60 s;
  changed, the view is computed again.

Responses are only ever added (or moved from pending to stored, which the stamp's pending count
sees), and a change of the survey's rules raises its version, so an unchanged stamp means
unchanged figures. The counts every view and the suppression decision are made of (the cube,
app/services/cube.py: one pass over the answers) and the decision (`analytics.hidden_groups`),
the same for every view, are kept under the same stamp (`at`): a cold view of a stamp whose
cube is kept reads nothing but the stamp, and every view of one stamp applies the same
decision.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extensions import cache
from app.models import Survey, SurveyPending, SurveyResponse

log = logging.getLogger(__name__)

STALE_SECONDS = 60
KEEP_SECONDS = 24 * 3600  # an entry nobody reads for a day goes


Stamp = tuple[int, ...]


@dataclass(frozen=True)
class Entry:
    value: Any
    stamp: Stamp
    checked_at: datetime


def stamp(session: Session, survey: Survey) -> Stamp:
    """What the figures depend on: the survey's version and how many responses it has, stored
    and pending (both counted on an index: ix_survey_responses_survey_unit, the pending
    table's survey_id), and its tallies imported and withdrawn (app/services/tallies.py)."""
    stored = session.scalar(
        select(func.count())
        .select_from(SurveyResponse)
        .where(SurveyResponse.survey_id == survey.id)
    )
    pending = session.scalar(
        select(func.count()).select_from(SurveyPending).where(SurveyPending.survey_id == survey.id)
    )
    version = session.scalar(select(Survey.version).where(Survey.id == survey.id))
    from app.services import tallies  # the hand-counted forms are figures too (issue 20)

    return int(version or 0), int(stored or 0), int(pending or 0), *tallies.stamp(session, survey)


def _key(kind: str, survey: Survey, parts: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"survey-results:{kind}:{survey.id}:{digest[:32]}"


def _cached(key: str) -> Entry | None:
    """The entry under `key`; None when the cache (Redis) does not answer: the caller then
    computes, as on a miss, and the page is served a little slower."""
    try:
        entry: Entry | None = cache.get(key)
    except Exception as error:  # redis.RedisError or OSError from the client: not a 500
        log.warning("results cache unavailable (%s): computing without it", type(error).__name__)
        return None
    return entry


def _keep(key: str, entry: Entry) -> None:
    try:
        cache.set(key, entry, timeout=KEEP_SECONDS)
    except Exception as error:
        log.warning("results cache unavailable (%s): not kept", type(error).__name__)


def kept(
    session: Session,
    survey: Survey,
    kind: str,
    parts: dict[str, Any],
    now: datetime,
    compute: Callable[[Stamp], Any],
) -> Any:
    """`compute(stamp)`'s value for this view of `survey`, from the cache when it is fresh
    enough. `compute` gets the stamp it is computed at: what it reads from other entries (the
    suppression decision) must be of exactly that stamp (`at`), never a fresher-looking one."""
    key = _key(kind, survey, parts)
    entry = _cached(key)
    if entry is not None and now - entry.checked_at < timedelta(seconds=STALE_SECONDS):
        return entry.value
    current = stamp(session, survey)
    if entry is None or entry.stamp != current:
        entry = Entry(compute(current), current, now)
    else:
        entry = Entry(entry.value, current, now)
    _keep(key, entry)
    return entry.value


def at(survey: Survey, kind: str, of: Stamp, compute: Callable[[], Any]) -> Any:
    """`compute()`'s value at exactly the stamp `of`: computed once per stamp and never served
    at another. The suppression decision is kept this way, so that figures are only ever hidden
    by the decision made over the same responses (a decision a minute old would not know of a
    commune's first response, and would leave it shown)."""
    key = _key(kind, survey, {"stamp": list(of)})
    entry = _cached(key)
    if entry is None:
        entry = Entry(compute(), of, datetime.min)
        _keep(key, entry)
    return entry.value
