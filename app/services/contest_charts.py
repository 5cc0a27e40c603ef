"""Plotly figures of the contest statistics, as plain JSON-ready dicts, escaped by
app.services.charts._plain like every other figure (texts passed in, already translated and
formatted for the reader)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from app.services.charts import BAR, DIVERGING, _layout, _plain

# Low facility (many wrong answers) in red, high in blue: the survey charts' diverging scale.
SCALE = [[i / (len(DIVERGING) - 1), colour] for i, colour in enumerate(DIVERGING)]


def heatmap(
    rows: list[str],
    columns: list[str],
    values: list[list[float | None]],
    texts: list[list[str]],
    *,
    labelled: bool = True,
) -> dict[str, Any]:
    """A rows × columns grid of shares (0..1, None: nothing to show), coloured from red (0%)
    to blue (100%); `texts` are the cells' labels as the reader reads them ("47,6%"), written
    in the cells when `labelled` (else on hover or tap only: a phone's narrow cells)."""
    figure = go.Figure(
        go.Heatmap(
            z=[[None if v is None else round(v * 100, 1) for v in row] for row in values],
            x=columns,
            y=rows,
            text=texts,
            texttemplate="%{text}" if labelled else "",
            hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
            colorscale=SCALE,
            zmin=0,
            zmax=100,
            xgap=2,
            ygap=2,
            showscale=False,
        )
    )
    layout = _layout(120 + 26 * len(rows))
    figure.update_layout(**layout)
    figure.update_xaxes(side="top", tickangle=0)
    figure.update_yaxes(autorange="reversed")
    return _plain(figure)


def bars(labels: list[str], counts: list[int], hover: str = "") -> dict[str, Any]:
    """Vertical bars of counts (the score distribution): one bar per label."""
    figure = go.Figure(
        go.Bar(
            x=labels, y=counts, marker_color=BAR, hovertemplate="%{y}" + hover + "<extra></extra>"
        )
    )
    figure.update_layout(**_layout(260))
    figure.update_xaxes(type="category")
    return _plain(figure)
