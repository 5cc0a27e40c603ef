"""Request and response schemas of the API (pydantic): they validate and they document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models import Gender, Role
from app.parse import Bounded, Id, Prediction, Seq
from app.phones import normalize_phone
from app.services.accounts import NAME_MAX, PASSWORD_MAX, PASSWORD_MIN
from app.text import clean_line, nfc

BirthYear = Bounded(1900, 2100)


class Request(BaseModel):
    """Requests ignore fields they do not know (clients may be newer than the server)."""

    model_config = ConfigDict(extra="ignore")


class RegisterIn(Request):
    name: str = Field(min_length=1, max_length=NAME_MAX, description="Full name")
    phone: str = Field(description="0912345678, +84912345678 or with spaces; stored as 0912345678")
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    unit: Id = Field(description="Code of the commune/ward (GET /api/v1/units)")
    hamlet: Id | None = Field(
        default=None,
        description="Optional: code of a hamlet of that commune (GET /api/v1/units?parent=)",
    )
    consent: bool = Field(description="Must be true: agreement to the stated purpose")
    birth_year: BirthYear | None = None
    gender: Gender | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return clean_line(value) if isinstance(value, str) else value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(nfc(value))

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError(_("You must agree to the purpose of data use to sign up."))
        return value


class RegisterOut(BaseModel):
    id: int


class TokenIn(Request):
    phone: str
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(nfc(value))


class TokenOut(BaseModel):
    token: str
    expires_at: datetime


class UnitsQuery(Request):
    q: str | None = Field(default=None, max_length=100, description="Search; diacritics ignored")
    level: Literal["province", "commune"] | None = None
    parent: Id | None = Field(
        default=None, description="A commune's code: its hamlets (ấp, khu vực, tổ dân phố)"
    )


class UnitOut(BaseModel):
    code: int
    name: str
    level: Literal["province", "commune", "hamlet"]
    parent: int | None
    population: int | None = None


class ConsentOut(BaseModel):
    version: str
    given_at: datetime


class MeOut(BaseModel):
    id: int
    name: str | None
    phone: str | None
    phone_masked: str | None
    phone_verified: bool
    role: Role
    unit: UnitOut
    hamlet: UnitOut | None = None
    birth_year: int | None
    gender: Gender | None
    consents: list[ConsentOut]


class MeIn(Request):
    birth_year: BirthYear = Field(description="The year of birth, which some contests need")


class ChallengeOut(BaseModel):
    active: bool = Field(description="Whether register and attempt start require it now")
    challenge: dict[str, Any] = Field(description="ALTCHA v2: {parameters, signature}")


class VerifyIn(Request):
    code: str | None = Field(
        default=None,
        max_length=20,
        description="Absent: send a code to the account's phone. The 6 digits received: check it.",
    )


class VerifySentOut(BaseModel):
    sent: bool
    phone_masked: str
    expires_at: datetime


class VerifiedOut(BaseModel):
    verified: bool


class ErrorDetail(BaseModel):
    field: str | None = None
    question: str | None = None
    line: int | None = None
    column: int | None = None
    message: str


class QueueOut(BaseModel):
    """A start waiting its turn (503): come back after `retry_after_s` (also the Retry-After
    header) with `ticket` in the X-Queue-Ticket header, and the place is kept."""

    position: int
    wait_s: int
    retry_after_s: int
    ticket: str


class ErrorBody(BaseModel):
    code: Literal[
        "bad_request",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "too_large",
        "validation_error",
        "rate_limited",
        "unavailable",
        "server_error",
    ]
    message: str
    details: list[ErrorDetail]
    request_id: str | None = None  # the X-Request-ID header: to find the request in the log
    queue: QueueOut | None = None  # 503 of a start held by admission control


class ErrorOut(BaseModel):
    error: ErrorBody


class ContentOut(BaseModel):
    """What a publish stored; the id field is named after the kind (`bank`, `contest`, `survey`)."""

    model_config = ConfigDict(extra="allow")

    version: int
    status: Literal["new", "updated", "unchanged"]
    added: list[str]
    changed: list[str]
    retired: list[str]


class RoundOut(BaseModel):
    id: int
    title: str
    opens: datetime
    closes: datetime
    time_limit_s: int
    attempts: int
    state: Literal["upcoming", "open", "closed"]


class ContestOut(BaseModel):
    id: str
    title: str
    description: str | None
    prizes: str | None
    rounds: list[RoundOut]


class ChoiceOut(BaseModel):
    key: str
    text: str


class QuestionOut(BaseModel):
    id: str
    text: str
    multiple: bool
    choices: list[ChoiceOut]


class PredictionOut(BaseModel):
    target: Literal["full_scores", "entries", "participants"]
    question: str


class ReviewOut(BaseModel):
    id: str
    correct: list[str]
    right: bool
    explanation: str | None
    source: str | None


class ResultOut(BaseModel):
    score: int
    max_score: int
    duration_s: float
    review: list[ReviewOut] | None = None


class AttemptOut(BaseModel):
    id: int
    state: Literal["open", "submitted", "expired"]
    deadline: datetime
    remaining_s: float
    questions: list[QuestionOut]
    answers: dict[str, list[str]]
    prediction: PredictionOut | None
    result: ResultOut | None


class AnswerIn(Request):
    choices: list[str] = Field(max_length=8, description='Keys as shown, for example ["B"]')
    seq: Seq | None = Field(default=None, description="The client's counter for this question")


class AnswerOut(BaseModel):
    remaining_s: float


class SubmitIn(Request):
    prediction: Prediction | None = None
