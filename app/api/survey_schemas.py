"""Schemas of the survey endpoints (api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.schemas import Request
from app.parse import Id


class SurveySummaryOut(BaseModel):
    id: str
    title: str
    anonymous: bool
    opens: datetime
    closes: datetime
    minutes: int


class SurveyQuestionOut(BaseModel):
    id: str
    type: Literal["single", "multiple", "scale", "rating", "number", "text", "grid"]
    text: str | None
    help: str | None
    required: bool
    choices: list[str]
    rows: list[str]
    other: bool
    max: float | None
    min: float | None
    decimal: bool
    low: str | None
    high: str | None
    show_if: dict[str, list[int]] | None


class SurveyPageOut(BaseModel):
    title: str
    description: str | None
    questions: list[SurveyQuestionOut]


class SurveyOut(SurveySummaryOut):
    description: str | None
    sign_in: Literal["required", "optional"]
    show_results: bool
    pages: list[SurveyPageOut]


class ResponseIn(Request):
    unit: Id | None = Field(
        default=None,
        description="Commune/ward code; for people not signed in. With channel paper: where the "
        "forms were filled in, a commune/ward or one of its hamlets",
    )
    hamlet: Id | None = Field(
        default=None,
        description="Optional: a hamlet of that commune (GET /api/v1/units?parent=); a signed-in "
        "resident's own when left out",
    )
    answers: dict[str, Any] = Field(description="question id -> value (api.md)")
    channel: str | None = Field(
        default=None,
        max_length=16,
        description="online (default); officers entering on someone's behalf: paper (a paper "
        "form of an anonymous survey) or assisted (an identified survey, for the resident with "
        "`phone`). Anyone else sending another channel: 403",
    )
    phone: str | None = Field(
        default=None, max_length=32, description="channel assisted: the resident's phone"
    )
    name: str | None = Field(
        default=None,
        max_length=200,
        description="channel assisted, unknown phone: create the resident's account with this "
        "name (the officer read the purpose of data use to the person, who agreed in person), "
        "in `unit` or the officer's commune",
    )


class ResponseOut(BaseModel):
    status: Literal["received"]
    one_time_password: str | None = Field(
        default=None,
        description="channel assisted with `name`: the new account's one-time password, "
        "returned once, to be handed to the person",
    )


class ResultsQuery(Request):
    by: str | None = Field(
        default=None,
        max_length=32,
        description='"unit", "hamlet", "channel" or a demographic question id',
    )
    unit: Id | None = Field(default=None, description="Narrow to this unit and those below it")
