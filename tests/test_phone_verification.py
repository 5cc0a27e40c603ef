"""Phone verification (issue 19, point 1): the senders, the codes, the send limits, the API.

Codes are read from the outbox file (SMS_OUTBOX) as the resident would read their phone; the
HTTP senders talk to a fake gateway on 127.0.0.1 that records what it received."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import PhoneCode, User
from app.sms import HttpSmsSender, Message, OutboxSender, SendError, ZaloZnsSender, sender_for
from tests.conftest import PASSWORD, set_clock

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


# ------------------------------------------------------------------------ a fake gateway


class FakeGateway:
    """A JSON endpoint on 127.0.0.1 that records each request and answers as told. Python's
    own http.server, not Werkzeug's: Werkzeug drops headers with "_" in their name, and ZNS
    authenticates with one (`access_token`)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.answer: Any = {"error": 0, "message": "Success"}
        self.delay = 0.0
        self._released = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fake.received.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "json": json.loads(self.rfile.read(length) or b"null"),
                    }
                )
                if fake.delay:
                    fake._released.wait(fake.delay)
                body = json.dumps(fake.answer).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_port}/send"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self._released.set()
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway()
    yield fake
    fake.close()


MESSAGE = Message(to="0912345678", text="Mã xác minh của ông/bà là 123456.", code="123456")


def test_outbox_appends_one_json_line_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "deep" / "outbox.jsonl"
    sender = OutboxSender(outbox)
    sender.send(MESSAGE)
    sender.send(Message(to="0987654321", text="hai", code="000001"))
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [(m["to"], m["text"]) for m in lines] == [
        ("0912345678", MESSAGE.text),
        ("0987654321", "hai"),
    ]
    assert all(datetime.fromisoformat(m["at"]).tzinfo is not None for m in lines)


def test_outbox_that_cannot_be_written_is_a_send_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SendError):
        OutboxSender(tmp_path / "file" / "outbox.jsonl").send(MESSAGE)


