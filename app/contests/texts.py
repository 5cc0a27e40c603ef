"""Words residents read about rounds: the prediction question, the review policy."""

from __future__ import annotations

from flask_babel import gettext as _

from app.content.messages import N_
from app.formats import number
from app.services.suspicious import Flag

PREDICTION_QUESTIONS = {
    "full_scores": N_("How many people will answer every question of this round correctly?"),
    "entries": N_("How many entries (submitted attempts) will this round receive?"),
    "participants": N_("How many people will take part in this round?"),
}


def prediction_question(target: str) -> str | None:
    """The question a round's prediction asks (translated only when there is one: every start
    answers with it)."""
    msgid = PREDICTION_QUESTIONS.get(target)
    return _(msgid) if msgid is not None else None


def review_policy(policy: str) -> str:
    return {
        "never": _("Right answers are not shown."),
        "after_submit": _("Right answers and explanations are shown as soon as you submit."),
        "after_close": _("Right answers and explanations are shown when the round closes."),
    }[policy]


def state_label(state: str) -> str:
    return {"upcoming": _("Upcoming"), "open": _("Open"), "closed": _("Closed")}[state]


def flag_reason(flag: Flag) -> str:
    """Why an entry is flagged before prizes (app.services.suspicious), with its figures."""
    f = flag.figures
    others = ", ".join(f"#{uid}" for uid in flag.others)
    if flag.kind == "device":
        return _(
            "%(n)s accounts started attempts at this round from the same device "
            "(accounts %(others)s).",
            n=f["accounts"],
            others=others,
        )
    if flag.kind == "client":
        return _(
            "Same address and browser as accounts %(others)s, %(minutes)s minutes apart.",
            others=others,
            minutes=number(f["minutes"], 1),
        )
    if flag.kind == "copy":
        return _(
            "%(same)s of %(common)s shared questions answered exactly as account %(others)s "
            "(attempt %(other)s); times %(mine)s s and %(theirs)s s.",
            same=f["same"],
            common=f["common"],
            others=others,
            other=f["other_attempt"],
            mine=number(f["seconds"]),
            theirs=number(f["other_seconds"]),
        )
    if flag.kind == "fast":
        return _(
            "Perfect score in %(s)s s: the round's 1st percentile is %(p1)s s, "
            "its median %(median)s s.",
            s=number(f["seconds"]),
            p1=number(f["p1_seconds"]),
            median=number(f["median_seconds"]),
        )
    return _(
        "Account created in a burst: %(n)s accounts from one address within %(minutes)s minutes.",
        n=f["accounts"],
        minutes=number(f["minutes"], 1),
    )


def flag_label(kind: str) -> str:
    return {
        "device": _("Shared device"),
        "client": _("Shared address and browser"),
        "copy": _("Copied answers"),
        "fast": _("Too fast"),
        "burst": _("Sign-up burst"),
    }[kind]
