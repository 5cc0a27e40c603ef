"""Prometheus metrics at /metrics (issue 18, point 3): reachable only from METRICS_ALLOW as the
app sees the client (after ProxyFix), labelled by route name (never a path or an invented
method), business events counted once each, the pools measured, and under gunicorn the
workers' figures added up (PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from app.extensions import db
from app.services import attempts
from tests import test_attempts
from tests.conftest import VI_THANH, load_content, set_clock
from tests.test_attempts import bearer
from tests.test_gunicorn_conf import GUNICORN, free_port, gunicorn
from tests.test_surveys import FULL, GOOD, IDENTIFIED, NOW

# The contest tests' fixtures: a clock, and the rounds of a small contest.
clock = test_attempts.clock
rounds = test_attempts.rounds
OUTSIDE = "203.0.113.9"  # TEST-NET-3: never a monitoring server


def scrape(app: Flask, address: str = "127.0.0.1", **headers: str) -> tuple[int, str]:
    response = app.test_client().get(
        "/metrics", environ_base={"REMOTE_ADDR": address}, headers=headers
    )
    return response.status_code, response.get_data(as_text=True)


def value(text: str, name: str, **labels: str) -> float:
    """The sample `name` with exactly these labels (0 when absent), from an exposition."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def reading(app: Flask, name: str, **labels: str) -> float:
    status, text = scrape(app)
    assert status == 200
    return value(text, name, **labels)


# --------------------------------------------------------------------------------- access


def test_the_monitoring_address_reads_the_metrics(app):
    status, text = scrape(app)
    assert status == 200
    for family in (
        "civic_http_request_duration_seconds",
        "civic_attempts_started_total",
        "civic_attempts_finished_total",
        "civic_survey_responses_total",
        "civic_db_pool_checked_out",
    ):
        assert f"# TYPE {family} " in text
    assert 'civic_attempts_finished_total{state="expired"}' in text
    assert "_created" not in text
    response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "::1"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_any_other_address_gets_the_sites_404(app):
    unknown = app.test_client().get("/no-such-page", environ_base={"REMOTE_ADDR": OUTSIDE})
    for address in (OUTSIDE, "10.0.0.1", "127.0.0.2", "::2", "::ffff:10.0.0.1", "not-an-address"):
        response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 404, address
        body = response.get_data(as_text=True)
        assert "civic_" not in body
        # the same page as any unknown address, bar the request id: nothing tells it apart
        assert body.replace(response.headers["X-Request-ID"], "") == unknown.get_data(
            as_text=True
        ).replace(unknown.headers["X-Request-ID"], "")


def test_an_ipv4_address_written_as_ipv6_is_judged_as_itself(app):
    assert scrape(app, "::ffff:127.0.0.1")[0] == 200


def test_a_forged_forwarded_for_is_ignored_without_a_trusted_proxy(app):
    assert app.config["TRUSTED_PROXIES"] == 0
    status, _ = scrape(app, OUTSIDE, **{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})
    assert status == 404


def test_behind_a_trusted_proxy_the_client_counts_not_the_proxy(app_factory):
    proxied = app_factory(TRUSTED_PROXIES=1)
    # nginx on 127.0.0.1 passing on a client from outside: the proxy's address does not open it
    assert scrape(proxied, "127.0.0.1", **{"X-Forwarded-For": OUTSIDE})[0] == 404
    # a client that prepends an allowed address to its own: one hop is read, its own
    forged = {"X-Forwarded-For": f"127.0.0.1, {OUTSIDE}"}
    assert scrape(proxied, "127.0.0.1", **forged)[0] == 404
    # the monitoring server through the proxy
    assert scrape(proxied, "127.0.0.1", **{"X-Forwarded-For": "127.0.0.1"})[0] == 200


