"""Background jobs (app/jobs): an export started from its page returns at once and lands on a
progress page; the file is the same bytes as the direct export, kept a day, readable only by
whoever started it while they still may; with real Redis (RQ) and without it, and with a Redis
that does not answer."""

from __future__ import annotations

import io
import re
import secrets
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import jobs
from app.extensions import db
from app.models import AuditEvent, Job, Role, User
from tests.conftest import PROVINCE, VI_THANH, csrf_token, set_clock
from tests.test_ranking import AFTER, add_attempt, people, rounds  # noqa: F401

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def crowd(app, rounds):  # type: ignore[no-untyped-def]  # noqa: F811
    """30 people ranked at the round without a prediction, the round closed."""
    r = rounds["plain"]
    for place, user in enumerate(people(app, 30, VI_THANH, "Lê Văn Bình"), start=1):
        add_attempt(app, r, user.id, score=5, duration_ms=10_000 + place)
    return r


@pytest.fixture
def clock(app):  # type: ignore[no-untyped-def]
    """The round closed: its ranking final (test_ranking's `rounds` loads the contest)."""
    return set_clock(app, AFTER)


def sign_in_as(client: FlaskClient, make_user: Any, role: Role, unit: int, phone: str) -> User:
    from tests.conftest import AuthActions

    user = make_user(role=role, phone=phone, unit=unit)
    AuthActions(client).login(phone)
    return user


def start(client: FlaskClient, round_id: int, fmt: str = "xlsx") -> Any:
    token = csrf_token(client, f"/contests/rounds/{round_id}/ranking/audit")
    return client.post(f"/contests/rounds/{round_id}/ranking.{fmt}/job", data={"csrf_token": token})


