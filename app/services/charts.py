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
import textwrap
from html import escape
from typing import Any

import plotly.graph_objects as go

from app import formats

DIVERGING = ["#b2182b", "#ef8a62", "#d9d9d9", "#67a9cf", "#2166ac"]
BAR = "#2166ac"
GRID = "#e3e3e3"
# A long category label is cut into lines of about this many characters, at spaces, so that a
# 360 px screen keeps room for the bars.
WRAP = 22
BREAK = "\n"  # a line break chosen here; it becomes <br> only after everything is escaped


def _separators() -> str:
    """plotly's decimal and thousands separators, as the reader's numbers are written
    (app/formats.py): ",." in Vietnamese ("1.234,5")."""
    sample = formats.number(1234.5, 1)
    return sample[-2] + sample[1]


def _layout(height: int, legend: bool = True) -> dict[str, Any]:
    """Plotly's empty theme (its default one weighs 7 KB per chart), numbers as the reader
    writes them, and the legend above the plot, where it never covers an axis."""
    return {
        "template": "none",
        "separators": _separators(),
        "height": height,
        "margin": {"l": 8, "r": 28, "t": 8, "b": 8},
        "font": {"size": 13},
        "showlegend": legend,
        "legend": {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 1,
            "yanchor": "bottom",
            "traceorder": "normal",
        },
        "xaxis": {"automargin": True, "gridcolor": GRID, "zerolinecolor": "#888888"},
        "yaxis": {"automargin": True},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }


def wrap(label: str, width: int = WRAP) -> str:
    """A category label in lines of about `width` characters, broken at spaces only."""
    lines = textwrap.wrap(label, width, break_long_words=False, break_on_hyphens=False)
    return BREAK.join(lines) if lines else label


def _rows_height(labels: list[str], bars_per_label: int = 1) -> int:
    """Room for each category: its bars, or its wrapped label's lines if they need more."""
    return sum(max(10 + 16 * bars_per_label, 8 + 17 * (label.count(BREAK) + 1)) for label in labels)


def _plain(figure: go.Figure) -> dict[str, Any]:
    return _as_text(json.loads(figure.to_json()))


