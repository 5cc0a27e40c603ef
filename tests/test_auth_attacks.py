"""Sign-up, sign-in and sessions as an attacker tries them (OWASP ASVS 5.0 L2, chapters 6-7)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.services import accounts
from tests.conftest import PASSWORD, VI_THANH, csrf_token


def register(client, phone: str, *, name: str = "Lê Thị Thử", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/auth/register",
        json={
            "name": name,
            "phone": phone,
            "password": password,
            "unit": VI_THANH,
            "consent": True,
        },
    )


def accounts_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(User)) or 0)


# -------------------------------------------------------------------------- one person, one


@pytest.mark.parametrize(
    "look_alike",
    [
        "０９１２３４５６７８",  # full-width: the same number, typed on another keyboard
        "0912345678\n",
        "091234567⁸",  # NFKC: a superscript eight is an 8
    ],
)
def test_a_look_alike_of_a_taken_phone_is_the_same_account(client, app, look_alike):
    assert register(client, "0912345678").status_code == 201
    again = register(client, look_alike)
    assert again.status_code == 409
    assert accounts_count(app) == 1


@pytest.mark.parametrize(
    "phone",
    [
        "09١١٠٠٠٠٠١",  # Arabic-Indic digits
        "09١١٠٠٠٠٠١".replace("١", "1", 4),
        "09123456７৪",  # Bengali four
    ],
)
def test_phones_in_other_digits_are_refused(client, app, phone):
    response = register(client, phone)
    assert response.status_code == 422
    assert accounts_count(app) == 0


@pytest.mark.parametrize(
    "name",
    [
        "Lê\u200b Thị Thử",  # zero-width space
        "Lê Thị\u202e ửhT",  # right-to-left override
        "Lê\u200d Thị",  # zero-width joiner
        "Lê\x00Thị",
        "\ufeffLê Thị",
    ],
)
def test_names_with_invisible_characters_are_refused(client, app, name):
    response = register(client, "0912345678", name=name)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "name"
    assert accounts_count(app) == 0


# ---------------------------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    "password",
    [
        "12345678",
        "password",
        " " * 8,
        " " * 12,
        "1234567890",
        "password123",
        "matkhau123",
        "anhyeuem123",
        "0912345678",  # the phone number itself
        "x0912345678",
        "912345678ab",
        "aaaaaaaaaaaa",
        "Password123",  # common, whatever the case
    ],
)
def test_weak_passwords_are_refused_on_every_way_in(client, app, runner, password):
    response = register(client, "0912345678", password=password)
    assert response.status_code == 422, password
    token = csrf_token(client, "/auth/register")
    page = client.post(
        "/auth/register",
        data={
            "csrf_token": token,
            "name": "Lê Thị Thử",
            "phone": "0912345678",
            "unit": str(VI_THANH),
            "password": password,
            "confirm": password,
            "consent": "y",
        },
    )
    assert page.status_code == 422
    cli = runner.invoke(
        args=[
            "users", "create", "--role", "officer", "--unit", "92",
            "--phone", "0912345678", "--name", "Cán bộ", "--password", password,
        ]
    )  # fmt: skip
    assert cli.exit_code != 0
    assert accounts_count(app) == 0


def test_a_good_password_is_accepted(client, app):
    assert register(client, "0912345678", password="cay-lua-mua-nuoi").status_code == 201


# ----------------------------------------------------------------------------------- sessions


def test_sign_out_ends_every_copy_of_the_session_and_every_token(app, make_user, auth, client):
    user = make_user(phone="0912345678")
    token = client.post(
        "/api/v1/auth/token", json={"phone": user.phone, "password": PASSWORD}
    ).get_json()["token"]
    assert auth.login(user.phone).status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/account/").status_code == 200  # the copy works while signed in
    assert auth.logout().status_code == 302
    assert thief.get("/account/").status_code == 302  # to the sign-in page
    assert thief.get("/api/v1/me").status_code == 401
    assert (
        app.test_client()
        .get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 401
    )


def test_a_token_checked_once_still_expires_and_a_forged_one_stays_forged(app, make_user):
    """Token signatures are checked once per token and process (app/services/tokens.py): the
    expiry and the account must still be checked on every call, and a token altered by one
    character is another token, refused."""
    import time
    from datetime import timedelta

    from app.models.types import utcnow
    from app.services.tokens import issue_token

    user = make_user(phone="0912345678")
    lifetime = timedelta(days=1)
    with app.app_context():
        token, expires = issue_token(
            app.config["SECRET_KEY"], user, utcnow() - lifetime + timedelta(seconds=2), lifetime
        )
    client = app.test_client()
    me = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=me).status_code == 200
    assert client.get("/api/v1/me", headers=me).status_code == 200  # the checked signature
    forged = ("f" if token[0] != "f" else "g") + token[1:]  # the payload's first character
    refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401
    # Long strings sent as tokens are refused and not remembered (the cache holds short ones).
    from app.services.tokens import TOKEN_CACHED_MAX, _verified

    cached = _verified.cache_info().currsize
    sprayed = {"Authorization": f"Bearer {'x' * (TOKEN_CACHED_MAX + 1)}"}
    assert client.get("/api/v1/me", headers=sprayed).status_code == 401
    assert _verified.cache_info().currsize == cached
    assert len(token) <= TOKEN_CACHED_MAX  # the tokens we issue are cached
    time.sleep(max(0.0, (expires - utcnow()).total_seconds()) + 1.1)
    assert client.get("/api/v1/me", headers=me).status_code == 401  # expired since


@pytest.mark.parametrize(
    "late", ["/static/favicon.svg", "/static/js/hamlet_field.js", "/api/v1/units?parent=31321"]
)
def test_a_late_answer_to_an_earlier_request_does_not_undo_a_sign_in(
    app, make_user, auth, client, late
):
    """A browser sends the page's favicon, a script or a fetch with the cookie it had, and the
    person signs in meanwhile. Were the late answer to set the session cookie again (a refresh
    of the idle timeout), it would put back the cookie from before the sign-in: signed out, and
    the sign-up form's CSRF token gone (a 400 seen in CI). Only pages refresh the session."""
    user = make_user(phone="0912345678")
    client.get("/auth/login")  # the page's session: its CSRF token
    before = client.get_cookie("session")
    assert before is not None
    assert auth.login(user.phone).status_code == 302
    assert client.get("/account/").status_code == 200

    stale = app.test_client()  # the request sent before the sign-in, with the cookie of then
    stale.set_cookie("session", before.value)
    answer = stale.get(late)
    assert answer.status_code == 200
    assert not any(
        header.startswith("session=") for header in answer.headers.getlist("Set-Cookie")
    ), "the late answer sets the session cookie of before the sign-in"


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, make_user, auth, client):
    user = make_user(phone="0912345678")
    other = app.test_client()
    token = csrf_token(other, "/auth/login")
    other.post("/auth/login", data={"phone": user.phone, "password": PASSWORD, "csrf_token": token})
    assert other.get("/account/").status_code == 200
    auth.login(user.phone)
    url = "/account/password"
    wrong = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "current": "not-my-password",
            "password": "song-hau-ben-cau",
            "confirm": "song-hau-ben-cau",
        },
    )
    assert wrong.status_code == 422
    assert other.get("/account/").status_code == 200  # nothing changed
    weak = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "current": PASSWORD,
            "password": "1234567890",
            "confirm": "1234567890",
        },
    )
    assert weak.status_code == 422
    done = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "current": PASSWORD,
            "password": "song-hau-ben-cau",
            "confirm": "song-hau-ben-cau",
        },
    )
    assert done.status_code == 302
    assert client.get("/account/").status_code == 200  # this browser stays signed in
    assert other.get("/account/").status_code == 302  # the other one is signed out
    assert (
        app.test_client()
        .post("/api/v1/auth/token", json={"phone": user.phone, "password": "song-hau-ben-cau"})
        .status_code
        == 200
    )


