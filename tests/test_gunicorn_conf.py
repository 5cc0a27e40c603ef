"""gunicorn.conf.py, run for real: gunicorn with it in front of the app, asked for paths with a
phone and a token in the query string, a Referer and a User-Agent; its access log must hold the
path and status and none of those (issue 18, point 1)."""

from __future__ import annotations

import contextlib
import os
import runpy
import socket
import subprocess
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PHONE = "0912345678"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str, headers: dict[str, str]) -> str:
    """GET on loopback; the response's X-Request-ID."""
    connection = HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        return response.headers["X-Request-ID"]
    finally:
        connection.close()


def test_workers_follow_the_cores_and_settings_can_be_overridden(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["workers"] == 2 * os.cpu_count() + 1  # type: ignore[operator]
    assert settings["timeout"] == 60 and settings["graceful_timeout"] == 30
    for secret in ("%(q)s", "%(r)s", "%(h)s", "%(a)s", "%(f)s", "%(u)s"):
        assert secret not in settings["access_log_format"]
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"] == 3


@contextlib.contextmanager
def gunicorn(tmp_path: Path, port: int, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn with gunicorn.conf.py in front of the app on a fresh SQLite file, answering on
    `port` (one worker unless `settings` say otherwise); stopped at the end."""
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESSLOG": str(tmp_path / "access.log"),
        "GUNICORN_ERRORLOG": str(tmp_path / "error.log"),
        "REQUEST_LOG_JSON": "false",
        **settings,
    }
    server = subprocess.Popen(
        [str(GUNICORN), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                get(port, "/privacy", {})
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not answer within 30 s")
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed in .venv")
def test_the_access_log_keeps_no_query_string_address_or_agent(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "access.log"
    with gunicorn(tmp_path, port):
        rid = get(
            port,
            f"/privacy?phone={PHONE}&token=sekret-token-123",
            {
                "User-Agent": "Nokia-105-agent",
                "Referer": f"http://127.0.0.1:{port}/auth/register?phone={PHONE}",
            },
        )
        time.sleep(0.5)  # the access line is written after the response
    errors = (tmp_path / "error.log").read_text(encoding="utf-8")
    assert "Booting worker" in errors and "Traceback" not in errors  # the hooks ran cleanly
    text = log.read_text(encoding="utf-8")
    assert '"GET /privacy" 200' in text and f"rid={rid}" in text
    for secret in (PHONE, "sekret-token-123", "Nokia-105-agent", "register", "127.0.0.1"):
        assert secret not in text, secret