def _as_text(value: Any, key: str = "") -> Any:
    """Every string escaped for plotly's labels, but our own templates and plotly's theme; the
    line breaks `wrap` put in (and only those) become <br> after the escaping."""
    if isinstance(value, str):
        if key.endswith("template"):
            return value
        return escape(value, quote=False).replace(BREAK, "<br>")
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
    left of 0, the upper to the right, each stacked outward from 0 in scale order (the mildest
    next to 0, the strongest outermost); the middle value split in two halves around 0.

    In plotly's relative bar mode each side stacks in trace order, so the traces are added:
    the middle's halves, then the lower values from the mildest, then the upper ones from the
    mildest; `legendrank` keeps the legend in scale order."""
    k = len(labels)
    middle = (k + 1) / 2
    figure = go.Figure()
    names = [wrap(name) for name, _p in bars]
    colours = _colours(k)

    def shares(value: int) -> list[float]:
        return [round(p.get(str(value), 0.0) * 100, 1) for _name, p in bars]

    def add(value: int, sign: float, legend: bool = True) -> None:
        own = shares(value)
        figure.add_bar(
            y=names,
            x=[sign * s for s in own],
            orientation="h",
            name=labels[value - 1],
            marker_color=colours[value - 1],
            showlegend=legend,
            legendrank=value,
            legendgroup=str(value),
            customdata=[formats.percent(s / 100) for s in own],
            hovertemplate="%{customdata}<extra>%{fullData.name}</extra>",
        )

    lower = [v for v in range(1, k + 1) if v < middle]
    upper = [v for v in range(1, k + 1) if v > middle]
    if middle in range(1, k + 1):
        add(int(middle), -0.5, legend=False)
        add(int(middle), 0.5)
    for value in reversed(lower):  # mildest (next to the middle) first
        add(value, -1)
    for value in upper:
        add(value, 1)
    figure.update_layout(barmode="relative", **_layout(130 + _rows_height(names, 2)))
    ticks = [-100, -50, 0, 50, 100]
    figure.update_xaxes(
        range=[-100, 100],
        tickvals=ticks,
        ticktext=[formats.percent(abs(t) / 100, 0) for t in ticks],
    )
    figure.update_yaxes(autorange="reversed")
    return _plain(figure)


def proportions(
    labels: list[str], series: list[tuple[str, list[float], list[float], list[float]]]
) -> dict[str, Any]:
    """Horizontal bars of proportions with their 95% interval as whiskers; one colour per
    series (the whole, or each group shown)."""
    figure = go.Figure()
    palette = [BAR, "#ef8a62", "#67a9cf", "#b2182b", "#999999", "#1b7837", "#762a83", "#e08214"]
    for index, (name, shares, low, high) in enumerate(series):
        figure.add_bar(
            y=[wrap(label) for label in labels],
            x=[round(s * 100, 1) for s in shares],
            orientation="h",
            name=name,
            marker_color=palette[index % len(palette)],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [round((h - s) * 100, 1) for s, h in zip(shares, high, strict=True)],
                "arrayminus": [round((s - lo) * 100, 1) for s, lo in zip(shares, low, strict=True)],
                "color": "#555555",
            },
            customdata=[
                f"{formats.percent(s)} ({formats.interval([lo, h], as_percent=True)})"
                for s, lo, h in zip(shares, low, high, strict=True)
            ],
            hovertemplate="%{customdata}<extra>%{fullData.name}</extra>",
        )
    height = 100 + _rows_height([wrap(label) for label in labels], max(1, len(series)))
    figure.update_layout(barmode="group", **_layout(height, legend=len(series) > 1))
    figure.update_xaxes(ticksuffix="%", rangemode="tozero")
    figure.update_yaxes(autorange="reversed")
    return _plain(figure)


def _point(value: float, low: float, high: float) -> str:
    return f"{formats.number(value, 1, fixed=True)} ({formats.interval([low, high])})"


def ranked(
    labels: list[str],
    values: list[float],
    low: list[float],
    high: list[float],
    title: str = "",
) -> dict[str, Any]:
    """Units as a sorted bar chart (highest first) with interval whiskers. The axis starts a
    little below the lowest interval and ends a little above the highest (bars from 0 would
    make every commune look alike), within 0–100, and says what it measures (`title`)."""
    order = sorted(range(len(values)), key=lambda i: values[i], reverse=True)
    lowest, highest = min(low), max(high)
    pad = max(2.0, (highest - lowest) * 0.08)
    figure = go.Figure(
        go.Bar(
            y=[wrap(labels[i]) for i in order],
            x=[values[i] for i in order],
            orientation="h",
            marker_color=BAR,
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [round(high[i] - values[i], 2) for i in order],
                "arrayminus": [round(values[i] - low[i], 2) for i in order],
                "color": "#555555",
            },
            customdata=[_point(values[i], low[i], high[i]) for i in order],
            hovertemplate="%{customdata}<extra></extra>",
        )
    )
    figure.update_layout(
        **_layout(90 + _rows_height([wrap(label) for label in labels]), legend=False)
    )
    figure.update_xaxes(
        range=[max(0.0, lowest - pad), min(100.0, highest + pad)],
        title={"text": title},
        side="top",
    )
    figure.update_yaxes(autorange="reversed")
    return _plain(figure)


def trend(
    waves: list[str],
    values: list[float | None],
    changed: list[bool],
    *,
    share: bool = True,
    low: list[float | None] | None = None,
    high: list[float | None] | None = None,
    title: str = "",
) -> dict[str, Any]:
    """One line across waves; a large red marker where the change from the wave before is real.
    `share`: values are shares (0..1, shown as %); otherwise index points (0–100), with their
    interval as whiskers when `low` and `high` are given."""
    scale = 100 if share else 1
    shown = [round(v * scale, 1) if v is not None else None for v in values]
    text = [
        (formats.percent(v) if share else formats.number(v, 1, fixed=True))
        if v is not None
        else formats.DASH
        for v in values
    ]
    error = None
    if low is not None and high is not None:
        error = {
            "type": "data",
            "symmetric": False,
            "array": [
                round(h - v, 2) if v is not None and h is not None else 0
                for v, h in zip(values, high, strict=True)
            ],
            "arrayminus": [
                round(v - lo, 2) if v is not None and lo is not None else 0
                for v, lo in zip(values, low, strict=True)
            ],
            "color": "#555555",
        }
    figure = go.Figure(
        go.Scatter(
            x=waves,
            y=shown,
            mode="lines+markers",
            marker={
                "size": [14 if c else 8 for c in changed],
                "color": ["#b2182b" if c else BAR for c in changed],
            },
            line={"color": BAR},
            error_y=error,
            customdata=text,
            hovertemplate="%{customdata}<extra></extra>",
        )
    )
    figure.update_layout(**_layout(240, legend=False))
    if share:
        figure.update_yaxes(ticksuffix="%", rangemode="tozero", title={"text": title})
    else:
        figure.update_yaxes(title={"text": title})
    figure.update_xaxes(type="category")
    return _plain(figure)
