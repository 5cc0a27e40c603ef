"""The attempt page in real Chromium (issue 15, points 3–5): answers chosen with the network
cut are kept and sent when it is back, even after the tab was left; a 5xx is retried and a 4xx
is explained; before submitting, what is blank is listed and a missing prediction is marked on
its field; without JavaScript, the deadline as a clock time, "Lưu" back to the question, and
the confirmation page. Screenshots in docs/screenshots/attempt-*.png."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Attempt, AttemptQuestion
from tests.conftest import CHROMIUM, PASSWORD, fits_the_screen, follow
from tests.test_attempts import clock, rounds  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PHONE = "0987654321"


def begin(page, make_user, rounds, width: int = 360) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    """Sign in as a resident and start round 1; the attempt page's address."""
    make_user(phone=PHONE)
    page.set_viewport_size({"width": width, "height": 740})
    page.goto(page.base + "/auth/login")
    page.get_by_label("Số điện thoại di động").fill(PHONE)
    page.locator("#password").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Đăng nhập"))
    page.goto(f"{page.base}/contests/rounds/{rounds['tuan-1']}")
    follow(page, page.get_by_role("button", name="Bắt đầu làm bài"))
    page.wait_for_selector("fieldset[data-position]")
    return page.url


def stored(app, position: int) -> list[int] | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        selected = db.session.scalar(
            select(AttemptQuestion.selected).where(AttemptQuestion.position == position)
        )
        db.session.remove()
    return selected


def state(app) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        value = db.session.scalar(select(Attempt.state))
        db.session.remove()
    return value


def test_answers_chosen_offline_are_sent_when_the_network_is_back(app, page, rounds, make_user):  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    url = begin(page, make_user, rounds)
    page.locator("#q-1-0").check()
    expect(page.locator("#save-q-1")).to_have_text("✓ Đã lưu")
    page.context.set_offline(True)
    page.locator("#q-2-1").check()
    expect(page.locator("#save-q-2")).to_have_text("Mất kết nối")
    expect(page.locator("#save-status")).to_have_text("Mất kết nối")
    page.locator("#q-3-2").check()
    page.screenshot(path=str(SHOTS / "attempt-offline-360.png"))
    assert stored(app, 2) is None and stored(app, 3) is None
    # A reload while offline only shows the browser's own error page: the tab is killed
    # instead (as a phone does to a tab in the background) and the attempt opened again once
    # the network is back. Navigating away alone is not enough: Chromium lifts the offline
    # emulation from the leaving document, whose 'online' handler then sent the answers.
    page.evaluate("() => { window.fetch = () => new Promise(() => {}); }")  # sends no more
    page.goto("about:blank")
    page.context.set_offline(False)
    assert stored(app, 2) is None  # nothing was sent by the tab that was left
    with page.expect_request(lambda r: r.method == "PUT" and r.url.endswith("/answers/2")):
        page.goto(url)
    expect(page.locator("#save-q-2")).to_have_text("✓ Đã lưu")
    expect(page.locator("#save-q-3")).to_have_text("✓ Đã lưu")
    assert page.locator("#q-2-1").is_checked() and page.locator("#q-3-2").is_checked()
    assert stored(app, 2) is not None and stored(app, 3) is not None
    # the same tab: cut, answer, restore: sent without a reload, and the next change wins
    page.context.set_offline(True)
    page.locator("#q-4-0").check()
    page.locator("#q-4-1").check()
    expect(page.locator("#save-q-4")).to_have_text("Mất kết nối")
    page.context.set_offline(False)
    expect(page.locator("#save-q-4")).to_have_text("✓ Đã lưu")
    expect(page.locator("#save-status")).to_have_text("✓ Đã lưu")
    page.reload()
    assert page.locator("#q-4-1").is_checked()  # the newer choice, not the older one
    assert page.problems == [] or all("ERR_INTERNET_DISCONNECTED" in p for p in page.problems)


def test_a_server_error_is_retried_and_a_refusal_is_explained(app, page, rounds, make_user):  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    begin(page, make_user, rounds)
    calls = {"5": 0, "6": 0}

    def flaky(route):  # type: ignore[no-untyped-def]
        calls["5"] += 1
        if calls["5"] <= 2:
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    def refuse(route):  # type: ignore[no-untyped-def]
        calls["6"] += 1
        error = {
            "code": "invalid",
            "message": "Lựa chọn này không có trong câu hỏi.",
            "details": [],
        }
        route.fulfill(
            status=422, content_type="application/json", body=json.dumps({"error": error})
        )

    page.route("**/answers/5", flaky)
    page.route("**/answers/6", refuse)
    page.locator("#q-5-0").check()
    expect(page.locator("#save-q-5")).to_have_text("Chưa lưu — đang thử lại")
    expect(page.locator("#save-q-5")).to_have_text("✓ Đã lưu", timeout=15000)
    assert calls["5"] == 3 and stored(app, 5) is not None
    page.locator("#q-6-0").check()
    expect(page.locator("#save-q-6")).to_have_text(
        "Không lưu được: Lựa chọn này không có trong câu hỏi."
    )
    page.wait_for_timeout(2500)
    assert calls["6"] == 1  # a refusal is not retried