def job_id_of(response: Any) -> str:
    assert response.status_code == 303, response.status_code
    match = re.fullmatch(r"/jobs/([A-Za-z0-9_-]{22})", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def wait_done(client: FlaskClient, job_id: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = client.get(f"/jobs/{job_id}.json").get_json()
        if state["state"] in ("done", "failed"):
            return state  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {state}")


def job_row(app: Flask, job_id: str) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job is not None
        db.session.expunge(job)
        return job


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The ranking job waits at its start until the test opens the gate."""
    opened = threading.Event()
    kind = jobs.KINDS["ranking"]

    def held(session: Any, args: Any, progress: Any) -> Any:
        assert opened.wait(30)
        return kind.run(session, args, progress)

    monkeypatch.setitem(jobs.KINDS, "ranking", jobs.Kind(**{**kind.__dict__, "run": held}))
    yield opened
    opened.set()


# --------------------------------------------------------------------- without Redis


def test_the_request_returns_at_once_and_the_file_is_the_direct_export(
    app, client, make_user, crowd, gate
):
    sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    started = time.monotonic()
    job_id = job_id_of(start(client, crowd))
    assert time.monotonic() - started < 5  # the job is held at its gate: nothing was built
    page = client.get(f"/jobs/{job_id}?lang=vi").get_data(as_text=True)
    assert ("Đang chuẩn bị tệp" in page or "Đang chờ" in page) and "Kiểm tra lại" in page
    assert 'http-equiv="refresh"' not in page  # WCAG 2.2.1: no timed refresh (axe meta-refresh)
    assert client.get(f"/jobs/{job_id}/file").status_code == 404  # not ready: no file yet
    gate.set()
    state = wait_done(client, job_id)
    assert state["state"] == "done" and state["progress"] == 100
    assert state["file_url"] == f"/jobs/{job_id}/file"
    assert job_row(app, job_id).runner == "inline"
    got = client.get(f"/jobs/{job_id}/file")
    assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
    assert "ranking-cuoc-thi-xep-hang-plain-final.xlsx" in got.headers["Content-Disposition"]
    assert got.headers["Cache-Control"] == "private, no-store"
    direct = client.get(f"/contests/rounds/{crowd}/ranking.xlsx").get_data()
    assert got.get_data() == direct  # the same bytes, so the same published SHA-256
    import hashlib

    assert got.headers["X-Content-SHA256"] == hashlib.sha256(direct).hexdigest()
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert hashlib.sha256(direct).hexdigest() in page
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.ranking")
        ).all()
        # the job's download and the direct one, each recorded
        assert [e.detail.get("job") for e in events].count(job_id) == 1


def test_a_double_click_starts_one_job(app, client, make_user, crowd, gate):
    sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    first = job_id_of(start(client, crowd))
    second = job_id_of(start(client, crowd))
    assert first == second
    other_format = job_id_of(start(client, crowd, "csv"))
    assert other_format != first
    gate.set()
    wait_done(client, first)
    wait_done(client, other_format)
    # Once done, the same export may be asked again: a new job.
    assert job_id_of(start(client, crowd)) != first
    wait_done(client, job_id_of(start(client, crowd)))


def test_concurrent_starts_of_the_same_export_make_one_active_job(app, crowd, make_user, gate):
    officer = make_user(role=Role.OFFICER, phone="0911111111")

    def enqueue(_: int) -> str:
        with app.test_request_context():
            user = db.session.get(User, officer.id)
            job = jobs.enqueue(
                db.session, "ranking", {"round": crowd, "format": "xlsx"}, user, AFTER
            )
            db.session.remove()
            return job.id

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(enqueue, range(6)))
    assert len(ids) == 1
    gate.set()
    with app.app_context():
        deadline = time.monotonic() + 60
        while db.session.scalar(select(Job.state).where(Job.id == next(iter(ids)))) != "done":
            assert time.monotonic() < deadline
            db.session.remove()
            time.sleep(0.05)
        assert db.session.query(Job).count() == 1


# ---------------------------------------------------------------------------- attackers


@pytest.mark.parametrize(
    ("role", "unit"),
    [(Role.OFFICER, VI_THANH), (Role.LEADER, PROVINCE), (Role.RESIDENT, VI_THANH)],
    ids=["commune-officer", "leader", "resident"],
)
def test_nobody_else_reads_a_job_or_its_file(app, make_user, crowd, role, unit):
    owner, other = app.test_client(), app.test_client()
    sign_in_as(owner, make_user, Role.OFFICER, PROVINCE, "0911111111")
    job_id = job_id_of(start(owner, crowd))
    assert wait_done(owner, job_id)["state"] == "done"
    sign_in_as(other, make_user, role, unit, "0922222222")
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}.json", f"/jobs/{job_id}/file"):
        assert other.get(path).status_code == 404, path
    # Nor may they start it (the page's own rule: a commune officer does not audit the
    # province's contest; leaders and residents audit nothing).
    token = csrf_token(other, "/account/")
    posted = other.post(f"/contests/rounds/{crowd}/ranking.xlsx/job", data={"csrf_token": token})
    assert posted.status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(f"/jobs/{job_id}/file").status_code == 302  # to the sign-in page
    assert anonymous.get(f"/jobs/{job_id}.json").status_code in (302, 401)


def test_a_guessed_or_malformed_job_id_is_a_404(app, client, make_user, crowd):
    sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    job_id = job_id_of(start(client, crowd, "csv"))
    wait_done(client, job_id)
    for guess in (
        secrets.token_urlsafe(16),
        job_id[:-1],
        job_id.upper() if job_id.upper() != job_id else job_id.lower(),
        "x" * 5000,
        "%00",
        "..%2F..%2Fetc",
        "1",
    ):
        assert client.get(f"/jobs/{guess}").status_code == 404, guess
        assert client.get(f"/jobs/{guess}/file").status_code == 404, guess


def test_an_officer_moved_out_of_scope_loses_the_file(app, client, make_user, crowd):
    officer = sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    job_id = job_id_of(start(client, crowd))
    wait_done(client, job_id)
    with app.app_context():
        db.session.execute(update(User).where(User.id == officer.id).values(unit_code=VI_THANH))
        db.session.commit()
    assert client.get(f"/jobs/{job_id}/file").status_code == 404


def test_the_file_is_kept_a_day_then_gone(app, client, clock, make_user, crowd):
    sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    job_id = job_id_of(start(client, crowd, "csv"))
    wait_done(client, job_id)
    clock.now = AFTER + timedelta(hours=23)
    assert client.get(f"/jobs/{job_id}/file").status_code == 200
    clock.now = AFTER + timedelta(hours=24, seconds=5)
    assert client.get(f"/jobs/{job_id}/file").status_code == 404
    runner = app.test_cli_runner()
    out = runner.invoke(args=["jobs", "cleanup"])
    assert out.exit_code == 0 and "1 job files deleted" in out.output
    with app.app_context():
        assert db.session.get(Job, job_id) is None


def test_a_lost_job_is_marked_failed_by_the_clean_up(app, make_user, clock):
    user = make_user(role=Role.OFFICER, phone="0911111111")
    with app.app_context():
        db.session.add(
            Job(
                id="lost-job-0000000000000",
                kind="ranking",
                args={"round": 1, "format": "csv"},
                key="x",
                user_id=user.id,
                language="vi",
                state="running",
                progress=40,
                runner="inline",
                created_at=AFTER - timedelta(hours=3),
                expires_at=AFTER + timedelta(hours=20),
            )
        )
        db.session.commit()
        assert jobs.cleanup(db.session, AFTER) == (0, 1)
        assert db.session.get(Job, "lost-job-0000000000000").state == "failed"


# ------------------------------------------------------------------------ with Redis (RQ)


@pytest.fixture
def redis_app(app: Flask) -> Iterator[Flask]:
    """The app with real Redis and a queue of this test's own (helpjobs-…)."""
    from redis import Redis
    from rq import Queue

    name = f"helpjobs-{secrets.token_hex(4)}"
    app.config.update(REDIS_URL=REDIS, JOBS_QUEUE=name)
    yield app
    Queue(name, connection=Redis.from_url(REDIS)).delete(delete_jobs=True)


def test_with_redis_the_job_waits_for_a_worker_then_the_worker_runs_it(
    redis_app, client, make_user, crowd
):
    from rq import SimpleWorker

    sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    job_id = job_id_of(start(client, crowd))
    assert job_row(redis_app, job_id).runner == "rq"
    time.sleep(0.3)
    assert client.get(f"/jobs/{job_id}.json").get_json()["state"] == "queued"  # no worker yet
    page = client.get(f"/jobs/{job_id}?lang=vi").get_data(as_text=True)
    assert "Đang chờ đến lượt" in page
    with redis_app.app_context():
        queue = jobs.queue(redis_app)
        assert queue.count == 1
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    state = client.get(f"/jobs/{job_id}.json").get_json()
    assert state["state"] == "done", state
    direct = client.get(f"/contests/rounds/{crowd}/ranking.xlsx").get_data()
    assert client.get(f"/jobs/{job_id}/file").get_data() == direct


def test_a_job_whose_owner_lost_the_right_while_it_waited_fails_with_a_message(
    redis_app, client, make_user, crowd
):
    from rq import SimpleWorker

    officer = sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    job_id = job_id_of(start(client, crowd))
    with redis_app.app_context():  # demoted while the job waits for a worker
        db.session.execute(update(User).where(User.id == officer.id).values(role=Role.LEADER))
        db.session.commit()
        queue = jobs.queue(redis_app)
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        job = db.session.get(Job, job_id)
        assert (job.state, job.error, job.filename) == ("failed", "not_allowed", None)


def test_flask_jobs_worker_runs_the_queue_in_its_own_process(redis_app, client, make_user, crowd):
    """The command the worker unit runs (RQ's forking worker), in burst mode."""
    sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    job_id = job_id_of(start(client, crowd, "csv"))
    result = redis_app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    state = client.get(f"/jobs/{job_id}.json").get_json()
    assert state["state"] == "done", state
    direct = client.get(f"/contests/rounds/{crowd}/ranking.csv").get_data()
    assert client.get(f"/jobs/{job_id}/file").get_data() == direct


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_with_redis_down_the_job_runs_in_the_web_process(app, client, make_user, crowd):
    app.config.update(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", JOBS_QUEUE="helpjobs-x")
    sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    started = time.monotonic()
    response = start(client, crowd)
    assert time.monotonic() - started < 5  # a refused connection: no wait
    job_id = job_id_of(response)
    assert wait_done(client, job_id)["state"] == "done"
    assert job_row(app, job_id).runner == "inline"


def test_a_worker_without_redis_says_so(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output


# ------------------------------------------------------------------ other kinds of file


def test_the_briefs_of_a_commune_officer_scope_as_one_zip(app, client, make_user, clock):
    sign_in_as(client, make_user, Role.OFFICER, VI_THANH, "0911111111")
    token = csrf_token(client, "/briefs/")
    job_id = job_id_of(client.post("/briefs/all.zip", data={"csrf_token": token}))
    state = wait_done(client, job_id, 120)
    assert state["state"] == "done", state
    got = client.get(f"/jobs/{job_id}/file")
    assert got.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(got.get_data())).namelist()
    assert names == [f"tom-tat-{VI_THANH}.pdf"]  # their own commune only
    assert zipfile.ZipFile(io.BytesIO(got.get_data())).read(names[0]).startswith(b"%PDF")


def test_raw_responses_of_an_anonymous_survey_below_the_province_are_refused(
    app, client, make_user
):
    from tests.test_surveys import IDENTIFIED, NOW, load_content, set_clock

    set_clock(app, NOW)
    anonymous = IDENTIFIED.replace("anonymous: false", "anonymous: true")
    load_content(app, [("an.yaml", anonymous)], NOW)
    slug = "kenh-thong-tin"
    sign_in_as(client, make_user, Role.OFFICER, PROVINCE, "0911111111")
    token = csrf_token(client, f"/results/{slug}")
    posted = client.post(
        f"/results/{slug}/responses.csv/job?unit={VI_THANH}", data={"csrf_token": token}
    )
    assert posted.status_code == 403  # anonymous: the province's responses only
    job_id = job_id_of(
        client.post(f"/results/{slug}/responses.xlsx/job", data={"csrf_token": token})
    )
    assert wait_done(client, job_id)["state"] == "done"
    direct = client.get(f"/results/{slug}/responses.xlsx").get_data()
    assert client.get(f"/jobs/{job_id}/file").get_data() == direct
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.responses")
        ).all()
        assert sorted(bool(e.detail.get("job")) for e in events) == [False, True]
        # The job itself refuses what the page would have refused (a commune's rows).
        officer = db.session.scalar(select(User).where(User.phone == "0911111111"))
        job = jobs.enqueue(
            db.session,
            "responses",
            {"survey": slug, "unit": VI_THANH, "format": "csv"},
            officer,
            NOW,
        )
        job_id = job.id
    state = wait_done(client, job_id)
    assert state["state"] == "failed" and "Không thể xuất" in state["error"]
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Không thể xuất phiếu trả lời" in page
    assert client.get(f"/jobs/{job_id}/file").status_code == 404


# ----------------------------------------------------------------------- the scheduler


def test_the_scheduler_runs_every_periodic_task_once(app, clock):
    result = app.test_cli_runner().invoke(args=["jobs", "scheduler", "--once"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("mix: ") and "pending responses moved" in lines[0]
    assert lines[1].startswith("finalize: ") and "rounds finalised" in lines[1]
    assert lines[2].startswith("cleanup: ") and "job files deleted" in lines[2]


def test_a_periodic_task_that_fails_does_not_stop_the_others(app, monkeypatch):
    from app.jobs import periodic

    def broken() -> str:
        raise RuntimeError("database away")

    tasks = (periodic.Task("broken", lambda a: 60.0, broken), *periodic.TASKS)
    monkeypatch.setattr(periodic, "TASKS", tasks)
    last: dict[str, float] = {}
    assert periodic.run_due(app, last, 1000.0) == ["broken", "mix", "finalize", "cleanup"]
    assert periodic.run_due(app, last, 1030.0) == []  # none due yet
    assert periodic.run_due(app, last, 1060.0) == ["broken", "mix", "finalize"]


# ----------------------------------------------------------------------------- the API


def token_of(client: FlaskClient, phone: str) -> dict[str, str]:
    from tests.conftest import PASSWORD

    answer = client.post("/api/v1/auth/token", json={"phone": phone, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def test_the_api_answers_202_with_a_status_url_then_the_file(app, client, make_user, crowd):
    make_user(role=Role.OFFICER, phone="0911111111")
    make_user(role=Role.OFFICER, phone="0922222222", unit=VI_THANH)
    make_user(role=Role.RESIDENT, phone="0933333333")
    mine, commune, resident = (
        token_of(client, p) for p in ("0911111111", "0922222222", "0933333333")
    )
    url = f"/api/v1/rounds/{crowd}/exports"
    assert client.post(url, json={"format": "pdf"}, headers=mine).status_code == 422
    assert client.post(url, json={}, headers=resident).status_code == 403
    assert client.post(url, json={}, headers=commune).status_code == 403  # not its contest
    assert client.post("/api/v1/rounds/999999/exports", json={}, headers=mine).status_code == 404
    started = client.post(url, json={"format": "xlsx"}, headers=mine)
    assert started.status_code == 202
    body = started.get_json()
    assert started.headers["Location"] == body["status_url"] == f"/api/v1/jobs/{body['id']}"
    assert body["state"] in ("queued", "running", "done") and body["progress"] >= 0
    deadline = time.monotonic() + 60
    while (state := client.get(body["status_url"], headers=mine).get_json())["state"] != "done":
        assert state["state"] != "failed" and time.monotonic() < deadline, state
        time.sleep(0.05)
    assert state["file_url"] == f"/api/v1/jobs/{body['id']}/file"
    got = client.get(state["file_url"], headers=mine)
    assert got.status_code == 200 and got.headers["X-Content-SHA256"] == state["sha256"]
    for other in (commune, resident):
        assert client.get(body["status_url"], headers=other).status_code == 404
        assert client.get(state["file_url"], headers=other).status_code == 404
    assert client.get(body["status_url"]).status_code == 401
    assert client.get(f"/api/v1/jobs/{secrets.token_urlsafe(16)}", headers=mine).status_code == 404
    assert client.get("/api/v1/jobs/%00", headers=mine).status_code == 404


def test_without_a_scheduler_the_first_request_starts_the_periodic_work(
    app_factory, make_user, clock
):
    """`make run` (no Redis, JOBS_SCHEDULER=app): the web process runs the loop itself."""
    web = app_factory(JOBS_SCHEDULER="app")
    set_clock(web, AFTER)
    user = make_user(role=Role.OFFICER, phone="0911111111")
    with web.app_context():
        db.session.add(
            Job(
                id="old-file-0000000000000",
                kind="ranking",
                args={"round": 1, "format": "csv"},
                key="x",
                user_id=user.id,
                language="vi",
                state="done",
                progress=100,
                runner="inline",
                created_at=AFTER - timedelta(days=2),
                expires_at=AFTER - timedelta(days=1),
            )
        )
        db.session.commit()

    def loops() -> int:
        return [t.name for t in threading.enumerate()].count("periodic")

    before = loops()  # another test's app may have left its own (tests/test_config.py did)
    web.test_client().get("/")
    try:
        deadline = time.monotonic() + 30
        with web.app_context():
            while db.session.get(Job, "old-file-0000000000000") is not None:
                assert time.monotonic() < deadline  # the clean-up ran in the web process
                db.session.remove()
                time.sleep(0.05)
        assert loops() == before + 1
        web.test_client().get("/")  # one loop per process, not one per request
        assert loops() == before + 1
    finally:
        web.extensions["periodic_stop"].set()
        for thread in threading.enumerate():
            if thread.name == "periodic":
                thread.join(30)
