"""One JSON line per request (issue 18, point 7): request id, route name, status, duration, the
user's role — and nothing personal: no phone, no name, no query string, no ids typed by the
resident, no answer. The request id comes back in the `X-Request-ID` header, on error pages and
in API errors, so a resident's report can be found in the log."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Flask

from app import request_log
from tests.conftest import PASSWORD, csrf_token

PHONE = "0912345678"


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The request records, each formatted as production writes it, and parsed back."""
    formatter = request_log.json_formatter()
    out = []
    for record in caplog.records:
        if record.name == request_log.LOGGER:
            text = formatter.format(record)
            assert "\n" not in text  # one line per request
            out.append(json.loads(text))
    return out


def test_one_line_per_request_with_its_fields(app: Flask, caplog, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(phone=PHONE, name="Trần Thị Bí Mật")
    client = app.test_client()
    caplog.set_level(logging.INFO, logger=request_log.LOGGER)
    token = csrf_token(client, "/auth/login")
    caplog.clear()
    client.post(
        "/auth/login?next=/account/%3Fphone%3D0912345678",
        data={"phone": PHONE, "password": PASSWORD, "csrf_token": token},
    )
    client.get("/contests/attempts/123456?secret=0912345678")
    logged = lines(caplog)
    assert len(logged) == 2
    sign_in, attempt = logged
    assert sign_in["route"] == "auth.login" and sign_in["method"] == "POST"
    assert sign_in["status"] == 302 and sign_in["role"] == "resident"  # signed in by its end
    assert attempt["route"] == "contests.attempt_page" and attempt["status"] == 404
    assert attempt["role"] == "resident"  # the signed-in resident, by role only
    for line in logged:
        assert set(line) >= {"request_id", "route", "method", "status", "duration_ms", "role"}
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert len(str(line["request_id"])) == 32
    everything = json.dumps(logged, ensure_ascii=False)
    for secret in (PHONE, "912345678", "Bí Mật", PASSWORD, "123456", "secret", "next="):
        assert secret not in everything


def test_the_request_id_is_on_the_error_page_and_in_the_header(app: Flask, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger=request_log.LOGGER)
    response = app.test_client().get("/no-such-page")
    rid = response.headers["X-Request-ID"]
    assert response.status_code == 404
    assert rid in response.get_data(as_text=True)
    assert "Mã yêu cầu" in response.get_data(as_text=True)
    assert lines(caplog)[-1]["request_id"] == rid


def test_the_request_id_is_in_api_errors(app: Flask) -> None:
    response = app.test_client().get("/api/v1/rounds/999999/stats")
    body = response.get_json()
    assert response.status_code in (401, 404)
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]


def test_an_unexpected_error_is_logged_with_its_request_id(app: Flask, caplog) -> None:  # type: ignore[no-untyped-def]
    @app.get("/boom-for-test")
    def boom() -> str:
        raise RuntimeError("kaboom")

    caplog.set_level(logging.INFO)
    response = app.test_client().get("/boom-for-test")
    rid = response.headers["X-Request-ID"]
    assert response.status_code == 500 and rid in response.get_data(as_text=True)
    assert lines(caplog)[-1] == {**lines(caplog)[-1], "status": 500, "request_id": rid}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all(getattr(r, "request_id", None) == rid for r in errors)


@pytest.mark.parametrize(
    "sent",
    [
        "abc",  # too short
        "x" * 200,  # too long
        'a", "role": "admin", "x": "' + "d" * 20,  # a forged log field
        "<script>alert(1)</script>12345",
    ],
)
def test_a_forged_request_id_is_replaced(app: Flask, caplog, sent: str) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger=request_log.LOGGER)
    response = app.test_client().get("/privacy", headers={"X-Request-ID": sent})
    rid = response.headers["X-Request-ID"]
    assert rid != sent and len(rid) == 32 and rid.isalnum()
    assert lines(caplog)[-1]["request_id"] == rid


def test_a_proxy_s_request_id_is_kept_when_the_proxy_is_trusted(app_factory, caplog) -> None:  # type: ignore[no-untyped-def]
    behind = app_factory(TRUSTED_PROXIES=1)
    caplog.set_level(logging.INFO, logger=request_log.LOGGER)
    sent = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    response = behind.test_client().get("/privacy", headers={"X-Request-ID": sent})
    assert response.headers["X-Request-ID"] == sent
    direct = (
        app_factory(TRUSTED_PROXIES=0).test_client().get("/privacy", headers={"X-Request-ID": sent})
    )
    assert direct.headers["X-Request-ID"] != sent  # a client does not choose it
