"""Vietnamese numbers and times as people see them in Chromium, on a 360 px phone and a 1280 px
screen: the round and attempt pages (a resident), the winners list and the units ranking (officers).
SCREENSHOTS=dir keeps the screenshots (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM, fits_the_screen, follow, sign_in
from tests.test_browser_account import shots
from tests.test_browser_ranking import crowded_round  # noqa: F401 (fixture)
from tests.test_ranking import set_population

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.mark.parametrize("width", [360, 1280])
def test_times_and_numbers_read_vietnamese_on_every_screen(
    app,
    page,
    make_user,
    tmp_path,
    width,
    crowded_round,  # noqa: F811
):  # type: ignore[no-untyped-def]
    from tests.conftest import NINH_KIEU, VI_THANH

    set_population(app, {VI_THANH: 12_345, NINH_KIEU: 4_321})
    folder = shots(tmp_path)
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, "0987654321")
    page.goto(f"{page.base}/contests/rounds/{crowded_round}")
    text = page.inner_text("main")
    assert "Từ 01/12/2026 08:00 đến 07/12/2026 20:00." in text and "15 phút" in text
    assert fits_the_screen(page)
    page.screenshot(path=str(folder / f"round-{width}.png"))
    follow(page, page.get_by_role("button", name="Bắt đầu làm bài"))
    # The clock stands a day after START (10:00 in Vietnam): 15 minutes to go.
    assert "Nộp trước 10:15" in page.inner_text("#timer")
    assert fits_the_screen(page)
    page.screenshot(path=str(folder / f"attempt-{width}.png"))
    page.goto(f"{page.base}/contests/rounds/{crowded_round}/ranking/units")
    text = page.inner_text("main")
    assert "12.345 dân" in text and "3,47" in text and "2,00" in text  # aligned decimals
    assert fits_the_screen(page)
    page.screenshot(path=str(folder / f"ranking-units-{width}.png"))
    # Wait for the sign-out to land: the next sign-in form's token belongs to the new session
    # (CI once posted a token of the old one, 400, when the sign-out's cookie came in between).
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng xuất").click()
    make_user(role="officer", phone="0911111111", unit=None)
    sign_in(page, "0911111111")
    page.goto(f"{page.base}/contests/rounds/{crowded_round}/winners?top=5")
    text = page.inner_text("#winners")
    assert "03/12/2026 10:01:35" in text  # 95.001 s after 10:00 in Vietnam, to the second
    assert "95,001" in text and "95.001" not in text
    assert fits_the_screen(page)
    page.screenshot(path=str(folder / f"winners-{width}.png"))
    assert page.problems == []
