"""A survey's results as officers download them (CSV or XLSX through app.services.exports): one
row per question, group and answer — the figures of the results page, hidden groups hidden the
same way (analytics.results decides; nothing is counted here).

Each row carries the question's text (what a person reads) and its id (what a script keys on);
the header has the Vietnamese column names, then the machine names. Counts are whole numbers,
proportions and their 95% bounds shares of 1 (shown "47,6%" in Excel), means plain numbers.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.models import Survey, Unit
from app.services import analytics
from app.services.exports import Column, Table
from app.services.survey_definition import QuestionDef, definition


def columns() -> list[Column]:
    return [
        Column("question_text", _("Question"), "text"),
        Column("question", _("Question id"), "text"),
        Column("group", _("Group"), "text"),
        Column("row", _("Row"), "text"),
        Column("value", _("Answer"), "text"),
        Column("n", _("People answering"), "count"),
        Column("count", _("People choosing it"), "count"),
        Column("proportion", _("Proportion"), "percent"),
        Column("ci_low", _("Lower bound (95%)"), "percent"),
        Column("ci_high", _("Upper bound (95%)"), "percent"),
        Column("mean", _("Mean"), "mean"),
        Column("mean_ci_low", _("Mean: lower bound (95%)"), "mean"),
        Column("mean_ci_high", _("Mean: upper bound (95%)"), "mean"),
        Column("note", _("Note"), "text"),
    ]


def _value_labels(q: QuestionDef) -> list[tuple[str, str]]:
    if q.type == "rating":
        return [(str(v), str(v)) for v in range(11)]
    return [(str(i), label) for i, label in enumerate(q.choices, start=1)]


def table(session: Session, survey: Survey, scope: Unit, *, by: str | None = None) -> Table:
    """The results of `survey` within `scope`, broken down `by` (analytics.UnknownBreakdown
    for a breakdown that is not offered)."""
    result = analytics.results(
        session, survey, by=by, scope=scope, labels={"all": _("All"), "none": _("No answer")}
    )
    defn = definition(session, survey)
    out = Table(columns(), timezone=survey.timezone)
    blank = [None] * 10  # row … mean_ci_high
    hidden = _("hidden: fewer than %(n)d", n=result["threshold"])
    if result.get("suppressed"):
        out.rows.append(["", "", scope.name, *blank, hidden])
    for channel in result.get("channels", []):  # whom the figures represent, as on the page
        head = [_("How the responses came in"), "channel", channel["label"]]
        if channel.get("suppressed"):
            out.rows.append([*head, *blank, hidden])
            continue
        tallied = channel.get("tallied")
        note = _("including %(n)s paper forms counted by hand", n=tallied) if tallied else ""
        share = channel["share"]
        out.rows.append([*head, None, None, result["n"], channel["n"], share, *[None] * 5, note])
    for q, item in defn.known(result["questions"]):
        head = [q.text or q.key, q.key]
        for group in item["groups"]:
            if group.get("suppressed"):
                out.rows.append([*head, group["label"], *blank, hidden])
                continue
            out.rows.extend([*head, group["label"], *row] for row in _figures(q, group))
    return out


def _figures(q: QuestionDef, group: dict[str, Any]) -> list[list[Any]]:
    """The cells after the group: row, answer, n, count, proportion and bounds, mean and
    bounds, note."""
    if q.type == "number":
        low, high = group.get("mean_ci95") or (None, None)
        return [[None, None, group["n"], None, None, None, None, group.get("mean"), low, high, ""]]
    parts = (
        [(row["label"], row) for row in group["rows"].values()]
        if q.type == "grid"
        else [(None, group)]
    )
    rows = []
    for row_label, part in parts:
        for key, label in _value_labels(q):
            low, high = part["ci95"].get(key) or (None, None)
            rows.append(
                [
                    row_label,
                    label,
                    part["n"],
                    part["counts"].get(key, 0),
                    part["proportions"].get(key, 0.0),
                    low,
                    high,
                    None,
                    None,
                    None,
                    "",
                ]
            )
    return rows
