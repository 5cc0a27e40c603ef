"""Chart labels are text: whatever an author writes in a survey reaches plotly as text, never as
the subset of HTML plotly draws (<a>, <b>, <i>, <br>, <span style>, <sub>, <sup>)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from app.services import charts
from tests.conftest import (
    CHROMIUM,
    NINH_KIEU,
    VI_THANH,
    draw_every_chart,
    fits_the_screen,
    load_content,
    set_clock,
    sign_in,
)

LINK = '<a href="https://evil.example/">x</a>'
BOLD = "<b>Kém</b>"
SPAN = '<span style="color:red;font-size:40px">Nam</span>'
ENTITY = "Loa &lt;phường&gt; &amp; xã"  # written as is: must show as is, not as "<phường>"
BREAK = "Tốt<br>rất tốt"


def strings(value: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, string) of a figure, outside plotly's own theme template."""
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item, key)]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != "template" for s in strings(v, k)]
    return []


def assert_no_markup(figure: dict[str, Any], *labels: str) -> None:
    text = json.dumps(figure, ensure_ascii=False)
    for label in labels:
        assert label not in text, label
    for key, value in strings(figure):
        if key.endswith("template"):  # ours, with plotly's <extra>; no content in it
            assert all(label not in value for label in labels)
            assert "%{fullData.name}" in value or "<extra></extra>" in value, value
        else:
            # the one markup charts.py writes itself: line breaks in long category labels
            plain = value.replace("<br>", "")
            assert "<" not in plain and ">" not in plain, (key, value)


def test_every_chart_escapes_what_content_wrote():
    labels = [LINK, BOLD, ENTITY]
    figure = charts.proportions(labels, [(SPAN, [0.5, 0.3, 0.2], [0.4, 0.2, 0.1], [0.6, 0.4, 0.3])])
    assert_no_markup(figure, LINK, BOLD, SPAN, ENTITY)
    assert (
        figure["data"][0]["name"] == '&lt;span style="color:red;font-size:40px"&gt;Nam&lt;/span&gt;'
    )
    assert [y.replace("<br>", " ") for y in figure["data"][0]["y"]] == [
        '&lt;a href="https://evil.example/"&gt;x&lt;/a&gt;',
        "&lt;b&gt;Kém&lt;/b&gt;",
        "Loa &amp;lt;phường&amp;gt; &amp;amp; xã",
    ]
    scale = [BOLD, "Bình thường", BREAK]
    diverging = charts.diverging([(LINK, {"1": 0.2, "2": 0.3, "3": 0.5})], scale)
    assert_no_markup(diverging, LINK, BOLD, BREAK)
    assert {t["name"] for t in diverging["data"]} == {
        "&lt;b&gt;Kém&lt;/b&gt;",
        "Bình thường",
        "Tốt&lt;br&gt;rất tốt",
    }
    ranked = charts.ranked([LINK, SPAN], [60.0, 70.0], [50.0, 60.0], [70.0, 80.0])
    assert_no_markup(ranked, LINK, SPAN)
    trend = charts.trend([BOLD, "2027"], [0.5, 0.6], [False, True])
    assert_no_markup(trend, BOLD)


