"""Paper forms of anonymous surveys keyed in by an officer (issue 20, point 2): each form an
anonymous response, channel "paper", mixed like any other; the batch in the audit trail only.
Read as an attacker with the database would: every column, and on PostgreSQL `xmin`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from app.config import Config
from app.extensions import db
from app.models import (
    AuditEvent,
    Role,
    SurveyAnswer,
    SurveyLedger,
    SurveyPending,
    SurveyResponse,
)
from app.services import surveys as service
from tests.conftest import NINH_KIEU, VI_THANH, csrf_token, load_content, set_clock
from tests.test_assisted_entry import add_hamlet
from tests.test_surveys import FULL, GOOD, IDENTIFIED, NOW, bearer

SLUG = "hai-long-chinh-quyen-2026"
BASE = f"/officer/entry/{SLUG}/paper"
# GOOD (tests/test_surveys.py) as the form's fields.
FORM = {
    "a-gioi-tinh": "2",
    "a-tuoi": "1",
    "a-thai-do": "4",
    "a-kenh": ["1", "3"],
    "a-de-xuat-diem": "9",
    "a-loa": "3",
    "a-so-lan": "2",
    "a-chi-phi": "12,5",
    "a-danh-gia-chi-tiet-1": "4",
    "a-danh-gia-chi-tiet-2": "5",
    "a-danh-gia-chi-tiet-3": "3",
}


@pytest.fixture
def surveys(app):  # type: ignore[no-untyped-def]
    """The sample anonymous survey, with the mixer as production runs it (batches of 20)."""
    set_clock(app, NOW)
    app.config["SURVEY_MIX_BATCH"] = Config.SURVEY_MIX_BATCH
    load_content(app, [("full.yaml", FULL), ("id.yaml", IDENTIFIED)], NOW)
    return app


@pytest.fixture
def officer(make_user):  # type: ignore[no-untyped-def]
    return make_user(role=Role.OFFICER, phone="0912000201", unit=VI_THANH)


def start(client, unit: int):  # type: ignore[no-untyped-def]
    return client.post(BASE, data={"csrf_token": csrf_token(client, BASE), "unit": str(unit)})


def key_in(client, form: dict):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"{BASE}/form")
    return client.post(f"{BASE}/form", data={"csrf_token": token, **form})


def test_a_batch_of_30_paper_forms_adds_30_anonymous_responses_that_name_no_officer(
    surveys, client, auth, officer
):
    hamlet = add_hamlet(surveys, VI_THANH * 1000 + 2, VI_THANH, "Ấp Hai")
    auth.login(officer.phone)
    started = start(client, hamlet)
    assert started.status_code == 302 and started.headers["Location"].endswith(f"{BASE}/form")
    for n in range(30):
        saved = key_in(client, FORM | {"a-so-lan": str(n)})
        assert saved.status_code == 302, saved.get_data(as_text=True)
    page = client.get(f"{BASE}/form").get_data(as_text=True)
    assert "30 phiếu" in page  # the running count
    ended = client.post(f"{BASE}/end", data={"csrf_token": csrf_token(client, f"{BASE}/form")})
    assert ended.status_code == 200 and "30" in ended.get_data(as_text=True)

    with surveys.app_context():
        service.settle(db.session, NOW, force=True)
        rows = db.session.execute(select(SurveyResponse.__table__)).mappings().all()
        assert len(rows) == 30
        for row in rows:
            assert (row["channel"], row["unit_code"], row["hamlet_code"]) == (
                "paper",
                VI_THANH,
                hamlet,
            )
            assert row["user_id"] is None and row["signed_in"] is False
        numbers = db.session.scalars(
            select(SurveyAnswer.number).where(SurveyAnswer.number.is_not(None))
        ).all()
        assert officer.id not in {r["user_id"] for r in rows}
        assert len(numbers) == 60  # so-lan and chi-phi of each form, nothing else numeric
        assert db.session.scalar(select(func.count()).select_from(SurveyLedger)) == 0
        assert db.session.scalar(select(func.count()).select_from(SurveyPending)) == 0
        # The batch, in the audit trail only: one entry, its size, its officer, its place.
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action != "content.publish")
        ).all()
        assert len(events) == 1
        event = events[0]
        assert (event.action, event.actor_id, event.unit_code) == (
            "entry.paper",
            officer.id,
            hamlet,
        )
        assert event.detail["forms"] == 30 and event.detail["ended"]
        if db.engine.dialect.name == "postgresql":
            # Every response was written by a mixer's transaction: none shares its xmin with
            # the batch's entry (updated by each form's transaction) or with another table.
            shared = db.session.scalar(
                text(
                    "SELECT count(*) FROM survey_responses r JOIN audit_events a ON r.xmin = a.xmin"
                )
            )
            shared_answers = db.session.scalar(
                text("SELECT count(*) FROM survey_answers s JOIN audit_events a ON s.xmin = a.xmin")
            )
            assert (shared, shared_answers) == (0, 0)
            batches = db.session.scalar(
                text("SELECT count(DISTINCT xmin::text) FROM survey_responses")
            )
            assert batches == 2  # 20 moved when the twentieth came, 10 by the mixer's run


def test_a_wrong_form_keeps_what_was_typed_and_says_what_is_wrong(surveys, client, auth, officer):
    auth.login(officer.phone)
    start(client, VI_THANH)
    wrong = key_in(client, FORM | {"a-so-lan": "nhiều", "a-ly-do": ""})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert 'value="nhiều"' in page and "Vui lòng nhập một số" in page
    assert re.search(r'name="a-gioi-tinh"[^>]*value="2"\s*checked', page)
    assert "0 phiếu" in page  # nothing counted
    assert key_in(client, FORM).status_code == 302
    with surveys.app_context():
        service.settle(db.session, NOW, force=True)
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        batch = select(AuditEvent).where(AuditEvent.action == "entry.paper")
        assert db.session.scalar(batch).detail["forms"] == 1


def test_scope_and_refusals(surveys, client, auth, make_user, officer):
    outsider = make_user(role=Role.OFFICER, phone="0912000202", unit=NINH_KIEU)
    resident = make_user(phone="0987000201")
    auth.login(outsider.phone)
    assert start(client, VI_THANH).status_code == 403  # another commune
    assert start(client, 999999).status_code == 422  # no such place
    assert client.get(f"{BASE}/form").status_code == 302  # no batch yet: to the start page
    auth.logout()
    auth.login(officer.phone)
    assert start(client, VI_THANH).status_code == 302
    assert client.get("/officer/entry/kenh-thong-tin/paper").status_code == 422  # identified
    auth.logout()
    auth.login(resident.phone)
    assert client.get(BASE).status_code == 403
    with surveys.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyPending)) == 0


def test_another_officer_cannot_write_into_this_batch(surveys, client, auth, make_user, officer):
    """The batch id rides in the officer's signed session: a colleague's session naming it is
    refused by the service (its entry's actor)."""
    from app.models import Survey, User
    from app.services import entry, survey_definition

    colleague = make_user(role=Role.OFFICER, phone="0912000203", unit=VI_THANH)
    auth.login(officer.phone)
    start(client, VI_THANH)
    with surveys.app_context():
        batch_id = db.session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "entry.paper")
        )
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        defn = survey_definition.definition(db.session, survey)
        with pytest.raises(entry.EntryError) as refused:
            entry.paper_form(
                db.session, db.session.get(User, colleague.id), defn, batch_id, GOOD, NOW
            )
        assert refused.value.status == 403
        assert db.session.scalar(select(func.count()).select_from(SurveyPending)) == 0


