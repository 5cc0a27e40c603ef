"""Residents answer surveys: types, skip logic, one response per person, anonymity."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Survey, SurveyAnswer, SurveyDraft, SurveyLedger, SurveyResponse
from app.services import survey_definition
from app.services import surveys as service
from tests.conftest import (
    NINH_KIEU,
    PASSWORD,
    PROVINCE,
    VI_THANH,
    csrf_token,
    load_content,
    set_clock,
)

NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
FULL = (Path(__file__).parent / "content" / "valid" / "survey-full.yaml").read_text(
    encoding="utf-8"
)
IDENTIFIED = """\
survey: kenh-thong-tin
title: Kênh thông tin
anonymous: false
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
show_results: true
min_group: 3
pages:
  - title: Một
    questions:
      - {id: hop, type: single, text: Ông/bà có đi họp tổ dân phố không?, choices: [Có, Không]}
      - {id: phat-bieu, type: single, text: Có phát biểu không?, choices: [Có, Không],
         show_if: {hop: [1]}}
  - title: Hai
    questions:
      - {id: ly-do, type: text, text: Vì sao không phát biểu?, required: false,
         show_if: {phat-bieu: [2]}}
      - {id: kenh, type: multiple, text: Kênh nào?, choices: [Loa, Zalo, Báo], max: 2, other: true}
