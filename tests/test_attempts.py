"""Timed attempts: drawing, answering, submitting exactly once, expiry, review; page and API.

The clock is the app's CLOCK setting, moved by the tests: nothing sleeps."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Attempt, AttemptQuestion, QuestionVersion, Round
from tests.conftest import PASSWORD, PROVINCE, csrf_token, load_content, set_clock

START = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Vietnam, round 1 open
KEYS = "ABCDEFGH"


def bank_yaml(suffix: str = "") -> str:
    lines = ["bank: ngan-hang-thu", "title: Ngân hàng thử", "questions:"]
    for n in range(1, 31):
        answer = KEYS[n % 4]
        lines += [
            f"  - id: q{n:03d}",
            f"    text: Câu hỏi số {n}{suffix}",
            f"    choices: [Một {n}, Hai {n}, Ba {n}, Bốn {n}]",
            f"    answer: {answer}",
            f"    explanation: Giải thích câu {n}.",
        ]
    return "\n".join(lines) + "\n"


CONTEST = """\
contest: cuoc-thi-thu
title: Cuộc thi thử
rounds:
  - id: tuan-1
    title: Tuần 1
    opens: 2026-12-01 08:00
    closes: 2026-12-07 20:00
    time_limit: 15m
    attempts: 2
    draw: [{bank: ngan-hang-thu, count: 10}]
    prediction: full_scores
    review: after_submit
  - id: tuan-2
    title: Tuần 2
    opens: 2026-12-01 08:00
    closes: 2026-12-07 20:00
    time_limit: 15m
    draw: [{bank: ngan-hang-thu, count: 5}]
    review: after_close
