"""Sign-up, sign-in and sign-out through the web pages, as a browser without JavaScript."""

import unicodedata

from sqlalchemy import select

from app.consent import CONSENT_VERSION
from app.extensions import db
from app.models import Consent, Role, User
from tests.conftest import PASSWORD, VI_THANH, csrf_token


def register_form(client, **overrides):
    data = {
        "name": "Trần Thị Bình",
        "phone": "0912 345 678",
        "unit": str(VI_THANH),
        "password": PASSWORD,
        "confirm": PASSWORD,
        "birth_year": "1990",
        "gender": "female",
        "consent": "y",
        "csrf_token": csrf_token(client, "/auth/register"),
    }
    data.update(overrides)
    return client.post("/auth/register", data=data)


def test_sign_up_page_lists_the_103_communes(client):
    page = client.get("/auth/register").get_data(as_text=True)
    assert page.count('<option value="3') == 103
    assert "Phường Vị Thanh" in page and "Thành phố Cần Thơ</option>" not in page


def test_register_log_out_log_in(app, client, auth):
    response = register_form(client)
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == "0912345678"))
        assert user.name == "Trần Thị Bình" and user.unit_code == VI_THANH
        assert user.role == Role.RESIDENT and user.birth_year == 1990 and user.gender == "female"
        assert user.password_hash.startswith("scrypt:")
        consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id))
        assert consent.version == CONSENT_VERSION and consent.given_at is not None
    assert auth.logout().status_code == 302
    assert client.get("/account/").status_code == 302  # to the sign-in page
    assert auth.login("+84 912 345 678").status_code == 302
    assert client.get("/account/").status_code == 200


def test_nfd_input_is_stored_as_nfc(app, client):
    decomposed = unicodedata.normalize("NFD", "Lê Thị Ánh Tuyết")
    assert register_form(client, name=decomposed).status_code == 302
    with app.app_context():
        stored = db.session.scalar(select(User.name).where(User.phone == "0912345678"))
    assert stored == "Lê Thị Ánh Tuyết" and unicodedata.is_normalized("NFC", stored)


def test_consent_is_required(app, client):
    data = {"consent": ""}
    response = register_form(client, **data)
    assert response.status_code == 422
    assert "purpose" in response.get_data(as_text=True) or "mục đích" in response.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalar(select(User).where(User.phone == "0912345678")) is None


def test_bad_input_keeps_what_was_typed(client):
    response = register_form(client, phone="12345")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "0912345678" in page  # the hint with the expected format
    assert 'value="Trần Thị Bình"' in page  # the name typed stays in the form


def test_same_phone_twice_is_refused(client, make_user):
    make_user(phone="0912345678")
    response = register_form(client)
    assert response.status_code == 409


def test_csrf_refused_without_token(app, client, make_user):
    make_user(phone="0987654321")
    response = client.post("/auth/login", data={"phone": "0987654321", "password": PASSWORD})
    assert response.status_code == 400
    response = client.post(
        "/auth/register",
        data={
            "name": "A",
            "phone": "0912345678",
            "unit": VI_THANH,
            "password": PASSWORD,
            "confirm": PASSWORD,
            "consent": "y",
        },
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User).where(User.phone == "0912345678")) is None


def test_next_is_followed_only_when_local(client, auth, make_user):
    make_user(phone="0987654321")
    response = auth.login("0987654321", next_="/account/")
    assert response.headers["Location"] == "/account/"
    for evil in ("//evil.example", "https://evil.example/x", "/\\evil.example", "///evil.example"):
        auth.logout()
        response = auth.login("0987654321", next_=evil)
        assert response.status_code == 302
        assert response.headers["Location"] == "/", evil


def test_five_wrong_passwords_then_rate_limited(client, auth, make_user):
    make_user(phone="0987654321")
    for _ in range(5):
        assert auth.login("0987654321", password="wrong-password").status_code == 401
    blocked = auth.login("0987654321")  # even the right password waits now
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert client.get("/account/").status_code == 302


def test_successful_sign_ins_are_not_limited(client, auth, make_user):
    make_user(phone="0987654321")
    for _ in range(8):
        assert auth.login("0987654321").status_code == 302
        auth.logout()


def test_failed_sign_ins_limited_per_ip_across_phones_past_a_high_bound(client, auth, make_user):
    """One address is many people behind carrier NAT: five typos there lock no one else out;
    a hundred tries from it are a guessing run (tests/test_auth_attacks.py goes further)."""
    for index in range(5):
        auth.login(f"098765432{index}", password="wrong-password")
    make_user(phone="0912000000")
    assert auth.login("0912000000").status_code == 302
    auth.logout()
    for index in range(100):
        auth.login(f"09800{index:05d}", password="wrong-password")
    assert auth.login("0912000000").status_code == 429


def test_resident_cannot_reach_officer_pages(client, auth, make_user):
    make_user(phone="0987654321")
    auth.login("0987654321")
    assert client.get("/officer/").status_code == 403


def test_officer_sees_participation_in_scope(client, auth, make_user):
    make_user(phone="0987654321")  # a resident of Vị Thanh
    make_user(role=Role.OFFICER, phone="0911111111")
    auth.login("0911111111")
    page = client.get("/officer/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Phường Vị Thanh" in text and "Phường Ninh Kiều" in text


def test_commune_officer_sees_only_their_commune(client, auth, make_user):
    make_user(role=Role.OFFICER, phone="0911111111", unit=VI_THANH)
    auth.login("0911111111")
    text = client.get("/officer/").get_data(as_text=True)
    assert "Phường Vị Thanh" in text and "Phường Ninh Kiều" not in text


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/officer/")
    assert response.status_code == 302 and "/auth/login?next=" in response.headers["Location"]


def test_session_outlives_any_contest(app):
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() >= 2 * 3600
    assert app.config["WTF_CSRF_TIME_LIMIT"] >= 2 * 3600


def test_form_messages_are_vietnamese(client):
    response = register_form(client, birth_year="năm ngoái", unit="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Vui lòng nhập một số nguyên." in page
    assert "Vui lòng chọn xã/phường" in page or "xã hoặc phường" in page


def test_optional_fields_may_be_left_out_entirely(app, client):
    data = {
        "name": "Lý Văn Tư",
        "phone": "0912345678",
        "unit": str(VI_THANH),
        "password": PASSWORD,
        "confirm": PASSWORD,
        "consent": "y",
        "csrf_token": csrf_token(client, "/auth/register"),
    }
    assert client.post("/auth/register", data=data).status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == "0912345678"))
        assert (user.birth_year, user.gender) == (None, None)


def test_passwords_are_hashed_at_werkzeug_s_production_cost(real_password_cost):
    """The suite hashes cheaply (tests/conftest.py); the app itself hashes with Werkzeug's
    default scrypt, and checks an unknown phone against a dummy hash of the same cost."""
    from werkzeug.security import generate_password_hash

    from app.services import accounts

    default = generate_password_hash("x").split("$")[0]  # "scrypt:32768:8:1" on Werkzeug 3.1
    assert default.startswith("scrypt:") and int(default.split(":")[1]) >= 2**15
    assert accounts.hash_password(PASSWORD).split("$")[0] == default
    assert accounts._DUMMY_HASH.split("$")[0] == default
