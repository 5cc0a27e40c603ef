"""Kiosk mode (issue 20, point 3): an officer opens an anonymous survey on a shared device;
each person's response ends with a thank-you and a fresh, empty form; the one-per-device
cookie does not apply; responses are channel "kiosk", rate-limited per kiosk."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Role, SurveyResponse
from app.services import surveys as service
from tests.conftest import (
    CHROMIUM,
    NINH_KIEU,
    VI_THANH,
    csrf_token,
    follow,
    load_content,
    set_clock,
    sign_in,
)
from tests.test_paper_entry import FORM
from tests.test_surveys import FULL, IDENTIFIED, NOW

SLUG = "hai-long-chinh-quyen-2026"
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
KIOSK = f"/surveys/{SLUG}/kiosk"


@pytest.fixture
def surveys(app):  # type: ignore[no-untyped-def]
    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL), ("id.yaml", IDENTIFIED)], NOW)
    return app


@pytest.fixture
def officer(make_user):  # type: ignore[no-untyped-def]
    return make_user(role=Role.OFFICER, phone="0912000301", unit=VI_THANH)


def open_kiosk(client, auth, officer, slug: str = SLUG, login: bool = True):  # type: ignore[no-untyped-def]
    if login:
        auth.login(officer.phone)
    url = f"/officer/entry/{slug}/kiosk"
    return client.post(url, data={"csrf_token": csrf_token(client, url), "unit": str(VI_THANH)})


def respond(client, form: dict = FORM):  # type: ignore[no-untyped-def]
    return client.post(KIOSK, data={"csrf_token": csrf_token(client, KIOSK), **form})


def kiosk_responses(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        service.settle(db.session, NOW, force=True)
        return list(db.session.scalars(select(SurveyResponse.channel)))


def test_kiosk_mode_takes_three_responses_from_one_client_each_on_a_fresh_form(
    surveys, client, auth, officer
):
    surveys.config["KIOSK_RESPONSE_LIMIT"] = "100 per minute"
    opened = open_kiosk(client, auth, officer)
    assert opened.status_code == 302 and opened.headers["Location"].endswith(KIOSK)
    # The officer is signed out on the shared device: the next person is not them.
    assert client.get("/officer/").status_code == 302
    for n in range(3):
        form = client.get(KIOSK)
        assert form.status_code == 200
        assert "no-store" in form.headers["Cache-Control"]
        page = form.get_data(as_text=True)
        assert "checked" not in page and f"ý kiến số {n}" not in page  # fresh and empty
        done = respond(client, FORM | {"a-thai-do": "1", "a-ly-do": f"ý kiến số {n}"})
        assert done.status_code == 302 and done.headers["Location"].endswith(f"{KIOSK}/thanks")
        thanks = client.get(done.headers["Location"])
        assert "no-store" in thanks.headers["Cache-Control"]
        assert f"ý kiến số {n}" not in thanks.get_data(as_text=True)
    assert kiosk_responses(surveys) == ["kiosk"] * 3
    # The ordinary pages' one-per-device cookie was never set by the kiosk.
    intro = client.get(f"/surveys/{SLUG}").get_data(as_text=True)
    assert "Ông/bà đã trả lời khảo sát này" not in intro


def test_a_kiosk_is_rate_limited_and_says_so_in_vietnamese(surveys, client, auth, officer):
    open_kiosk(client, auth, officer)
    assert respond(client).status_code == 302
    too_soon = respond(client)
    assert too_soon.status_code == 429
    assert "Vui lòng đợi" in too_soon.get_data(as_text=True)
    assert 1 <= int(too_soon.headers["Retry-After"]) <= 21
    assert kiosk_responses(surveys) == ["kiosk"]


def test_a_kiosk_ends_when_the_officer_ends_it_or_its_day_is_over(surveys, client, auth, officer):
    surveys.config["KIOSK_RESPONSE_LIMIT"] = "100 per minute"
    open_kiosk(client, auth, officer)
    assert client.get(KIOSK).status_code == 200
    # Ending it: the officer signs in again on the device and confirms.
    auth.login(officer.phone)
    end = f"{KIOSK}/end"
    ended = client.post(end, data={"csrf_token": csrf_token(client, end)})
    assert ended.status_code == 302
    assert client.get(KIOSK).status_code == 403
    with surveys.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.startswith("kiosk."))
            .order_by(AuditEvent.id)
        ).all()
        assert actions == ["kiosk.open", "kiosk.end"]
    # A new kiosk (the officer is still signed in there), then the working day passes.
    open_kiosk(client, auth, officer, login=False)
    assert client.get(KIOSK).status_code == 200
    surveys.config["CLOCK"].now = NOW + timedelta(hours=12, minutes=1)
    assert client.get(KIOSK).status_code == 403
    assert kiosk_responses(surveys) == []


def test_kiosk_refusals(surveys, client, auth, make_user, officer):
    # No kiosk cookie, a forged one: refused.
    assert client.get(KIOSK).status_code == 403
    client.set_cookie("kiosk", "eyJpZCI6ImZvcmdlZCJ9.forged")
    assert client.get(KIOSK).status_code == 403
    assert client.post(KIOSK, data={"csrf_token": "x", **FORM}).status_code in (400, 403)
    # An identified survey needs a person: no kiosk mode.
    assert open_kiosk(client, auth, officer, slug="kenh-thong-tin").status_code == 422
    auth.logout()
    outsider = make_user(role=Role.OFFICER, phone="0912000302", unit=NINH_KIEU)
    assert open_kiosk(client, auth, outsider).status_code == 403  # another commune
    auth.logout()
    resident = make_user(phone="0987000301")
    auth.login(resident.phone)
    assert client.get(f"/officer/entry/{SLUG}/kiosk").status_code == 403
    with surveys.app_context():
        kiosks = select(func.count()).where(AuditEvent.action.startswith("kiosk."))
        assert db.session.scalar(kiosks) == 0


def test_a_kiosk_stops_when_its_officer_is_disabled(surveys, client, auth, officer):
    from app.models import User

    open_kiosk(client, auth, officer)
    assert client.get(KIOSK).status_code == 200
    with surveys.app_context():
        db.session.get(User, officer.id).disabled_at = NOW
        db.session.commit()
    assert client.get(KIOSK).status_code == 403


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_browser_kiosk_takes_three_responses_and_shows_a_fresh_form(
    surveys, page, make_user, officer
):
    """One browser, three people: each sends, sees the thanks, and the back button shows the
    next person an empty form (no-store), not the last answers."""
    surveys.config["KIOSK_RESPONSE_LIMIT"] = "100 per minute"
    sign_in(page, officer.phone)
    page.goto(page.base + f"/officer/entry/{SLUG}/kiosk")
    page.get_by_label("Nơi tính kết quả").select_option(str(VI_THANH))
    follow(page, page.get_by_role("button", name="Mở chế độ kiosk"))
    for n in range(3):
        assert page.url.endswith(KIOSK)
        assert page.locator("input:checked").count() == 0
        assert page.locator("#s-so-lan-n").input_value() == ""
        page.locator("#s-gioi-tinh-2").check()
        page.locator("#s-tuoi-1").check()
        page.locator("#s-thai-do-4").check()
        page.locator("#s-kenh-2").check()
        page.locator('input[name="a-de-xuat-diem"][value="5"]').check()
        page.locator("#s-so-lan-n").fill(str(n + 1))
        for row in (1, 2, 3):
            page.locator(f'input[name="a-danh-gia-chi-tiet-{row}"][value="3"]').check()
        if n == 0:
            page.screenshot(path=f"{SHOTS}/kiosk-form-360.png", full_page=True)
        follow(page, page.get_by_role("button", name="Gửi câu trả lời"))
        assert page.url.endswith(f"{KIOSK}/thanks")
        if n == 0:
            page.screenshot(path=f"{SHOTS}/kiosk-thanks-360.png")
        page.go_back()  # the next person presses Back: the form again, empty
        assert page.url.endswith(KIOSK)
    assert page.locator("input:checked").count() == 0
    assert kiosk_responses(surveys) == ["kiosk"] * 3


def test_the_officer_ends_a_kiosk_from_their_own_phone(surveys, client, auth, make_user, officer):
    """The officer has left the office: from their phone, the hub lists the kiosk and ends it;
    the shared device stops at once. A colleague cannot end it from there."""
    from tests.conftest import AuthActions

    colleague = make_user(role=Role.OFFICER, phone="0912000309", unit=VI_THANH)
    open_kiosk(client, auth, officer)
    assert client.get(KIOSK).status_code == 200
    with surveys.app_context():
        target = select(AuditEvent.target).where(AuditEvent.action == "kiosk.open")
        end = f"/officer/entry/kiosks/{db.session.scalar(target).removeprefix('kiosk:')}/end"

    elsewhere = surveys.test_client()
    AuthActions(elsewhere).login(colleague.phone)
    assert "Kiosk ông/bà đang mở" not in elsewhere.get("/officer/entry/").get_data(as_text=True)
    token = csrf_token(elsewhere, "/officer/entry/")
    assert elsewhere.post(end, data={"csrf_token": token}).status_code == 404
    assert client.get(KIOSK).status_code == 200

    phone = surveys.test_client()
    AuthActions(phone).login(officer.phone)
    assert "Kiosk ông/bà đang mở" in phone.get("/officer/entry/").get_data(as_text=True)
    token = csrf_token(phone, "/officer/entry/")
    assert phone.post(end, data={"csrf_token": token}).status_code == 302
    assert client.get(KIOSK).status_code == 403
    assert "Kiosk ông/bà đang mở" not in phone.get("/officer/entry/").get_data(as_text=True)
    assert phone.post(end, data={"csrf_token": token}).status_code == 404  # already ended
