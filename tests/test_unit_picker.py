"""The commune picker without a browser: the search step of sign-up, the anonymous survey's
first page and the officers' results pages; the API and the step answer with one rule."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Role, Round, User
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, csrf_token, load_content, set_clock

VI_THANH_1 = 31465  # Xã Vị Thanh 1
TYPED = {
    "name": "Trần Thị Hoa",
    "phone": "0987 654 321",
    "password": "mat-khau-cua-hoa",
    "confirm": "mat-khau-cua-hoa",
    "birth_year": "1979",
    "gender": "female",
    "consent": "y",
}


def radios(page: str, name: str = "unit") -> list[tuple[int, str]]:
    """(code, label) of the picker's radio buttons, in page order."""
    found = re.findall(
        rf'<input class="form-check-input" type="radio" name="{name}" id="{name}-(\d+)"'
        rf'.*?<label class="form-check-label" for="{name}-\1">([^<]+)</label>',
        page,
    )
    return [(int(code), html.unescape(label)) for code, label in found]


def value_of(page: str, field: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{field}"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    return html.unescape(value.group(1)) if value else None


def test_sign_up_labels_the_phone_hint_and_the_search_field(client):
    page = client.get("/auth/register").get_data(as_text=True)
    phone = re.search(r'<input[^>]*id="phone"[^>]*>', page).group(0)
    assert 'aria-describedby="phone-hint"' in phone and "description=" not in phone
    hint = re.search(r'<div class="form-text" id="phone-hint">([^<]+)</div>', page)
    assert hint and "tên đăng nhập" in hint.group(1)
    assert '<label class="form-label" for="unit-q">' in page  # the search field has a label
    assert 'role="status" aria-live="polite"' in page
    assert page.count('<option value="3') == 103  # the whole list still works alone
    assert 'src="/static/js/unit_picker.js' in page


@pytest.mark.parametrize("typed", ["vi thanh", "vị thanh", "VỊ  THANH", "  Phường  Vị Thanh "])
def test_sign_up_search_step_offers_the_matches_and_keeps_everything_typed(app, client, typed):
    token = csrf_token(client, "/auth/register")
    step = client.post(
        "/auth/register",
        data=TYPED | {"csrf_token": token, "unit_q": typed, "unit_search": "1"},
    )
    assert step.status_code == 200
    page = step.get_data(as_text=True)
    offered = radios(page)
    assert offered[0] == (VI_THANH, "Phường Vị Thanh")
    assert {code for code, _ in offered} <= {VI_THANH, VI_THANH_1}
    for field in ("name", "phone", "birth_year"):
        assert value_of(page, field) == TYPED[field], field  # nothing typed is lost
    for field in ("password", "confirm"):  # but a password is never written into a page
        assert TYPED[field] not in page and not value_of(page, field), field
    assert re.search(r'<option selected value="female">|<option value="female" selected', page)
    consent = re.search(r'<input[^>]*id="consent"[^>]*>', page).group(0)
    assert re.search(r"\bchecked\b", consent)
    assert "Vui lòng" not in page  # the step checks nothing, so it blames nothing
    assert "no-store" in step.headers["Cache-Control"]  # what was typed is not kept
    with app.app_context():
        assert db.session.scalar(select(User)) is None
    # The person picks the offered ward and signs up.
    done = client.post(
        "/auth/register",
        data=TYPED | {"csrf_token": token, "unit_q": typed, "unit": str(VI_THANH)},
    )
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User.unit_code)) == VI_THANH


def test_sign_up_search_step_says_when_nothing_matches(client):
    token = csrf_token(client, "/auth/register")
    page = client.post(
        "/auth/register",
        data=TYPED | {"csrf_token": token, "unit_q": "phuong 5", "unit_search": "1"},
    ).get_data(as_text=True)
    assert radios(page) == []
    assert "Không tìm thấy" in page and "“phuong 5”" in page
    assert page.count('<option value="3') == 103  # the whole list instead


def test_a_refused_sign_up_keeps_the_search_and_the_choice(client):
    token = csrf_token(client, "/auth/register")
    refused = client.post(
        "/auth/register",
        data=TYPED
        | {"csrf_token": token, "unit_q": "vi thanh", "unit": str(VI_THANH), "consent": ""},
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert re.search(rf'id="unit-{VI_THANH}" value="{VI_THANH}" checked', page)


def test_search_steps_do_not_use_up_the_sign_up_limit(client):
    token = csrf_token(client, "/auth/register")
    for _ in range(25):  # more than REGISTRATIONS (20 per hour)
        step = client.post(
            "/auth/register", data={"csrf_token": token, "unit_q": "ninh", "unit_search": "1"}
        )
        assert step.status_code == 200
    done = client.post("/auth/register", data=TYPED | {"csrf_token": token, "unit": NINH_KIEU})
    assert done.status_code == 302


@pytest.mark.parametrize("typed", ["vi thanh", "ninh kieu", "xa phu huu", "phuong", "zzz", "5"])
def test_the_api_and_the_search_step_answer_alike(client, typed):
    api = client.get("/api/v1/units", query_string={"q": typed, "level": "commune"}).get_json()
    token = csrf_token(client, "/auth/register")
    page = client.post(
        "/auth/register", data={"csrf_token": token, "unit_q": typed, "unit_search": "1"}
    ).get_data(as_text=True)
    assert [code for code, _ in radios(page)] == [u["code"] for u in api]


def test_anonymous_survey_first_page_searches_by_get_within_its_audience(app, client):
    from tests.test_surveys import FULL, NOW

    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL)], NOW)
    intro = "/surveys/hai-long-chinh-quyen-2026"
    page = client.get(intro).get_data(as_text=True)
    assert 'form="unit-search"' in page and '<form id="unit-search" method="get"' in page
    page = client.get(intro, query_string={"unit_q": "vi thanh", "unit_search": "1"})
    offered = radios(page.get_data(as_text=True))
    assert offered and offered[0] == (VI_THANH, "Phường Vị Thanh")
    token = csrf_token(client, intro)
    started = client.post(
        f"{intro}/page/0",
        data={"csrf_token": token, "action": "start", "unit": str(VI_THANH)},
    )
    assert started.status_code == 200 and f'name="unit" value="{VI_THANH}"' in started.get_data(
        as_text=True
    )


def test_officers_results_page_searches_within_their_scope(app, client, auth, make_user):
    from tests.test_contest_stats import BANK, CONTEST, START

    set_clock(app, START)
    load_content(app, [("b.yaml", BANK), ("c.yaml", CONTEST)], START)
    with app.app_context():
        round_id = db.session.scalar(select(Round.id).order_by(Round.id))
    make_user(role=Role.OFFICER, unit=VI_THANH, phone="0911000021")
    assert auth.login("0911000021").status_code == 302
    page = client.get(
        f"/results/rounds/{round_id}", query_string={"unit_q": "vi thanh", "unit_search": "1"}
    ).get_data(as_text=True)
    # Xã Vị Thanh 1 matches the words but lies outside this officer's scope (Phường Vị Thanh).
    assert radios(page) == [(VI_THANH, "Phường Vị Thanh")]
    make_user(role=Role.LEADER, unit=PROVINCE, phone="0911000022")
    auth.logout()
    assert auth.login("0911000022").status_code == 302
    page = client.get(
        f"/results/rounds/{round_id}", query_string={"unit_q": "vi thanh", "unit_search": "1"}
    ).get_data(as_text=True)
    assert [code for code, _ in radios(page)] == [VI_THANH, VI_THANH_1]
