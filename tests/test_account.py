"""A person sees, downloads and erases their own data."""

import json

from sqlalchemy import func, select

from app.extensions import db
from app.models import Consent, User
from tests.conftest import VI_THANH, csrf_token


def test_profile_and_download_show_everything_kept(client, auth, make_user):
    make_user(phone="0987654321", name="Đỗ Thị Hoa")
    auth.login("0987654321")
    page = client.get("/account/").get_data(as_text=True)
    assert "Đỗ Thị Hoa" in page and "0987654321" in page and "Phường Vị Thanh" in page
    download = client.get("/account/data.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    data = json.loads(download.get_data(as_text=True))
    assert data["account"]["name"] == "Đỗ Thị Hoa"
    assert data["account"]["unit"]["code"] == VI_THANH
    assert len(data["consents"]) == 1


def test_delete_page_explains_before_confirming(client, auth, make_user):
    make_user(phone="0987654321")
    auth.login("0987654321")
    page = client.get("/account/delete").get_data(as_text=True)
    assert "placeholder" in page or "ẩn danh" in page
    token = csrf_token(client, "/account/delete")
    unconfirmed = client.post("/account/delete", data={"csrf_token": token})
    assert unconfirmed.status_code == 422
    assert client.get("/account/").status_code == 200  # still there


def test_delete_erases_personal_fields_and_keeps_a_placeholder(app, client, auth, make_user):
    user = make_user(phone="0987654321", name="Đỗ Thị Hoa")
    auth.login("0987654321")
    token = csrf_token(client, "/account/delete")
    response = client.post("/account/delete", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 302  # signed out
    with app.app_context():
        row = db.session.get(User, user.id)
        assert (row.name, row.phone, row.password_hash, row.birth_year, row.gender) == (
            None,
            None,
            None,
            None,
            None,
        )
        assert row.deleted_at is not None and row.unit_code == VI_THANH  # still counted
        assert (
            db.session.scalar(select(func.count(Consent.id)).where(Consent.user_id == user.id)) == 1
        )
    assert auth.login("0987654321").status_code == 401
    # The phone number is free again for a new account.
    make_user(phone="0987654321")


def test_old_session_cookie_dies_with_the_account(app, make_user):
    make_user(phone="0987654321")
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        token = csrf_token(browser, "/auth/login")
        browser.post(
            "/auth/login",
            data={"phone": "0987654321", "password": "mat-khau-thu-nghiem", "csrf_token": token},
        )
        assert browser.get("/account/").status_code == 200
    token = csrf_token(first, "/account/delete")
    first.post("/account/delete", data={"csrf_token": token, "confirm": "y"})
    assert second.get("/account/").status_code == 302
