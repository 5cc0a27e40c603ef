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


@pytest.fixture
def outage(app):  # type: ignore[no-untyped-def]
    """Requests with ?outage=1 meet the error a cut database connection raises (the real cut
    is tested in tests/test_outages.py; here: what the resident sees)."""
    import psycopg
    from flask import request
    from sqlalchemy.exc import OperationalError

    @app.before_request
    def cut() -> None:
        if request.args.get("outage") == "1":
            raise OperationalError(
                "SELECT 1", {}, psycopg.OperationalError("cut"), connection_invalidated=True
            )


@pytest.mark.parametrize("width", [360, 1280])
def test_the_outage_page_says_to_try_again(outage, page, width: int) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.set_viewport_size({"width": width, "height": 740})
    response = page.goto(page.base + "/contests/?outage=1")
    assert response is not None and response.status == 503
    assert response.headers["retry-after"] == "5"
    expect(page.get_by_role("heading", name="Tạm gián đoạn")).to_be_visible()
    expect(page.get_by_text("Những gì ông/bà đã lưu không bị mất")).to_be_visible()
    assert "Traceback" not in page.content()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"error-503-{width}.png"), full_page=True)
