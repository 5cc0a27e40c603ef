"""Result tables and charts for one page: what each question's section shows."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import Survey, Unit
from app.services import analytics, charts, stamped
from app.services.survey_definition import SurveyDef


def _value_labels(q: Any) -> list[tuple[str, str]]:
    if q.type == "rating":
        return [(str(v), str(v)) for v in range(11)]
    return [(str(i), label) for i, label in enumerate(q.choices, start=1)]


def table_rows(q: Any, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per group and value (grid: per group, row and value), for tables and exports."""
    rows: list[dict[str, Any]] = []
    for group in groups:
        base = {"group": group["label"]}
        if group.get("suppressed"):
            rows.append(base | {"suppressed": True})
            continue
        if q.type == "number":
            rows.append(
                base | {"n": group["n"], "mean": group.get("mean"), "ci": group.get("mean_ci95")}
            )
            continue
        parts = (
            [(row["label"], row) for row in group["rows"].values()]
            if q.type == "grid"
            else [(None, group)]
        )
        for row_label, part in parts:
            for key, label in _value_labels(q):
                rows.append(
                    base
                    | {
                        "row": row_label,
                        "value": label,
                        "n": part["n"],
                        "count": part["counts"].get(key, 0),
                        "proportion": part["proportions"].get(key, 0.0),
                        "ci": part["ci95"].get(key),
                    }
                )
    return rows


def question_chart(q: Any, groups: list[dict[str, Any]]) -> dict[str, Any] | None:
    shown = [g for g in groups if not g.get("suppressed") and g.get("n")]
    if not shown:
        return None
    labels = [label for _key, label in _value_labels(q)]
    if q.type == "scale":
        return charts.diverging([(g["label"], g["proportions"]) for g in shown], labels)
    if q.type == "grid":
        bars = [
            (
                (row["label"] if len(shown) == 1 else f"{g['label']} · {row['label']}"),
                row["proportions"],
            )
            for g in shown
            for row in g["rows"].values()
        ]
        return charts.diverging(bars, labels)
    if q.type in {"single", "multiple", "rating"}:
        keys = [key for key, _label in _value_labels(q)]
        series = [
            (
                g["label"],
                [g["proportions"].get(k, 0.0) for k in keys],
                [(g["ci95"].get(k) or [0, 0])[0] for k in keys],
                [(g["ci95"].get(k) or [0, 0])[1] for k in keys],
            )
            for g in shown
        ]
        return charts.proportions(labels, series)
    return None


def index_chart(index: list[dict[str, Any]], title: str) -> dict[str, Any] | None:
    """The groups' (or communes') satisfaction index ranked, on an axis titled `title`."""
    shown = [g for g in index if not g.get("suppressed") and g.get("index") is not None]
    if len(shown) < 2:
        return None
    return charts.ranked(
        [g["label"] for g in shown],
        [g["index"] for g in shown],
        [g["index_ci95"][0] for g in shown],
        [g["index_ci95"][1] for g in shown],
        title=title,
    )


def trend_chart(item: dict[str, Any], index_title: str) -> dict[str, Any]:
    """A trend's line: the index in points with its intervals, or a share in per cent."""
    waves = item["waves"]
    labels = [str(w["wave"]) for w in waves]
    changed = [bool(w.get("real_change")) for w in waves]
    if item["measure"] == "index":
        return charts.trend(
            labels,
            [w.get("index") for w in waves],
            changed,
            share=False,
            low=[(w.get("index_ci95") or [None, None])[0] for w in waves],
            high=[(w.get("index_ci95") or [None, None])[1] for w in waves],
            title=index_title,
        )
    return charts.trend(labels, [w.get("proportion") for w in waves], changed)


def communes(result: dict[str, Any]) -> list[tuple[Any, str]]:
    """The communes of a by-unit answer, (code, name) in name order, for the commune picker."""
    groups = result["index"] or (result["questions"][0]["groups"] if result["questions"] else [])
    return sorted(((g["group"], g["label"]) for g in groups), key=lambda item: item[1])


def sections(defn: SurveyDef, result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for q, item in defn.known(result["questions"]):
        if q.demographic and all(g.get("suppressed") for g in item["groups"]):
            continue  # another demographic question's groups: never crossed with this breakdown
        out.append(
            {
                "question": q,
                "groups": item["groups"],
                "rows": table_rows(q, item["groups"]),
                "chart": question_chart(q, item["groups"]),
            }
        )
    return out


def page_parts(
    session: Session,
    survey: Survey,
    defn: SurveyDef,
    result: dict[str, Any],
    *,
    by: str,
    scope: Unit,
    now: datetime,
    index_title: str,
    language: str,
) -> dict[str, Any]:
    """What the results page draws: the sections with their charts, the communes' picker, the
    index ranking (built from `result` and kept with it: building plotly figures is most of a
    warm page's time), then the trends across waves and the written answers (read each time:
    they read other waves, or raw texts, whose own decisions apply)."""
    digest = hashlib.sha256(json.dumps(result, sort_keys=True, default=str).encode()).hexdigest()
    view = {"result": digest, "language": language, "title": index_title}

    def build(_at: Any) -> dict[str, Any]:
        by_unit = by == "unit"
        return {
            "sections": [] if by_unit else sections(defn, result),
            "communes": communes(result) if by_unit else [],
            "index_chart": index_chart(result["index"], index_title)
            if result.get("index")
            else None,
        }

    # Keyed by the figures themselves: charts are never of other figures than the tables.
    parts: dict[str, Any] = dict(stamped.kept(session, survey, "page", view, now, build))
    trends = (
        [] if result.get("suppressed") else analytics.trends(session, survey, scope=scope, now=now)
    )
    parts["trends"] = [(t, trend_chart(t, index_title)) for t in trends]
    parts["texts"] = (
        {} if by == "unit" else analytics.free_texts(session, survey, scope=scope, now=now)
    )
    return parts
