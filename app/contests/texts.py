"""Words residents read about rounds: the prediction question, the review policy."""

from __future__ import annotations

from flask_babel import gettext as _


def prediction_question(target: str) -> str | None:
    return {
        "full_scores": _("How many people will answer every question of this round correctly?"),
        "entries": _("How many entries (submitted attempts) will this round receive?"),
        "participants": _("How many people will take part in this round?"),
    }.get(target)


def review_policy(policy: str) -> str:
    return {
        "never": _("Right answers are not shown."),
        "after_submit": _("Right answers and explanations are shown as soon as you submit."),
        "after_close": _("Right answers and explanations are shown when the round closes."),
    }[policy]


def state_label(state: str) -> str:
    return {"upcoming": _("Upcoming"), "open": _("Open"), "closed": _("Closed")}[state]
