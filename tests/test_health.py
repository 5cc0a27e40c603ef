"""`GET /health` (api.md): 200 `{"database": "ok", "redis": "ok" | "not configured"}`; 503 with
the failing part named when the database, or a configured Redis, does not answer within 2 s.

Attacked as a load balancer would meet it: a Redis that refuses connections, a Redis (and a
database) that accept the connection and then never answer, and a burst of checks while one
part hangs — the answer still comes within the bound and the app does not pile up threads."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask

from app import create_app
from app.config import TestingConfig
from app.services import health

REDIS = "redis://127.0.0.1:6379/0"


def redis_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word: a hung server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.fixture
def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connections are refused
    return port


def test_healthy_without_redis(app: Flask) -> None:
    app.config["REDIS_URL"] = None
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "redis": "not configured"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.skipif(not redis_is_up(), reason="Redis at 127.0.0.1:6379 does not answer")
def test_healthy_with_redis(app: Flask) -> None:
    app.config["REDIS_URL"] = REDIS
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "redis": "ok"}


def test_a_redis_that_refuses_is_named(app: Flask, closed_port: int) -> None:
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{closed_port}/0"
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "ok"
    assert body["redis"] != "ok" and body["redis"] != "not configured"


def test_a_redis_that_hangs_is_named_within_the_bound(app: Flask, silent_port: int) -> None:
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{silent_port}/0"
    began = time.monotonic()
    response = app.test_client().get("/health")
    took = time.monotonic() - began
    assert response.status_code == 503
    assert response.get_json()["redis"] == "no answer within 2 s"
    assert response.get_json()["database"] == "ok"
    assert 1.5 < took < 3.5, took


def test_a_database_that_hangs_is_named_within_the_bound(silent_port: int) -> None:
    hung = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/x",
        REDIS_URL=None,
    )
    began = time.monotonic()
    response = hung.test_client().get("/health")
    took = time.monotonic() - began
    assert response.status_code == 503
    assert response.get_json() == {"database": "no answer within 2 s", "redis": "not configured"}
    assert took < 3.5, took


def test_a_database_that_refuses_is_named(closed_port: int) -> None:
    down = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/x",
        REDIS_URL=None,
    )
    response = down.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] not in ("ok", "no answer within 2 s")
    assert "postgres" not in body["database"]  # no address, user or database name given away
    assert body["redis"] == "not configured"


def test_a_burst_of_checks_against_a_hung_part_does_not_pile_up_threads(
    app: Flask, silent_port: int
) -> None:
    """A load balancer polling every second while Redis hangs: each answer within the bound,
    and at most one check of each part waiting on the hung server at any time."""
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{silent_port}/0"
    before = threading.active_count()

    def ask(_: int) -> tuple[int, float]:
        began = time.monotonic()
        status = app.test_client().get("/health").status_code
        return status, time.monotonic() - began

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(ask, range(20)))
    assert {status for status, _ in answers} == {503}
    assert max(took for _, took in answers) < 3.5
    assert threading.active_count() - before <= 2  # the hung checks, not one per request


def test_health_is_not_rate_limited(app: Flask) -> None:
    app.config["REDIS_URL"] = None
    client = app.test_client()
    assert {client.get("/health").status_code for _ in range(300)} == {200}


def test_the_check_itself_without_a_request(app: Flask) -> None:
    with app.app_context():
        from app.extensions import db

        report = health.check(db.engine, None, timeout=2.0)
    assert report.ok and report.parts == {"database": "ok", "redis": "not configured"}
