"""The proof-of-work challenge under attack (issue 19, point 5): off by default; `on`; `auto`
above a sign-up rate; the ALTCHA payload (API header, the widget's form field) and the text
question for pages without JavaScript; each solved challenge accepted once."""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import altcha
import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.challenge import WORDS
from app.config import TestingConfig
from app.extensions import db
from app.models import Attempt, Round, User
from tests.conftest import PASSWORD, VI_THANH, csrf_token, load_content, set_clock
from tests.test_attempts import bank_yaml
from tests.test_eligibility import OPEN_TO_ALL

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def registration(n: int) -> dict[str, Any]:
    return {
        "name": "Lê Văn Tám",
        "phone": f"09123400{n:02d}",
        "password": PASSWORD,
        "unit": VI_THANH,
        "consent": True,
    }


def solved(client: Any) -> str:
    """Fetch a challenge from the API and solve it, as a client script would."""
    challenge = altcha.Challenge.from_dict(client.get("/api/v1/challenge").get_json()["challenge"])
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


@pytest.fixture
def challenged(app: Flask) -> Flask:
    app.config.update(CHALLENGE="on", CHALLENGE_COST=10)
    return app


def users(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id))) or 0


def test_the_vendored_widget_matches_its_pins() -> None:
    spec = importlib.util.spec_from_file_location("vendor", ROOT / "scripts" / "vendor_altcha.py")
    assert spec and spec.loader
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    for target, digest in vendor.FILES.values():
        path = vendor.VENDOR / target
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, target


def test_an_unknown_mode_stops_the_app_at_start() -> None:
    class Wrong(TestingConfig):
        CHALLENGE = "sometimes"

    with pytest.raises(RuntimeError, match="CHALLENGE"):
        create_app(Wrong)


def test_off_by_default_nothing_is_asked(app, client) -> None:
    assert app.config["CHALLENGE"] == "off"
    assert client.get("/api/v1/challenge").get_json()["active"] is False
    assert client.post("/api/v1/auth/register", json=registration(1)).status_code == 201
    assert "challenge_answer" not in client.get("/auth/register").get_data(as_text=True)


# ------------------------------------------------------------------------------ the API


def test_api_register_needs_a_solved_challenge_once(challenged, client) -> None:
    missing = client.post("/api/v1/auth/register", json=registration(1))
    assert missing.status_code == 403
    assert missing.get_json()["error"]["details"][0]["field"] == "challenge"
    payload = solved(client)
    headers = {"X-Altcha": payload}
    ok = client.post("/api/v1/auth/register", json=registration(1), headers=headers)
    assert ok.status_code == 201
    replay = client.post("/api/v1/auth/register", json=registration(2), headers=headers)
    assert replay.status_code == 403  # the same solved challenge, again
    assert users(challenged) == 1


def test_forged_tampered_and_expired_payloads_are_refused(challenged, client) -> None:
    challenge = altcha.Challenge.from_dict(client.get("/api/v1/challenge").get_json()["challenge"])
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    wrong_counter = altcha.Solution(solution.counter + 1, solution.derived_key)
    own_key = altcha.create_challenge("PBKDF2/SHA-256", 10, hmac_secret="not-the-server's")
    own = altcha.Payload(own_key, altcha.solve_challenge(own_key))  # type: ignore[arg-type]
    expired_challenge = altcha.create_challenge(
        "PBKDF2/SHA-256", 10, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    unsigned = altcha.Payload(expired_challenge, altcha.solve_challenge(expired_challenge))  # type: ignore[arg-type]
    for bad in (
        altcha.Payload(challenge, wrong_counter).to_base64(),
        own.to_base64(),
        unsigned.to_base64(),
        "bm90IGpzb24=",
        "%%%",
        "x" * 5000,
    ):
        response = client.post(
            "/api/v1/auth/register", json=registration(3), headers={"X-Altcha": bad}
        )
        assert response.status_code == 403, bad[:40]
    assert users(challenged) == 0


def test_a_payload_raced_from_many_clients_is_accepted_once(challenged, client) -> None:
    payload = solved(client)

    def register(n: int) -> int:
        with challenged.test_client() as own:
            response = own.post(
                "/api/v1/auth/register", json=registration(n), headers={"X-Altcha": payload}
            )
            return int(response.status_code)

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(register, range(10, 16)))
    assert sorted(statuses) == [201] + [403] * 5
    assert users(challenged) == 1


def test_auto_mode_asks_once_signups_pass_the_rate(app, client) -> None:
    app.config.update(CHALLENGE="auto", CHALLENGE_AUTO_SIGNUPS_PER_MINUTE=3, CHALLENGE_COST=10)
    statuses = [
        client.post("/api/v1/auth/register", json=registration(n)).status_code for n in range(5)
    ]
    assert statuses == [201, 201, 201, 403, 403]
    assert client.get("/api/v1/challenge").get_json()["active"] is True
    ok = client.post(
        "/api/v1/auth/register", json=registration(9), headers={"X-Altcha": solved(client)}
    )
    assert ok.status_code == 201