def test_a_node_reached_directly_does_not_believe_a_forged_forwarded_for(app_factory):
    """TRUSTED_PROXIES counts hops; only the configured proxies' own headers are believed: a
    client that reaches a node around nginx and names the loopback is still outside."""
    proxied = app_factory(TRUSTED_PROXIES=1)
    assert scrape(proxied, OUTSIDE, **{"X-Forwarded-For": "127.0.0.1"})[0] == 404
    # the monitoring server scraping a node directly, as docs/deploy.md suggests
    direct = app_factory(TRUSTED_PROXIES=1, METRICS_ALLOW="10.20.0.0/16")
    assert scrape(direct, "10.20.3.4")[0] == 200
    assert scrape(direct, "10.21.3.4", **{"X-Forwarded-For": "10.20.3.4"})[0] == 404
    # a proxy of its own network, once named
    elsewhere = app_factory(
        TRUSTED_PROXIES=1, TRUSTED_PROXY_ADDRESSES="10.9.0.2", METRICS_ALLOW="10.20.0.0/16"
    )
    assert scrape(elsewhere, "10.9.0.2", **{"X-Forwarded-For": "10.20.3.4"})[0] == 200
    assert scrape(elsewhere, "127.0.0.1", **{"X-Forwarded-For": "10.20.3.4"})[0] == 404


def test_a_monitoring_network_through_the_proxy(app_factory):
    proxied = app_factory(TRUSTED_PROXIES=1, METRICS_ALLOW="10.20.0.0/16, 2001:db8::/32")
    assert scrape(proxied, "127.0.0.1", **{"X-Forwarded-For": "10.20.3.4"})[0] == 200
    assert scrape(proxied, "127.0.0.1", **{"X-Forwarded-For": "2001:db8::7"})[0] == 200
    assert scrape(proxied, "127.0.0.1", **{"X-Forwarded-For": "10.21.3.4"})[0] == 404
    # the loopback is no longer in the list: the proxy itself is refused
    assert scrape(proxied, "127.0.0.1")[0] == 404


@pytest.mark.parametrize("setting", ["10.0.0.300/8", "10.0.0.1/8", "monitoring", "::1/129"])
def test_a_mistyped_allow_list_stops_the_start(app_factory, setting):
    with pytest.raises(RuntimeError, match="METRICS_ALLOW"):
        app_factory(METRICS_ALLOW=setting)


def test_an_empty_allow_list_lets_nobody_in(app_factory):
    closed = app_factory(METRICS_ALLOW="")
    assert scrape(closed, "127.0.0.1")[0] == 404


# ----------------------------------------------------------------------------- requests


def test_requests_are_labelled_by_route_name_never_by_path(app, client):
    before = reading(
        app,
        "civic_http_request_duration_seconds_count",
        endpoint="main.privacy",
        method="GET",
        status="200",
    )
    for _ in range(3):
        assert client.get("/privacy").status_code == 200
    for attempt_id in (987654, 987655):  # ids in paths: one series for the route
        client.get(f"/contests/attempts/{attempt_id}")
    _, text = scrape(app)
    assert (
        value(
            text,
            "civic_http_request_duration_seconds_count",
            endpoint="main.privacy",
            method="GET",
            status="200",
        )
        == before + 3
    )
    labels = " ".join(re.findall(r"\{[^}]*\}", text))  # the ids' digits may be in a value
    assert "987654" not in labels and "/contests" not in text and "/privacy" not in text
    assert 'endpoint="contests.attempt_page"' in text
    # a path no route knows: one series, whatever was asked
    client.get("/wp-login.php")
    client.get("/.env")
    assert (
        value(
            scrape(app)[1],
            "civic_http_request_duration_seconds_count",
            endpoint="none",
            method="GET",
            status="404",
        )
        >= 2
    )


def test_invented_methods_cannot_invent_series(app, client):
    for n in range(40):
        client.open("/privacy", method=f"X{n}")
    _, text = scrape(app)
    assert "X1" not in text and "X39" not in text
    other = [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "civic_http_request_duration_seconds_count"
        and sample.labels["method"] == "OTHER"
    ]
    assert len(other) == 1 and other[0].value >= 40  # one series for all forty


# ------------------------------------------------------------------------ business events


