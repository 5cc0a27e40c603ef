"""The JSON API's accounts, errors, CSRF and rate-limit conventions (api.md)."""

from openapi_spec_validator import validate

from app.models import Role
from tests.conftest import PASSWORD, VI_THANH, csrf_token

REGISTRATION = {
    "name": "Phạm Văn Cường",
    "phone": "+84 912 345 678",
    "password": PASSWORD,
    "unit": VI_THANH,
    "consent": True,
}


def token_for(client, phone, password=PASSWORD):
    return client.post("/api/v1/auth/token", json={"phone": phone, "password": password})


def test_register_then_same_phone_conflicts(client):
    created = client.post("/api/v1/auth/register", json=REGISTRATION)
    assert created.status_code == 201 and isinstance(created.get_json()["id"], int)
    again = client.post("/api/v1/auth/register", json={**REGISTRATION, "phone": "0912345678"})
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "conflict" and error["details"][0]["field"] == "phone"


def test_bad_phone_is_422_with_the_field_named(client):
    response = client.post("/api/v1/auth/register", json={**REGISTRATION, "phone": "12345"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == ["phone"]
    assert "0912345678" in error["details"][0]["message"]


def test_consent_missing_or_false_is_422(client):
    for body in (
        {k: v for k, v in REGISTRATION.items() if k != "consent"},
        {**REGISTRATION, "consent": False},
    ):
        response = client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 422
        assert [d["field"] for d in response.get_json()["error"]["details"]] == ["consent"]


def test_every_bad_field_is_reported_at_once(client):
    body = {"name": "", "phone": "1", "password": "short", "unit": "x", "birth_year": 1800}
    response = client.post("/api/v1/auth/register", json=body)
    fields = {d["field"] for d in response.get_json()["error"]["details"]}
    assert fields == {"name", "phone", "password", "unit", "consent", "birth_year"}


def test_unit_must_be_a_commune_of_the_deployment(client):
    for unit in (92, 1, 99999):
        response = client.post("/api/v1/auth/register", json={**REGISTRATION, "unit": unit})
        assert response.status_code == 422
        assert response.get_json()["error"]["details"][0]["field"] == "unit"


def test_not_json_is_400_not_500(client):
    response = client.post("/api/v1/auth/register", data="name=x", content_type="text/plain")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    response = client.post("/api/v1/auth/register", data="[1,", content_type="application/json")
    assert response.status_code == 400


def test_token_and_me(client):
    client.post("/api/v1/auth/register", json=REGISTRATION)
    response = token_for(client, "0912 345 678")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["token"] and body["expires_at"].endswith("Z")) or "+" in body["expires_at"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    data = me.get_json()
    assert data["name"] == "Phạm Văn Cường" and data["phone"] == "0912345678"
    assert data["unit"]["code"] == VI_THANH and data["consents"][0]["version"]
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_wrong_password_is_401_and_five_failures_are_rate_limited(client, make_user):
    make_user(phone="0987654321")
    for _ in range(5):
        assert token_for(client, "0987654321", "wrong-password").status_code == 401
    limited = token_for(client, "0987654321")
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0


def test_registrations_are_limited_per_ip(client):
    statuses = [
        client.post(
            "/api/v1/auth/register", json={**REGISTRATION, "phone": f"09120000{i:02d}"}
        ).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [201] * 20
    assert statuses[20] == 429


def test_session_calls_need_the_csrf_header_but_token_calls_do_not(client, auth, make_user):
    make_user(phone="0987654321")
    auth.login("0987654321")
    assert client.get("/api/v1/me").status_code == 200  # reading with the session: no token needed
    refused = client.delete("/api/v1/me")
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "bad_request"
    assert client.get("/api/v1/me").status_code == 200  # nothing was deleted
    token = csrf_token(client, "/account/delete")
    assert client.delete("/api/v1/me", headers={"X-CSRFToken": token}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_bearer_delete_needs_no_csrf_and_kills_the_token(client, make_user):
    make_user(phone="0987654321")
    token = token_for(client, "0987654321").get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert token_for(client, "0987654321").status_code == 401


def test_staff_accounts_are_visible_with_their_role(client, make_user):
    make_user(role=Role.OFFICER, phone="0911111111")
    token = token_for(client, "0911111111").get_json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["role"] == "officer" and me["unit"]["level"] == "province"


def test_errors_are_json_under_the_api(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    response = client.put("/api/v1/units")
    assert response.status_code == 405 and "error" in response.get_json()


def test_openapi_is_valid_and_describes_the_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert {"/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/units"} <= set(paths)
    register = paths["/api/v1/auth/register"]["post"]
    assert {"201", "409", "422"} <= set(register["responses"])
    schema = document["components"]["schemas"]["RegisterIn"]
    assert {"name", "phone", "password", "unit", "consent"} <= set(schema["required"])


def test_concurrent_sign_ups_with_one_phone_make_one_account(app):
    from concurrent.futures import ThreadPoolExecutor

    def sign_up(index):
        with app.test_client() as client:
            body = {**REGISTRATION, "name": f"Người thứ {index}"}
            return client.post("/api/v1/auth/register", json=body).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(sign_up, range(6)))
    assert statuses == [201, 409, 409, 409, 409, 409]


def test_rate_limits_shared_through_redis_when_configured(app_factory):
    """Two app processes (here: two apps) share the failed sign-in count through Redis."""
    import uuid

    import pytest
    import redis

    store = redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_timeout=1)
    try:
        store.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis does not answer at 127.0.0.1:6379")
    settings = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    first, second = app_factory(**settings), app_factory(**settings)
    phone = "0987000111"
    for _ in range(3):
        assert token_for(first.test_client(), phone, "wrong").status_code == 401
    for _ in range(2):
        assert token_for(second.test_client(), phone, "wrong").status_code == 401
    assert token_for(first.test_client(), phone, "wrong").status_code == 429
    keys = store.keys(f"*{settings['RATELIMIT_KEY_PREFIX']}*")
    assert keys  # the counters really live in Redis
    store.delete(*keys)