"""
GOOD = {  # a complete, consistent answer to survey-full.yaml
    "gioi-tinh": 2,
    "tuoi": 1,
    "thai-do": 4,
    "kenh": [1, 3],
    "de-xuat-diem": 9,
    "loa": 3,
    "so-lan": 2,
    "chi-phi": 12.5,
    "danh-gia-chi-tiet": {"1": 4, "2": 5, "3": 3},
}


@pytest.fixture
def surveys(app):  # type: ignore[no-untyped-def]
    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL), ("id.yaml", IDENTIFIED)], NOW)
    return app


def definition(slug: str) -> survey_definition.SurveyDef:
    survey = db.session.scalar(select(Survey).where(Survey.slug == slug))
    return survey_definition.definition(db.session, survey)


def bearer(client, phone):  # type: ignore[no-untyped-def]
    token = client.post(
        "/api/v1/auth/token", json={"phone": phone, "password": PASSWORD}
    ).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------------------ every type


@pytest.mark.parametrize(
    "key, value, stored",
    [
        ("gioi-tinh", 2, 2),
        ("gioi-tinh", "3", 3),
        ("tuoi", {"other": "Trên 100"}, {"other": "Trên 100"}),
        ("thai-do", 5, 5),
        ("kenh", [1, 2, 3], [1, 2, 3]),
        ("kenh", {"choices": [2], "other": "Tờ rơi"}, {"choices": [2], "other": "Tờ rơi"}),
        ("de-xuat-diem", 0, 0),
        ("de-xuat-diem", 10, 10),
        ("so-lan", 365, 365),
        ("so-lan", "0", 0),
        ("chi-phi", 1000.5, 1000.5),
        ("ly-do", "  Chờ lâu  ", "Chờ lâu"),
        ("danh-gia-chi-tiet", {"1": 1, "3": 5}, {"1": 1, "3": 5}),
    ],
)
def test_valid_values(surveys, key, value, stored):
    with surveys.app_context():
        q = definition("hai-long-chinh-quyen-2026").by_key[key]
        assert service.check_value(q, value) == (stored, None)


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("gioi-tinh", 4, "answers listed"),
        ("gioi-tinh", "Nam", "answers listed"),
        ("gioi-tinh", {"other": "x"}, "answers listed"),
        ("thai-do", 0, "answers listed"),
        ("kenh", [1, 2, 3, 4], "at most 3"),
        ("kenh", {"choices": [1, 2, 3], "other": "x"}, "at most 3"),
        ("kenh", [9], "among the answers"),
        ("kenh", [1, 1], "among the answers"),
        ("de-xuat-diem", 11, "0 to 10"),
        ("de-xuat-diem", -1, "0 to 10"),
        ("so-lan", 366, "from 0 to 365"),
        ("so-lan", 2.5, "whole number"),
        ("so-lan", "nhiều", "a number"),
        ("chi-phi", 1000.6, "from 0 to 1000.5"),
        ("ly-do", "x" * 2001, "2000"),
        ("danh-gia-chi-tiet", {"4": 1}, "each line"),
        ("danh-gia-chi-tiet", {"1": 6}, "each line"),
        ("danh-gia-chi-tiet", [1], "each line"),
    ],
)
def test_invalid_values_name_the_problem(surveys, key, value, words):
    from app.content.messages import render

    with surveys.app_context():
        q = definition("hai-long-chinh-quyen-2026").by_key[key]
        stored, problem = service.check_value(q, value)
        assert stored is None and problem.key == key
        assert words in render(problem.message, problem.params, "en")


def test_show_if_chains(surveys):
    with surveys.app_context():
        defn = definition("hai-long-chinh-quyen-2026")
    shown = service.visible_keys(defn, GOOD)
    assert {"loa", "chi-phi"} <= shown and "ly-do" not in shown
    # chi-phi depends on loa, which depends on kenh and de-xuat-diem: break the first link.
    assert not {"loa", "chi-phi"} & service.visible_keys(defn, GOOD | {"de-xuat-diem": 5})
    assert "ly-do" in service.visible_keys(defn, GOOD | {"thai-do": 2})


# --------------------------------------------------------------------------------- the API


def test_api_response_and_the_hidden_answer_rule(surveys, client, make_user):
    make_user(phone="0987654321")
    headers = bearer(client, "0987654321")
    hidden = client.post(
        "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
        headers=headers,
        json={"answers": GOOD | {"ly-do": "Chờ lâu"}},
    )  # ly-do shows only for 1 or 2
    assert hidden.status_code == 422
    assert hidden.get_json()["error"]["details"] == [
        {"question": "ly-do", "message": hidden.get_json()["error"]["details"][0]["message"]}
    ]
    missing = client.post(
        "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
        headers=headers,
        json={"answers": {k: v for k, v in GOOD.items() if k != "thai-do"}},
    )
    assert missing.status_code == 422
    assert "thai-do" in [d["question"] for d in missing.get_json()["error"]["details"]]
    ok = client.post(
        "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
        headers=headers,
        json={"answers": GOOD},
    )
    assert ok.status_code == 201
    again = client.post(
        "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
        headers=headers,
        json={"answers": GOOD},
    )
    assert again.status_code == 409
    with surveys.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        assert (
            db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 12 + 2
        )  # one row per value, and one per multiple-choice or grid question answered


def test_six_concurrent_responses_by_one_person_store_one(surveys, client, make_user):
    make_user(phone="0987654321")
    headers = bearer(client, "0987654321")

    def respond(_):  # type: ignore[no-untyped-def]
        with surveys.test_client() as other:
            return other.post(
                "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
                headers=headers,
                json={"answers": GOOD},
            ).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(respond, range(6)))
    assert statuses == [201, 409, 409, 409, 409, 409]
    with surveys.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        assert db.session.scalar(select(func.count()).select_from(SurveyLedger)) == 1


def test_people_not_signed_in_answer_with_their_commune_and_are_flagged(surveys, client):
    refused = client.post(
        "/api/v1/surveys/hai-long-chinh-quyen-2026/responses", json={"answers": GOOD}
    )
    assert (
        refused.status_code == 422 and refused.get_json()["error"]["details"][0]["field"] == "unit"
    )
    ok = client.post(
        "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
        json={"unit": VI_THANH, "answers": GOOD},
    )
    assert ok.status_code == 201
    needs_account = client.post(
        "/api/v1/surveys/kenh-thong-tin/responses",
        json={"unit": VI_THANH, "answers": {"hop": 2, "kenh": [1]}},
    )
    assert needs_account.status_code == 401
    with surveys.app_context():
        response = db.session.scalar(select(SurveyResponse))
        assert (response.signed_in, response.unit_code, response.user_id) == (False, VI_THANH, None)


def test_list_and_read_surveys(surveys, client):
    listed = client.get("/api/v1/surveys").get_json()
    assert {s["id"] for s in listed} == {"hai-long-chinh-quyen-2026", "kenh-thong-tin"}
    full = client.get("/api/v1/surveys/hai-long-chinh-quyen-2026").get_json()
    assert full["anonymous"] is True and len(full["pages"]) == 2
    grid = next(q for p in full["pages"] for q in p["questions"] if q["id"] == "danh-gia-chi-tiet")
    assert grid["choices"][0] == "Rất không hài lòng" and len(grid["rows"]) == 3


# ------------------------------------------------------------------------------- anonymity


def test_nothing_links_an_anonymous_response_to_its_ledger_entry(
    surveys, client, make_user, runner
):
    people = [make_user(phone=f"09876543{i:02d}") for i in range(5)]
    for index, person in enumerate(people):
        answers = GOOD | {"thai-do": 3 + index % 3}
        response = client.post(
            "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
            headers=bearer(client, person.phone),
            json={"answers": answers},
        )
        assert response.status_code == 201
    assert runner.invoke(args=["surveys", "reorder"]).exit_code == 0
    with surveys.app_context():
        columns = {
            c["name"]: str(c["type"]).upper()
            for c in inspect(db.engine).get_columns("survey_responses")
        }
        assert not any("TIME" in kind for kind in columns.values())  # the day only
        assert set(columns) == {
            "id",
            "survey_id",
            "unit_code",
            "submitted_on",
            "signed_in",
            "user_id",
            "demo",
            # the response's part of the satisfaction index: figures of its own answers
            "index_score",
            "index_items",
            "index_top",
            # its demographic answers as one number (issue 14): from its own answers too
            "groups",
            # issue 20: how it came in and the hamlet named (no time, no person)
            "channel",
            "hamlet_code",
        }
        assert set(c["name"] for c in inspect(db.engine).get_columns("survey_ledger")) == {
            "survey_id",
            "user_id",
        }
        rows = db.session.execute(
            text("SELECT id, user_id, submitted_on FROM survey_responses")
        ).all()
        assert all(
            user_id is None for _id, user_id, _day in rows
        )  # no account on anonymous responses
        ids = [uuid.UUID(str(row[0])) for row in rows]
        assert all(i.version == 4 for i in ids)  # random keys, not counters
        assert ids == sorted(ids)  # stored in key order: no insertion order to read
        ledger = [
            row[0] for row in db.session.execute(text("SELECT user_id FROM survey_ledger")).all()
        ]
        assert ledger == sorted(ledger)  # in account order, not answering order
        assert {str(d) for _i, _u, d in rows} == {"2026-12-10"}
        answer_keys = db.session.execute(text("SELECT response_id FROM survey_answers")).all()
        assert len(answer_keys) > 0
        foreign = {
            fk["referred_table"] for fk in inspect(db.engine).get_foreign_keys("survey_answers")
        }
        assert foreign == {"survey_responses", "survey_questions"}


def test_anonymous_surveys_keep_no_draft_on_the_server(surveys, client, auth, make_user):
    make_user(phone="0987654321")
    auth.login("0987654321")
    token = csrf_token(client, "/surveys/hai-long-chinh-quyen-2026/page/0")
    client.post(
        "/surveys/hai-long-chinh-quyen-2026/page/0",
        data={"csrf_token": token, "action": "next", "a-gioi-tinh": "1", "a-tuoi": "2"},
    )
    with surveys.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


# -------------------------------------------------------------------------------- the pages


def test_identified_survey_page_by_page_with_a_draft_to_resume(surveys, client, auth, make_user):
    make_user(phone="0987654321")
    auth.login("0987654321")
    intro = client.get("/surveys/kenh-thong-tin").get_data(as_text=True)
    assert "Khảo sát này không ẩn danh." in intro
    url = "/surveys/kenh-thong-tin/page/0"
    token = csrf_token(client, url)
    first = client.post(
        url, data={"csrf_token": token, "action": "next", "a-hop": "1", "a-phat-bieu": "2"}
    )
    assert first.status_code == 200 and "Vì sao không phát biểu?" in first.get_data(as_text=True)
    with surveys.app_context():
        draft = db.session.scalar(select(SurveyDraft))
        assert draft.answers == {"hop": 1, "phat-bieu": 2} and draft.page == 1
    resumed = client.get("/surveys/kenh-thong-tin").get_data(as_text=True)
    assert "/surveys/kenh-thong-tin/page/1" in resumed
    page = client.get("/surveys/kenh-thong-tin/page/1").get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="(a-[^"]+)" value="([^"]*)"', page))
    assert hidden == {"a-hop": "1", "a-phat-bieu": "2"}
    done = client.post(
        "/surveys/kenh-thong-tin/page/1",
        data={
            "csrf_token": token,
            "action": "submit",
            "a-hop": "1",
            "a-phat-bieu": "2",
            "a-ly-do": "Ngại",
            "a-kenh": ["1", "other"],
            "a-kenh-other": "Nhà văn hoá",
        },
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/thanks")
    with surveys.app_context():
        response = db.session.scalar(select(SurveyResponse))
        assert response.user_id is not None and response.signed_in
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


def test_web_form_drops_hidden_answers_and_keeps_what_was_typed(surveys, client, auth, make_user):
    make_user(phone="0987654321")
    auth.login("0987654321")
    url = "/surveys/kenh-thong-tin/page/1"
    token = csrf_token(client, "/surveys/kenh-thong-tin/page/0")
    too_many = client.post(
        url,
        data={
            "csrf_token": token,
            "action": "submit",
            "a-hop": "2",
            "a-phat-bieu": "1",
            "a-ly-do": "Còn sót",
            "a-kenh": ["1", "2", "3"],
        },
    )
    page = too_many.get_data(as_text=True)
    assert too_many.status_code == 422 and "tối đa 2" in page  # named, in Vietnamese
    assert 'value="3" checked' in page or 'value="3"checked' in page  # what was ticked is kept
    fixed = client.post(
        url,
        data={
            "csrf_token": token,
            "action": "submit",
            "a-hop": "2",
            "a-phat-bieu": "1",
            "a-ly-do": "Còn sót",
            "a-kenh": ["1"],
        },
    )
    assert fixed.status_code == 302
    with surveys.app_context():
        keys = set(db.session.scalars(select(SurveyAnswer.question_id)))
        defn = definition("kenh-thong-tin")
        stored = {q.key for q in defn.questions if q.id in keys}
    assert stored == {"hop", "kenh"}  # phat-bieu and ly-do were hidden by hop = 2: dropped


# survey-full.yaml answered on its web form by a person not signed in, from Vị Thanh (the
# CSRF token apart).
GOOD_FORM = {
    "action": "submit",
    "unit": str(VI_THANH),
    "a-gioi-tinh": "1",
    "a-tuoi": "1",
    "a-thai-do": "4",
    "a-kenh": ["2"],
    "a-de-xuat-diem": "5",
    "a-so-lan": "1",
    "a-danh-gia-chi-tiet-1": "4",
    "a-danh-gia-chi-tiet-2": "4",
    "a-danh-gia-chi-tiet-3": "4",
}


def test_not_signed_in_repeat_is_refused_by_the_cookie(surveys, client):
    token = csrf_token(client, "/surveys/hai-long-chinh-quyen-2026")
    start = client.post(
        "/surveys/hai-long-chinh-quyen-2026/page/0",
        data={"csrf_token": token, "action": "start", "unit": str(VI_THANH)},
    )
    assert start.status_code == 200 and 'name="unit" value="31321"' in start.get_data(as_text=True)
    form = {"csrf_token": token, **GOOD_FORM}
    done = client.post("/surveys/hai-long-chinh-quyen-2026/page/1", data=form)
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    again = client.post(
        "/surveys/hai-long-chinh-quyen-2026/page/0",
        data={"csrf_token": token, "action": "start", "unit": str(VI_THANH)},
    )
    assert again.status_code == 302 and again.headers["Location"].endswith(
        "/surveys/hai-long-chinh-quyen-2026"
    )
    with surveys.app_context():
        assert db.session.scalar(select(SurveyResponse.signed_in)) is False


def test_thanks_page_shows_overall_results_only_past_the_threshold(
    surveys, client, auth, make_user
):
    for i in range(3):
        make_user(phone=f"09876540{i:02d}")
        assert (
            client.post(
                "/api/v1/surveys/kenh-thong-tin/responses",
                headers=bearer(client, f"09876540{i:02d}"),
                json={"answers": {"hop": 2, "kenh": [1 + i % 2]}},
            ).status_code
            == 201
        )
    assert "Zalo" not in client.get("/surveys/kenh-thong-tin/thanks").get_data(
        as_text=True
    )  # not answered
    auth.login("0987654000")
    page = client.get("/surveys/kenh-thong-tin/thanks").get_data(as_text=True)
    assert (
        "Zalo" in page and "67%" in page
    )  # two of three chose Loa… and the rest Zalo: 1/3 = 33%, 2/3 = 67%


def test_progress_and_completion_count_within_the_officers_commune(
    surveys, client, auth, make_user
):
    for i in range(4):  # four people of Vị Thanh answer; min_group is 3
        make_user(phone=f"09876541{i:02d}")
        answer = client.post(
            "/api/v1/surveys/kenh-thong-tin/responses",
            headers=bearer(client, f"09876541{i:02d}"),
            json={"answers": {"hop": 2, "kenh": [1]}},
        )
        assert answer.status_code == 201
    make_user(role="officer", phone="0911111119", unit=NINH_KIEU)
    auth.login("0911111119")
    page = client.get("/surveys/kenh-thong-tin/progress?lang=en").get_data(as_text=True)
    assert "Phường Ninh Kiều" in page and "Vị Thanh" not in page
    assert "submitted: 4" not in page and "submitted: 0" in page  # Ninh Kiều's own: nobody
    auth.logout()
    make_user(role="officer", phone="0911111118", unit=VI_THANH)
    auth.login("0911111118")
    page = client.get("/surveys/kenh-thong-tin/progress?lang=en").get_data(as_text=True)
    assert "submitted: 4" in page and "Ninh Kiều" not in page


def test_officers_follow_responses_per_commune_and_close(surveys, client, auth, make_user):
    make_user(phone="0987654321")
    client.post(
        "/api/v1/surveys/kenh-thong-tin/responses",
        headers=bearer(client, "0987654321"),
        json={"answers": {"hop": 2, "kenh": [1]}},
    )
    auth.login("0987654321")
    assert client.get("/surveys/kenh-thong-tin/progress").status_code == 403
    auth.logout()
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    page = client.get("/surveys/kenh-thong-tin/progress").get_data(as_text=True)
    assert (
        ("Phường Vị Thanh" in page and "Started: 1; submitted: 1" in page)
        or "submitted: 1" in page
        or "đã gửi: 1" in page.lower()
    )
    token = csrf_token(client, "/surveys/kenh-thong-tin/progress")
    asked = client.post(
        "/surveys/kenh-thong-tin/progress", data={"csrf_token": token, "action": "close"}
    )
    assert asked.status_code == 200  # the confirmation page: nothing closed yet
    assert any(s["id"] == "kenh-thong-tin" for s in client.get("/api/v1/surveys").get_json())
    closed = client.post("/surveys/kenh-thong-tin/close", data={"csrf_token": token})
    assert closed.status_code == 302
    assert client.get("/api/v1/surveys").get_json() == [
        s for s in client.get("/api/v1/surveys").get_json() if s["id"] != "kenh-thong-tin"
    ]


def test_refused_changes_to_a_survey_with_responses(surveys, client, make_user):
    make_user(phone="0987654321")
    client.post(
        "/api/v1/surveys/kenh-thong-tin/responses",
        headers=bearer(client, "0987654321"),
        json={"answers": {"hop": 2, "kenh": [1]}},
    )
    with surveys.app_context():
        reordered = IDENTIFIED.replace("choices: [Loa, Zalo, Báo]", "choices: [Zalo, Loa, Báo]")
        outcome = load_files(
            db.session,
            [("id.yaml", reordered.encode())],
            Actor(unit_code=PROVINCE, is_admin=True),
            NOW,
        )[0]
        assert outcome.refused is not None and "kenh" in outcome.refused.problems[0].text("en")
        appended = IDENTIFIED.replace(
            "choices: [Loa, Zalo, Báo]", "choices: [Loa, Zalo, Báo, Tivi]"
        )
        assert load_files(
            db.session,
            [("id.yaml", appended.encode())],
            Actor(unit_code=PROVINCE, is_admin=True),
            NOW,
        )[0].ok


def test_republishing_as_anonymous_deletes_the_server_drafts(surveys, client, auth, make_user):
    person = make_user(phone="0987654321")
    auth.login("0987654321")
    url = "/surveys/kenh-thong-tin/page/0"
    token = csrf_token(client, url)
    client.post(url, data={"csrf_token": token, "action": "next", "a-hop": "1", "a-phat-bieu": "2"})
    with surveys.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 1
    # No response yet, so the organiser may still make the survey anonymous.
    load_content(
        surveys, [("id.yaml", IDENTIFIED.replace("anonymous: false", "anonymous: true"))], NOW
    )
    page = client.get("/surveys/kenh-thong-tin/page/1").get_data(as_text=True)
    assert 'name="a-hop"' not in page  # nothing of the old draft comes back into the form
    done = client.post(
        "/surveys/kenh-thong-tin/page/1",
        data={
            "csrf_token": token,
            "action": "submit",
            "a-hop": "1",
            "a-phat-bieu": "2",
            "a-ly-do": "Ngại",
            "a-kenh": ["1"],
        },
    )
    assert done.status_code == 302
    with surveys.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0
        leftovers = db.session.execute(
            text("SELECT count(*) FROM survey_drafts WHERE user_id = :u"), {"u": person.id}
        ).scalar()
        assert leftovers == 0
        response = db.session.scalar(select(SurveyResponse))
        assert response.user_id is None


def test_a_draft_saved_while_the_survey_turns_anonymous_is_not_kept(surveys, make_user):
    """The page read the survey as identified; the survey is re-published as anonymous before
    the draft is written: the write sees the survey as it now is, and keeps nothing."""
    person = make_user(phone="0987654321")
    with surveys.app_context():
        page_view = db.session.scalar(select(Survey).where(Survey.slug == "kenh-thong-tin"))
        load_content(
            surveys, [("id.yaml", IDENTIFIED.replace("anonymous: false", "anonymous: true"))], NOW
        )
        page_view.__dict__["anonymous"] = False  # what the page's request read, before
        service.save_draft(db.session, page_view, db.session.merge(person), {"hop": 1}, 1, NOW)
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


def test_the_skip_note_says_what_shows_the_question_by_its_number_or_its_words():
    from app.content.preview import condition_words

    questions = {
        "du-hop": ("single", "Ông/bà có dự họp không?", ["Thường xuyên", "Thỉnh thoảng", "Chưa"]),
        "diem": ("rating", "Ông/bà chấm mấy điểm?", []),
    }
    same_page = condition_words({"du-hop": [1, 2]}, questions.get, "vi", {"du-hop": 1}.get)
    assert same_page == (
        "Câu này hiện khi ông/bà trả lời “Thường xuyên” hoặc “Thỉnh thoảng” ở câu 1."
    )
    earlier = condition_words({"du-hop": [3], "diem": [9, 10]}, questions.get, "vi")
    assert earlier == (
        "Câu này hiện khi ông/bà trả lời “Chưa” ở câu “Ông/bà có dự họp không?”"
        " và 9 hoặc 10 ở câu “Ông/bà chấm mấy điểm?”."
    )
    assert condition_words(None, questions.get, "vi") is None
