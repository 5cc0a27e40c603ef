"""A proof-of-work challenge on sign-up and on attempt start, while under attack (issue 19,
point 5): self-hosted ALTCHA, no third-party service.

- `CHALLENGE=off` (default) | `on` | `auto`: with `auto`, the challenge is asked while the
  deployment has seen CHALLENGE_AUTO_SIGNUPS_PER_MINUTE sign-ups or more in the current minute
  (counted across nodes in the rate limiter's storage).
- With JavaScript: the ALTCHA widget (vendored, app/static/vendor/altcha/) solves a signed
  PBKDF2/SHA-256 challenge in a Web Worker (about a second on a cheap phone at the default
  CHALLENGE_COST) and posts the payload as `altcha`; the server checks the signature, the
  expiry and the solution (the `altcha` package).
- Without JavaScript: a small sum in Vietnamese words ("ba cộng bốn bằng mấy?"), answered in
  digits, with a signed token that expires after 10 minutes and carries only an HMAC of the
  answer. It stops scripts that do not read the page, not a determined programmer: the
  proof of work is the real cost, and the rate limits stay in force behind both.
- Each challenge is accepted once: its nonce is marked used by one atomic increment in the
  shared store, so a solved challenge replayed (or raced) is refused.
- The API: `GET /api/v1/challenge` hands out a challenge; `POST /auth/register` and the
  attempt start take the solved payload in the `X-Altcha` header while the challenge is on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import altcha
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer

from app.models.types import utcnow
from app.parse import int_or_none
from app.ratelimits import count_event, events, first_use
from app.signing import app_timed_serializer

MODES = ("off", "on", "auto")
ALGORITHM = "PBKDF2/SHA-256"
LIFETIME = timedelta(minutes=10)
WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
FORM_FIELD = "altcha"
HEADER = "X-Altcha"


def _secret(purpose: str) -> bytes:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"challenge:{purpose}".encode(), hashlib.sha256).digest()


def active() -> bool:
    """Whether sign-ups and starts must pass the challenge now."""
    mode = current_app.config.get("CHALLENGE", "off")
    if mode == "on":
        return True
    if mode == "auto":
        return events("signups") >= current_app.config["CHALLENGE_AUTO_SIGNUPS_PER_MINUTE"]
    return False


def note_signup() -> None:
    """Count a sign-up toward the `auto` threshold (the page and the API call it)."""
    count_event("signups", 60)


def new_pow() -> dict[str, Any]:
    """A signed ALTCHA challenge (v2 parameters), as the widget and API clients take it.

    Its expiry is wall-clock time, not the app's clock (`app.clock`, which a test or the demo
    may set elsewhere): the `altcha` package checks it against the wall clock, as itsdangerous
    does the text question's token, so one clock both writes and reads every expiry."""
    challenge = altcha.create_challenge(
        ALGORITHM,
        current_app.config["CHALLENGE_COST"],
        expires_at=utcnow() + LIFETIME,
        hmac_secret=_secret("pow"),
    )
    return challenge.to_dict()


def _answer_digest(nonce: str, answer: int) -> str:
    return hmac.new(_secret("text"), f"{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()


def _serializer() -> URLSafeTimedSerializer:
    return app_timed_serializer("text-challenge")


@dataclass(frozen=True)
class PageChallenge:
    """What a form shows: the widget's challenge, and the question for pages without script."""

    pow_json: str
    question: str
    token: str
    error: str | None = None


def for_page(error: str | None = None) -> PageChallenge:
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_hex(12)
    token = _serializer().dumps({"n": nonce, "h": _answer_digest(nonce, a + b)})
    question = _(
        "How much is %(a)s plus %(b)s? Write the answer in digits.", a=WORDS[a], b=WORDS[b]
    )
    question = question[:1].upper() + question[1:]  # "Ba cộng bốn…": the sentence's capital
    return PageChallenge(json.dumps(new_pow()), question, token, error)


def _pow_passed(payload: str) -> bool:
    if not payload or len(payload) > 4096:
        return False
    try:
        result = altcha.verify_solution(payload, _secret("pow"))
    except (ValueError, TypeError, KeyError, OverflowError):
        return False
    if not result.verified:
        return False
    nonce = altcha.Payload.from_base64(payload).challenge.parameters.nonce
    return first_use("pow", str(nonce), int(LIFETIME.total_seconds()))


def _text_passed(token: str, answer: str) -> bool:
    if not token or len(token) > 1024:
        return False
    try:
        data = _serializer().loads(token, max_age=int(LIFETIME.total_seconds()))
        nonce, digest = str(data["n"]), str(data["h"])
    except (BadData, KeyError, TypeError):
        return False
    # The token is spent by its first answer, right or wrong: no second guess with it.
    if not first_use("text", nonce, int(LIFETIME.total_seconds())):
        return False
    number = int_or_none((answer or "").strip(), 0, 99)
    return number is not None and hmac.compare_digest(digest, _answer_digest(nonce, number))


def refusal(form: Any = None, header: str | None = None) -> str | None:
    """None when the challenge is off or was passed (the widget's payload in the form or the
    `X-Altcha` header, or the text answer), else the message to show."""
    if not active():
        return None
    form = form or {}
    payload = header or form.get(FORM_FIELD, "")
    if payload and _pow_passed(payload):
        return None
    if form.get("challenge_token") and _text_passed(
        form.get("challenge_token", ""), form.get("challenge_answer", "")
    ):
        return None
    return _(
        "Please answer the check question (it keeps automated sign-ups out); a new one is shown."
    )