def test_api_start_needs_the_challenge_too(challenged, client, make_user) -> None:
    set_clock(challenged, START)
    load_content(challenged, [("b.yaml", bank_yaml()), ("c.yaml", OPEN_TO_ALL)], START)
    with challenged.app_context():
        round_id = db.session.scalar(select(Round.id))
    user = make_user()
    token = client.post("/api/v1/auth/token", json={"phone": user.phone, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    url = f"/api/v1/rounds/{round_id}/attempts"
    assert client.post(url, headers=headers).status_code == 403
    started = client.post(url, headers={**headers, "X-Altcha": solved(client)})
    assert started.status_code == 201
    # A start again while that attempt is in progress, with a fresh solved challenge: it is
    # answered with the attempt (200). Its payload is spent once, whichever way through the
    # start it went (a payload checked on one path and again on another would be refused the
    # second time as a replay).
    again = client.post(url, headers={**headers, "X-Altcha": solved(client)})
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["id"] == started.get_json()["id"]


@pytest.mark.parametrize("offset", [timedelta(hours=-3), timedelta(days=2)])
def test_a_challenge_lives_ten_minutes_of_wall_time_whatever_the_app_clock(
    challenged, client, offset
) -> None:
    """The verifier (the `altcha` package, itsdangerous for the text question) reads the wall
    clock, so the expiry it is handed must be wall-clock too: a challenge given out while the
    app's clock is set elsewhere (a test's, the demo's) is neither dead on arrival nor alive for
    days. Failed before the fix (the expiry was the app clock's now + 10 minutes: 403 for a clock
    set three hours back, and a challenge good for two days with one set ahead)."""
    set_clock(challenged, datetime.now(UTC) + offset)
    body = client.get("/api/v1/challenge").get_json()["challenge"]
    expires_at = body["parameters"]["expiresAt"]
    wall = datetime.now(UTC).timestamp()
    assert wall + 9 * 60 <= expires_at <= wall + 11 * 60
    ok = client.post(
        "/api/v1/auth/register", json=registration(7), headers={"X-Altcha": solved(client)}
    )
    assert ok.status_code == 201
    page = client.get("/auth/register").get_data(as_text=True)
    widget = re.search(r'data-altcha-challenge="([^"]+)"', page)
    assert widget is not None
    on_page = json.loads(html.unescape(widget.group(1)))["parameters"]["expiresAt"]
    assert wall + 9 * 60 <= on_page <= wall + 11 * 60


# ------------------------------------------------------------------ pages without script


def text_answer(page: str) -> str:
    """Read the sum in words as a person would, and answer in digits."""
    match = re.search(r'<label for="challenge_answer"[^>]*>([^<]+)</label>', page)
    assert match, "no text question on the page"
    words = re.findall(r"\w+", match.group(1).lower())
    numbers = [WORDS.index(w) for w in words if w in WORDS]
    assert len(numbers) == 2, match.group(1)
    return str(sum(numbers))


def token_of(page: str) -> str:
    match = re.search(r'name="challenge_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def register_form(client: Any, n: int) -> tuple[dict[str, str], str]:
    page = client.get("/auth/register").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(client, "/auth/register"),
        "name": "Lê Văn Tám",
        "phone": f"09123400{n:02d}",
        "unit": str(VI_THANH),
        "password": PASSWORD,
        "confirm": PASSWORD,
        "consent": "y",
    }
    return data, page


def test_sign_up_page_without_script_asks_a_sum_in_words(challenged, client) -> None:
    data, page = register_form(client, 1)
    assert "cộng" in page and "altcha.min.js" in page  # the question, and the widget for JS
    wrong = str((int(text_answer(page)) + 1) % 19)
    refused = client.post(
        "/auth/register",
        data={**data, "challenge_token": token_of(page), "challenge_answer": wrong},
    )
    assert refused.status_code == 422
    again = refused.get_data(as_text=True)
    assert "Lê Văn Tám" in again  # nothing typed is lost
    assert "tự động" in again  # the reason, in Vietnamese
    assert users(challenged) == 0
    # The token of a wrong answer is spent: the right answer with it is refused too.
    spent = client.post(
        "/auth/register",
        data={**data, "challenge_token": token_of(page), "challenge_answer": text_answer(page)},
    )
    assert spent.status_code == 422
    fresh = client.get("/auth/register").get_data(as_text=True)
    done = client.post(
        "/auth/register",
        data={**data, "challenge_token": token_of(fresh), "challenge_answer": text_answer(fresh)},
    )
    assert done.status_code == 302 and users(challenged) == 1


def test_a_solved_text_token_is_not_accepted_twice(challenged, client, app_factory) -> None:
    data, page = register_form(client, 1)
    answer = {"challenge_token": token_of(page), "challenge_answer": text_answer(page)}
    assert client.post("/auth/register", data={**data, **answer}).status_code == 302
    other = challenged.test_client()
    data2, _page = register_form(other, 2)
    assert other.post("/auth/register", data={**data2, **answer}).status_code == 422
    assert users(challenged) == 1


def test_the_widget_payload_passes_the_sign_up_form(challenged, client) -> None:
    data, _page = register_form(client, 1)
    created = client.post("/auth/register", data={**data, "altcha": solved(client)})
    assert created.status_code == 302 and users(challenged) == 1


def test_start_page_asks_before_drawing(challenged, client, auth, make_user) -> None:
    set_clock(challenged, START)
    load_content(challenged, [("b.yaml", bank_yaml()), ("c.yaml", OPEN_TO_ALL)], START)
    with challenged.app_context():
        round_id = db.session.scalar(select(Round.id))
    auth.login(make_user().phone)
    round_page = f"/contests/rounds/{round_id}"
    page = client.get(round_page).get_data(as_text=True)
    token = csrf_token(client, round_page)
    refused = client.post(f"{round_page}/start", data={"csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"].endswith(round_page)
    with challenged.app_context():
        assert db.session.scalar(select(func.count(Attempt.id))) == 0
    page = client.get(round_page).get_data(as_text=True)
    started = client.post(
        f"{round_page}/start",
        data={
            "csrf_token": token,
            "challenge_token": token_of(page),
            "challenge_answer": text_answer(page),
        },
    )
    assert started.status_code == 302 and "/contests/attempts/" in started.headers["Location"]
