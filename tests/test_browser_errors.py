"""The error page a resident meets, in real Chromium at 360 and 1280 px: what went wrong in
Vietnamese, the way back, and the request code to give when reporting it (app/request_log.py).
Screenshots in docs/screenshots/error-404-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, fits_the_screen

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.mark.parametrize("width", [360, 1280])
def test_the_error_page_gives_the_request_code(page, width: int) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.set_viewport_size({"width": width, "height": 740})
    response = page.goto(page.base + "/khong-co-trang-nay")
    assert response is not None and response.status == 404
    rid = response.headers["x-request-id"]
    expect(page.get_by_role("heading", name="Không tìm thấy trang")).to_be_visible()
    expect(page.get_by_text(rid)).to_be_visible()
    expect(page.get_by_role("link", name="Quay về trang chủ")).to_be_visible()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"error-404-{width}.png"), full_page=True)