def extents(figure: dict[str, Any]) -> dict[str, dict[str, tuple[float, float]]]:
    """Where plotly's relative bar mode draws each segment: per bar (y), per category (the
    trace's name; the middle's two halves as "name-" and "name+"), its (start, end) on x.
    Each side of 0 stacks in trace order, as plotly.js does."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    ends: dict[tuple[str, bool], float] = {}
    for trace in figure["data"]:
        for y, x in zip(trace["y"], trace["x"], strict=True):
            side = x >= 0
            start = ends.get((y, side), 0.0)
            ends[y, side] = start + x
            name = trace["name"]
            if name in out.setdefault(y, {}):
                name += "+" if side else "-"
            elif not trace.get("showlegend", True):
                name += "-"
            out[y][name] = (start, start + x)
    return out


SCALE = ["Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"]


def test_diverging_bars_stack_outward_from_zero_in_scale_order():
    shares = {"1": 0.1, "2": 0.2, "3": 0.3, "4": 0.25, "5": 0.15}
    figure = charts.diverging([("Tất cả", shares), ("Nữ", shares)], SCALE)
    very_bad, bad, neutral, good, very_good = SCALE
    for bar in extents(figure).values():
        # the middle, split across 0: half on each side, next to 0
        assert bar[neutral + "-"] == (0.0, -15.0)
        assert bar[neutral] == (0.0, 15.0) or bar.get(neutral + "+") == (0.0, 15.0)
        # the negative side outward: the mildest next to the middle, the strongest outermost
        assert bar[bad] == (-15.0, -35.0)
        assert bar[very_bad] == (-35.0, -45.0)
        # the positive side outward the same way
        assert bar[good] == (15.0, 40.0)
        assert bar[very_good] == (40.0, 55.0)
    legend = sorted(
        (t["legendrank"], t["name"]) for t in figure["data"] if t.get("showlegend", True)
    )
    assert [name for _rank, name in legend] == SCALE  # the legend reads in scale order


def test_diverging_bars_without_a_middle_value():
    labels = ["Kém", "Chưa tốt", "Tốt", "Rất tốt"]
    figure = charts.diverging([("Tất cả", {"1": 0.1, "2": 0.3, "3": 0.4, "4": 0.2})], labels)
    (bar,) = extents(figure).values()
    assert bar == {
        "Chưa tốt": (0.0, -30.0),
        "Kém": (-30.0, -40.0),
        "Tốt": (0.0, 40.0),
        "Rất tốt": (40.0, 60.0),
    }


def test_long_category_labels_are_wrapped_as_line_breaks_that_survive_escaping():
    label = "Dân kiểm tra – được giám sát, kiểm tra việc <b>thực hiện</b>"
    figure = charts.diverging([(label, {"1": 1.0})], SCALE)
    (shown,) = set(figure["data"][0]["y"])
    assert shown.count("<br>") >= 2 and "<b>" not in shown
    assert shown.replace("<br>", " ") == label.replace("<", "&lt;").replace(">", "&gt;")
    assert all(len(unescape(line)) <= charts.WRAP for line in shown.split("<br>"))


def test_the_index_ranking_starts_where_the_data_do_and_says_what_it_measures():
    figure = charts.ranked(
        ["Phường A", "Xã B", "Xã C"],
        [61.2, 55.0, 70.4],
        [57.0, 50.1, 66.0],
        [65.4, 59.9, 74.8],
        title="Chỉ số hài lòng (0–100)",
    )
    low, high = figure["layout"]["xaxis"]["range"]
    assert 40 < low < 50.1 and 74.8 < high < 85
    assert figure["layout"]["xaxis"]["title"]["text"] == "Chỉ số hài lòng (0–100)"
    assert figure["data"][0]["y"] == ["Xã C", "Phường A", "Xã B"]  # highest first
    assert figure["layout"]["separators"] == ",."  # "61,2", as the page writes it
    assert "template" not in json.dumps(figure["layout"]).replace('"template": "none"', "") or (
        len(json.dumps(figure["layout"]["template"])) < 200
    )


def test_charts_carry_vietnamese_numbers_and_no_heavy_theme():
    figure = charts.proportions(
        ["Loa", "Zalo"], [("Tất cả", [0.476, 0.2], [0.4, 0.15], [0.55, 0.26])]
    )
    assert figure["data"][0]["customdata"][0] == "47,6% (40,0%–55,0%)"
    assert len(json.dumps(figure)) < 2500


# ------------------------------------------------------------------------------- in Chromium

NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
SURVEY = """\
survey: nhan-la
title: Nhãn lạ
anonymous: true
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
scales:
  muc: ['<b>Kém</b>', Bình thường, 'Tốt<br>rất tốt']
pages:
  - title: Một
    questions:
      - id: gioi-tinh
        type: single
        text: Giới tính
        choices: ['<span style="color:red;font-size:40px">Nam</span>', Nữ]
        demographic: true
      - id: kenh
        type: single
        text: Kênh nào?
        choices: ['<a href="https://evil.example/">x</a>', 'Loa &lt;phường&gt; &amp; xã', Zalo]
      - {id: muc, type: scale, scale: muc, text: Mức độ}
"""


@pytest.fixture
def strange_labels(app):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Survey, Unit
    from app.services import survey_definition
    from app.services import surveys as service

    set_clock(app, NOW)
    load_content(app, [("nhan-la.yaml", SURVEY)], NOW)
    with app.app_context():
        defn = survey_definition.definition(db.session, db.session.scalar(select(Survey)))
        for i in range(12):
            answers = {"gioi-tinh": 1 + i % 2, "kenh": 1 + i % 3, "muc": 1 + i % 3}
            clean, problems = service.clean_answers(defn, answers)
            assert not problems
            unit = db.session.get(Unit, VI_THANH if i < 6 else NINH_KIEU)
            service.submit(db.session, defn, clean, NOW, user=None, unit=unit)
    return app


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_results_page_shows_labels_as_text_not_links(
    strange_labels, page, make_user, tmp_path: Path
):  # type: ignore[no-untyped-def]
    make_user(role="leader", phone="0911111111")
    sign_in(page, "0911111111")
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(page.base + "/results/nhan-la?by=gioi-tinh")
        draw_every_chart(page)
        assert page.locator(".app-chart svg.main-svg").count() >= 2
        assert page.locator(".app-chart svg a").count() == 0
        assert page.locator(".app-chart svg [style*='font-size:40px']").count() == 0
        assert page.locator(".app-chart svg tspan[style*='font-weight:bold']").count() == 0
        shown = page.evaluate(
            "Array.from(document.querySelectorAll('.app-chart svg text')).map(t => t.textContent)"
        )
        # Long labels wrap at spaces into lines (tspans): compare them without the spaces.
        flat = {text.replace(" ", "") for text in shown}
        for label in (LINK, BOLD, SPAN, ENTITY, BREAK):
            assert label.replace(" ", "") in flat, (label, shown)
        # The hover label says the series' name as text too.
        bar = page.locator(".app-chart").nth(1).locator(".bars path").first
        bar.scroll_into_view_if_needed()
        box = bar.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(".hoverlayer text")
        hover = page.evaluate(
            "Array.from(document.querySelectorAll('.hoverlayer text')).map(t => t.textContent)"
        )
        assert SPAN in hover, hover  # the first group, named as written
        assert page.locator(".hoverlayer a").count() == 0
        assert fits_the_screen(page)
        page.screenshot(path=str(tmp_path / f"charts-{width}.png"), full_page=True)
    assert page.problems == []
