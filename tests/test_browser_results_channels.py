"""The results page by channel and by hamlet in Chromium (issue 20), at 360 and 1280 px: an
officer imports a tally of hand-counted paper forms through its page, then a leader chooses
"Kênh" and "Ấp/khu vực" in the breakdown form and reads whom the figures represent; a
screenshot of each into docs/screenshots/ (looked at by a person)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.extensions import cache
from tests.conftest import CHROMIUM, draw_every_chart, fits_the_screen, follow, sign_in
from tests.test_results_channels import channels  # noqa: F401  (the data)
from tests.test_suppression_attack import SLUG

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_results_by_channel_and_by_hamlet_in_the_browser(channels, page, make_user, tmp_path):  # noqa: F811
    app, a, _b = channels
    SHOTS.mkdir(parents=True, exist_ok=True)
    make_user(role="officer", phone="0911111112", unit=a)
    sign_in(page, "0911111112")
    page.goto(f"{page.base}/results/{SLUG}/tallies")
    tally = tmp_path / "kiem-dem.csv"
    tally.write_text("question,value,count\nhai-long,5,4\nhai-long,4,3\nhai-long,3,2\n")
    page.select_option("#unit", str(a))
    page.fill("#forms", "10")
    page.set_input_files("#file", str(tally))
    follow(page, page.get_by_role("button", name="Nhập số liệu kiểm đếm"))
    assert "Đã cộng 10 phiếu giấy kiểm đếm tay" in page.content()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / "results-tally-360.png"), full_page=True)
    page.context.clear_cookies()
    with app.app_context():
        cache.clear()  # the results may be a minute behind; the test reads them at once
    make_user(role="leader", phone="0911111111")
    sign_in(page, "0911111111")
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 1200})
        page.goto(f"{page.base}/results/{SLUG}")
        page.select_option("#by", "channel")
        follow(page, page.get_by_role("button", name="Xem", exact=True).first)
        assert "by=channel" in page.url
        shares = page.locator("#channels").inner_text()
        assert "Trực tuyến: 14" in shares and "gồm 10 phiếu giấy kiểm đếm tay" in shares
        assert "Máy tại bộ phận một cửa: ẩn" in shares
        draw_every_chart(page)
        assert fits_the_screen(page), width
        page.screenshot(path=str(SHOTS / f"results-channel-{width}.png"), full_page=True)
        page.goto(f"{page.base}/results/{SLUG}?unit={a}")
        page.select_option("#by", "hamlet")
        follow(page, page.get_by_role("button", name="Xem", exact=True).first)
        assert "by=hamlet" in page.url
        text = page.content()
        assert "Ấp Một" in text and "Ấp Hai" in text
        draw_every_chart(page)
        assert fits_the_screen(page), width
        page.screenshot(path=str(SHOTS / f"results-hamlet-{width}.png"), full_page=True)
    assert page.problems == []
