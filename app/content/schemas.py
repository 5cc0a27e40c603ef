"""The three kinds of content file, as pydantic models (../shared/specs/question-bank.md and
survey.md). Structure and types live here; rules across fields live in checks.py.

Values arrive as the text that was written (see reader.py); pydantic turns "15" into 15 and
"true" into True where a field is a number or a yes/no, and leaves text as text.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from app.content.messages import N_

SLUG = r"^[a-z0-9][a-z0-9-]{2,63}$"
ITEM_ID = r"^[A-Za-z0-9_-]{1,32}$"
DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{1,2}:[0-9]{2}$")
DURATION = re.compile(r"^(?:([0-9]{1,4})h)?(?:([0-9]{1,6})m)?(?:([0-9]{1,8})s)?$")


def content_error(message: str, **params: Any) -> PydanticCustomError:
    """An error whose message is one of ours (an N_ msgid), with its parameters."""
    return PydanticCustomError("content", "{msgid}", {"msgid": message, **params})


def _slug(value: Any) -> Any:
    if isinstance(value, str) and not re.match(SLUG, value):
        raise content_error(
            N_(
                'The id "%(value)s" is not valid: use 3 to 64 lower-case letters without '
                "accents, digits and hyphens, starting with a letter or digit (for example "
                "dan-chu-co-so)."
            ),
            value=value,
        )
    return value


def _item_id(value: Any) -> Any:
    if isinstance(value, str) and not re.match(ITEM_ID, value):
        raise content_error(
            N_(
                'The id "%(value)s" is not valid: use 1 to 32 letters without accents, digits, '
                "- or _ (for example q001)."
            ),
            value=value,
        )
    return value


def _datetime_text(value: Any) -> Any:
    if isinstance(value, str) and not DATETIME.match(value):
        raise content_error(
            N_(
                'The date "%(value)s" is not valid: write YYYY-MM-DD HH:MM, '
                "for example 2026-12-01 08:00."
            ),
            value=value,
        )
    return value


def duration_seconds(text: str) -> int | None:
    match = DURATION.match(text.replace(" ", ""))
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _duration(value: Any) -> Any:
    if isinstance(value, str) and not duration_seconds(value):
        raise content_error(
            N_('The time limit "%(value)s" is not valid: write for example 90s, 15m, 1h or 1h30m.'),
            value=value,
        )
    return value


def _audience(value: Any) -> Any:
    """`all`, or a list of unit codes (with the units below them)."""
    if value == "all" or value is None:
        return "all"
    if isinstance(value, list) and value:  # [] would read as nobody, and was taken as everyone
        return value
    raise content_error(
        N_('"audience" is either all or a list of unit codes, for example [31321, 31117].')
    )


def _answer(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _one_or_many(value: Any) -> Any:
    """`difficulty: hard` and `difficulty: [medium, hard]` both mean a list."""
    return [value] if isinstance(value, str) else value


Slug = Annotated[str, BeforeValidator(_slug)]
ItemId = Annotated[str, BeforeValidator(_item_id)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
DateTimeText = Annotated[str, BeforeValidator(_datetime_text)]
Duration = Annotated[str, BeforeValidator(_duration)]
Difficulty = Literal["easy", "medium", "hard"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------- question banks


class Topic(Strict):
    id: ItemId
    title: ShortText


class Source(Strict):
    id: ItemId
    title: Text
    url: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Question(Strict):
    id: ItemId
    type: Literal["choice", "true_false"] = "choice"
    text: Text
    choices: Annotated[list[Text], Field(min_length=2, max_length=8)] | None = None
    # Letters (A–H) for choice questions, true/false for true_false; checked in checks.py.
    answer: Annotated[
        list[Annotated[str, StringConstraints(min_length=1)]], BeforeValidator(_answer)
    ]
    explanation: Text | None = None
    topic: ItemId | None = None
    source: ItemId | None = None
    difficulty: Difficulty = "medium"
    tags: list[ShortText] = []
    shuffle: bool = True


class Bank(Strict):
    bank: Slug
    title: ShortText
    description: Text | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] = "vi"
    topics: list[Topic] = []
    sources: list[Source] = []
    questions: Annotated[list[Question], Field(min_length=1, max_length=5000)]


# ---------------------------------------------------------------------------------- contests


class Draw(Strict):
    bank: Slug
    count: Annotated[int, Field(ge=1, le=500)]
    difficulty: Annotated[list[Difficulty], BeforeValidator(_one_or_many)] | None = None
    topic: Annotated[list[ItemId], BeforeValidator(_one_or_many)] | None = None


class Round(Strict):
    id: ItemId
    title: ShortText | None = None
    opens: DateTimeText
    closes: DateTimeText
    time_limit: Duration
    attempts: Annotated[int, Field(ge=1, le=100)] = 1
    draw: Annotated[list[Draw], Field(min_length=1, max_length=20)]
    prediction: Literal["full_scores", "entries", "participants", "none"] = "none"
    review: Literal["never", "after_submit", "after_close"] = "after_close"


Audience = Annotated[Literal["all"] | list[int], BeforeValidator(_audience)]


class Eligibility(Strict):
    """Who may enter, checked by the server at each start (app/services/eligibility.py)."""

    min_age: Annotated[int, Field(ge=1, le=120)] | None = None
    verified_phone: bool = False


class Contest(Strict):
    contest: Slug
    title: ShortText
    description: Text | None = None
    prizes: Text | None = None
    certificates: Literal["none", "participants", "winners"] = "none"
    issuer: ShortText | None = None  # the body that issues the certificates
    audience: Audience = "all"
    timezone: ShortText = "Asia/Ho_Chi_Minh"
    eligibility: Eligibility = Eligibility()
    rounds: Annotated[list[Round], Field(min_length=1, max_length=200)]


# ----------------------------------------------------------------------------------- surveys

SurveyType = Literal["single", "multiple", "scale", "rating", "number", "text", "grid"]


class SurveyQuestion(Strict):
    """Every field any type may carry; which type may carry which is checked in checks.py, so
    that `index: true` on a text question says exactly that."""

    id: ItemId
    type: SurveyType
    text: Text | None = None  # required except on grids, whose rows are the statements
    help: Text | None = None
    required: bool = True
    show_if: (
        dict[str, Annotated[list[int], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]]
        | None
    ) = None
    choices: Annotated[list[Text], Field(min_length=2, max_length=30)] | None = None
    scale: ItemId | None = None
    rows: Annotated[list[Text], Field(min_length=2, max_length=30)] | None = None
    max: float | None = None
    min: float | None = None
    decimal: bool | None = None
    other: bool | None = None
    demographic: bool | None = None
    index: bool | None = None
    low: ShortText | None = None
    high: ShortText | None = None


class Page(Strict):
    title: ShortText
    description: Text | None = None
    questions: Annotated[list[SurveyQuestion], Field(min_length=1, max_length=200)]


class Survey(Strict):
    survey: Slug
    title: ShortText
    description: Text | None = None
    anonymous: bool
    opens: DateTimeText
    closes: DateTimeText
    timezone: ShortText = "Asia/Ho_Chi_Minh"
    audience: Audience = "all"
    min_group: Annotated[int, Field(ge=3, le=1000)] | None = None
    sign_in: Literal["required", "optional"] = "required"
    show_results: bool = False
    wave: Annotated[int, Field(ge=0, le=100_000)] | None = None
    series: Slug | None = None
    scales: dict[ItemId, Annotated[list[Text], Field(min_length=2, max_length=11)]] = {}
    pages: Annotated[list[Page], Field(min_length=1, max_length=50)]


KINDS: dict[str, type[Strict]] = {"bank": Bank, "contest": Contest, "survey": Survey}
Document = Bank | Contest | Survey
