"""Plotly figures for the results, as plain JSON-ready dicts: the one place where result
tables become chart data. Texts on the charts are passed in (already translated).

Every text is shown as written. plotly.js draws a subset of HTML in any text it shows (<a href>
as a link, <b>, <i>, <br>, <span style>, <sub>, <sup>), and decodes the entities &amp; &lt;
&gt; and numeric ones into plain text after it has found the tags. So `_plain`, which every
figure goes through, escapes &, < and > in every string of the figure: a choice written
`<a href="…">x</a>` shows as those characters, never as a link. Only the hover templates are
left alone: they are this module's own (with plotly's <extra>) and hold no content; a trace's
name reaches its hover label as `%{fullData.name}`, already escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import plotly.graph_objects as go

DIVERGING = ["#b2182b", "#ef8a62", "#d9d9d9", "#67a9cf", "#2166ac"]
BAR = "#2166ac"


def _layout(height: int) -> dict[str, Any]:
    return {
        "height": height,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "font": {"size": 13},
        "legend": {"orientation": "h", "y": -0.15},
        "xaxis": {"automargin": True},
        "yaxis": {"automargin": True},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }


def _plain(figure: go.Figure) -> dict[str, Any]:
    return _as_text(json.loads(figure.to_json()))


def _as_text(value: Any, key: str = "") -> Any:
    """Every string escaped for plotly's labels, but our own templates and plotly's theme."""
    if isinstance(value, str):
        return value if key.endswith("template") else escape(value, quote=False)
    if isinstance(value, list):
        return [_as_text(item, key) for item in value]
    if isinstance(value, dict):
        return {k: v if k == "template" else _as_text(v, k) for k, v in value.items()}
    return value


def _colours(k: int) -> list[str]:
    if k == 5:
        return DIVERGING
    step = (len(DIVERGING) - 1) / max(1, k - 1)
    return [DIVERGING[round(i * step)] for i in range(k)]


def diverging(bars: list[tuple[str, dict[str, float]]], labels: list[str]) -> dict[str, Any]:
    """Stacked horizontal bars centred on the middle of the scale: the lower values to the
    left (negative), the upper to the right; the middle value split in two."""
    k = len(labels)
    middle = (k + 1) / 2
    figure = go.Figure()
    names = [name for name, _p in bars]
    for value, (label, colour) in enumerate(zip(labels, _colours(k), strict=True), start=1):
        shares = [round(p.get(str(value), 0.0) * 100, 1) for _name, p in bars]
        sign = -1 if value < middle else 1
        if value == middle:
            for half in (-1, 1):
                figure.add_bar(
                    y=names,
                    x=[half * s / 2 for s in shares],
                    orientation="h",
                    name=label,
                    marker_color=colour,
                    showlegend=half == 1,
                    customdata=shares,
                    hovertemplate="%{customdata}%<extra>%{fullData.name}</extra>",
                )
            continue
        figure.add_bar(
            y=names,
            x=[sign * s for s in shares],
            orientation="h",
            name=label,
            marker_color=colour,
            customdata=shares,
            hovertemplate="%{customdata}%<extra>%{fullData.name}</extra>",
        )
    figure.update_layout(barmode="relative", **_layout(90 + 40 * len(bars)))
    figure.update_xaxes(ticksuffix="%", range=[-100, 100])
    return _plain(figure)


def proportions(
    labels: list[str], series: list[tuple[str, list[float], list[float], list[float]]]
) -> dict[str, Any]:
    """Horizontal bars of proportions with their 95% interval as whiskers; one colour per
    series (the whole, or each group shown)."""
    figure = go.Figure()
    palette = [BAR, "#ef8a62", "#67a9cf", "#b2182b", "#999999", "#1b7837"]
    for index, (name, shares, low, high) in enumerate(series):
        figure.add_bar(
            y=labels,
            x=[round(s * 100, 1) for s in shares],
            orientation="h",
            name=name,
            marker_color=palette[index % len(palette)],
            showlegend=len(series) > 1,
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [round((h - s) * 100, 1) for s, h in zip(shares, high, strict=True)],
                "arrayminus": [round((s - lo) * 100, 1) for s, lo in zip(shares, low, strict=True)],
            },
            hovertemplate="%{x}%<extra>%{fullData.name}</extra>",
        )
    figure.update_layout(barmode="group", **_layout(80 + 30 * len(labels) * max(1, len(series))))
    figure.update_xaxes(ticksuffix="%", rangemode="tozero")
    figure.update_yaxes(autorange="reversed")
    return _plain(figure)


def ranked(
    labels: list[str], values: list[float], low: list[float], high: list[float], unit: str = ""
) -> dict[str, Any]:
    """Units as a sorted bar chart (highest first) with interval whiskers."""
    order = sorted(range(len(values)), key=lambda i: values[i], reverse=True)
    figure = go.Figure(
        go.Bar(
            y=[labels[i] for i in order],
            x=[values[i] for i in order],
            orientation="h",
            marker_color=BAR,
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [high[i] - values[i] for i in order],
                "arrayminus": [values[i] - low[i] for i in order],
            },
            hovertemplate="%{x}" + unit + "<extra></extra>",
        )
    )
    figure.update_layout(**_layout(80 + 28 * len(labels)))
    figure.update_yaxes(autorange="reversed")
    return _plain(figure)


def trend(waves: list[str], values: list[float | None], changed: list[bool]) -> dict[str, Any]:
    """One line across waves; a filled marker where the change from the wave before is real."""
    figure = go.Figure(
        go.Scatter(
            x=waves,
            y=[round(v * 100, 1) if v is not None else None for v in values],
            mode="lines+markers",
            marker={
                "size": [14 if c else 8 for c in changed],
                "color": ["#b2182b" if c else BAR for c in changed],
            },
            line={"color": BAR},
            hovertemplate="%{y}%<extra></extra>",
        )
    )
    figure.update_layout(**_layout(260))
    figure.update_yaxes(ticksuffix="%", rangemode="tozero")
    figure.update_xaxes(type="category")
    return _plain(figure)
