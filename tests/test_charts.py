"""Chart labels are text: whatever an author writes in a survey reaches plotly as text, never as
the subset of HTML plotly draws (<a>, <b>, <i>, <br>, <span style>, <sub>, <sup>)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.services import charts
from tests.conftest import CHROMIUM, NINH_KIEU, VI_THANH, fits_the_screen, load_content, set_clock

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
            assert "<" not in value and ">" not in value, (key, value)


def test_every_chart_escapes_what_content_wrote():
    labels = [LINK, BOLD, ENTITY]
    figure = charts.proportions(labels, [(SPAN, [0.5, 0.3, 0.2], [0.4, 0.2, 0.1], [0.6, 0.4, 0.3])])
    assert_no_markup(figure, LINK, BOLD, SPAN, ENTITY)
    assert (
        figure["data"][0]["name"] == '&lt;span style="color:red;font-size:40px"&gt;Nam&lt;/span&gt;'
    )
    assert figure["data"][0]["y"] == [
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
    page.goto(page.base + "/auth/login")
    page.get_by_label("Số điện thoại di động").fill("0911111111")
    page.get_by_label("Mật khẩu").fill("mat-khau-thu-nghiem")
    page.get_by_role("button", name="Đăng nhập").click()
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(page.base + "/results/nhan-la?by=gioi-tinh")
        page.wait_for_selector(".app-chart svg.main-svg")
        assert page.locator(".app-chart svg.main-svg").count() >= 2
        assert page.locator(".app-chart svg a").count() == 0
        assert page.locator(".app-chart svg [style*='font-size:40px']").count() == 0
        assert page.locator(".app-chart svg tspan[style*='font-weight:bold']").count() == 0
        shown = page.evaluate(
            "Array.from(document.querySelectorAll('.app-chart svg text')).map(t => t.textContent)"
        )
        for label in (LINK, BOLD, SPAN, ENTITY, BREAK):
            assert label in shown, (label, shown)
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