def test_a_forged_session_id_is_no_session(app, client):
    with client.session_transaction() as session:
        session["_user_id"] = "²³.abc"
    assert client.get("/account/").status_code == 302


# -------------------------------------------------------------------------------- rate limits


def wrong_try(app, phone: str, address: str = "127.0.0.1") -> int:  # type: ignore[no-untyped-def]
    return (
        app.test_client()
        .post(
            "/api/v1/auth/token",
            json={"phone": phone, "password": "not-the-password"},
            environ_base={"REMOTE_ADDR": address},
        )
        .status_code
    )


def test_failed_sign_ins_lock_the_phone_not_the_address(app, make_user):
    victim = make_user(phone="0912345678")
    neighbour = make_user(phone="0912345679")
    assert [wrong_try(app, victim.phone) for _ in range(6)] == [401] * 5 + [429]
    ok = app.test_client().post(
        "/api/v1/auth/token", json={"phone": neighbour.phone, "password": PASSWORD}
    )
    assert ok.status_code == 200  # same address (carrier NAT): the neighbour still signs in


def test_an_address_is_limited_only_past_a_much_higher_bound(app):
    codes = [wrong_try(app, f"09{i:08d}") for i in range(101)]
    assert codes[:100] == [401] * 100 and codes[100] == 429