@pytest.mark.parametrize("width", [360, 1280])
def test_before_submitting_the_blank_questions_and_prediction_are_named(  # type: ignore[no-untyped-def]
    app,
    page,
    rounds,  # noqa: F811
    make_user,
    width,
):
    from playwright.sync_api import expect

    begin(page, make_user, rounds, width)
    expect(page.locator("#countdown-box")).to_be_visible()
    page.locator("#q-1-0").check()
    expect(page.locator("#save-q-1")).to_have_text("✓ Đã lưu")
    page.get_by_role("button", name="Nộp bài", exact=True).click()
    panel = page.locator("#confirm-submit")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("link", name="Câu 2", exact=True)).to_be_visible()
    expect(panel.get_by_role("link", name="Câu 1", exact=True)).to_be_hidden()
    expect(
        panel.get_by_role("link", name="Ông/bà chưa trả lời câu hỏi phụ (dự đoán).")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Vẫn nộp bài")).to_be_hidden()  # not without it
    field = page.locator("#prediction")
    expect(field).to_be_focused()
    expect(field).to_be_in_viewport()
    page.wait_for_timeout(600)  # Bootstrap's smooth scrolling
    page.screenshot(path=str(SHOTS / f"attempt-prediction-js-{width}.png"))
    expect(field).to_have_class("form-control is-invalid")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#prediction-error")).to_have_text(
        "Vui lòng nhập số dự đoán trước khi nộp bài."
    )
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"attempt-confirm-js-{width}.png"), full_page=True)
    assert state(app) == "open"
    field.fill("42")
    page.get_by_role("button", name="Nộp bài", exact=True).click()
    expect(
        panel.get_by_role("link", name="Ông/bà chưa trả lời câu hỏi phụ (dự đoán).")
    ).to_be_hidden()
    expect(field).not_to_have_attribute("aria-invalid", "true")
    follow(page, page.get_by_role("button", name="Vẫn nộp bài"))
    expect(page.locator("#score")).to_contain_text("/ 10")
    assert state(app) == "submitted"
    assert page.problems == []


def test_submit_waits_for_the_queue_and_says_what_is_unsaved(app, page, rounds, make_user):  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    begin(page, make_user, rounds)
    page.locator("#prediction").fill("7")
    for position in range(1, 11):
        page.locator(f"#q-{position}-0").check()
    expect(page.locator("#save-status")).to_have_text("✓ Đã lưu")
    page.context.set_offline(True)
    page.locator("#q-9-1").check()
    page.get_by_role("button", name="Nộp bài", exact=True).click()
    unsaved = page.locator('#confirm-submit [data-part="unsaved"]')
    expect(unsaved).to_contain_text("Câu 9", timeout=15000)
    expect(page.get_by_role("button", name="Vẫn nộp bài")).to_be_hidden()  # offline: no way
    page.screenshot(path=str(SHOTS / "attempt-unsaved-360.png"))
    assert state(app) == "open"
    page.context.set_offline(False)
    page.get_by_role("button", name="Nộp bài", exact=True).click()
    expect(page.locator("#score")).to_contain_text("/ 10")
    assert stored(app, 9) is not None and state(app) == "submitted"


@pytest.mark.parametrize("page", [False], ids=["without-js"], indirect=True)
@pytest.mark.parametrize("width", [360, 1280])
def test_without_javascript_the_same_promises(app, page, rounds, make_user, width):  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    url = begin(page, make_user, rounds, width)
    expect(page.locator("#deadline")).to_have_text("Nộp trước 10:15")
    expect(page.locator("#countdown-box")).to_be_hidden()  # frozen without script: not shown
    page.locator("#q-7-1").check()
    follow(page, page.get_by_role("button", name="Lưu câu trả lời"))
    assert page.url.endswith("?saved=7#q-7")
    expect(page.locator("#save-q-7")).to_have_text("✓ Đã lưu")
    expect(page.locator("#q-7")).to_be_in_viewport()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"attempt-saved-nojs-{width}.png"))
    page.locator("#prediction").fill("mười hai")
    follow(page, page.get_by_role("button", name="Nộp bài", exact=True))
    field = page.locator("#prediction")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#prediction-error")).to_have_text(
        "Số dự đoán phải là số nguyên, ví dụ 125."
    )
    expect(field).to_be_in_viewport()  # where the eye is (the browser scrolls to it, smoothly)
    expect(page.locator("#prediction-error")).to_be_in_viewport()
    page.wait_for_timeout(600)
    page.screenshot(path=str(SHOTS / f"attempt-prediction-nojs-{width}.png"))
    page.get_by_role("link", name="Câu hỏi phụ (dự đoán):").click()
    expect(field).to_be_focused()
    field.fill("")
    follow(page, page.get_by_role("button", name="Nộp bài", exact=True))
    expect(page.get_by_role("heading", name="Trước khi nộp bài")).to_be_visible()
    assert page.get_by_role("link", name="Câu 7", exact=True).count() == 0
    expect(
        page.get_by_role("link", name="Ông/bà chưa trả lời câu hỏi phụ (dự đoán).")
    ).to_be_visible()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"attempt-confirm-nojs-{width}.png"), full_page=True)
    follow(page, page.get_by_role("link", name="Câu 9", exact=True))
    assert page.url == url + "#q-9"
    expect(page.locator("#q-9")).to_be_in_viewport()
    follow(page, page.get_by_role("button", name="Nộp bài", exact=True))
    page.locator("#prediction").fill("30")
    follow(page, page.get_by_role("button", name="Vẫn nộp bài"))
    expect(page.locator("#score")).to_contain_text("/ 10")
    assert state(app) == "submitted"
    assert [p for p in page.problems if "422" not in p] == []  # the refused prediction: 422