def test_an_attempt_started_and_submitted_counts_once_each(app, client, rounds, make_user):
    make_user(phone="0987654321")
    headers = bearer(client, "0987654321")
    started = reading(app, "civic_attempts_started_total")
    submitted = reading(app, "civic_attempts_finished_total", state="submitted")

    first = client.post(f"/api/v1/rounds/{rounds['tuan-2']}/attempts", headers=headers)
    again = client.post(f"/api/v1/rounds/{rounds['tuan-2']}/attempts", headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)  # the same attempt, resumed
    attempt = first.get_json()["id"]

    def submit(_: int) -> int:
        with app.test_client() as other:
            return other.post(
                f"/api/v1/attempts/{attempt}/submit", headers=headers, json={}
            ).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(submit, range(4))) == {200}
    assert reading(app, "civic_attempts_started_total") == started + 1
    assert reading(app, "civic_attempts_finished_total", state="submitted") == submitted + 1


def test_an_attempt_left_past_its_deadline_counts_once_as_expired(
    app, client, clock, rounds, make_user
):
    make_user(phone="0987654321")
    headers = bearer(client, "0987654321")
    assert (
        client.post(f"/api/v1/rounds/{rounds['tuan-2']}/attempts", headers=headers).status_code
        == 201
    )
    expired = reading(app, "civic_attempts_finished_total", state="expired")
    clock.now += timedelta(hours=1)  # 15 minutes allowed
    with app.app_context():
        grace = timedelta(seconds=app.config["ATTEMPT_GRACE_SECONDS"])
        assert attempts.finalize_expired(db.session, clock.now, grace) == 1
        assert attempts.finalize_expired(db.session, clock.now, grace) == 0
    assert reading(app, "civic_attempts_finished_total", state="expired") == expired + 1


def test_survey_responses_count_by_kind_and_a_refused_repeat_does_not(app, client, make_user):
    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL), ("id.yaml", IDENTIFIED)], NOW)
    make_user(phone="0987654321")
    headers = bearer(client, "0987654321")
    anonymous = reading(app, "civic_survey_responses_total", kind="anonymous")
    identified = reading(app, "civic_survey_responses_total", kind="identified")

    url = "/api/v1/surveys/{}/responses"
    sent = client.post(
        url.format("hai-long-chinh-quyen-2026"), headers=headers, json={"answers": GOOD}
    )
    repeat = client.post(
        url.format("hai-long-chinh-quyen-2026"), headers=headers, json={"answers": GOOD}
    )
    ident = client.post(
        url.format("kenh-thong-tin"), headers=headers, json={"answers": {"hop": 2, "kenh": [1]}}
    )
    assert (sent.status_code, repeat.status_code, ident.status_code) == (201, 409, 201)
    refused = client.post(
        url.format("hai-long-chinh-quyen-2026"), json={"unit": VI_THANH, "answers": {}}
    )
    assert refused.status_code == 422
    assert reading(app, "civic_survey_responses_total", kind="anonymous") == anonymous + 1
    assert reading(app, "civic_survey_responses_total", kind="identified") == identified + 1


# ------------------------------------------------------------------------- pools and jobs


def test_the_pool_gauges_follow_the_connections(app):
    with app.app_context():
        pool = db.engine.pool
        held = [db.engine.connect() for _ in range(2)]
        try:
            during = reading(app, "civic_db_pool_checked_out", engine="primary")
            assert during == pool.checkedout() >= 2  # type: ignore[attr-defined]
            assert reading(app, "civic_db_pool_size", engine="primary") == pool.size()  # type: ignore[attr-defined]
        finally:
            for connection in held:
                connection.close()
        assert reading(app, "civic_db_pool_checked_out", engine="primary") == pool.checkedout()  # type: ignore[attr-defined]


