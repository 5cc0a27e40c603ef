"""The waiting page of admission control (issue 17, point 3) in real Chromium without
JavaScript: a resident pressing "Bắt đầu làm bài" while every start slot is taken reads their
place in line in Vietnamese, and the page brings them to their paper by itself once the slot
is free — nothing pressed. Screenshots at 360 and 1280 px in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, fits_the_screen, follow, sign_in
from tests.test_admission import Hold
from tests.test_attempts import clock, rounds  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.mark.parametrize("page", [False], ids=["without-js"], indirect=True)
@pytest.mark.parametrize("width", [360, 1280])
def test_the_waiting_page_leads_to_the_paper_by_itself(app, page, rounds, make_user, width):  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    app.config.update(ADMISSION_MAX_STARTS=1, ADMISSION_WINDOW=1, REDIS_URL=None)
    holder = make_user(phone="0966000000")
    make_user(phone="0987654321")
    hold = Hold(app, rounds["tuan-1"], holder.id)
    hold.take()  # the one slot is busy: the next start waits
    page.set_viewport_size({"width": width, "height": 740})
    sign_in(page, "0987654321")
    page.goto(f"{page.base}/contests/rounds/{rounds['tuan-1']}")
    follow(page, page.get_by_role("button", name="Bắt đầu làm bài"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin ông/bà vui lòng chờ đến lượt")
    expect(page.locator("#place")).to_have_text("Vị trí của ông/bà trong hàng chờ: 1.")
    expect(page.get_by_role("status")).to_contain_text("Dự kiến đến lượt ông/bà sau khoảng")
    assert fits_the_screen(page)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"admission-waiting-{width}.png"), full_page=True)
    hold.free()
    # No click: the page's own refresh brings the paper once the slot is free.
    page.wait_for_url("**/contests/attempts/*", timeout=15_000)
    page.wait_for_selector("fieldset[data-position]")