"""


@pytest.fixture
def clock(app):  # type: ignore[no-untyped-def]
    return set_clock(app, START)


@pytest.fixture
def rounds(app, clock):  # type: ignore[no-untyped-def]
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        return {r.key: r.id for r in db.session.scalars(select(Round))}


def bearer(client, phone):  # type: ignore[no-untyped-def]
    token = client.post(
        "/api/v1/auth/token", json={"phone": phone, "password": PASSWORD}
    ).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def resident(client, make_user):  # type: ignore[no-untyped-def]
    make_user(phone="0987654321")
    return bearer(client, "0987654321")


def start(client, headers, round_id):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/rounds/{round_id}/attempts", headers=headers)


def right_keys(app, attempt_id: int) -> dict[int, list[str]]:
    """The right answer of each question of an attempt, as the keys it was shown with."""
    with app.app_context():
        rows = db.session.execute(
            select(AttemptQuestion.position, AttemptQuestion.choice_order, QuestionVersion.answer)
            .join(QuestionVersion)
            .where(AttemptQuestion.attempt_id == attempt_id)
        ).all()
    return {pos: [KEYS[order.index(i)] for i in answer] for pos, order, answer in rows}


def test_start_draws_a_paper_and_starting_again_returns_it(app, client, rounds, resident):
    first = start(client, resident, rounds["tuan-1"])
    assert first.status_code == 201
    body = first.get_json()
    assert body["state"] == "open" and len(body["questions"]) == 10
    assert len({q["text"] for q in body["questions"]}) == 10  # no question twice
    assert body["remaining_s"] == 900 and body["prediction"]["target"] == "full_scores"
    assert "explanation" not in str(body) and body["result"] is None  # nothing leaks
    again = start(client, resident, rounds["tuan-1"])
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    with app.app_context():
        attempt = db.session.get(Attempt, body["id"])
        assert attempt.deadline == START + timedelta(minutes=15)


def test_deadline_never_passes_the_round_close(app, client, clock, rounds, resident):
    clock.now = datetime(2026, 12, 7, 12, 55, tzinfo=UTC)  # 19:55, five minutes before the close
    body = start(client, resident, rounds["tuan-1"]).get_json()
    assert body["remaining_s"] == 300


def test_two_concurrent_starts_make_one_attempt(app, rounds, resident):
    def go(_):  # type: ignore[no-untyped-def]
        with app.test_client() as other:
            return start(other, resident, rounds["tuan-1"]).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(go, range(2)))
    assert statuses == [200, 201]
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id))) == 1
        assert db.session.scalar(select(func.count(AttemptQuestion.id))) == 10


def test_eight_concurrent_submits_score_once_with_one_answer(app, client, rounds, resident):
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    right = right_keys(app, attempt["id"])
    for position in (1, 2, 3):
        client.put(
            f"/api/v1/attempts/{attempt['id']}/answers/{position}",
            headers=resident,
            json={"choices": right[position], "seq": 1},
        )

    def submit(_):  # type: ignore[no-untyped-def]
        with app.test_client() as other:
            response = other.post(
                f"/api/v1/attempts/{attempt['id']}/submit",
                headers=resident,
                json={"prediction": 42},
            )
            return response.status_code, response.get_json()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(submit, range(8)))
    assert {status for status, _ in results} == {200}
    bodies = {tuple(sorted(body.items())) for _, body in results}
    assert len(bodies) == 1
    assert results[0][1]["score"] == 3 and results[0][1]["max_score"] == 10
    with app.app_context():
        stored = db.session.get(Attempt, attempt["id"])
        assert (stored.state, stored.score, stored.prediction) == ("submitted", 3, 42)
        assert (
            db.session.scalar(
                select(func.count(AttemptQuestion.id)).where(AttemptQuestion.correct.is_(True))
            )
            == 3
        )


def test_answers_after_deadline_and_grace_are_refused(app, client, clock, rounds, resident):
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    url = f"/api/v1/attempts/{attempt['id']}/answers/1"
    clock.now = START + timedelta(minutes=15, seconds=5)  # within the 10 s grace
    assert client.put(url, headers=resident, json={"choices": ["A"]}).status_code == 200
    clock.now = START + timedelta(minutes=15, seconds=11)
    late = client.put(url, headers=resident, json={"choices": ["B"]})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "conflict"
    with app.app_context():
        item = db.session.scalar(
            select(AttemptQuestion).where(
                AttemptQuestion.attempt_id == attempt["id"], AttemptQuestion.position == 1
            )
        )
        order = item.choice_order
        assert item.selected == [order[0]]  # "A" as shown, not the late "B"
        assert db.session.get(Attempt, attempt["id"]).state == "expired"


def test_a_stale_seq_never_overwrites_a_newer_answer(app, client, rounds, resident):
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    url = f"/api/v1/attempts/{attempt['id']}/answers/2"
    assert client.put(url, headers=resident, json={"choices": ["C"], "seq": 5}).status_code == 200
    assert client.put(url, headers=resident, json={"choices": ["A"], "seq": 4}).status_code == 200
    body = client.get(f"/api/v1/attempts/{attempt['id']}", headers=resident).get_json()
    assert body["answers"]["2"] == ["C"]


def test_bad_choices_are_422(client, rounds, resident):
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    url = f"/api/v1/attempts/{attempt['id']}/answers/1"
    assert client.put(url, headers=resident, json={"choices": ["Z"]}).status_code == 422
    assert client.put(url, headers=resident, json={"choices": ["A", "B"]}).status_code == 422
    assert (
        client.put(
            f"/api/v1/attempts/{attempt['id']}/answers/99",
            headers=resident,
            json={"choices": ["A"]},
        ).status_code
        == 422
    )


def test_an_expired_attempt_is_finished_from_its_saved_answers(
    app, client, clock, runner, rounds, resident
):
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    right = right_keys(app, attempt["id"])
    for position in (4, 5):
        client.put(
            f"/api/v1/attempts/{attempt['id']}/answers/{position}",
            headers=resident,
            json={"choices": right[position]},
        )
    clock.now = START + timedelta(hours=2)
    result = runner.invoke(args=["contests", "finalize"])
    assert result.exit_code == 0 and "1 attempts finished" in result.output
    with app.app_context():
        stored = db.session.get(Attempt, attempt["id"])
        assert (stored.state, stored.score, stored.duration_ms) == ("expired", 2, 900_000)
        assert stored.submitted_at == stored.deadline


def test_reloading_a_changed_bank_mid_round_leaves_attempts_alone(app, client, rounds, resident):
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    right = right_keys(app, attempt["id"])
    for position, keys in right.items():
        client.put(
            f"/api/v1/attempts/{attempt['id']}/answers/{position}",
            headers=resident,
            json={"choices": keys},
        )
    changed = bank_yaml(" (sửa)").replace("answer: A", "answer: D")
    with app.app_context():
        outcome = load_files(
            db.session,
            [("b.yaml", changed.encode())],
            Actor(unit_code=PROVINCE, is_admin=True),
            START,
        )[0]
        assert outcome.ok and len(outcome.report.changed) == 30
    body = client.get(f"/api/v1/attempts/{attempt['id']}", headers=resident).get_json()
    assert [q["text"] for q in body["questions"]] == [q["text"] for q in attempt["questions"]]
    assert all("(sửa)" not in q["text"] for q in body["questions"])
    result = client.post(
        f"/api/v1/attempts/{attempt['id']}/submit", headers=resident, json={"prediction": 1}
    )
    assert result.get_json()["score"] == 10


def test_review_follows_the_round_policy(app, client, clock, rounds, resident):
    first = start(client, resident, rounds["tuan-1"]).get_json()  # after_submit
    client.post(f"/api/v1/attempts/{first['id']}/submit", headers=resident, json={"prediction": 3})
    reviewed = client.get(f"/api/v1/attempts/{first['id']}", headers=resident).get_json()
    assert (
        len(reviewed["result"]["review"]) == 10 and reviewed["result"]["review"][0]["explanation"]
    )
    second = start(client, resident, rounds["tuan-2"]).get_json()  # after_close
    client.post(f"/api/v1/attempts/{second['id']}/submit", headers=resident, json={})
    hidden = client.get(f"/api/v1/attempts/{second['id']}", headers=resident).get_json()
    assert hidden["result"]["score"] == 0 and hidden["result"]["review"] is None
    clock.now = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # 20:00: the round has closed
    shown = client.get(f"/api/v1/attempts/{second['id']}", headers=resident).get_json()
    assert len(shown["result"]["review"]) == 5


def test_prediction_is_required_before_the_deadline(client, rounds, resident):
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    refused = client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=resident, json={})
    assert (
        refused.status_code == 422
        and refused.get_json()["error"]["details"][0]["field"] == "prediction"
    )
    assert (
        client.post(
            f"/api/v1/attempts/{attempt['id']}/submit", headers=resident, json={"prediction": 7}
        ).status_code
        == 200
    )


def test_attempts_run_out_and_closed_rounds_refuse(client, clock, rounds, resident):
    for _ in range(2):
        attempt = start(client, resident, rounds["tuan-1"]).get_json()
        client.post(
            f"/api/v1/attempts/{attempt['id']}/submit", headers=resident, json={"prediction": 1}
        )
    assert start(client, resident, rounds["tuan-1"]).status_code == 409
    clock.now = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)
    closed = start(client, resident, rounds["tuan-2"])
    assert closed.status_code == 409


def test_nobody_reads_anothers_attempt(app, client, rounds, resident, make_user):
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    make_user(phone="0987654322")
    other = bearer(client, "0987654322")
    assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=other).status_code == 404
    assert (
        client.put(
            f"/api/v1/attempts/{attempt['id']}/answers/1", headers=other, json={"choices": ["A"]}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/attempts/{attempt['id']}/submit", headers=other, json={"prediction": 1}
        ).status_code
        == 404
    )


def test_staff_cannot_enter_and_starts_are_rate_limited(client, rounds, resident, make_user):
    make_user(role="officer", phone="0911111111")
    assert start(client, bearer(client, "0911111111"), rounds["tuan-1"]).status_code == 403
    statuses = [start(client, resident, rounds["tuan-1"]).status_code for _ in range(11)]
    assert statuses[:10] == [201] + [200] * 9 and statuses[10] == 429


def test_the_whole_attempt_without_javascript(app, client, auth, clock, rounds, make_user):
    make_user(phone="0987654321")
    auth.login("0987654321")
    round_page = client.get(f"/contests/rounds/{rounds['tuan-1']}")
    assert round_page.status_code == 200 and "Tuần 1" in round_page.get_data(as_text=True)
    token = csrf_token(client, f"/contests/rounds/{rounds['tuan-1']}")
    started = client.post(f"/contests/rounds/{rounds['tuan-1']}/start", data={"csrf_token": token})
    assert started.status_code == 302
    page_url = started.headers["Location"]
    attempt_id = int(page_url.rstrip("/").split("/")[-1])
    right = right_keys(app, attempt_id)
    token = csrf_token(client, page_url)
    form = {"csrf_token": token, "action": "save", **{f"seq-{p}": "0" for p in right}}
    form |= {f"q-{p}": keys[0] for p, keys in right.items() if p <= 6}
    saved = client.post(page_url, data=form)
    assert saved.status_code == 302
    reloaded = client.get(page_url).get_data(as_text=True)
    assert reloaded.count("checked") == 6  # the saved answers are there after a reload
    form = {
        "csrf_token": token,
        "action": "submit",
        "prediction": "12",
        **{f"seq-{p}": "1" for p in right},
        **{f"q-{p}": keys[0] for p, keys in right.items() if p <= 6},
    }
    asked = client.post(page_url, data=form, follow_redirects=True)  # four blank: asked first
    assert f"{page_url}#q-7" in asked.get_data(as_text=True)
    confirm = {"csrf_token": token, "action": "submit", "confirmed": "1", "prediction": "12"}
    submitted = client.post(page_url, data=confirm)
    assert submitted.status_code == 302 and submitted.headers["Location"].endswith("/result")
    result = client.get(submitted.headers["Location"]).get_data(as_text=True)
    assert "6 / 10" in result and "Giải thích câu" in result  # review after_submit
    mine = client.get("/account/data.json").get_json()["attempts"]
    assert [(a["round"], a["score"], a["prediction"]) for a in mine] == [("Tuần 1", 6, 12)]


def test_a_stale_form_from_a_second_tab_does_not_overwrite(app, client, auth, rounds, make_user):
    make_user(phone="0987654321")
    auth.login("0987654321")
    token = csrf_token(client, f"/contests/rounds/{rounds['tuan-1']}")
    page_url = client.post(
        f"/contests/rounds/{rounds['tuan-1']}/start", data={"csrf_token": token}
    ).headers["Location"]
    token = csrf_token(client, page_url)
    client.post(page_url, data={"csrf_token": token, "action": "save", "seq-1": "0", "q-1": "B"})
    stale = client.post(
        page_url, data={"csrf_token": token, "action": "save", "seq-1": "0", "q-1": "C"}
    )
    assert stale.status_code == 302
    with app.app_context():
        item = db.session.scalar(select(AttemptQuestion).where(AttemptQuestion.position == 1))
        assert item.selected == [item.choice_order[1]]  # B, the first write, is kept


def test_the_answer_fast_path_refuses_what_it_must(app, client, auth, rounds, resident, make_user):
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    url = f"/api/v1/attempts/{attempt['id']}/answers/1"
    assert (
        client.put(url, headers=resident, json={"choices": ["A"], "seq": 2**31}).status_code == 422
    )
    assert (
        client.put(
            url, headers={"Authorization": "Bearer forged"}, json={"choices": ["A"]}
        ).status_code
        == 401
    )
    assert client.put(url, json={"choices": ["A"]}).status_code == 401
    auth.login("0987654321")
    assert (
        client.put(url, json={"choices": ["A"]}).status_code == 400
    )  # the session needs X-CSRFToken
    token = csrf_token(client, "/account/delete")
    assert (
        client.put(url, json={"choices": ["A"]}, headers={"X-CSRFToken": token}).status_code == 200
    )
    client.post("/account/delete", data={"csrf_token": token, "confirm": "y"})
    assert (
        client.put(url, headers=resident, json={"choices": ["B"]}).status_code == 401
    )  # token died too


@pytest.mark.parametrize("key", ["", "AB", "ABCDEFGH", "BC", " A", "A ", "Ａ"])
def test_a_choice_key_is_matched_exactly(app, client, rounds, resident, key):
    """'' or 'AB' were found inside "ABCDEFGH" and stored as A."""
    attempt = start(client, resident, rounds["tuan-1"]).get_json()
    url = f"/api/v1/attempts/{attempt['id']}/answers/1"
    assert client.put(url, headers=resident, json={"choices": [key]}).status_code == 422
    with app.app_context():
        stored = db.session.scalars(
            select(AttemptQuestion.selected).where(AttemptQuestion.attempt_id == attempt["id"])
        ).all()
    assert all(not s for s in stored)
