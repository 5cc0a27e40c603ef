"""Whether a resident may start an attempt at a round, decided before anything costly: the one
home of "an attempt in progress" (open and not past its deadline and grace) and of the refusals
a start meets (the contest's audience, the round open, attempts left), read from the person's
attempts at the round in one query.

Admission control (app/admission.py) runs `check` before a person takes a place in line, so
that someone who cannot start never waits (nor makes others wait) for a start that would be
refused. `services.attempts.start` decides the same things in the same order; it should call
`in_progress` (and `check`) rather than say them again — see docs/architecture.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.messages import N_
from app.models import Attempt, Round, User
from app.services import attempts


def in_progress(attempt: Attempt | None, now: datetime, grace: timedelta) -> bool:
    """An attempt in progress: open and not late. Its owner is never held back, and a start
    answers with it instead of making another."""
    return (
        attempt is not None
        and attempt.state == "open"
        and not attempts.is_late(attempt, now, grace)
    )


def check(
    session: Session, round_: Round, user: User, now: datetime, grace: timedelta
) -> Attempt | None:
    """The person's attempt in progress at the round (a start only answers with it), or None
    when a new attempt may be made; raises the refusal the start would meet otherwise
    (`attempts.NotInAudience`, `RoundNotOpen`, `NoAttemptsLeft`), in `attempts.start`'s order."""
    if not attempts.in_audience(round_.contest, user.unit, user.hamlet_code):
        raise attempts.NotInAudience(N_("This contest is not open to your commune or ward."))
    made = session.scalars(
        select(Attempt).where(Attempt.round_id == round_.id, Attempt.user_id == user.id)
    ).all()
    current = next((a for a in made if in_progress(a, now, grace)), None)
    if current is not None:
        return current
    if attempts.round_state(round_, now) != "open":
        raise attempts.RoundNotOpen(N_("This round is not open."))
    if len(made) >= round_.attempts:  # a late attempt counts: the start finishes it first
        raise attempts.NoAttemptsLeft(N_("You have used all your attempts at this round."))
    return None
