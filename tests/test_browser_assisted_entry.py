"""An officer at a hamlet meeting answers an identified survey with a resident who has no
account yet: finds no one by the phone number, creates the account (consent read to the
person), hands over the one-time password, and enters the person's answers. At 360 px and
1280 px; screenshots go to docs/screenshots/assisted-entry-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Role, SurveyResponse, User
from tests.conftest import (
    CHROMIUM,
    VI_THANH,
    fits_the_screen,
    follow,
    load_content,
    set_clock,
    sign_in,
)
from tests.test_assisted_entry import add_hamlet
from tests.test_surveys import FULL, IDENTIFIED, NOW

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.mark.parametrize("width", [360, 1280])
def test_an_officer_creates_a_residents_account_and_answers_with_them(app, page, make_user, width):  # type: ignore[no-untyped-def]
    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL), ("id.yaml", IDENTIFIED)], NOW)
    hamlet = add_hamlet(app, VI_THANH * 1000 + 3, VI_THANH, "Khu vực 3")
    officer = make_user(role=Role.OFFICER, phone="0912000501", unit=VI_THANH)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, officer.phone)
    page.goto(page.base + "/officer/entry/")
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"assisted-entry-hub-{width}.png"))
    follow(page, page.get_by_role("link", name="Nhập hộ người dân"))
    page.get_by_label("Số điện thoại của người dân").fill("0987 111 222")
    follow(page, page.get_by_role("button", name="Tìm"))
    assert page.get_by_text("Chưa có tài khoản người dân nào dùng số điện thoại này.").is_visible()
    follow(page, page.get_by_role("link", name="Tạo tài khoản cho người này"))
    page.get_by_label("Họ và tên").fill("Lê Thị Sáu")
    page.get_by_label(
        "Xã/phường, hoặc ấp/khu vực/tổ dân phố, nơi người dân sinh sống"
    ).select_option(str(hamlet))
    follow(page, page.get_by_role("button", name="Tạo tài khoản"))
    assert page.get_by_text("cần có sự đồng ý").is_visible()  # consent not ticked: refused
    page.get_by_label("Tôi đã đọc nội dung này cho người dân và họ đồng ý.").check()
    page.screenshot(path=str(SHOTS / f"assisted-entry-account-{width}.png"), full_page=True)
    follow(page, page.get_by_role("button", name="Tạo tài khoản"))
    assert page.locator("code.app-otp").inner_text()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"assisted-entry-password-{width}.png"))
    follow(page, page.get_by_role("link", name="Nhập ý kiến của người này: Kênh thông tin"))
    page.locator("#s-hop-1").check()
    page.locator("#s-phat-bieu-2").check()
    page.locator("#s-ly-do-t").fill("Ngại nói trước đông người")
    page.locator("#s-kenh-1").check()
    page.screenshot(path=str(SHOTS / f"assisted-entry-form-{width}.png"), full_page=True)
    follow(page, page.get_by_role("button", name="Lưu ý kiến"))
    assert page.get_by_text("Đã lưu ý kiến của Lê Thị Sáu.").is_visible()

    with app.app_context():
        person = db.session.scalar(select(User).where(User.phone == "0987111222"))
        row = db.session.scalar(select(SurveyResponse))
        assert (row.user_id, row.channel, row.hamlet_code) == (person.id, "assisted", hamlet)
