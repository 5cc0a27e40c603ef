"""Admission control for starts (issue 17, point 3; app/admission.py), attacked as the weekly
opening meets it: many residents pressing "Start" at once on two app nodes sharing Redis, a
resident already in an attempt, forged and borrowed tickets, people who leave the line, a Redis
that does not answer, and the start limit of 10 a minute.

Real threads, the real database and a real Redis (keys under `helpadmitfix-…`, deleted after);
the in-memory line is attacked with the same tests where it applies."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from app import admission
from app.extensions import db
from app.models import Attempt, Round, User
from app.services import attempts as service
from tests.conftest import PASSWORD, csrf_token, load_content, set_clock
from tests.test_attempts import CONTEST, START, bank_yaml

REDIS = "redis://127.0.0.1:6379/15"


def redis_is_up() -> bool:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


needs_redis = pytest.mark.skipif(not redis_is_up(), reason="Redis at 127.0.0.1:6379 is down")


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys deleted afterwards."""
    name = f"helpadmitfix-{uuid.uuid4().hex[:12]}"
    yield name
    if redis_is_up():
        import redis

        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(f"{name}:*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def refusing_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()  # nothing listens there now: connections are refused
    return port


@pytest.fixture
def round_id(app: Flask) -> int:
    set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        return int(db.session.scalar(select(Round.id).where(Round.key == "tuan-1")))


@pytest.fixture
def node(app_factory: Callable[..., Flask], prefix: str) -> Callable[..., Flask]:
    """An app node: capacity, window and line (Redis or memory) as asked; the test's clock."""

    def make(capacity: int = 1, window: int = 0, shared: bool = True, **more: Any) -> Flask:
        settings = {
            "ADMISSION_MAX_STARTS": capacity,
            "ADMISSION_WINDOW": window,
            "ADMISSION_KEY_PREFIX": prefix,
            "REDIS_URL": REDIS if shared else None,
            **more,
        }
        app = app_factory(**settings)
        set_clock(app, START)
        return app

    return make


def token(app: Flask, phone: str) -> dict[str, str]:
    response = app.test_client().post(
        "/api/v1/auth/token", json={"phone": phone, "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def residents(make_user: Callable[..., User], app: Flask, n: int) -> list[dict[str, str]]:
    phones = [f"0977{i:06d}" for i in range(n)]
    for phone in phones:
        make_user(phone=phone)
    return [token(app, phone) for phone in phones]


def start(app: Flask, headers: dict[str, str], round_id: int, ticket: str | None = None) -> Any:
    extra = {"X-Queue-Ticket": ticket} if ticket else {}
    return app.test_client().post(
        f"/api/v1/rounds/{round_id}/attempts", headers={**headers, **extra}
    )


class Hold:
    """Starts in flight that the test holds (as slow starts would), given back by `free`."""

    def __init__(self, app: Flask, round_id: int, user_id: int) -> None:
        self.app, self.round_id, self.user_id = app, round_id, user_id
        self.decisions: list[admission.Decision] = []

    def take(self, n: int = 1) -> None:
        with self.app.test_request_context():
            round_ = db.session.get(Round, self.round_id)
            user = db.session.get(User, self.user_id)
            assert round_ is not None and user is not None
            for _ in range(n):
                decision = admission.enter(db.session, round_, user, None)
                assert decision.admitted and decision.held is not None
                self.decisions.append(decision)

    def free(self) -> None:
        with self.app.test_request_context():
            while self.decisions:
                admission.release(self.decisions.pop())


@pytest.fixture
def holder(make_user: Callable[..., User]) -> User:
    return make_user(phone="0966000000")  # never starts: only holds slots


def refused(response: Any) -> dict[str, Any]:
    """A 503 as api.md writes errors, with Retry-After and the place kept; its queue part."""
    assert response.status_code == 503, response.get_data(as_text=True)
    body = response.get_json()["error"]
    assert body["code"] == "unavailable" and body["message"]
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 30 and body["queue"]["retry_after_s"] == retry
    assert response.headers["X-Queue-Ticket"] == body["queue"]["ticket"]
    return body["queue"]  # type: ignore[no-any-return]


def attempts_per_person(app: Flask) -> dict[int, int]:
    with app.app_context():
        rows = db.session.execute(
            select(Attempt.user_id, func.count(Attempt.id)).group_by(Attempt.user_id)
        ).all()
        db.session.remove()
    return {user: n for user, n in rows}


# ------------------------------------------------------------------------ fairness (FCFS)


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_the_line_is_first_come_first_served(app, node, round_id, make_user, holder, shared):
    """Capacity 1, window 1: with the one slot held, A, B and C are told places 1, 2, 3 and
    keep them; once the slot is free, C and B asking first are still held, A goes, then B, C.
    With Redis the three ask two different nodes."""
    one = node(capacity=1, window=1, shared=shared)
    two = node(capacity=1, window=1, shared=shared) if shared else one
    a, b, c = residents(make_user, app, 3)
    hold = Hold(one, round_id, holder.id)
    hold.take()
    place = {}
    for name, person, where in (("a", a, one), ("b", b, two), ("c", c, one)):
        place[name] = refused(start(where, person, round_id))
    assert [place[n]["position"] for n in "abc"] == [1, 2, 3]
    again = refused(start(two, b, round_id, place["b"]["ticket"]))  # a refresh keeps the place
    assert again["position"] == 2
    hold.free()
    assert refused(start(two, c, round_id, place["c"]["ticket"]))["position"] == 3
    assert refused(start(one, b, round_id, place["b"]["ticket"]))["position"] == 2
    assert start(two, a, round_id, place["a"]["ticket"]).status_code == 201
    assert refused(start(one, c, round_id, place["c"]["ticket"]))["position"] == 2
    assert start(one, b, round_id, place["b"]["ticket"]).status_code == 201
    assert start(two, c, round_id, place["c"]["ticket"]).status_code == 201
    assert sorted(attempts_per_person(app).values()) == [1, 1, 1]


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_a_newcomer_does_not_pass_the_people_waiting(
    app, node, round_id, make_user, holder, shared
):
    one = node(capacity=1, window=1, shared=shared)
    first, newcomer = residents(make_user, app, 2)
    hold = Hold(one, round_id, holder.id)
    hold.take()
    waiting = refused(start(one, first, round_id))
    hold.free()
    assert refused(start(one, newcomer, round_id))["position"] == 2  # behind the one waiting
    assert start(one, first, round_id, waiting["ticket"]).status_code == 201


# --------------------------------------------------------------------- many at once, 2 nodes


@needs_redis
def test_many_concurrent_starts_on_two_nodes_none_lost_bound_held(
    app, node, round_id, make_user, monkeypatch
):
    """24 residents start at once through two nodes, capacity 2 across both: every answer is
    201 or a 503 with Retry-After, never more than 2 starts run at once, and everyone who
    comes back with their ticket gets exactly one attempt."""
    nodes = [node(capacity=2), node(capacity=2)]
    people = residents(make_user, app, 24)
    lock = threading.Lock()
    running, most = 0, 0
    real_start = service.start

    def slow_start(*args: Any, **kwargs: Any) -> Any:  # the real start, made to overlap
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)
            return real_start(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(service, "start", slow_start)
    barrier = threading.Barrier(len(people))

    def resident(i: int) -> list[int]:
        statuses, ticket = [], None
        barrier.wait()
        for _ in range(200):
            response = start(nodes[i % 2], people[i], round_id, ticket)
            statuses.append(response.status_code)
            if response.status_code != 503:
                break
            ticket = refused(response)["ticket"]
            time.sleep(0.02)  # sooner than Retry-After: the test stays short
        return statuses

    with ThreadPoolExecutor(len(people)) as pool:
        outcomes = list(pool.map(resident, range(len(people))))
    assert all(set(s) <= {201, 503} and s[-1] == 201 for s in outcomes), outcomes
    assert any(503 in s for s in outcomes)  # the line was used
    assert most <= 2
    per_person = attempts_per_person(app)
    assert len(per_person) == 24 and set(per_person.values()) == {1}


def test_a_failed_start_gives_its_slot_back(app, node, round_id, make_user):
    one = node(capacity=1, shared=False)
    person, other = residents(make_user, app, 2)
    with app.app_context():
        closed = db.session.scalar(select(Round).where(Round.key == "tuan-2"))
        closed.closes_at = START  # closed now
        db.session.commit()
        closed_id = closed.id
    assert start(one, person, closed_id).status_code == 409
    assert start(one, other, round_id).status_code == 201  # the slot came back


# ------------------------------------------------------------------- in an attempt: never held


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_a_resident_in_an_attempt_is_never_held(app, node, round_id, make_user, holder, shared):
    one = node(capacity=1, shared=shared)
    (person,) = residents(make_user, app, 1)
    first = start(one, person, round_id)
    assert first.status_code == 201
    hold = Hold(one, round_id, holder.id)
    hold.take()  # the line is full
    again = start(one, person, round_id)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    hold.free()


def test_a_resident_in_an_attempt_continues_on_the_page(app, node, round_id, make_user, holder):
    one = node(capacity=1, shared=False)
    make_user(phone="0977000000")
    browser = one.test_client()
    sign_in(browser, "0977000000")
    started = browser.post(f"/contests/rounds/{round_id}/start", data=form(browser, round_id))
    assert started.status_code == 302 and "/contests/attempts/" in started.location
    hold = Hold(one, round_id, holder.id)
    hold.take()
    again = browser.post(f"/contests/rounds/{round_id}/start", data=form(browser, round_id))
    assert again.status_code == 302 and again.location == started.location
    hold.free()


# ---------------------------------------------------------------------------------- tickets


def two_in_line(
    one: Flask, app: Flask, make_user: Callable[..., User], holder: User, round_id: int
) -> tuple[Hold, list[dict[str, str]], list[dict[str, Any]]]:
    """The one slot held; two residents told places 1 and 2."""
    people = residents(make_user, app, 2)
    hold = Hold(one, round_id, holder.id)
    hold.take()
    places = [refused(start(one, person, round_id)) for person in people]
    assert [place["position"] for place in places] == [1, 2]
    return hold, people, places


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_tickets_cannot_be_forged_or_borrowed(app, node, round_id, make_user, holder, shared):
    one = node(capacity=1, window=1, shared=shared)
    hold, (_first, second), (ahead, _behind) = two_in_line(one, app, make_user, holder, round_id)
    with app.app_context():
        first_id = db.session.scalar(select(User.id).where(User.phone == "0977000000"))
        second_id = db.session.scalar(select(User.id).where(User.phone == "0977000001"))
    other_key = URLSafeTimedSerializer("another-key-0123456789-0123456789", "admission-ticket")
    forged = [
        ahead["ticket"],  # the first person's ticket, borrowed
        other_key.dumps({"u": second_id, "r": round_id, "n": 1}),  # signed elsewhere
        ahead["ticket"][:-2] + "xx",  # altered
        "1",
        "x" * 5000,
    ]
    with one.test_request_context():
        line = admission._gate().line().name
        forged.append(admission._ticket(second_id, round_id + 1, 1, line))  # another round's
        assert admission.ticket_data(ahead["ticket"], first_id, round_id) is not None
        assert admission.ticket_data(ahead["ticket"], second_id, round_id) is None
    for ticket in forged:
        answer = refused(start(one, second, round_id, ticket))
        assert answer["position"] == 2  # their own place, never the first's
    hold.free()


# --------------------------------------------------------------------- leaving, outage, limit


@needs_redis
def test_people_who_leave_the_line_do_not_stall_it(
    app, node, round_id, make_user, holder, monkeypatch
):
    monkeypatch.setattr(admission, "PATIENCE_MS", 0)
    one = node(capacity=1, window=1)
    gone, stays = residents(make_user, app, 2)
    hold = Hold(one, round_id, holder.id)
    hold.take()
    refused(start(one, gone, round_id))  # place 1, then the page is closed
    waiting = refused(start(one, stays, round_id))
    assert waiting["position"] == 2
    hold.free()
    time.sleep(1.2)  # the first one's refresh time (1 s) passes without them
    assert start(one, stays, round_id, waiting["ticket"]).status_code == 201


def test_a_redis_that_does_not_answer_does_not_block_starts(
    app,
    node,
    round_id,
    make_user,
    refusing_port,
    caplog,
):
    one = node(capacity=2, REDIS_URL=f"redis://127.0.0.1:{refusing_port}/0")
    people = residents(make_user, app, 2)
    with caplog.at_level(logging.WARNING, logger="app.admission"):
        statuses = [start(one, person, round_id).status_code for person in people]
    assert statuses == [201, 201]
    assert "admission: Redis does not answer" in caplog.text


@needs_redis
def test_waiting_does_not_use_up_the_start_limit(app, node, round_id, make_user, holder):
    """Retry-After obeyed twelve times in a minute, then the turn comes: 201, not 429."""
    one = node(capacity=1, window=1)
    (person,) = residents(make_user, app, 1)
    hold = Hold(one, round_id, holder.id)
    hold.take()
    ticket = None
    for _ in range(12):
        ticket = refused(start(one, person, round_id, ticket))["ticket"]
    hold.free()
    assert start(one, person, round_id, ticket).status_code == 201


# --------------------------------------------------------------------------------- the page


def sign_in(browser: FlaskClient, phone: str) -> None:
    token = csrf_token(browser, "/auth/login")
    response = browser.post(
        "/auth/login", data={"phone": phone, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def form(browser: FlaskClient, round_id: int) -> dict[str, str]:
    return {"csrf_token": csrf_token(browser, f"/contests/rounds/{round_id}")}


def place_on(page: str) -> int:
    match = re.search(r'id="place">[^<]*?(\d[\d.]*)', page)
    assert match, page
    return int(match.group(1).replace(".", ""))


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_the_waiting_page_refreshes_itself_and_keeps_the_place(
    app, node, round_id, make_user, holder, shared
):
    one = node(capacity=1, window=1, shared=shared)
    for phone in ("0977000000", "0977000001"):
        make_user(phone=phone)
    first, second = one.test_client(), one.test_client()
    sign_in(first, "0977000000")
    sign_in(second, "0977000001")
    hold = Hold(one, round_id, holder.id)
    hold.take()
    queue = f"/contests/rounds/{round_id}/queue"
    waits = []
    for browser in (first, second):
        response = browser.post(f"/contests/rounds/{round_id}/start", data=form(browser, round_id))
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        refresh = re.fullmatch(r"(\d+); url=(\S+)", response.headers["Refresh"])
        assert refresh and refresh.group(2) == queue and 1 <= int(refresh.group(1)) <= 30
        assert "<script" not in page  # the browser refreshes it by itself
        assert "Vị trí của ông/bà trong hàng chờ" in page and "Kiểm tra ngay" in page
        waits.append(place_on(page))
    assert waits == [1, 2]
    assert place_on(second.get(queue).get_data(as_text=True)) == 2  # a refresh keeps it
    hold.free()
    assert place_on(second.get(queue).get_data(as_text=True)) == 2  # first still ahead
    turn = first.get(queue)
    assert turn.status_code == 302 and "/contests/attempts/" in turn.location
    assert first.get(queue).location.endswith(f"/contests/rounds/{round_id}")  # ticket used
    assert second.get(queue).status_code == 302
    assert sorted(attempts_per_person(app).values()) == [1, 1]


def test_the_queue_address_without_a_ticket_starts_nothing(app, node, round_id, make_user):
    """A GET cannot start an attempt unless the person asked for it by the form (CSRF)."""
    one = node(capacity=1, shared=False)
    make_user(phone="0977000000")
    browser = one.test_client()
    sign_in(browser, "0977000000")
    response = browser.get(f"/contests/rounds/{round_id}/queue")
    assert response.status_code == 302 and response.location.endswith(f"/rounds/{round_id}")
    assert attempts_per_person(app) == {}


def test_the_default_bound_is_half_of_what_gunicorn_serves(app_factory):
    """gunicorn.conf.py tells each worker's app its node's workers × threads; the bound on
    starts is half of it (sync workers: a bound as large as the workers refuses nothing)."""
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    app = app_factory()
    conf["post_worker_init"](SimpleNamespace(wsgi=app, cfg=SimpleNamespace(workers=5, threads=2)))
    assert app.config["SERVER_SLOTS"] == 10
    with app.app_context():
        assert admission.settings().capacity == 5
        app.config["ADMISSION_MAX_STARTS"] = 0
        assert admission.settings().capacity == 0  # off: every start goes ahead


# ------------------------------------------- the review's findings (issue 17, point 3, review)


def waiting_people(prefix: str) -> int:
    import redis

    return int(redis.Redis.from_url(REDIS).zcard(f"{prefix}:wait"))


def running_slots(prefix: str) -> int:
    import redis

    return int(redis.Redis.from_url(REDIS).zcard(f"{prefix}:run"))


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_one_account_cannot_fill_the_line(app, node, round_id, make_user, holder, prefix, shared):
    """30 starts from one account without a ticket: one place (the same each time), and the
    start limit counts them (429 after 10); the next person is second in line and goes as soon
    as the slot is free."""
    one = node(capacity=1, window=2, shared=shared)
    attacker, victim = residents(make_user, app, 2)
    hold = Hold(one, round_id, holder.id)
    hold.take()
    answers = [start(one, attacker, round_id) for _ in range(30)]
    codes = [a.status_code for a in answers]
    assert codes == [503] * 10 + [429] * 20, codes
    assert {refused(a)["position"] for a in answers[:10]} == {1}
    if shared:
        assert waiting_people(prefix) == 1
    behind = refused(start(one, victim, round_id))
    assert behind["position"] == 2
    hold.free()
    assert start(one, victim, round_id, behind["ticket"]).status_code == 201


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_asking_again_finds_the_same_place(app, node, round_id, make_user, holder, shared):
    one = node(capacity=1, window=1, shared=shared)
    hold, (first, _second), (a, _b) = two_in_line(one, app, make_user, holder, round_id)
    again = refused(start(one, first, round_id))  # no ticket: the same place, not a new one
    assert again["position"] == 1
    with one.test_request_context():
        user = db.session.scalar(select(User.id).where(User.phone == "0977000000"))
        number = admission.ticket_data(a["ticket"], user, round_id)["n"]  # type: ignore[index]
        assert admission.ticket_data(again["ticket"], user, round_id)["n"] == number  # type: ignore[index]
    hold.free()


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_a_person_who_cannot_start_takes_no_place(
    app, node, round_id, make_user, holder, prefix, shared
):
    """The round closed, or no attempts left: the refusal (409) comes before the line, even
    while the line is full, and nobody waits behind them."""
    one = node(capacity=1, window=1, shared=shared)
    used_up, other = residents(make_user, app, 2)
    with app.app_context():
        closed = db.session.scalar(select(Round).where(Round.key == "tuan-2"))
        closed.closes_at = START
        db.session.commit()
        closed_id = closed.id
    for _ in range(2):  # tuan-1 allows two attempts: both used (submitted)
        assert start(one, used_up, round_id).status_code == 201
        with app.app_context():
            db.session.execute(Attempt.__table__.update().values(state="submitted"))
            db.session.commit()
    hold = Hold(one, round_id, holder.id)
    hold.take()
    for _ in range(3):
        assert start(one, used_up, round_id).status_code == 409
        assert start(one, other, closed_id).status_code == 409
    if shared:
        assert waiting_people(prefix) == 0
    assert refused(start(one, other, round_id))["position"] == 1
    hold.free()


def test_the_waiting_page_and_the_api_count_alike(app, node, round_id, make_user, holder):
    """The page's rule is the API's: a wait with the ticket of one's place (the page's refresh,
    "Start" pressed again while waiting) does not count against the start limit."""
    one = node(capacity=1, window=1, shared=False)
    make_user(phone="0977000000")
    browser = one.test_client()
    sign_in(browser, "0977000000")
    hold = Hold(one, round_id, holder.id)
    hold.take()
    queue = f"/contests/rounds/{round_id}/queue"
    for _ in range(12):
        again = browser.post(f"/contests/rounds/{round_id}/start", data=form(browser, round_id))
        assert again.status_code == 200 and place_on(again.get_data(as_text=True)) == 1
        assert browser.get(queue).status_code == 200
    hold.free()
    turn = browser.get(queue)
    assert turn.status_code == 302 and "/contests/attempts/" in turn.location


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_an_old_ticket_does_not_regain_a_place(
    app, node, round_id, make_user, holder, monkeypatch, shared
):
    """A left the line (their page closed); B came and is first. A's old ticket is no place:
    A is a newcomer, behind B."""
    monkeypatch.setattr(admission, "PATIENCE_MS", 0)
    one = node(capacity=1, window=1, shared=shared)
    a, b = residents(make_user, app, 2)
    hold = Hold(one, round_id, holder.id)
    hold.take()
    old = refused(start(one, a, round_id))["ticket"]
    time.sleep(1.2)  # A's refresh time (1 s) passes without them
    first = refused(start(one, b, round_id))
    assert first["position"] == 1
    hold.free()
    assert refused(start(one, a, round_id, old))["position"] == 2
    assert start(one, b, round_id, first["ticket"]).status_code == 201


@needs_redis
def test_a_ticket_of_the_fallback_line_does_not_jump_ahead(
    app, node, round_id, make_user, holder, refusing_port
):
    """A waited on a node whose Redis did not answer (its own line numbers from 1); back on
    the shared line, A's ticket is no place there: A queues behind B."""
    shared = node(capacity=1, window=1)
    down = node(capacity=1, window=1, REDIS_URL=f"redis://127.0.0.1:{refusing_port}/0")
    a, b = residents(make_user, app, 2)
    Hold(shared, round_id, holder.id).take()
    Hold(down, round_id, holder.id).take()
    assert refused(start(shared, b, round_id))["position"] == 1
    local = refused(start(down, a, round_id))
    assert local["position"] == 1
    assert refused(start(shared, a, round_id, local["ticket"]))["position"] == 2
    assert refused(start(shared, b, round_id))["position"] == 1


@needs_redis
def test_a_slot_given_back_while_redis_failed_elsewhere_is_freed(
    app, node, round_id, make_user, holder, prefix
):
    """A start admitted by Redis ends just after another request saw Redis fail: its slot is
    given back on Redis (not only in memory), and the next start goes ahead."""
    one = node(capacity=1, window=1)
    (person,) = residents(make_user, app, 1)
    hold = Hold(one, round_id, holder.id)
    hold.take()
    with one.test_request_context():
        import redis

        admission._gate().failed(redis.TimeoutError("a blip"))
        hold.free()
        admission._gate().redis_down_until = 0  # Redis answers again
    assert running_slots(prefix) == 0
    assert start(one, person, round_id).status_code == 201


class LossyProxy:
    """A TCP relay to the real Redis that can lose the reply to the next script (EVALSHA):
    the script runs in Redis, its caller times out — or, with `lose_request` and after
    `spare` scripts, lose the script itself: it never reaches Redis."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.lose_next = threading.Event()
        self.lose_request = False
        self.spare = 0
        self.lost = threading.Event()
        self.sockets: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            losing = threading.Event()
            threading.Thread(target=self._pump, args=(client, upstream, losing, True)).start()
            threading.Thread(target=self._pump, args=(upstream, client, losing, False)).start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, losing: threading.Event, up: bool
    ) -> None:
        try:
            while data := source.recv(65536):
                if up and b"EVALSHA" in data and self.lose_next.is_set():
                    if self.spare > 0:
                        self.spare -= 1
                    elif self.lose_request:
                        self.lose_next.clear()
                        self.lost.set()
                        continue  # the script is lost
                    else:
                        self.lose_next.clear()
                        losing.set()
                if not up and losing.is_set():
                    self.lost.set()
                    continue  # the reply is lost
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def lossy_redis() -> Iterator[LossyProxy]:
    proxy = LossyProxy(6379)
    yield proxy
    proxy.close()


@needs_redis
def test_a_script_whose_reply_was_lost_leaves_no_slot(
    app, node, round_id, make_user, prefix, lossy_redis
):
    """The script took the one slot in Redis but its reply never came (a timeout): the start
    went ahead on the node's own line, and the slot in Redis is removed with the node's next
    call, not held for a minute."""
    one = node(capacity=1, window=1, REDIS_URL=f"redis://127.0.0.1:{lossy_redis.port}/15")
    first, second, third = residents(make_user, app, 3)
    assert start(one, first, round_id).status_code == 201  # the script is loaded in Redis
    lossy_redis.lose_next.set()
    assert start(one, second, round_id).status_code == 201  # fails open after 1 s
    assert lossy_redis.lost.is_set()
    one.extensions["admission"].redis_down_until = 0  # RETRY_REDIS_S later: Redis is tried
    assert start(one, third, round_id).status_code == 201  # not 503 behind a ghost
    assert running_slots(prefix) == 0


@pytest.mark.parametrize("shared", [pytest.param(True, marks=needs_redis), False])
def test_only_starts_that_made_an_attempt_are_timed(app, node, round_id, make_user, prefix, shared):
    """A start admitted and then refused (or answering with the attempt in progress) is no
    measure of a start's cost: the line's mean duration is left as it was."""
    one = node(capacity=1, window=1, shared=shared)
    (person,) = residents(make_user, app, 1)
    with one.test_request_context():
        round_ = db.session.get(Round, round_id)
        user = db.session.scalar(select(User).where(User.phone == "0977000000"))
        quick = admission.enter(db.session, round_, user, None)  # admitted, nothing made
        admission.release(quick)
        gate = admission._gate()

    def mean() -> float | None:
        if not shared:
            return gate.local.mean_ms
        import redis

        value = redis.Redis.from_url(REDIS).hget(f"{prefix}:stats", "mean_ms")
        return None if value is None else float(value)

    assert mean() in (None, admission.FIRST_MEAN_MS)
    assert start(one, person, round_id).status_code == 201
    assert mean() not in (None, admission.FIRST_MEAN_MS)


@needs_redis
def test_the_script_is_the_one_home_of_the_queue_figures(app, node, round_id, make_user, prefix):
    """Retry-After and the wait are the script's own figures (no second sum in Python from a
    rounded rate), and the line without Redis computes the same ones."""
    import redis

    client = redis.Redis.from_url(REDIS)
    figures = client.register_script(
        admission.FIGURES + "return {figures(tonumber(ARGV[1]), tonumber(ARGV[2]), "
        "tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), "
        "tonumber(ARGV[7]))}"
    )
    for capacity in (1, 3, 7):
        for fixed in (0, 2):
            for mean in (1.0, 97.0, 350.0, 2900.0, 3000.0, 7001.0):
                for place in (1, 2, 9, 10, 31, 500):
                    settings = admission.Settings(capacity, fixed)
                    lua = figures(
                        args=[
                            capacity,
                            fixed,
                            mean,
                            admission.HEAD_REFRESH_S,
                            place,
                            admission.MIN_RETRY_S,
                            admission.MAX_RETRY_S,
                        ]
                    )
                    python = admission._figures(settings, mean, place)
                    assert tuple(lua) == python, (capacity, fixed, mean, place)
    one = node(capacity=1, window=1)
    people = residents(make_user, app, 12)
    client.hset(f"{prefix}:stats", "mean_ms", 3000)  # a third of a start a second
    hold = Hold(one, round_id, make_user(phone="0966000001").id)
    hold.take()
    for place, person in enumerate(people, start=1):
        answer = refused(start(one, person, round_id))
        _window, wait_s, retry_s = admission._figures(admission.Settings(1, 1), 3000.0, place)
        assert (answer["position"], answer["wait_s"], answer["retry_after_s"]) == (
            place,
            wait_s,
            retry_s,
        )
    hold.free()


@needs_redis
def test_a_release_that_did_not_reach_redis_is_made_later(
    app, node, round_id, make_user, prefix, lossy_redis
):
    """The start's release never reached Redis (the connection lost it): the slot is kept for
    removal and removed by the node's next script, so the next start is not held behind it."""
    one = node(capacity=1, window=1, REDIS_URL=f"redis://127.0.0.1:{lossy_redis.port}/15")
    first, second, third = residents(make_user, app, 3)
    assert start(one, first, round_id).status_code == 201  # the script is loaded in Redis
    lossy_redis.lose_request, lossy_redis.spare = True, 1  # the enter passes, the release not
    lossy_redis.lose_next.set()
    assert start(one, second, round_id).status_code == 201
    assert lossy_redis.lost.is_set() and running_slots(prefix) == 1
    one.extensions["admission"].redis_down_until = 0  # RETRY_REDIS_S later: Redis is tried
    assert start(one, third, round_id).status_code == 201
    assert running_slots(prefix) == 0
