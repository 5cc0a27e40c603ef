"""The results pages in Chromium (issue 14): every breakdown of every sample survey at 360 and
1280 px, with no server error, no JavaScript error, legends off the axes and labels inside the
chart; a screenshot of each into docs/screenshots/ (looked at by a person)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, draw_every_chart, fits_the_screen, sign_in
from tests.test_dashboards import SAMPLES, breakdowns, samples  # noqa: F401  (the data)

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

# Rectangles (x, y, width, height) of each chart's legend, x-axis labels and category labels.
LAYOUT = """() => Array.from(document.querySelectorAll('.app-chart')).map(box => {
  const r = e => { if (!e) return null; const b = e.getBoundingClientRect();
                   return b.width ? [b.x, b.y, b.width, b.height] : null; };
  return {box: r(box), legend: r(box.querySelector('g.legend')),
          xaxis: r(box.querySelector('g.xaxislayer-above')),
          labels: Array.from(box.querySelectorAll('g.yaxislayer-above text')).map(r)};
})"""


def overlap(a, b) -> bool:  # type: ignore[no-untyped-def]
    if a is None or b is None:
        return False
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_every_breakdown_in_the_browser(samples, page, make_user, runner):  # noqa: F811
    slug = "hai-long-chinh-quyen-2026"
    demo = ["demo", "responses", "--survey", slug, "--count", "3000"]
    assert runner.invoke(args=demo).exit_code == 0
    make_user(role="leader", phone="0911111111")
    sign_in(page, "0911111111")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in SAMPLES:
        for by in breakdowns(samples, path.stem):
            for width in (360, 1280):
                page.set_viewport_size({"width": width, "height": 1400})
                response = page.goto(f"{page.base}/results/{path.stem}?by={by}")
                assert response is not None and response.status == 200, (path.stem, by)
                draw_every_chart(page)
                for chart in page.evaluate(LAYOUT):
                    where = (path.stem, by, width)
                    assert not overlap(chart["legend"], chart["xaxis"]), where
                    for label in chart["labels"]:
                        if label is not None:  # each category label inside its chart
                            assert label[0] >= chart["box"][0] - 1, (where, label, chart["box"])
                assert fits_the_screen(page), (path.stem, by, width)
                name = f"dashboard-{path.stem.split('-')[0]}-{by}-{width}.png"
                page.screenshot(path=str(SHOTS / name))
                grid = page.locator('.app-chart[data-figure="fig-dan-chu-co-so"]')
                if width == 360 and by in ("all", "gioi-tinh") and grid.count():
                    grid.scroll_into_view_if_needed()  # the diverging bars, close up
                    grid.screenshot(path=str(SHOTS / f"dashboard-hai-{by}-grid-360.png"))
    assert page.problems == []