def test_the_jobs_queue_is_counted_from_redis_and_a_silent_redis_spares_the_rest(app, monkeypatch):
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry

    assert "civic_jobs_" not in scrape(app)[1]  # no REDIS_URL: jobs run in-process, no queue
    name = f"helpmetrics-{secrets.token_hex(4)}"
    app.config.update(REDIS_URL="redis://127.0.0.1:6379/0", JOBS_QUEUE=name)
    queue = Queue(name, connection=Redis.from_url("redis://127.0.0.1:6379/0"))
    try:
        for _ in range(3):
            queue.enqueue("app.jobs.perform", "no-such-job")
        FailedJobRegistry(queue=queue).add(queue.enqueue("app.jobs.perform", "x"), -1)
        _, text = scrape(app)
        assert value(text, "civic_jobs_queued", queue=name) == 4
        assert value(text, "civic_jobs_failed", queue=name) == 1
    finally:
        queue.delete(delete_jobs=True)
        FailedJobRegistry(queue=queue).connection.delete(FailedJobRegistry(queue=queue).key)

    def down() -> dict[str, dict[str, float]]:
        raise ConnectionError("Redis is not answering")

    monkeypatch.setattr(metrics, "jobs_gauges", down)
    status, text = scrape(app)  # the rest of the figures still come
    assert status == 200 and "civic_http_request_duration_seconds" in text


# ------------------------------------------------------------ gunicorn: workers add up


def _get(port: int, path: str) -> tuple[int, str]:
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed in .venv")
def test_under_gunicorn_the_workers_figures_add_up(tmp_path: Path) -> None:
    port = free_port()
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left by an earlier run")  # must go at start
    with gunicorn(
        tmp_path, port, GUNICORN_WORKERS="3", PROMETHEUS_MULTIPROC_DIR=str(folder)
    ) as server:
        assert not (folder / "counter_999999.db").exists()

        sent = 60
        with ThreadPoolExecutor(6) as pool:  # at once, so that every worker takes some
            assert set(pool.map(lambda _: _get(port, "/favicon.ico")[0], range(sent))) == {301}
        served_by = {p.name for p in folder.glob("histogram_*.db")}
        assert len(served_by) >= 2, served_by  # more than one worker answered

        def counted() -> float:
            status, text = _get(port, "/metrics")
            assert status == 200
            return value(
                text,
                "civic_http_request_duration_seconds_count",
                endpoint="main.favicon",
                method="GET",
                status="301",
            )

        # whichever worker answers the scrape, it reports the node's figure
        assert {counted() for _ in range(6)} == {sent}

        # a worker killed: gunicorn replaces it, its requests still count
        workers = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=True
        ).stdout.split()
        killed = int(workers[0])
        os.kill(killed, signal.SIGKILL)
        time.sleep(2)
        assert {counted() for _ in range(6)} == {sent}
        # its counts folded into the archive, its own files gone: scrapes read a bounded set
        assert not list(folder.glob(f"*_{killed}.db"))
        assert (folder / "histogram_archive.db").exists()
        alive = {int(p) for p in workers[1:]} | {
            int(p)
            for p in subprocess.run(
                ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=True
            ).stdout.split()
        }
        for left in folder.glob("*.db"):
            owner = left.stem.rsplit("_", 1)[1]
            assert owner == "archive" or int(owner) in alive, left.name


def test_a_worker_file_still_being_created_does_not_break_the_scrape(app, tmp_path, monkeypatch):
    """A worker gunicorn has just started creates its file (empty for an instant) while a
    scrape lists the folder: the scrape answers with the others' figures, never a 500 (seen
    under load in test_under_gunicorn_the_workers_figures_add_up: struct.error)."""
    from prometheus_client.mmap_dict import MmapedDict

    folder = tmp_path / "metrics"
    folder.mkdir()
    kept = MmapedDict(str(folder / "counter_111.db"))
    key = '["civic_attempts_started", "civic_attempts_started_total", {}, "help"]'
    kept.write_value(key, 3.0, 0.0)
    kept.close()
    (folder / "counter_222.db").write_bytes(b"")  # the new worker's, not yet initialised
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    status, text = scrape(app)
    assert status == 200
    assert value(text, "civic_attempts_started_total") == 3