def test_http_sms_posts_json_with_the_token(gateway: FakeGateway) -> None:
    HttpSmsSender(gateway.url, "bi-mat", timeout=2).send(MESSAGE)
    (request,) = gateway.received
    assert request["json"] == {"to": "0912345678", "text": MESSAGE.text}
    assert request["headers"]["authorization"] == "Bearer bi-mat"
    assert request["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_http_sms_error_status_is_a_send_error(gateway: FakeGateway, status: int) -> None:
    gateway.status = status
    with pytest.raises(SendError):
        HttpSmsSender(gateway.url, "t", timeout=2).send(MESSAGE)


def test_http_sms_timeout_is_a_send_error(gateway: FakeGateway) -> None:
    gateway.delay = 3.0
    with pytest.raises(SendError):
        HttpSmsSender(gateway.url, "t", timeout=0.3).send(MESSAGE)


def test_unreachable_gateway_is_a_send_error() -> None:
    fake = FakeGateway()
    url = fake.url
    fake.close()
    with pytest.raises(SendError):
        HttpSmsSender(url, "t", timeout=1).send(MESSAGE)


def test_zalo_zns_sends_the_template_with_the_code(gateway: FakeGateway) -> None:
    ZaloZnsSender("zalo-token", "375847", url=gateway.url, timeout=2).send(MESSAGE)
    (request,) = gateway.received
    body = request["json"]
    assert request["headers"]["access_token"] == "zalo-token"
    assert body["phone"] == "84912345678"
    assert body["template_id"] == "375847"
    assert body["template_data"] == {"otp": "123456"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["tracking_id"])


@pytest.mark.parametrize("answer", [{"error": -124, "message": "Invalid token"}, "x", None])
def test_zalo_refusal_is_a_send_error(gateway: FakeGateway, answer: Any) -> None:
    gateway.answer = answer
    with pytest.raises(SendError):
        ZaloZnsSender("t", "1", url=gateway.url, timeout=2).send(MESSAGE)


def test_the_configuration_picks_the_sender(tmp_path: Path) -> None:
    outbox = str(tmp_path / "o.jsonl")
    assert isinstance(sender_for({"SMS_OUTBOX": outbox}), OutboxSender)
    http = sender_for({"SMS_OUTBOX": outbox, "SMS_HTTP_URL": "http://x", "SMS_HTTP_TOKEN": "t"})
    assert isinstance(http, HttpSmsSender) and http.token == "t"
    zalo = sender_for(
        {"SMS_OUTBOX": outbox, "SMS_HTTP_URL": "http://x", "ZALO_ZNS_ACCESS_TOKEN": "z"}
    )
    assert isinstance(zalo, ZaloZnsSender) and zalo.url.startswith("https://business.openapi")


# ---------------------------------------------------------------------- codes over the API


@pytest.fixture
def outbox(app: Flask, tmp_path: Path) -> Path:
    path = tmp_path / "outbox.jsonl"
    app.config["SMS_OUTBOX"] = str(path)
    return path


def codes(outbox: Path, phone: str) -> list[str]:
    if not outbox.exists():
        return []
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    found = [re.search(r"\b([0-9]{6})\b", m["text"]) for m in lines if m["to"] == phone]
    return [m.group(1) for m in found if m]


def bearer(client: Any, phone: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", json={"phone": phone, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


def verify(client: Any, headers: dict[str, str], ip: str = "10.0.0.1", **body: Any) -> Any:
    return client.post(
        "/api/v1/auth/verify", json=body, headers=headers, environ_base={"REMOTE_ADDR": ip}
    )


def test_verify_flow_through_the_api(app, client, make_user, outbox) -> None:
    user = make_user(phone="0912345678")
    set_clock(app, NOW)
    headers = bearer(client, user.phone)
    assert client.get("/api/v1/me", headers=headers).get_json()["phone_verified"] is False
    sent = verify(client, headers)
    assert sent.status_code == 202
    assert sent.get_json()["phone_masked"] == "0912***678"
    (code,) = codes(outbox, "0912345678")
    assert code not in sent.get_data(as_text=True)
    with app.app_context():  # stored hashed, never as typed
        row = db.session.scalar(select(PhoneCode))
        assert row is not None and code not in row.code_hash and len(row.code_hash) == 64
    done = verify(client, headers, code=code)
    assert done.status_code == 200 and done.get_json() == {"verified": True}
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["phone_verified"] is True and me["phone_masked"] == "0912***678"
    again = verify(client, headers, code=code)  # used once
    assert again.status_code == 422
    assert verify(client, headers).status_code == 409  # already verified: nothing sent


def test_wrong_codes_void_the_code_after_five(app, client, make_user, outbox) -> None:
    user = make_user(phone="0912345678")
    set_clock(app, NOW)
    headers = bearer(client, user.phone)
    verify(client, headers)
    (code,) = codes(outbox, user.phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    messages = []
    for _ in range(5):
        response = verify(client, headers, code=wrong)
        assert response.status_code == 422
        assert response.get_json()["error"]["details"][0]["field"] == "code"
        messages.append(response.get_json()["error"]["message"])
    assert "4" in messages[0] and "1" in messages[3]
    late = verify(client, headers, code=code)  # the right code, after five wrong ones
    assert late.status_code == 422
    with app.app_context():
        assert db.session.get(User, user.id).verified_phone is None


def test_malformed_codes_are_422_and_not_500(app, client, make_user, outbox) -> None:
    user = make_user()
    headers = bearer(client, user.phone)
    verify(client, headers)
    for bad in ("12345", "1234567", "١٢٣٤٥٦", "abcdef", "", "1" * 21):
        assert verify(client, headers, code=bad).status_code == 422, bad
    response = client.post("/api/v1/auth/verify", json={"code": 123456}, headers=headers)
    assert response.status_code == 422


def test_concurrent_guesses_take_five_tries_at_most(app, client, make_user, outbox) -> None:
    user = make_user(phone="0912345678")
    set_clock(app, NOW)
    headers = bearer(client, user.phone)
    verify(client, headers)
    (code,) = codes(outbox, user.phone)
    guesses = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 16)]

    def guess(value: str) -> int:
        with app.test_client() as own:
            return int(verify(own, headers, code=value).status_code)

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(guess, guesses)) == {422}
    with app.app_context():
        row = db.session.scalar(select(PhoneCode))
        assert row is None or row.tries <= 5
    assert verify(client, headers, code=code).status_code == 422


def test_codes_expire_after_ten_minutes(app, client, make_user, outbox) -> None:
    user = make_user(phone="0912345678")
    clock = set_clock(app, NOW)
    headers = bearer(client, user.phone)
    verify(client, headers)
    (code,) = codes(outbox, user.phone)
    clock.now = NOW + timedelta(minutes=10, seconds=1)
    response = verify(client, headers, code=code)
    assert response.status_code == 422
    assert "hết hạn" in response.get_json()["error"]["message"]
    clock.now = NOW + timedelta(minutes=11)
    verify(client, headers)
    fresh = codes(outbox, user.phone)[-1]
    assert verify(client, headers, code=fresh).status_code == 200


def test_a_new_code_replaces_the_old_one(app, client, make_user, outbox) -> None:
    user = make_user(phone="0912345678")
    set_clock(app, NOW)
    headers = bearer(client, user.phone)
    verify(client, headers)
    verify(client, headers)
    first, second = codes(outbox, user.phone)
    if first != second:
        assert verify(client, headers, code=first).status_code == 422
    assert verify(client, headers, code=second).status_code == 200


