"""The attempt page's promises (issue 15, points 3–5), at the service and request level:
answers saved idempotently, "Lưu" returns to the question answered, the deadline as a clock
time, a confirmation listing what is unanswered before submitting, and a prediction error on
its field. The browser side is tests/test_browser_attempt.py."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import clock as app_clock
from app.extensions import db
from app.models import Attempt, AttemptQuestion
from app.services import attempts as service
from tests.conftest import csrf_token
from tests.test_attempts import START, clock, right_keys, rounds  # noqa: F401 (fixtures)


@pytest.fixture
def attempt_url(client, auth, rounds, make_user):  # type: ignore[no-untyped-def]  # noqa: F811
    make_user(phone="0987654321")
    auth.login("0987654321")
    token = csrf_token(client, f"/contests/rounds/{rounds['tuan-1']}")
    started = client.post(f"/contests/rounds/{rounds['tuan-1']}/start", data={"csrf_token": token})
    return started.headers["Location"]


def attempt_id_of(url: str) -> int:
    return int(url.rstrip("/").split("/")[-1])


def stored(app, attempt_id: int) -> dict[int, tuple[list[int] | None, int]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.execute(
            select(AttemptQuestion.position, AttemptQuestion.selected, AttemptQuestion.seq).where(
                AttemptQuestion.attempt_id == attempt_id
            )
        ).all()
    return {p: (s, q) for p, s, q in rows}


# ---------------------------------------------------------------------------------- service


def test_save_answers_names_the_questions_whose_answer_changed(app, attempt_url):  # type: ignore[no-untyped-def]
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id_of(attempt_url))
        now, grace = START, app_clock.grace()
        assert service.save_answers(
            db.session, attempt, {3: (["A"], 1), 4: ([], 1)}, now, grace
        ) == [3]
        # the same form again (a re-send, a double click): nothing changes
        assert service.save_answers(db.session, attempt, {3: (["A"], 1)}, now, grace) == []
        # an older form (a second tab) never replaces the newer answer
        assert service.save_answers(db.session, attempt, {3: (["B"], 1)}, now, grace) == []
        assert service.save_answers(
            db.session, attempt, {3: (["B"], 2), 7: (["C"], 1)}, now, grace
        ) == [3, 7]


def test_before_submit_lists_unanswered_questions_and_a_missing_prediction(app, attempt_url):  # type: ignore[no-untyped-def]
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id_of(attempt_url))
        service.save_answers(
            db.session, attempt, {1: (["A"], 1), 2: (["B"], 1)}, START, app_clock.grace()
        )
        check = service.before_submit(db.session, attempt, None)
        assert check.unanswered == [3, 4, 5, 6, 7, 8, 9, 10] and check.prediction_missing
        check = service.before_submit(db.session, attempt, 0)  # zero is a prediction
        assert not check.prediction_missing and not check.complete
        answers = {p: (["A"], 2) for p in range(1, 11)}
        service.save_answers(db.session, attempt, answers, START, app_clock.grace())
        assert service.before_submit(db.session, attempt, 5).complete


def test_a_resent_answer_is_accepted_once_and_an_older_one_never_wins(app, client, attempt_url):  # type: ignore[no-untyped-def]
    attempt_id = attempt_id_of(attempt_url)
    token = csrf_token(client, attempt_url)
    url = f"/api/v1/attempts/{attempt_id}/answers/5"
    headers = {"X-CSRFToken": token}
    for _ in range(2):  # the page re-sends what it has not seen confirmed
        assert (
            client.put(url, json={"choices": ["B"], "seq": 4}, headers=headers).status_code == 200
        )
    late_old = client.put(url, json={"choices": ["C"], "seq": 3}, headers=headers)
    assert late_old.status_code == 200  # accepted as a no-op: the page must not retry it
    selected, seq = stored(app, attempt_id)[5]
    with app.app_context():
        order = db.session.scalar(
            select(AttemptQuestion.choice_order).where(
                AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position == 5
            )
        )
    assert selected == [order[1]] and seq == 4


# --------------------------------------------------------------------- pages without script


def test_the_deadline_is_a_clock_time_in_the_contests_zone(client, attempt_url):  # type: ignore[no-untyped-def]
    page = client.get(attempt_url).get_data(as_text=True)
    assert "Nộp trước 10:15" in page  # 03:15 UTC is 10:15 in Hồ Chí Minh City
    assert re.search(r'id="countdown-box"[^>]* hidden', page)  # no frozen countdown without JS


def test_save_returns_to_the_question_answered(app, client, attempt_url):  # type: ignore[no-untyped-def]
    token = csrf_token(client, attempt_url)
    form = {"csrf_token": token, "action": "save", **{f"seq-{p}": "0" for p in range(1, 11)}}
    saved = client.post(attempt_url, data=form | {"q-7": "B"})
    assert saved.status_code == 302
    assert saved.headers["Location"].endswith(f"{attempt_url}?saved=7#q-7")
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    box = page[page.index('id="q-7"') : page.index('id="q-8"')]
    assert "Đã lưu" in box and "Đã lưu" not in page[page.index('id="q-6"') : page.index('id="q-7"')]
    # nothing changed: back to the top, no question named
    again = client.post(attempt_url, data=form | {"seq-7": "1", "q-7": "B"})
    assert again.headers["Location"].endswith(attempt_url)


def test_submitting_with_unanswered_questions_asks_first(app, client, attempt_url):  # type: ignore[no-untyped-def]
    attempt_id = attempt_id_of(attempt_url)
    token = csrf_token(client, attempt_url)
    form = {"csrf_token": token, "action": "submit", **{f"seq-{p}": "0" for p in range(1, 11)}}
    form |= {f"q-{p}": "A" for p in range(1, 9)}
    asked = client.post(attempt_url, data=form)
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/confirm")
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "Câu 9" in page and "Câu 10" in page
    assert f'href="{attempt_url}#q-9"' in page and f'href="{attempt_url}#q-10"' in page
    assert f'href="{attempt_url}#q-8"' not in page
    assert f'href="{attempt_url}#prediction"' in page  # the missing prediction, linked too
    field = re.search(r'<input[^>]*id="prediction"[^>]*>', page)
    assert field and "is-invalid" in field.group(0) and 'aria-invalid="true"' in field.group(0)
    assert 'id="prediction-error"' in page  # the message beside the field it names
    assert stored(app, attempt_id)[8][0] is not None  # the answers sent were saved first
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).state == "open"
    confirm = {"csrf_token": token, "action": "submit", "confirmed": "1", "prediction": "30"}
    done = client.post(attempt_url, data=confirm)
    assert done.status_code == 302 and done.headers["Location"].endswith("/result")
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.state == "submitted" and attempt.prediction == 30
        assert stored(app, attempt_id)[8][0] is not None  # the confirmation kept every answer


def test_a_complete_attempt_is_submitted_without_a_question(client, attempt_url):  # type: ignore[no-untyped-def]
    token = csrf_token(client, attempt_url)
    form = {"csrf_token": token, "action": "submit", "prediction": "1.250"}
    form |= {f"seq-{p}": "0" for p in range(1, 11)} | {f"q-{p}": "A" for p in range(1, 11)}
    done = client.post(attempt_url, data=form)
    assert done.status_code == 302 and done.headers["Location"].endswith("/result")


@pytest.mark.parametrize(
    ("typed", "message"),
    [("mười", "số nguyên"), ("", "dự đoán"), ("99999999999", "số nguyên")],
)
def test_a_bad_or_missing_prediction_is_marked_on_its_field(
    app, client, attempt_url, typed, message
):  # type: ignore[no-untyped-def]
    attempt_id = attempt_id_of(attempt_url)
    token = csrf_token(client, attempt_url)
    form = {"csrf_token": token, "action": "submit", "confirmed": "1", "prediction": typed}
    form |= {"seq-2": "0", "q-2": "C"}
    refused = client.post(attempt_url, data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    field = re.search(r'<input[^>]*id="prediction"[^>]*>', page)
    assert field, page
    tag = field.group(0)
    assert "is-invalid" in tag and 'aria-invalid="true"' in tag and "autofocus" in tag
    assert re.search(r'aria-describedby="[^"]*prediction-error', tag) and f'value="{typed}"' in tag
    error = re.search(r'id="prediction-error"[^>]*>([^<]*)<', page)
    assert error and message in error.group(1).lower()
    # beside the field, not only at the top: the message follows the input
    assert page.index('id="prediction-error"') > page.index('id="prediction"')
    assert re.search(r'<a [^>]*href="#prediction">', page)  # the summary links to the field
    assert stored(app, attempt_id)[2][0] is not None  # the answer sent with it was kept
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).state == "open"


def test_clock_time_names_the_day_only_when_it_is_another():
    from datetime import UTC, datetime

    from app.formats import clock_time

    deadline = datetime(2026, 12, 3, 13, 15, tzinfo=UTC)
    assert clock_time(deadline, "Asia/Ho_Chi_Minh", deadline) == "20:15"
    late = datetime(2026, 12, 3, 17, 15, tzinfo=UTC)  # 00:15 the next day in Vietnam
    assert clock_time(late, "Asia/Ho_Chi_Minh", deadline) == "00:15 04/12/2026"
    assert clock_time(None) == "–"


def test_the_confirmation_keeps_the_prediction_typed_and_follows_the_attempt(  # type: ignore[no-untyped-def]
    app, client, attempt_url
):
    token = csrf_token(client, attempt_url)
    form = {"csrf_token": token, "action": "submit", "prediction": "1.250", "seq-1": "0"}
    asked = client.post(attempt_url, data=form)
    location = asked.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert 'value="1.250"' in page and "#prediction" not in page  # not reported missing
    assert client.get(f"{attempt_url}/confirm?prediction=abc").status_code == 200  # ignored
    assert client.get(f"{attempt_url}?saved=abc").status_code == 400  # a clear refusal
    client.post(location.split("/confirm")[0], data=form | {"confirmed": "1"})
    done = client.get(location)  # submitted: the confirmation leads to the result
    assert done.status_code == 302 and done.headers["Location"].endswith("/result")
