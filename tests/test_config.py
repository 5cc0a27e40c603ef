"""Configuration, security headers, the SQLite connection settings and the error pages."""

import subprocess
import sys

import pytest
from sqlalchemy import text

from app import create_app
from app.config import ProductionConfig, TestingConfig
from app.extensions import db


def test_production_refuses_a_short_secret_key():
    class Short(ProductionConfig):
        SECRET_KEY = "too-short"

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Short)


def test_production_from_the_environment_refuses_to_start_without_secret(tmp_path):
    env = {
        "APP_ENV": "production",
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_production_marks_cookies_secure(tmp_path):
    class Prod(ProductionConfig):
        SECRET_KEY = "x" * 40
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/prod.db"
        JOBS_SCHEDULER = "external"  # no loop of periodic work left running after the test

    app = create_app(Prod)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    response = app.test_client().get("/auth/login")
    assert (
        "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    )
    assert "max-age" in response.headers["Strict-Transport-Security"]


@pytest.mark.parametrize("path", ["/", "/auth/register", "/api/v1/units", "/does-not-exist"])
def test_security_headers_everywhere(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in {
        "same-origin",
        "no-referrer",
        "strict-origin-when-cross-origin",
    }


def test_pages_carry_no_inline_script_or_style(client):
    for path in ["/", "/auth/register", "/auth/login", "/privacy"]:
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and "<script " not in page.replace("<script src=", "")
        assert " style=" not in page and "<style" not in page


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/pragma.db")
    with app.app_context():
        conn = db.session.connection()
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_database_url_forms_are_understood(monkeypatch):
    from app.config import _database_url

    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert _database_url("x") == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("DATABASE_URL")
    assert _database_url("app.sqlite").endswith("instance/app.sqlite")


def test_unknown_app_env_is_refused(monkeypatch):
    from app.config import config_from_env

    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(RuntimeError, match="APP_ENV"):
        config_from_env()


def test_friendly_error_pages(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    assert "<h1" in client.get("/nowhere").get_data(as_text=True)

    response = client.get("/boom")
    assert response.status_code == 500
    assert "kaboom" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_health_check(client):
    assert client.get("/health").get_json() == {"database": "ok", "redis": "not configured"}


@pytest.mark.parametrize(
    ("setting", "value"),
    [("SURVEY_MIX_BATCH", 0), ("SURVEY_MIX_BATCH", -5), ("SURVEY_MIX_WAIT_SECONDS", -1)],
)
def test_a_mixer_setting_that_would_leave_responses_pending_is_refused_at_start(
    tmp_path, setting, value
):
    """A batch of none would never move an anonymous response into the results (and a
    negative one is an error on PostgreSQL at the first response): refused when the app
    starts, naming the setting, not found out by the first resident."""
    with pytest.raises(RuntimeError, match=setting):
        create_app(
            TestingConfig,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/mix.db",
            **{setting: value},
        )
