"""Eligibility (issue 19, point 2): `min_age` from the birth year and `verified_phone`, read
from the contest file, checked by the server at each start — 409 with the reason over the
API, a Vietnamese page with the way to fix it on the site — and the fixes themselves."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.content.pipeline import load_files
from app.content.store import Actor, export_contest
from app.extensions import db
from app.models import Attempt, Contest, Round, User
from app.services import eligibility
from tests.conftest import PASSWORD, PROVINCE, csrf_token, load_content, set_clock
from tests.test_attempts import bank_yaml

START = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)

CONTEST = """\
contest: thi-co-dieu-kien
title: Cuộc thi có điều kiện
eligibility:
  min_age: 15
  verified_phone: true
rounds:
  - id: tuan-1
    title: Tuần 1
    opens: 2026-12-01 08:00
    closes: 2026-12-07 20:00
    time_limit: 15m
    draw: [{bank: ngan-hang-thu, count: 5}]
"""
OPEN_TO_ALL = CONTEST.replace("contest: thi-co-dieu-kien", "contest: thi-tu-do").replace(
    "eligibility:\n  min_age: 15\n  verified_phone: true\n", ""
)


@pytest.fixture
def round_id(app) -> int:  # type: ignore[no-untyped-def]
    set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        return db.session.scalar(select(Round.id))


def bearer(client: Any, phone: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", json={"phone": phone, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


def set_user(app: Any, user_id: int, **values: Any) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def attempts(app: Any) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Attempt)).all())


# ------------------------------------------------------------------------ the contest file


def test_the_eligibility_block_is_stored_and_exported(app, round_id) -> None:
    with app.app_context():
        contest = db.session.scalar(select(Contest))
        assert (contest.min_age, contest.verified_phone) == (15, True)
        assert export_contest(contest)["eligibility"] == {"min_age": 15, "verified_phone": True}


@pytest.mark.parametrize(
    "block",
    [
        "eligibility:\n  min_age: 0\n",
        "eligibility:\n  min_age: muoi lam\n",
        "eligibility:\n  verified_phone: co\n",
        "eligibility:\n  max_age: 30\n",
        "eligibility: 15\n",
    ],
)
def test_a_bad_eligibility_block_is_refused_in_vietnamese(app, block: str) -> None:
    text = CONTEST.replace("eligibility:\n  min_age: 15\n  verified_phone: true\n", block)
    with app.app_context():
        outcomes = load_files(
            db.session,
            [("b.yaml", bank_yaml().encode()), ("c.yaml", text.encode())],
            Actor(unit_code=PROVINCE, is_admin=True),
            START,
        )
        contest = next(o for o in outcomes if o.result.filename == "c.yaml")
        assert not contest.ok
        problems = contest.result.problems
        assert problems and all(p.line in (3, 4) for p in problems), contest.result.messages()
        # In Vietnamese, like every other field's message.
        assert all(p.text("vi") != p.text("en") for p in problems), contest.result.messages()
        assert db.session.scalar(select(Contest)) is None


# ------------------------------------------------------------------------------- the API


def test_api_refuses_each_missing_condition_with_its_reason(app, client, make_user, round_id):
    user = make_user(phone="0912345678")
    headers = bearer(client, user.phone)
    url = f"/api/v1/rounds/{round_id}/attempts"

    no_year = client.post(url, headers=headers)
    assert no_year.status_code == 409
    error = no_year.get_json()["error"]
    assert error["code"] == "conflict" and error["details"][0]["field"] == "birth_year"
    assert "năm sinh" in error["message"]

    # The fix over the API: the year of birth given with PATCH /me.
    for bad in (1899, 2101, None, "١٩٨٠", 1980.5, True):
        assert (
            client.patch("/api/v1/me", json={"birth_year": bad}, headers=headers).status_code == 422
        )
    patched = client.patch("/api/v1/me", json={"birth_year": 2012}, headers=headers)  # 14 in 2026
    assert patched.status_code == 200 and patched.get_json()["birth_year"] == 2012
    young = client.post(url, headers=headers).get_json()["error"]
    assert young["details"][0]["field"] == "eligibility" and "2011" in young["message"]

    set_user(app, user.id, birth_year=2011)  # 15 in 2026: old enough
    unverified = client.post(url, headers=headers)
    assert unverified.status_code == 409
    assert unverified.get_json()["error"]["details"][0]["field"] == "phone_verified"
    assert attempts(app) == 0  # nothing drawn for a refused start

    set_user(app, user.id, verified_phone=user.phone)
    assert client.post(url, headers=headers).status_code == 201


def test_a_verified_phone_stops_counting_once_the_phone_changes(app, client, make_user, round_id):
    """Whatever path changes `phone`, the old verification does not follow it."""
    user = make_user(phone="0912345678")
    set_user(app, user.id, birth_year=1980, verified_phone="0912345678", phone="0912345679")
    headers = bearer(client, "0912345679")
    response = client.post(f"/api/v1/rounds/{round_id}/attempts", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["details"][0]["field"] == "phone_verified"


def test_a_contest_without_conditions_lets_everyone_start(app, client, make_user) -> None:
    set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", OPEN_TO_ALL)], START)
    with app.app_context():
        round_id = db.session.scalar(select(Round.id))
    headers = bearer(client, make_user().phone)
    assert client.post(f"/api/v1/rounds/{round_id}/attempts", headers=headers).status_code == 201


def test_the_age_is_reached_in_the_year_of_the_round(app, round_id) -> None:
    """Born in December 2011: 15 in 2026, even on 1 December 2026 before the birthday."""
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        user = User(birth_year=2011, phone="0912345678", verified_phone="0912345678")
        assert eligibility.refusal(user, round_, START) is None
        user.birth_year = 2012
        refused = eligibility.refusal(user, round_, START)
        assert refused is not None and refused.reason == "too_young" and refused.fix is None


# ------------------------------------------------------------------------------ the pages


def outbox_codes(path: Path) -> list[str]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [re.search(r"\b([0-9]{6})\b", m["text"]).group(1) for m in lines]  # type: ignore[union-attr]


def test_pages_refuse_then_lead_to_each_fix(app, client, auth, make_user, round_id, tmp_path):
    app.config["SMS_OUTBOX"] = str(tmp_path / "outbox.jsonl")
    user = make_user(phone="0912345678")
    auth.login(user.phone)
    round_page = f"/contests/rounds/{round_id}"
    start = f"{round_page}/start"

    page = client.get(round_page).get_data(as_text=True)
    assert "15 tuổi" in page and "đã xác minh" in page  # the conditions are said up front

    refused = client.post(start, data={"csrf_token": csrf_token(client, round_page)})
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "năm sinh" in text and "/account/birth-year?next=" in text

    form = client.get(f"/account/birth-year?next={round_page}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    bad = client.post(
        "/account/birth-year", data={"csrf_token": token, "birth_year": "١٩٨٠", "next": round_page}
    )
    assert bad.status_code == 422
    saved = client.post(
        "/account/birth-year", data={"csrf_token": token, "birth_year": "1980", "next": round_page}
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith(round_page)

    refused = client.post(start, data={"csrf_token": csrf_token(client, round_page)})
    assert refused.status_code == 409
    assert "/account/verify?next=" in refused.get_data(as_text=True)

    verify = f"/account/verify?next={round_page}"
    token = csrf_token(client, verify)
    sent = client.post(verify, data={"s-csrf_token": token, "s-send": "1"})
    assert sent.status_code == 302
    (code,) = outbox_codes(tmp_path / "outbox.jsonl")
    wrong = client.post(
        verify,
        data={"c-csrf_token": token, "c-code": f"{(int(code) + 1) % 10**6:06d}", "c-confirm": "1"},
    )
    assert wrong.status_code == 422 and "Còn 4 lần thử" in wrong.get_data(as_text=True)
    right = client.post(verify, data={"c-csrf_token": token, "c-code": code, "c-confirm": "1"})
    assert right.status_code == 302 and right.headers["Location"].endswith(round_page)
    assert "Đã xác minh" in client.get("/account/").get_data(as_text=True)

    started = client.post(start, data={"csrf_token": csrf_token(client, round_page)})
    assert started.status_code == 302 and "/contests/attempts/" in started.headers["Location"]


def test_sign_up_asks_for_the_birth_year_when_a_contest_needs_it(app, client, round_id):
    from tests.conftest import VI_THANH

    page = client.get("/auth/register").get_data(as_text=True)
    assert "một số cuộc thi" in page.lower()
    data = {
        "csrf_token": csrf_token(client, "/auth/register"),
        "name": "Trần Thị Mai",
        "phone": "0912345678",
        "unit": str(VI_THANH),
        "password": PASSWORD,
        "confirm": PASSWORD,
        "consent": "y",
    }
    missing = client.post("/auth/register", data=data)
    assert missing.status_code == 422
    created = client.post("/auth/register", data={**data, "birth_year": "1990"})
    assert created.status_code == 302
    assert "/account/verify" in created.headers["Location"]  # a contest takes verified phones


def test_changing_the_phone_keeps_the_old_one_until_the_new_one_is_verified(
    app, client, auth, make_user, tmp_path
):
    app.config["SMS_OUTBOX"] = str(tmp_path / "outbox.jsonl")
    set_clock(app, START)
    user = make_user(phone="0912345678")
    make_user(phone="0987654321")  # someone else's number
    auth.login(user.phone)
    token = csrf_token(client, "/account/phone")
    wrong_password = client.post(
        "/account/phone", data={"csrf_token": token, "phone": "0911111111", "current": "x" * 12}
    )
    assert wrong_password.status_code == 422
    taken = client.post(
        "/account/phone", data={"csrf_token": token, "phone": "0987654321", "current": PASSWORD}
    )
    assert taken.status_code == 409
    moved = client.post(
        "/account/phone", data={"csrf_token": token, "phone": "0911111111", "current": PASSWORD}
    )
    assert moved.status_code == 302
    with app.app_context():  # still the old number until the code comes back
        assert db.session.get(User, user.id).phone == "0912345678"
    profile = client.get("/account/").get_data(as_text=True)
    assert "0911111111" in profile
    (code,) = outbox_codes(tmp_path / "outbox.jsonl")
    token = csrf_token(client, "/account/verify")
    done = client.post(
        "/account/verify", data={"c-csrf_token": token, "c-code": code, "c-confirm": "1"}
    )
    assert done.status_code == 302
    with app.app_context():
        changed = db.session.get(User, user.id)
        assert (changed.phone, changed.phone_verified) == ("0911111111", True)


def test_the_winners_list_marks_verified_phones(app, client, make_user) -> None:
    set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", OPEN_TO_ALL)], START)
    with app.app_context():
        round_id = db.session.scalar(select(Round.id))
    proved, unproved = make_user(phone="0912345678"), make_user(phone="0912345679")
    set_user(app, proved.id, verified_phone=proved.phone)
    for user in (proved, unproved):
        headers = bearer(client, user.phone)
        attempt = client.post(f"/api/v1/rounds/{round_id}/attempts", headers=headers).get_json()
        client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers, json={})
    board = client.get(f"/api/v1/rounds/{round_id}/leaderboard").get_json()
    marks = sorted(entry["phone_verified"] for entry in board["entries"])
    assert marks == [False, True]
    page = client.get(f"/contests/rounds/{round_id}/ranking").get_data(as_text=True)
    assert page.count("SĐT đã xác minh") == 1


def test_the_check_costs_no_query_on_the_start_path(app, make_user, round_id) -> None:
    """The start loads the round, its contest (for the audience) and the account anyway; the
    eligibility check reads only those (w-perf's hot path stays as it is)."""
    from sqlalchemy import event

    user = make_user(phone="0912345678")
    set_user(app, user.id, birth_year=1980, verified_phone="0912345678")
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        account = db.session.get(User, user.id)
        assert round_ is not None and account is not None
        _loaded = (round_.contest.audience, account.unit.code)  # as service.start reads them
        statements: list[str] = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            assert eligibility.refusal(account, round_, START) is None
            account.birth_year = None
            assert eligibility.refusal(account, round_, START) is not None
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        assert statements == []


def test_an_eligible_start_costs_what_a_start_without_conditions_costs(
    app, client, make_user, round_id
) -> None:
    """A contest with conditions takes the start's fast lane too (app/api/contests.py): the
    one read brings the account's birth year and phones with the round, so an eligible person's
    start is that read and the paper — it read the gate twice and loaded the account and the
    round on top (5 statements on PostgreSQL). Each refusal still answers with its reason."""
    from tests.test_hot_paths import statements

    url = f"/api/v1/rounds/{round_id}/attempts"
    warm = make_user(phone="0912345670")
    set_user(app, warm.id, birth_year=1980, verified_phone=warm.phone)
    assert client.post(url, headers=bearer(client, warm.phone)).status_code == 201  # draw pools
    user = make_user(phone="0912345678")
    set_user(app, user.id, birth_year=2011, verified_phone=user.phone)
    headers = bearer(client, user.phone)
    with app.app_context():
        paper = 1 if db.engine.dialect.name == "postgresql" else 3
    with statements(app) as sent:
        started = client.post(url, headers=headers)
    assert started.status_code == 201
    assert len(sent) <= 1 + paper, sent
    # A refusal found by the fast lane's read is still explained by the full path.
    for n, (values, field) in enumerate(
        (
            ({"birth_year": 2012}, "eligibility"),
            ({"birth_year": None}, "birth_year"),
            ({"birth_year": 1980, "verified_phone": "0900000000"}, "phone_verified"),
        )
    ):
        other = make_user(phone=f"091234569{n}")
        set_user(app, other.id, **({"verified_phone": other.phone} | values))
        token = bearer(client, other.phone)
        refused = client.post(url, headers=token)
        assert refused.status_code == 409, refused.get_json()
        assert refused.get_json()["error"]["details"][0]["field"] == field
