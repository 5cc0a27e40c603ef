"""POST /api/v1/banks, /contests, /surveys: YAML in, what was stored out; scope and limits."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import PASSWORD, VI_THANH

VALID = Path(__file__).parent / "content" / "valid"
YAML = {"Content-Type": "application/yaml"}


def bearer(client, phone: str) -> dict[str, str]:
    token = client.post(
        "/api/v1/auth/token", json={"phone": phone, "password": PASSWORD}
    ).get_json()
    return {"Authorization": f"Bearer {token['token']}", **YAML}


def test_officer_publishes_bank_contest_and_survey(client, make_user):
    make_user(role="officer", phone="0911111111")
    headers = bearer(client, "0911111111")
    bank = client.post(
        "/api/v1/banks", data=(VALID / "bank-full.yaml").read_bytes(), headers=headers
    )
    assert bank.status_code == 201, bank.get_json()
    assert bank.get_json() | {"added": None} == {
        "bank": "dan-chu-co-so",
        "version": 1,
        "questions": 4,
        "status": "new",
        "added": None,
        "changed": [],
        "retired": [],
    }
    contest = client.post(
        "/api/v1/contests", data=(VALID / "contest-full.yaml").read_bytes(), headers=headers
    )
    assert contest.status_code == 201 and contest.get_json()["rounds"] == 2
    survey = client.post(
        "/api/v1/surveys", data=(VALID / "survey-full.yaml").read_bytes(), headers=headers
    )
    assert survey.status_code == 201 and survey.get_json()["survey"] == "hai-long-chinh-quyen-2026"
    again = client.post(
        "/api/v1/banks", data=(VALID / "bank-full.yaml").read_bytes(), headers=headers
    )
    assert again.status_code == 201 and again.get_json()["status"] == "unchanged"


def test_problems_come_back_as_422_with_lines(client, make_user):
    make_user(role="admin", phone="0911111111")
    broken = (
        (VALID / "bank-full.yaml").read_text(encoding="utf-8").replace("answer: B", "answer: Z")
    )
    response = client.post(
        "/api/v1/banks", data=broken.encode(), headers=bearer(client, "0911111111")
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == [
        {"line": 24, "column": 13, "message": error["details"][0]["message"]}
    ]
    assert "Z" in error["details"][0]["message"]


def test_a_contest_sent_to_banks_is_refused(client, make_user):
    make_user(role="officer", phone="0911111111")
    response = client.post(
        "/api/v1/banks",
        data=(VALID / "survey-full.yaml").read_bytes(),
        headers=bearer(client, "0911111111"),
    )
    assert response.status_code == 422


def test_too_large_is_413(client, make_user):
    make_user(role="officer", phone="0911111111")
    body = b"bank: x\ntitle: " + b"a" * (3 * 1024 * 1024)
    response = client.post("/api/v1/banks", data=body, headers=bearer(client, "0911111111"))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"


def test_residents_and_leaders_cannot_publish(client, make_user):
    make_user(phone="0987654321")
    make_user(role="leader", phone="0911111119")
    for phone in ("0987654321", "0911111119"):
        response = client.post(
            "/api/v1/banks",
            data=(VALID / "bank-full.yaml").read_bytes(),
            headers=bearer(client, phone),
        )
        assert response.status_code == 403
    anonymous = client.post("/api/v1/banks", data=b"bank: x", headers=YAML)
    assert anonymous.status_code == 401


def test_scope_an_officer_of_another_commune_cannot_replace(client, make_user):
    make_user(role="officer", phone="0911111111", unit=VI_THANH)
    make_user(role="officer", phone="0911111112", unit=31135)
    body = (VALID / "bank-full.yaml").read_bytes()
    assert (
        client.post("/api/v1/banks", data=body, headers=bearer(client, "0911111111")).status_code
        == 201
    )
    changed = body.replace("Câu sai.".encode(), "Câu sai nữa.".encode())
    refused = client.post("/api/v1/banks", data=changed, headers=bearer(client, "0911111112"))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"


def test_publishing_with_the_session_needs_the_csrf_header(client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    response = client.post(
        "/api/v1/banks", data=(VALID / "bank-full.yaml").read_bytes(), headers=YAML
    )
    assert response.status_code == 400  # CSRF token missing
