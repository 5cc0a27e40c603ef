"""Schemas of the leaderboard endpoints (api.md): queries and answers, for validation and
for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.api.schemas import Request
from app.parse import Bounded, Id, Offset

Limit = Bounded(1, 500)


class LeaderboardQuery(Request):
    unit: Id | None = Field(
        default=None, description="Only the people of this commune/ward (places stay province-wide)"
    )
    limit: Limit = Field(default=50, description="How many entries")
    offset: Offset = Field(default=0, description="How many entries to skip")


class LeaderEntryOut(BaseModel):
    rank: int = Field(description="Place in the whole round: 1, 2, 3… (no two alike)")
    name: str | None = Field(description='Shortened ("Nguyễn V. A."); null for a deleted account')
    unit: int = Field(description="Code of the person's commune/ward")
    unit_name: str
    phone_verified: bool = Field(
        default=False, description="The person's phone was proved by a code (api.md, auth/verify)"
    )
    score: int
    max_score: int
    prediction: int | None
    distance: int | None = Field(
        description="|prediction - frozen figure|, in final rankings of rounds with a prediction"
    )
    duration_s: float = Field(description="Time taken, measured by the server, to the millisecond")
    submitted_at: datetime


class LeaderboardOut(BaseModel):
    round: int
    final: bool = Field(description="False while the round is open: the ranking is provisional")
    prediction: str = Field(description="full_scores | entries | participants | none")
    figure: int | None = Field(description="The real figure, frozen at the close (final only)")
    total: int = Field(description="People ranked (in the unit, when one is asked)")
    entries: list[LeaderEntryOut]


class UnitEntryOut(BaseModel):
    rank: int
    code: int
    name: str
    population: int | None
    participants: int
    per_thousand: float | None = Field(description="Participants per 1,000 residents")
    mean_score: float = Field(description="Mean of the participants' best scores")


class UnitsLeaderboardOut(BaseModel):
    round: int
    final: bool
    units: list[UnitEntryOut] = Field(
        description="By participants per 1,000 residents, then by mean best score"
    )
    population_unknown: list[UnitEntryOut] = Field(
        description="Units whose population is not known, apart, by participants"
    )
