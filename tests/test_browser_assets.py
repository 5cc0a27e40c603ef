"""Issue 15, "light and cached", in Chromium: what a resident's phone downloads for sign-up, a
quiz question and a survey page on a cold cache (bytes on the wire as Chromium counts them),
that a second visit fetches no file again, that the purged Bootstrap still styles the forms'
error states, and that the vendored plotly bundle draws bars and trend lines. Screenshots in
docs/screenshots/light-*.png and trend-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import (
    CHROMIUM,
    PROVINCE,
    draw_every_chart,
    fits_the_screen,
    follow,
    load_content,
    set_clock,
    sign_in,
)
from tests.test_browser import sign_up
from tests.test_overview import waves  # noqa: F401  (survey waves 2024-2026: trend lines)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
QUIZ_BUDGET = 50_000
RESULTS_BUDGET = 600_000


class Wire:
    """Every response of the page, with the bytes Chromium received for it, and the paths the
    server was actually asked for (a file from the browser's cache never reaches it)."""

    def __init__(self, app, page) -> None:  # type: ignore[no-untyped-def]
        from flask import request

        self.responses: list = []
        self.served: list[str] = []
        page.on("response", lambda response: self.responses.append(response))
        app.before_request(lambda: self.served.append(request.full_path))

    def start(self) -> None:
        self.responses.clear()
        self.served.clear()

    def paths(self) -> list[str]:
        return [r.url.split("/", 3)[3] for r in self.responses]

    @staticmethod
    def received(response) -> int:  # type: ignore[no-untyped-def]
        sizes = response.request.sizes()
        return int(sizes["responseBodySize"] + sizes["responseHeadersSize"])

    def total(self) -> int:
        return sum(self.received(r) for r in self.responses)


def _looks_as_with_all_of_bootstrap(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """The page with the purged Bootstrap and with Bootstrap-Flask's whole file: the same
    pixels (the countdown masked: it moves)."""
    import io

    import flask_bootstrap
    from PIL import Image, ImageChops

    whole = Path(flask_bootstrap.__file__).parent / "static/bootstrap5/css/bootstrap.min.css"
    mask = [page.locator("#timer, .app-timer")]
    purged = page.screenshot(full_page=True, mask=mask)
    pattern = "**/static/css/bootstrap.purged.css*"
    page.route(
        pattern, lambda route: route.fulfill(body=whole.read_bytes(), content_type="text/css")
    )
    page.goto(page.url)
    page.wait_for_load_state("networkidle")
    full = page.screenshot(full_page=True, mask=mask)
    page.unroute(pattern)
    a, b = (Image.open(io.BytesIO(shot)).convert("RGB") for shot in (purged, full))
    assert a.size == b.size, (name, a.size, b.size)
    assert ImageChops.difference(a, b).getbbox() is None, (
        name,
        ImageChops.difference(a, b).getbbox(),
    )


def _visit(page, wire: Wire, name: str, width: int) -> int:  # type: ignore[no-untyped-def]
    """The current page again on a cold cache: its bytes; a screenshot."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    page.set_viewport_size({"width": width, "height": 900})
    wire.start()
    page.goto(page.url)
    page.wait_for_load_state("networkidle")
    weight = wire.total()
    encodings = {r.headers.get("content-encoding") for r in wire.responses}
    assert encodings & {"br", "gzip"}, encodings
    paths = wire.paths()
    assert not any("bootstrap/static" in p or "plotly" in p for p in paths), paths
    assert any("bootstrap.purged.css?v=" in p for p in paths), paths
    for response in wire.responses:
        if "/static/" in response.url and response.status == 200:
            headers = response.headers
            assert "immutable" in headers["cache-control"], response.url
            if response.url.split("?")[0].endswith((".css", ".js")):
                assert headers.get("content-encoding") in ("br", "gzip"), response.url
    assert fits_the_screen(page)
    mode = "js" if page.javascript else "nojs"
    page.screenshot(path=str(SHOTS / f"light-{name}-{mode}-{width}.png"), full_page=True)
    # A second visit: the page again, no stylesheet or script fetched (kept under its hash).
    wire.start()
    page.goto(page.url)
    page.wait_for_load_state("networkidle")
    # (Chromium's icon loader asks for the favicon on each navigation, whatever its caching.)
    again = [p for p in wire.served if "/static/" in p and "favicon" not in p]
    assert wire.served and not again, wire.served
    if width == 360:
        _looks_as_with_all_of_bootstrap(page, name)
    return weight


@pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)
def test_resident_pages_are_light_cached_and_styled(app, page):  # type: ignore[no-untyped-def]
    from app.content.pipeline import find_files, load_files
    from app.content.store import Actor
    from app.extensions import db
    from tests.test_attempts import CONTEST, START, bank_yaml

    wire = Wire(app, page)  # before the app's first request
    set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        files = [(str(p), p.read_bytes()) for p in find_files([str(ROOT / "surveys")])]
        actor = Actor(unit_code=PROVINCE, is_admin=True)
        assert all(o.ok for o in load_files(db.session, files, actor, START))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(page.base + "/auth/register")
    # The purged Bootstrap keeps the error state: a refused field is outlined in red.
    page.get_by_label("Số điện thoại di động").fill("12")
    follow(page, page.get_by_role("button", name="Đăng ký"))
    invalid = page.locator("input.is-invalid").first
    assert invalid.count() == 1
    color = invalid.evaluate("e => getComputedStyle(e).borderColor")
    assert color == "rgb(176, 42, 55)", color  # the theme's error red (app.css)
    assert page.locator(".invalid-feedback:visible").count() >= 1
    assert page.problems == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]  # the refused form itself, as intended
    page.problems.clear()
    page.goto(page.base + "/auth/register")
    weights = {"sign-up": [_visit(page, wire, "sign-up", w) for w in (360, 1280)]}
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(page.base + "/auth/register")
    sign_up(page, "Đặng Văn Hùng", "0933444555")
    follow(page, page.get_by_role("button", name="Đăng ký"))
    follow(page, page.get_by_role("link", name="Cuộc thi").first)
    follow(page, page.get_by_role("link", name="Tuần 1"))
    follow(page, page.get_by_role("button", name="Bắt đầu làm bài"))
    page.locator("fieldset[data-position]").first.wait_for()
    assert page.locator("fieldset[data-position]").count() == 10
    weights["quiz"] = [_visit(page, wire, "quiz", w) for w in (360, 1280)]
    page.goto(page.base + "/surveys/hai-long-chinh-quyen-2026")
    follow(page, page.get_by_role("link", name="Bắt đầu"))
    page.locator("fieldset[data-type]").first.wait_for()
    assert page.locator("fieldset[data-type]").count() >= 1
    weights["survey"] = [_visit(page, wire, "survey", w) for w in (360, 1280)]
    print(f"\nChromium, cold cache, bytes received ({page.javascript=}): {weights}")
    assert max(weights["quiz"]) < QUIZ_BUDGET, weights
    assert max(max(w) for w in weights.values()) < QUIZ_BUDGET, weights
    assert page.problems == []


def test_trend_lines_and_bars_draw_with_the_vendored_bundle(waves, page, make_user):  # type: ignore[no-untyped-def]  # noqa: F811
    from app.plotly_assets import plotly_version

    make_user(role="leader", phone="0911111111")
    sign_in(page, "0911111111")
    page.wait_for_url(page.base + "/")
    SHOTS.mkdir(parents=True, exist_ok=True)
    received: list[int] = []
    page.on("response", lambda r: received.append(Wire.received(r)))
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 1200})
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.clearBrowserCache")
        received.clear()
        page.goto(page.base + "/results/hai-long-2026")
        draw_every_chart(page)
        assert page.evaluate("window.Plotly.version") == plotly_version()
        lines = page.locator(".app-chart g.scatterlayer path.js-line")
        bars = page.locator(".app-chart g.barlayer path")
        assert lines.count() >= 1 and bars.count() >= 1
        assert len(lines.first.get_attribute("d") or "") > 10  # a drawn line, not an empty one
        trend = page.locator(".app-chart:has(g.scatterlayer path.js-line)").first
        trend.scroll_into_view_if_needed()
        trend.screenshot(path=str(SHOTS / f"trend-{width}.png"))
        assert fits_the_screen(page)
        page.wait_for_load_state("networkidle")
        print(f"\nChromium, the results page at {width} px, cold cache: {sum(received):,} bytes")
        assert sum(received) < RESULTS_BUDGET  # 5.2 MB before
    assert page.problems == []


def test_plotly_is_fetched_only_when_a_chart_comes_near_the_screen(waves, page, make_user):  # type: ignore[no-untyped-def]  # noqa: F811
    """A leader on a phone who reads the headline and never scrolls to a chart downloads no
    plotly.js; scrolling to a chart fetches it once and draws that chart."""
    make_user(role="leader", phone="0911111111")
    sign_in(page, "0911111111")
    page.set_viewport_size({"width": 360, "height": 400})
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/vendor/plotly" in r.url else None)
    page.goto(page.base + "/results/hai-long-2026")
    page.wait_for_load_state("networkidle")
    assert asked == [] and page.locator(".app-chart svg.main-svg").count() == 0
    first = page.locator(".app-chart[data-figure]").first
    first.scroll_into_view_if_needed()
    first.locator("svg.main-svg").first.wait_for()
    assert len(asked) == 1
    draw_every_chart(page)
    assert len(asked) == 1  # fetched once for every chart
    assert page.problems == []