def test_concurrent_tries_get_no_more_password_checks_than_the_limit(app, make_user, monkeypatch):
    """Counted by one atomic operation before the check: 40 tries at once, 5 checks."""
    victim = make_user(phone="0912345678")
    checks = 0
    lock = threading.Lock()
    real = accounts.authenticate

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal checks
        with lock:
            checks += 1
        return real(*args, **kwargs)

    monkeypatch.setattr("app.api.auth.authenticate", counting)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: wrong_try(app, victim.phone), range(40)))
    assert checks == 5
    assert sorted(codes) == [401] * 5 + [429] * 35


@pytest.mark.parametrize("storage", ["redis://127.0.0.1:6379/15"])
def test_concurrent_tries_are_counted_atomically_in_redis(app_factory, make_user, storage):
    shared = app_factory(
        RATELIMIT_STORAGE_URI=storage, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}"
    )
    victim = make_user(phone="0912345678")
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: wrong_try(shared, victim.phone), range(40)))
    assert sorted(codes) == [401] * 5 + [429] * 35


def test_the_real_client_address_behind_the_configured_proxy(app_factory, make_user):
    proxied = app_factory(TRUSTED_PROXIES=1)
    with proxied.app_context():
        from app.extensions import limiter

        limiter.reset()

    def try_from(client_address: str) -> int:
        return (
            proxied.test_client()
            .post(
                "/api/v1/auth/token",
                json={"phone": "0900000001", "password": "not-the-password"},
                headers={"X-Forwarded-For": client_address},
                environ_base={"REMOTE_ADDR": "127.0.0.1"},  # nginx
            )
            .status_code
        )

    # Per-address bound: 100 tries from one client; another client behind the same proxy is
    # not affected (the phone counter aside: each try uses another phone).
    codes = [
        proxied.test_client()
        .post(
            "/api/v1/auth/token",
            json={"phone": f"09{i:08d}", "password": "x"},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        .status_code
        for i in range(101)
    ]
    assert codes[-1] == 429
    assert try_from("198.51.100.9") == 401


def test_around_the_proxy_a_forged_forwarded_for_does_not_escape_the_limit(app_factory):
    """A node reachable directly (around nginx) takes a client at its own address: rotating
    X-Forwarded-For does not give it a fresh per-address allowance."""
    proxied = app_factory(TRUSTED_PROXIES=1)
    with proxied.app_context():
        from app.extensions import limiter

        limiter.reset()
    codes = [
        proxied.test_client()
        .post(
            "/api/v1/auth/token",
            json={"phone": f"09{i:08d}", "password": "x"},
            headers={"X-Forwarded-For": f"198.51.100.{i % 250}"},
            environ_base={"REMOTE_ADDR": "203.0.113.50"},
        )
        .status_code
        for i in range(101)
    ]
    assert codes[-1] == 429


def test_without_trusted_proxies_the_forwarded_header_is_ignored(app):
    codes = [
        app.test_client()
        .post(
            "/api/v1/auth/token",
            json={"phone": f"09{i:08d}", "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{i % 200}"},  # spoofed: one per try
        )
        .status_code
        for i in range(101)
    ]
    assert codes[-1] == 429  # all counted against the real address


def test_survey_submissions_are_limited_per_account_not_per_address(app, make_user):
    from datetime import UTC, datetime

    from tests.conftest import load_content, set_clock
    from tests.test_surveys import FULL, GOOD

    now = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
    set_clock(app, now)
    load_content(app, [("full.yaml", FULL)], now)
    people = [make_user(phone=f"09876500{i:02d}") for i in range(32)]
    codes = []
    for person in people:  # 32 residents on one commune office's Wi-Fi
        client = app.test_client()
        token = client.post(
            "/api/v1/auth/token",
            json={"phone": person.phone, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        ).get_json()["token"]
        codes.append(
            client.post(
                "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
                headers={"Authorization": f"Bearer {token}"},
                json={"answers": GOOD},
                environ_base={"REMOTE_ADDR": "127.0.0.1"},
            ).status_code
        )
    assert codes == [201] * 32


@pytest.mark.parametrize("year", ["١٩٨٥", "１９８５", "198²", "1e3"])
def test_a_birth_year_in_other_digits_is_refused(client, app, year):
    token = csrf_token(client, "/auth/register")
    page = client.post(
        "/auth/register",
        data={
            "csrf_token": token,
            "name": "Lê Thị Thử",
            "phone": "0912345678",
            "unit": str(VI_THANH),
            "password": PASSWORD,
            "confirm": PASSWORD,
            "birth_year": year,
            "consent": "y",
        },
    )
    assert page.status_code == 422
    assert accounts_count(app) == 0
