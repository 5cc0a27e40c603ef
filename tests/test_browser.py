"""A resident on a 360 px phone signs up, signs out and signs in again, in real Chromium.

Uses Debian's chromium (`make test` installs it with apt when it can); skipped, saying so,
where /usr/bin/chromium is missing.
"""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM, draw_every_chart, fits_the_screen, follow, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def sign_up(page, name: str, phone: str) -> None:  # type: ignore[no-untyped-def]
    """Fill the sign-up form as a resident of Phường Vị Thanh (without sending it)."""
    page.get_by_label("Họ và tên").fill(name)
    page.get_by_label("Số điện thoại di động").fill(phone)
    page.get_by_label("Xã/phường nơi ông/bà sinh sống").select_option(label="Phường Vị Thanh")
    page.locator("#password").fill("mat-khau-thu-nghiem")
    page.locator("#confirm").fill("mat-khau-thu-nghiem")
    page.locator("#consent").check()


def test_sign_up_sign_out_sign_in_on_a_phone(page, tmp_path):  # type: ignore[no-untyped-def]
    page.goto(page.base + "/")
    assert fits_the_screen(page)
    follow(page, page.get_by_role("link", name="Đăng ký").first)
    assert page.locator('#unit option[value^="3"]').count() == 103
    assert fits_the_screen(page)
    sign_up(page, "Võ Thị Mai", "0912 345 678")
    page.screenshot(path=str(tmp_path / "register.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng ký").click()
    assert "Võ Thị Mai" in page.content()
    follow(page, page.get_by_role("button", name="Đăng xuất"))
    follow(page, page.get_by_role("link", name="Đăng nhập").first)
    page.get_by_label("Số điện thoại di động").fill("+84912345678")
    page.get_by_label("Mật khẩu").fill("mat-khau-thu-nghiem")
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    assert "Phường Vị Thanh" in page.content()
    assert page.problems == []  # no CSP violations, no script errors


def test_every_field_is_labelled_and_reachable_by_keyboard(page):  # type: ignore[no-untyped-def]
    page.goto(page.base + "/auth/register")
    unlabelled = page.evaluate(
        """[...document.querySelectorAll(
                'input:not([type=hidden]):not([type=submit]), select, textarea')]
             .filter(el => !(el.labels && el.labels.length)).map(el => el.name)"""
    )
    assert unlabelled == []
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.name || document.activeElement.id"))
    assert {"name", "phone", "unit", "password", "confirm", "consent", "submit"} <= reached


@pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)
def test_take_a_round_reload_midway_and_submit(app, page, tmp_path):  # type: ignore[no-untyped-def]
    from tests.conftest import load_content, set_clock
    from tests.test_attempts import CONTEST, START, bank_yaml

    set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    page.goto(page.base + "/auth/register")
    sign_up(page, "Đặng Văn Hùng", "0933444555")
    follow(page, page.get_by_role("button", name="Đăng ký"))
    follow(page, page.get_by_role("link", name="Cuộc thi").first)
    follow(page, page.get_by_role("link", name="Tuần 1"))
    follow(page, page.get_by_role("button", name="Bắt đầu làm bài"))
    assert page.locator("fieldset[data-position]").count() == 10
    assert fits_the_screen(page)
    page.locator("#q-1-0").check()
    page.locator("#q-2-1").check()
    if page.javascript:  # saved as they are chosen (polled by Playwright, not by eval: the CSP)
        from playwright.sync_api import expect

        expect(page.locator("#save-status")).to_have_text("✓ Đã lưu")
    else:
        follow(page, page.get_by_role("button", name="Lưu câu trả lời"))
    page.reload()
    assert page.locator("#q-1-0").is_checked() and page.locator("#q-2-1").is_checked()
    page.locator("#prediction").fill("25")
    page.screenshot(path=str(tmp_path / "attempt.png"), full_page=True)
    if page.javascript:  # the list of what is blank opens on this page
        page.get_by_role("button", name="Nộp bài", exact=True).click()
    else:  # the confirmation page
        follow(page, page.get_by_role("button", name="Nộp bài", exact=True))
    follow(page, page.get_by_role("button", name="Vẫn nộp bài"))  # eight questions left blank
    assert "/ 10" in page.locator("#score").inner_text()
    assert page.problems == []


