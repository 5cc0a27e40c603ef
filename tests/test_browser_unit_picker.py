"""The commune picker in real Chromium at 360 and 1280 px, with and without JavaScript: a
resident types "vi thanh", Phường Vị Thanh is offered, chosen, and the sign-up succeeds;
without JavaScript the search step brings the form back with everything typed. Screenshots
in docs/screenshots/unit-picker-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, fits_the_screen, follow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
BOTH = pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)


@BOTH
@pytest.mark.parametrize("width", [360, 1280])
def test_type_vi_thanh_choose_it_and_sign_up(app, page, width):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    mode = "js" if page.javascript else "nojs"
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(page.base + "/auth/register")
    page.get_by_label("Họ và tên").fill("Võ Thị Mai")
    page.get_by_label("Số điện thoại di động").fill("0912 345 678")
    page.locator("#password").fill("mat-khau-thu-nghiem")
    page.locator("#confirm").fill("mat-khau-thu-nghiem")
    page.get_by_label("Năm sinh (không bắt buộc)").fill("1980")
    search = page.get_by_label("Tìm xã/phường theo tên")
    status = page.locator("[data-unit-status]")
    assert status.get_attribute("aria-live") == "polite"
    if page.javascript:
        search.press_sequentially("vi thanh", delay=30)  # as a person types
    else:
        search.fill("vi thanh")
        follow(page, page.get_by_role("button", name="Tìm", exact=True))  # the search step
        # Everything typed before the search came back with the page.
        assert page.get_by_label("Họ và tên").input_value() == "Võ Thị Mai"
        assert page.get_by_label("Số điện thoại di động").input_value() == "0912 345 678"
        assert page.get_by_label("Năm sinh (không bắt buộc)").input_value() == "1980"
        # Passwords are never written back into a page: typed again.
        assert page.locator("#password").input_value() == ""
        page.locator("#password").fill("mat-khau-thu-nghiem")
        page.locator("#confirm").fill("mat-khau-thu-nghiem")
        assert search.input_value() == "vi thanh"
    choice = page.get_by_role("radio", name="Phường Vị Thanh")
    expect(choice).to_be_visible()
    expect(status).to_contain_text("Tìm thấy 2 xã/phường cho “vi thanh”")
    assert page.get_by_role("radio").count() == 2  # Phường Vị Thanh and Xã Vị Thanh 1
    assert not page.locator("select#unit, select#unit-all").is_visible()
    assert fits_the_screen(page)
    row = page.locator(".app-unit-choice").first.bounding_box()
    assert row is not None and row["height"] >= 44  # a tap target a thumb can hit
    choice.check()
    page.screenshot(path=str(SHOTS / f"unit-picker-{mode}-{width}.png"), full_page=True)
    page.locator("#consent").check()
    follow(page, page.get_by_role("button", name="Đăng ký"))
    expect(page.get_by_text("Võ Thị Mai")).to_be_visible()
    page.goto(page.base + "/account/")
    assert "Phường Vị Thanh" in page.content()
    assert page.problems == []  # no CSP violations, no script errors


@pytest.mark.parametrize("page", [True], ids=["with-js"], indirect=True)
def test_typing_follows_clearing_returns_the_whole_list(page):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(page.base + "/auth/register")
    search = page.get_by_label("Tìm xã/phường theo tên")
    search.fill("Phường  Vị Thanh")
    expect(page.get_by_role("radio")).to_have_count(1)
    search.fill("phuong 5")
    expect(page.locator("[data-unit-status]")).to_contain_text("Không tìm thấy")
    expect(page.locator("select#unit")).to_be_visible()
    search.fill("ninh kieu")
    page.get_by_role("radio", name="Phường Ninh Kiều").check()
    search.fill("")
    expect(page.locator("select#unit")).to_be_visible()
    assert page.locator("select#unit").input_value() == "31135"  # the choice stays
    search.fill("vi thanh")
    search.press("Enter")  # does not send the form: the list already follows the typing
    expect(page.get_by_role("radio")).to_have_count(2)
    assert page.url.endswith("/auth/register")
    assert page.problems == []


@BOTH
def test_the_anonymous_survey_s_first_page_finds_the_commune(app, page):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from tests.conftest import load_content, set_clock
    from tests.test_surveys import FULL, NOW

    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL)], NOW)
    page.goto(page.base + "/surveys/hai-long-chinh-quyen-2026")
    search = page.get_by_label("Tìm xã/phường theo tên")
    if page.javascript:
        search.press_sequentially("vi thanh", delay=30)
    else:
        search.fill("vi thanh")
        follow(page, page.get_by_role("button", name="Tìm", exact=True))
    page.get_by_role("radio", name="Phường Vị Thanh").check()
    assert fits_the_screen(page)
    mode = "js" if page.javascript else "nojs"
    page.screenshot(path=str(SHOTS / f"unit-picker-survey-{mode}-360.png"), full_page=True)
    follow(page, page.get_by_role("button", name="Bắt đầu"))
    expect(page.locator("fieldset[data-type]").first).to_be_visible()
    assert page.problems == []
