"""The password page and a long file's mistakes page, in real Chromium at 360 and 1280 px."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, PASSWORD, fits_the_screen, follow, sign_in
from tests.test_content_limits import many_mistakes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def shots(tmp_path: Path) -> Path:
    """Where screenshots go: SCREENSHOTS=dir keeps them to look at, else the test's tmp."""
    folder = Path(os.environ.get("SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("width", [360, 1280])
def test_a_resident_changes_the_password(page, make_user, tmp_path, width):  # type: ignore[no-untyped-def]
    make_user(phone="0912345678")
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, "0912345678")
    page.goto(page.base + "/account/")
    follow(page, page.get_by_role("link", name="Đổi mật khẩu"))
    page.locator("#current").fill(PASSWORD)
    page.locator("#password").fill("1234567890")
    page.locator("#confirm").fill("1234567890")
    with page.expect_navigation():
        page.get_by_role("button", name="Đổi mật khẩu").click()
    assert "quá phổ biến" in page.content()  # the common password, refused in Vietnamese
    assert fits_the_screen(page)
    page.screenshot(path=str(shots(tmp_path) / f"password-refused-{width}.png"), full_page=True)
    page.problems.clear()  # type: ignore[attr-defined]  (the 422 of the refusal, as expected)
    page.locator("#current").fill(PASSWORD)
    page.locator("#password").fill("song-hau-ben-cau")
    page.locator("#confirm").fill("song-hau-ben-cau")
    with page.expect_navigation():
        page.get_by_role("button", name="Đổi mật khẩu").click()
    assert "Đã đổi mật khẩu" in page.content()
    assert not page.problems  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [360, 1280])
def test_a_long_file_s_mistakes_page(page, make_user, tmp_path, width):  # type: ignore[no-untyped-def]
    make_user(role="officer", phone="0911111111")
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, "0911111111")
    page.goto(page.base + "/officer/content/upload")
    page.locator("textarea").first.fill(many_mistakes(40, 30))
    with page.expect_navigation():
        page.locator("#submit").click()
    content = page.content()
    assert "không có lỗi" in content  # the lines left out are said, not shown
    assert "lỗi nữa" in content  # and the problems past 200 are counted
    assert "Cần sửa 1200 lỗi" in content  # the heading counts them all
    assert fits_the_screen(page)
    page.screenshot(path=str(shots(tmp_path) / f"mistakes-{width}.png"))
