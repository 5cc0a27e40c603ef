"""Issue 16, point 7, in Chromium: an officer goes from the dashboard to a survey's progress
page, sees the new closing time before extending, confirms, then closes the survey on the
confirmation page — with and without JavaScript, at 360 and 1280 px. Screenshots in
docs/screenshots/progress-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, PROVINCE, fits_the_screen, follow, sign_in
from tests.test_progress_pages import owned  # noqa: F401  (surveys and rounds of three units)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def shot(page, name: str, width: int, *, both: bool = False) -> None:  # type: ignore[no-untyped-def]
    """The pages have no script of their own: the shots without JavaScript are the same
    pixels, kept only for the two confirmation pages (`both`)."""
    if not page.javascript and not both:
        return
    suffix = "" if page.javascript else "-nojs"
    page.screenshot(path=str(SHOTS / f"progress-{name}-{width}{suffix}.png"), full_page=True)


@pytest.mark.usefixtures("owned")
@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)
def test_dashboard_to_progress_extend_preview_and_close_confirmation(  # type: ignore[no-untyped-def]
    page, make_user, width
):
    make_user(role="officer", phone="0911000003", unit=PROVINCE)
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, "0911000003")
    page.goto(page.base + "/officer/")
    assert fits_the_screen(page)
    shot(page, "dashboard", width)
    follow(page, page.get_by_role("link", name="Khảo sát: Kênh thông tin"))
    assert page.url.endswith("/surveys/kenh-thong-tin/progress")
    assert page.get_by_text("Mở đến 31/12/2026 23:59.").is_visible()

    # Extend: the new closing time is shown before anything is saved.
    page.get_by_label("Gia hạn thêm (ngày)").fill("7")
    follow(page, page.get_by_role("button", name="Gia hạn…"))
    assert page.locator("#extend-until").inner_text() == "Khảo sát sẽ đóng lúc 07/01/2027 23:59."
    assert fits_the_screen(page)
    shot(page, "extend-preview", width, both=True)
    follow(page, page.get_by_role("button", name="Đồng ý gia hạn"))
    assert page.get_by_text("Khảo sát nay kết thúc vào 07/01/2027 23:59.").is_visible()
    assert page.get_by_text("Mở đến 07/01/2027 23:59.").is_visible()

    # Close: a second page asks first; going back closes nothing.
    follow(page, page.get_by_role("button", name="Đóng ngay…"))
    assert page.get_by_role("heading", name="Đóng khảo sát?").is_visible()
    assert fits_the_screen(page)
    shot(page, "close-confirm", width, both=True)
    follow(page, page.get_by_role("link", name="Không, quay lại"))
    assert page.get_by_text("Mở đến 07/01/2027 23:59.").is_visible()
    follow(page, page.get_by_role("button", name="Đóng ngay…"))
    follow(page, page.get_by_role("button", name="Đồng ý, đóng khảo sát ngay"))
    assert page.get_by_text("Đã đóng khảo sát.").is_visible()
    assert page.get_by_text("Đã đóng lúc 10/12/2026 10:00.").is_visible()  # closed now
    assert page.get_by_role("button", name="Đóng ngay…").count() == 0
    assert fits_the_screen(page)
    shot(page, "closed", width)
    assert not page.problems
