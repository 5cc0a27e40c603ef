"""An officer keys in 5 paper forms of an anonymous survey, from the keyboard, on a 360 px
phone and a 1280 px screen: a number key picks a choice and moves on, Enter goes to the next
question, Tab leaves a box; "Lưu và nhập phiếu tiếp" saves and shows a fresh form with the
running count; a wrong form keeps what was typed beside its error; then a leader reads the
results by channel (the 5 forms, as paper). Screenshots go to docs/screenshots/paper-entry-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import Config
from app.extensions import cache, db
from app.models import AuditEvent, Role, SurveyResponse
from app.services import surveys as service
from tests.conftest import (
    CHROMIUM,
    VI_THANH,
    draw_every_chart,
    fits_the_screen,
    follow,
    load_content,
    set_clock,
    sign_in,
)
from tests.test_surveys import FULL, IDENTIFIED, NOW

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SLUG = "hai-long-chinh-quyen-2026"


def key_in_one_form(page, visits: int) -> None:  # type: ignore[no-untyped-def]
    """One paper form, keys only: focus starts on the first question."""
    keyboard = page.keyboard
    keyboard.press("2")  # giới tính: Nữ → next question
    keyboard.press("1")  # độ tuổi: 18–29
    keyboard.press("4")  # thái độ: Hài lòng (ly-do stays hidden)
    keyboard.press("1")  # kênh: Loa phát thanh (ticked)
    keyboard.press("3")  # kênh: Zalo (ticked)
    keyboard.press("Enter")  # next question
    keyboard.press("9")  # sẵn sàng giới thiệu: 9 → loa appears
    keyboard.press("3")  # loa: Nhiều → so-lan
    keyboard.type(str(visits))
    keyboard.press("Tab")
    keyboard.type("12,5")  # chi-phí (shown since loa = Nhiều)
    keyboard.press("Tab")
    for mark in ("4", "5", "3"):  # the grid's three lines
        keyboard.press(mark)


@pytest.mark.parametrize("width", [360, 1280])
def test_keying_in_five_paper_forms_from_the_keyboard(app, page, make_user, width):  # type: ignore[no-untyped-def]
    set_clock(app, NOW)
    app.config["SURVEY_MIX_BATCH"] = Config.SURVEY_MIX_BATCH
    load_content(app, [("full.yaml", FULL), ("id.yaml", IDENTIFIED)], NOW)
    officer = make_user(role=Role.OFFICER, phone="0912000401", unit=VI_THANH)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, officer.phone)
    page.goto(page.base + "/officer/entry/")
    follow(page, page.get_by_role("link", name="Nhập phiếu giấy"))
    page.get_by_label("Nơi phiếu được điền").select_option(str(VI_THANH))
    follow(page, page.get_by_role("button", name="Bắt đầu đợt nhập"))

    # A wrong form first: a visit count in words. Refused, kept, the error beside it.
    key_in_one_form(page, 0)
    page.locator("#s-so-lan-n").fill("nhiều")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # in a box: the form's default button
    assert page.get_by_text("Phiếu này chưa được lưu").is_visible()
    assert page.locator("#e-so-lan").inner_text() == "Vui lòng nhập một số."
    assert page.locator("#s-so-lan-n").input_value() == "nhiều"
    assert page.locator("#s-gioi-tinh-2").is_checked()
    assert page.evaluate("document.activeElement.name") == "a-so-lan"  # focus on the error
    page.screenshot(path=str(SHOTS / f"paper-entry-error-{width}.png"), full_page=True)
    page.keyboard.press("Control+A")
    page.keyboard.type("7")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Đã lưu phiếu số 1" in page.content()

    for n in range(2, 6):
        assert page.locator("input:checked").count() == 0  # a fresh, empty form
        assert page.evaluate("document.activeElement.name") == "a-gioi-tinh"
        key_in_one_form(page, n)
        if n == 2:
            page.screenshot(path=str(SHOTS / f"paper-entry-form-{width}.png"), full_page=True)
        with page.expect_navigation():
            page.keyboard.press("Enter")  # on the grid's last line: save
        assert f"Đã lưu phiếu số {n}" in page.content()
    assert page.get_by_text("Đã lưu 5 phiếu trong đợt này.").is_visible()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"paper-entry-saved-{width}.png"))
    follow(page, page.get_by_role("button", name="Kết thúc đợt nhập"))
    assert page.get_by_text("Đã nhập 5 phiếu giấy của Phường Vị Thanh.").is_visible()
    page.screenshot(path=str(SHOTS / f"paper-entry-done-{width}.png"))

    with app.app_context():
        service.settle(db.session, NOW, force=True)
        rows = db.session.execute(
            select(SurveyResponse.channel, SurveyResponse.user_id, SurveyResponse.unit_code)
        ).all()
        assert rows == [("paper", None, VI_THANH)] * 5
        batch = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "entry.paper"))
        assert (batch.actor_id, batch.detail["forms"]) == (officer.id, 5)
        cache.clear()  # the results may be a minute behind; the test reads them at once

    # Then a leader reads the results by channel: the 5 forms, counted as paper, the whole.
    page.context.clear_cookies()
    make_user(role=Role.LEADER, phone="0912000402")
    sign_in(page, "0912000402")
    page.goto(f"{page.base}/results/{SLUG}")
    page.select_option("#by", "channel")
    follow(page, page.get_by_role("button", name="Xem", exact=True).first)
    assert "by=channel" in page.url
    shares = page.locator("#channels").inner_text()
    assert "Phiếu giấy: 5" in shares and "Trực tuyến: 0" in shares, shares
    draw_every_chart(page)
    assert fits_the_screen(page), width
    page.screenshot(path=str(SHOTS / f"paper-entry-results-{width}.png"), full_page=True)