def test_api_paper_forms_count_in_one_batch_per_day(surveys, client, make_user, officer):
    headers = bearer(client, officer.phone)
    url = f"/api/v1/surveys/{SLUG}/responses"
    body = {"unit": VI_THANH, "answers": GOOD, "channel": "paper"}
    for _ in range(2):
        assert client.post(url, headers=headers, json=body).status_code == 201
    assert client.post(url, headers=headers, json=body | {"unit": NINH_KIEU}).status_code == 403
    assert client.post(url, headers=headers, json=body | {"unit": 999999}).status_code == 422
    assert client.post(url, headers=headers, json=body | {"unit": None}).status_code == 422
    wrong = client.post(url, headers=headers, json=body | {"answers": {"so-lan": "x"}})
    assert wrong.status_code == 422
    identified = client.post(
        "/api/v1/surveys/kenh-thong-tin/responses",
        headers=headers,
        json={"unit": VI_THANH, "answers": {"hop": 2, "kenh": [1]}, "channel": "paper"},
    )
    assert identified.status_code == 422
    with surveys.app_context():
        service.settle(db.session, NOW, force=True)
        channels = db.session.scalars(select(SurveyResponse.channel)).all()
        assert channels == ["paper", "paper"]
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "entry.paper")
        ).all()
        assert [(e.action, e.actor_id, e.detail["forms"], e.detail["via"]) for e in events] == [
            ("entry.paper", officer.id, 2, "api")
        ]


def test_concurrent_forms_of_one_batch_are_all_stored_and_counted(surveys, officer):
    """Two tabs (or a double click) of one batch: every form stored once, the count exact."""
    from concurrent.futures import ThreadPoolExecutor

    from app.models import Survey, User
    from app.services import entry, survey_definition

    with surveys.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        place = entry.place_of(db.session, VI_THANH)
        batch_id = entry.start_batch(
            db.session, db.session.get(User, officer.id), survey, place, NOW
        )

    def key_in_form(index: int) -> int:
        with surveys.app_context():
            survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
            defn = survey_definition.definition(db.session, survey)
            me = db.session.get(User, officer.id)
            answers = GOOD | {"so-lan": index}
            return entry.paper_form(db.session, me, defn, batch_id, answers, NOW)

    with ThreadPoolExecutor(6) as pool:
        counts = sorted(pool.map(key_in_form, range(6)))
    assert counts == [1, 2, 3, 4, 5, 6]
    with surveys.app_context():
        service.settle(db.session, NOW, force=True)
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 6
        assert db.session.get(AuditEvent, batch_id).detail["forms"] == 6
