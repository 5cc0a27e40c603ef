"""Survey answers in plain HTML forms: one field name per answer, the same on every page.

`a-KEY` holds a choice number, a rating, a number or a text (several values for `multiple`),
`a-KEY-other` the "other" text, `a-KEY-ROW` a grid row's value. Answers of the pages not shown
travel as hidden fields, so an anonymous survey needs nothing stored on the server to go from
page to page.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from app.services.survey_definition import QuestionDef, SurveyDef


def from_form(defn: SurveyDef, form: MultiDict[str, str]) -> dict[str, Any]:
    """The answers a form carries, as api.md values (still to be checked)."""
    answers: dict[str, Any] = {}
    for q in defn.questions:
        name = f"a-{q.key}"
        if q.type == "multiple":
            chosen = [v for v in form.getlist(name) if v != "other"]
            other = form.get(f"{name}-other", "").strip()  # written text counts as ticked
            if chosen or other:
                answers[q.key] = {"choices": chosen, "other": other} if other else chosen
        elif q.type == "grid":
            rows = {str(r): form.get(f"{name}-{r}", "") for r in range(1, len(q.rows) + 1)}
            rows = {r: v for r, v in rows.items() if v != ""}
            if rows:
                answers[q.key] = rows
        elif q.type == "single" and q.other and form.get(name) == "other":
            answers[q.key] = {"other": form.get(f"{name}-other", "")}
        else:
            value = form.get(name, "")
            if value.strip():
                answers[q.key] = value
    return answers


def hidden_fields(
    defn: SurveyDef, answers: dict[str, Any], shown: set[str]
) -> list[tuple[str, str]]:
    """Hidden inputs for the answers of questions not on the page being shown."""
    fields: list[tuple[str, str]] = []
    for q in defn.questions:
        if q.key in shown or q.key not in answers:
            continue
        fields += _fields(q, answers[q.key])
    return fields


def _fields(q: QuestionDef, value: Any) -> list[tuple[str, str]]:
    name = f"a-{q.key}"
    if q.type == "grid" and isinstance(value, dict):
        return [(f"{name}-{row}", str(mark)) for row, mark in value.items()]
    if isinstance(value, dict):  # with an "other" text
        fields = [(name, str(c)) for c in value.get("choices", [])]
        return [*fields, (name, "other"), (f"{name}-other", str(value.get("other", "")))]
    if isinstance(value, list):
        return [(name, str(v)) for v in value]
    return [(name, str(value))]
