"""The shape of survey results (api.md, "Survey results"), declared once: `analytics.results`
checks every answer it makes against `SurveyResults` before anyone reads it, the API declares
it as its response (so the OpenAPI document carries it) and pages, exports, the thanks page,
the overview and the briefs read what it checked.

A suppressed group carries nothing but its key, its label and `suppressed: true` (extra fields
are refused, so a figure cannot slip into a hidden group by mistake).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

Interval = tuple[float, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Figures(_Strict):
    """Counts per value ("1".."k", "0".."10" for a rating), their share of the respondents with
    a 95% Wilson interval; the mean with its 95% interval for numbers, scales and ratings; a
    scale in the index also its own 0–100 score."""

    counts: dict[str, int] = {}
    proportions: dict[str, float] = {}
    ci95: dict[str, Interval] = {}
    mean: float | None = None
    mean_ci95: Interval | None = None
    index: float | None = None


class GridRow(Figures):
    label: str
    n: int


class Group(_Strict):
    group: int | str  # "all", a unit's code, a demographic choice number (0: no answer)
    label: str
    suppressed: bool | None = None
    n: int | None = None
    counts: dict[str, int] | None = None
    proportions: dict[str, float] | None = None
    ci95: dict[str, Interval] | None = None
    mean: float | None = None
    mean_ci95: Interval | None = None
    index: float | None = None
    rows: dict[str, GridRow] | None = None

    @model_validator(mode="after")
    def _hidden_means_empty(self) -> Group:
        if self.suppressed and any(
            value is not None
            for value in (self.n, self.counts, self.proportions, self.ci95, self.mean, self.rows)
        ):
            raise ValueError("a suppressed group carries no figure")
        return self


class QuestionResult(_Strict):
    id: str
    type: str
    text: str | None = None
    groups: list[Group]


class IndexGroup(_Strict):
    """The satisfaction index of a group: the mean over people of their 0–100 scores, its 95%
    interval, and the share of answered index items in the top two values."""

    group: int | str
    label: str
    suppressed: bool | None = None
    n: int | None = None
    index: float | None = None
    index_ci95: Interval | None = None
    satisfied: float | None = None

    @model_validator(mode="after")
    def _hidden_means_empty(self) -> IndexGroup:
        if self.suppressed and any(v is not None for v in (self.n, self.index, self.satisfied)):
            raise ValueError("a suppressed group carries no figure")
        return self


class WavePoint(BaseModel):
    model_config = ConfigDict(extra="allow")  # the test's own figures (p_value, sd, hits…)

    wave: int | None = None
    survey: str
    suppressed: bool | None = None
    n: int | None = None


class Trend(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    text: str | None = None
    measure: str | None = None
    waves: list[WavePoint]


class ChannelShare(_Strict):
    """Whom the figures represent: the responses that came in by one channel (online, assisted,
    kiosk, paper) and their share of all; the paper channel's forms counted by hand
    (`tallied`, included in `n`). A hidden channel carries neither."""

    channel: str
    label: str
    suppressed: bool | None = None
    n: int | None = None
    share: float | None = None
    tallied: int | None = None

    @model_validator(mode="after")
    def _hidden_means_empty(self) -> ChannelShare:
        if self.suppressed and any(v is not None for v in (self.n, self.share, self.tallied)):
            raise ValueError("a suppressed channel carries no figure")
        return self


class SurveyResults(_Strict):
    survey: str
    n: int | None = None
    threshold: int
    by: str
    suppressed: bool | None = None
    questions: list[QuestionResult] = []
    index: list[IndexGroup] = []
    overall: IndexGroup | None = None
    channels: list[ChannelShare] | None = None
    # Added by the API: why a scope is withheld, and the trends across waves.
    message: str | None = None
    trends: list[Trend] | None = None


def checked(result: dict[str, Any]) -> dict[str, Any]:
    """`result` as the model says it must be (ValueError otherwise), as plain data."""
    return SurveyResults.model_validate(result).model_dump(mode="json", exclude_none=True)