def test_a_code_is_bound_to_its_account(app, client, make_user, outbox) -> None:
    one, two = make_user(phone="0912345678"), make_user(phone="0912345679")
    set_clock(app, NOW)
    first, second = bearer(client, one.phone), bearer(client, two.phone)
    verify(client, first)
    verify(client, second)
    (code_one,) = codes(outbox, one.phone)
    (code_two,) = codes(outbox, two.phone)
    if code_one != code_two:
        assert verify(client, second, code=code_one).status_code == 422
    assert verify(client, second, code=code_two).status_code == 200


def test_verify_needs_a_signed_in_caller(client) -> None:
    assert client.post("/api/v1/auth/verify", json={}).status_code == 401


# ------------------------------------------------------------------------- send limits


def test_three_sends_per_phone_per_hour_from_any_address(app, client, make_user, outbox) -> None:
    user = make_user(phone="0912345678")
    set_clock(app, NOW)
    headers = bearer(client, user.phone)
    statuses = [verify(client, headers, ip=f"10.0.0.{n}").status_code for n in range(1, 6)]
    assert statuses == [202, 202, 202, 429, 429]
    refused = verify(client, headers, ip="10.9.9.9")
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert len(codes(outbox, user.phone)) == 3  # nothing sent past the limit


def test_ten_sends_per_address_per_day_across_phones(app, client, make_user, outbox) -> None:
    users = [make_user(phone=f"09123456{n:02d}") for n in range(12)]
    set_clock(app, NOW)
    statuses = [verify(client, bearer(client, u.phone), ip="10.1.1.1").status_code for u in users]
    assert statuses == [202] * 10 + [429, 429]
    sent = sum(len(codes(outbox, u.phone)) for u in users)
    assert sent == 10
    other = verify(client, bearer(client, users[11].phone), ip="10.1.1.2")
    assert other.status_code == 202  # another address is not blocked


def test_concurrent_sends_to_one_phone_stop_at_three(app, client, make_user, outbox) -> None:
    user = make_user(phone="0912345678")
    headers = bearer(client, user.phone)

    def send(n: int) -> int:
        with app.test_client() as own:
            return int(verify(own, headers, ip=f"10.2.0.{n}").status_code)

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(12)))
    assert statuses.count(202) + statuses.count(409) <= 3
    assert statuses.count(429) >= 9
    assert len(codes(outbox, user.phone)) <= 3


def test_send_limits_hold_across_app_nodes_through_redis(app_factory, make_user, tmp_path):
    """Two app processes sharing Redis (prefix helpverify-) count one limit between them."""
    import redis

    settings = {
        "RATELIMIT_STORAGE_URI": "fallback+redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"helpverify-{uuid.uuid4().hex}",
        "SMS_OUTBOX": str(tmp_path / "o.jsonl"),
    }
    one, two = app_factory(**settings), app_factory(**settings)
    user = make_user(phone="0912345678")
    try:
        statuses = []
        for node in (one, two, one, two):
            client = node.test_client()
            statuses.append(verify(client, bearer(client, user.phone), ip="10.3.0.1").status_code)
        assert statuses == [202, 202, 202, 429]
    finally:
        store = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = store.keys(f"*{settings['RATELIMIT_KEY_PREFIX']}*")
        if keys:
            store.delete(*keys)


def test_a_gateway_failure_is_a_clear_503_not_a_500(app, client, make_user, gateway) -> None:
    gateway.status = 500
    app.config["SMS_HTTP_URL"] = gateway.url
    user = make_user(phone="0912345678")
    headers = bearer(client, user.phone)
    response = verify(client, headers)
    assert response.status_code == 503
    assert "thử lại" in response.get_json()["error"]["message"]
    assert gateway.received[0]["json"]["to"] == "0912345678"
    with app.app_context():  # no code left in force that nobody received
        assert db.session.scalar(select(PhoneCode)) is None


def test_erasure_leaves_no_number_behind(app, client, make_user, outbox) -> None:
    """A code in force names the number it went to (a new one, when moving): erased with the
    account, as is the verified number."""
    user = make_user(phone="0912345678")
    set_clock(app, NOW)
    headers = bearer(client, user.phone)
    verify(client, headers)
    (code,) = codes(outbox, user.phone)
    assert verify(client, headers, code=code).status_code == 200
    verify_again = client.post(  # a code in force for the account at erasure
        "/api/v1/auth/verify", json={}, headers=headers
    )
    assert verify_again.status_code == 409  # verified: no new code for the same number
    with app.app_context():
        db.session.add(
            PhoneCode(
                user_id=user.id,
                phone="0987654321",
                code_hash="0" * 64,
                tries=0,
                created_at=NOW,
                expires_at=NOW + timedelta(minutes=10),
            )
        )
        db.session.commit()
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    with app.app_context():
        row = db.session.get(User, user.id)
        assert (row.phone, row.verified_phone) == (None, None)
        assert db.session.scalar(select(PhoneCode)) is None
