"""When a part of the deployment goes away (issue 18 point 6): a database that cannot be
reached, or whose connection is cut mid-request, gives a 503 — JSON under /api/, a Vietnamese
page elsewhere, never a traceback — and a Redis that does not answer changes nothing for the
people using the app: rate limits are counted per process (with a warning in the log), cached
results are computed again. Redis is never stopped here: the app is pointed at a closed port."""

from __future__ import annotations

import logging
import os
import uuid
from datetime import timedelta

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from app.models import utcnow
from tests.conftest import PASSWORD, csrf_token
from tests.test_health import closed_port  # noqa: F401  (the fixture: a port nobody listens on)


def _no_traceback(body: str) -> None:
    assert "Traceback" not in body and "psycopg" not in body and "sqlalchemy" not in body


# ----------------------------------------------------------------------------- the database


@pytest.fixture
def unreachable_db(closed_port: int) -> Flask:  # noqa: F811 (the fixture)
    return create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/civic_x",
    )


def test_a_page_without_its_database_is_a_vietnamese_503(unreachable_db, caplog):
    with caplog.at_level(logging.WARNING):
        page = unreachable_db.test_client().get("/contests/")
    body = page.get_data(as_text=True)
    assert page.status_code == 503, body[:500]
    assert page.headers["Retry-After"] == "5"
    assert "Hệ thống đang tạm gián đoạn" in body and "<html" in body
    _no_traceback(body)
    assert "database unavailable" in caplog.text
    assert "Traceback" not in caplog.text  # an outage is a warning, not a stack of errors


def test_an_api_call_without_its_database_is_a_503_json(unreachable_db):
    answer = unreachable_db.test_client().get("/api/v1/contests")
    assert answer.status_code == 503
    error = answer.get_json()["error"]
    assert error["code"] == "unavailable" and error["request_id"]
    assert "gián đoạn" in error["message"]
    assert answer.headers["Retry-After"] == "5"


def test_a_signed_in_visitor_gets_the_503_page_too(app, make_user, client, unreachable_db):
    """The session names an account the page cannot load: the error page must not try."""
    resident = make_user(phone="0912345670")
    token = csrf_token(client, "/auth/login")
    client.post(
        "/auth/login",
        data={"phone": resident.phone, "password": PASSWORD, "csrf_token": token},
    )
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = unreachable_db.test_client()
    other.set_cookie("session", cookie.value)
    page = other.get("/account/")
    assert page.status_code == 503
    _no_traceback(page.get_data(as_text=True))


def test_a_connection_cut_mid_request_is_a_503_and_the_next_request_is_served(
    app_factory, make_user
):
    """pg_terminate_backend on the request's own connection, between two of its queries: that
    request fails with a 503; the pool then hands out a live connection (pre-ping)."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    cut = app_factory()
    target = make_url(url)

    @cut.before_request
    def terminate_own_backend() -> None:
        from flask import request

        if request.args.get("cut") != "1":
            return
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(
            host=target.host, port=target.port, user=target.username, dbname="postgres"
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    client = cut.test_client()
    assert client.get("/api/v1/contests").status_code == 200  # a pooled connection exists
    failed = client.get("/api/v1/contests?cut=1")
    assert failed.status_code == 503 and failed.get_json()["error"]["code"] == "unavailable"
    page = client.get("/contests/?cut=1")
    assert page.status_code == 503 and "gián đoạn" in page.get_data(as_text=True)
    assert client.get("/api/v1/contests").status_code == 200  # recovered at once
    assert client.get("/contests/").status_code == 200


def test_a_real_error_of_the_database_is_still_a_500(app_factory):
    """Only an unreachable or cut database is a 503: a bug (a missing table) stays a 500."""
    broken = app_factory()

    @broken.get("/broken-query")
    def broken_query() -> str:
        db.session.execute(text("SELECT * FROM no_such_table_anywhere"))
        return "unreachable"

    answer = broken.test_client().get("/broken-query")
    assert answer.status_code == 500


# ---------------------------------------------------------------------------------- Redis


@pytest.fixture
def no_redis(app, app_factory, closed_port: int) -> Flask:  # noqa: F811 (the fixture)
    # After `app`: the limiter is one object, bound to the app made last.
    redis_url = f"redis://127.0.0.1:{closed_port}/0"
    return app_factory(  # what production sets from REDIS_URL (app/config.py)
        REDIS_URL=redis_url,
        RATELIMIT_STORAGE_URI=f"fallback+{redis_url}",
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL=redis_url,
    )


def test_production_settings_use_the_fallback_storage(monkeypatch):
    import importlib

    from app import config

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        reloaded = importlib.reload(config)
        assert (
            reloaded.ProductionConfig.RATELIMIT_STORAGE_URI == "fallback+redis://127.0.0.1:6379/0"
        )
        assert reloaded.ProductionConfig.CACHE_OPTIONS["socket_timeout"] <= 1
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(config)


def test_sign_in_limits_hold_per_process_when_redis_is_down(no_redis, make_user, caplog):
    victim = make_user(phone="0912345678")
    client = no_redis.test_client()
    with caplog.at_level(logging.WARNING):
        codes = [
            client.post(
                "/api/v1/auth/token", json={"phone": victim.phone, "password": "wrong-password"}
            ).status_code
            for _ in range(6)
        ]
    assert codes == [401] * 5 + [429]  # the limit still holds, counted in this process
    warnings = [r for r in caplog.records if "rate limits are counted per process" in r.message]
    assert len(warnings) == 1  # said once, not on every request


def test_pages_and_attempts_work_when_redis_is_down(no_redis, make_user):
    from app.models import Round
    from tests.conftest import load_content, set_clock
    from tests.test_attempts import CONTEST, START, bank_yaml  # the attempt tests' round

    set_clock(no_redis, START)
    load_content(no_redis, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with no_redis.app_context():
        round_id = db.session.scalar(db.select(Round.id).where(Round.key == "tuan-1"))
    resident = make_user(phone="0912345679")
    client = no_redis.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"phone": resident.phone, "password": PASSWORD}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    started = client.post(f"/api/v1/rounds/{round_id}/attempts", headers=headers)
    assert started.status_code == 201, started.get_data(as_text=True)
    attempt = started.get_json()
    saved = client.put(
        f"/api/v1/attempts/{attempt['id']}/answers/1",
        json={"choices": ["A"], "seq": 1},
        headers=headers,
    )
    assert saved.status_code == 200
    body = {"prediction": 1} if attempt["prediction"] else {}
    done = client.post(f"/api/v1/attempts/{attempt['id']}/submit", json=body, headers=headers)
    assert done.status_code == 200 and done.get_json()["max_score"] >= 1
    assert client.get("/contests/").status_code == 200
    assert client.get("/auth/register").status_code == 200


def test_cached_results_are_computed_when_redis_is_down(no_redis, caplog):
    from app.models import Survey
    from app.services import stamped

    calls: list[object] = []
    survey = Survey(id=1, slug="x", version=1)
    with no_redis.app_context(), caplog.at_level(logging.WARNING):
        for _ in range(2):
            value = stamped.kept(
                db.session, survey, "figures", {"a": 1}, utcnow(), lambda s: calls.append(s) or 42
            )
            assert value == 42
        assert stamped.at(survey, "decision", (1, 0, 0), lambda: 7) == 7
    assert len(calls) == 2  # nothing kept: computed each time
    assert "results cache unavailable" in caplog.text
    assert timedelta(seconds=stamped.STALE_SECONDS)  # the module's own bound, unchanged