def answer_page(page) -> None:  # type: ignore[no-untyped-def]
    """Answer every question shown on a survey page with its first possible value."""
    for box in page.locator("fieldset[data-type]:visible").all():
        kind = box.get_attribute("data-type")
        if kind in ("single", "scale", "multiple"):
            box.locator("input[value='1']").first.check()
        elif kind == "rating":
            box.locator("input[value='7']").check()
        elif kind == "number":
            box.locator("input").fill("2")
        elif kind == "grid":
            for row in box.locator("fieldset").all():
                row.locator("input").first.check()


@pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)
def test_answer_the_sample_satisfaction_survey_with_a_skip(app, page):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime
    from pathlib import Path

    from sqlalchemy import select

    from app.content.pipeline import find_files, load_files
    from app.content.store import Actor
    from app.extensions import db
    from app.models import SurveyAnswer, SurveyQuestion
    from tests.conftest import PROVINCE

    moment = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    app.config["CLOCK"] = lambda: moment
    root = Path(__file__).resolve().parent.parent
    with app.app_context():
        files = [(str(p), p.read_bytes()) for p in find_files([str(root / "surveys")])]
        assert all(
            o.ok
            for o in load_files(db.session, files, Actor(unit_code=PROVINCE, is_admin=True), moment)
        )
    page.goto(page.base + "/auth/register")
    sign_up(page, "Lâm Thị Thu", "0933444666")
    follow(page, page.get_by_role("button", name="Đăng ký"))
    follow(page, page.get_by_role("link", name="Khảo sát", exact=True))
    follow(page, page.get_by_role("link", name="Khảo sát sự hài lòng"))
    assert "ẩn danh" in page.content()
    follow(page, page.get_by_role("link", name="Bắt đầu"))
    for _ in range(3):
        answer_page(page)
        assert fits_the_screen(page)
        with page.expect_navigation():  # the next page, not this one, is answered next
            page.get_by_role("button", name="Tiếp").click()
    reason = page.locator("#s-ly-do-chua-hai-long")
    if page.javascript:  # the skip applies as soon as the answer changes
        page.locator("#s-hai-long-chung-1").check()
        assert reason.is_visible()
        page.locator("#s-hai-long-chung-4").check()
        assert not reason.is_visible()
    else:  # shown with its condition in words; the server drops it when the condition fails
        page.locator("#s-hai-long-chung-4").check()
        assert reason.is_visible() and "Câu này hiện khi" in page.content()
        page.locator("#s-ly-do-chua-hai-long-t").fill("Thủ tục chậm")
    page.locator("input[name='a-gioi-thieu'][value='8']").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Gửi câu trả lời").click()
    assert "Xin cảm ơn" in page.content()
    with app.app_context():
        skipped = db.session.scalar(
            select(SurveyQuestion.id).where(SurveyQuestion.key == "ly-do-chua-hai-long")
        )
        stored = set(db.session.scalars(select(SurveyAnswer.question_id)))
        assert stored and skipped not in stored
    assert page.problems == []


def test_dashboard_charts_draw_under_the_csp_at_360px(app, page, make_user):  # type: ignore[no-untyped-def]
    from app.content.pipeline import load_files
    from app.content.store import Actor
    from app.extensions import db
    from app.models import Unit
    from app.services import survey_definition
    from app.services import surveys as service
    from tests.conftest import PROVINCE
    from tests.test_analytics import DATA, NOW, SURVEY
    from tests.test_analytics import survey as _fixture  # noqa: F401  (data loaded below)

    with app.app_context():
        load_files(
            db.session, [("s.yaml", SURVEY.encode())], Actor(unit_code=PROVINCE, is_admin=True), NOW
        )
        from sqlalchemy import select

        from app.models import Survey

        defn = survey_definition.definition(db.session, db.session.scalar(select(Survey)))
        for unit, gender, level, channels in DATA:
            answers = {"gioi-tinh": gender, "hai-long": level} | (
                {"kenh": channels} if channels else {}
            )
            clean, _problems = service.clean_answers(defn, answers)
            service.submit(db.session, defn, clean, NOW, user=None, unit=db.session.get(Unit, unit))
    make_user(role="leader", phone="0911111111")
    sign_in(page, "0911111111")
    page.goto(page.base + "/results/hai-long-thu")
    draw_every_chart(page)
    assert page.locator(".app-chart svg.main-svg").count() >= 3
    assert fits_the_screen(page)
    assert page.problems == []  # plotly drew without any CSP violation or script error
