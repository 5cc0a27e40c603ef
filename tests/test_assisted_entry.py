"""Assisted entry (issue 20, point 1): an officer answers an identified survey for a resident,
found by phone or given an account on the spot. Read as an attacker would: the response, the
ledger, the consents and the audit trail, every column."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Consent,
    Role,
    Survey,
    SurveyAnswer,
    SurveyLedger,
    SurveyResponse,
    Unit,
    UnitLevel,
    User,
)
from tests.conftest import NINH_KIEU, VI_THANH, csrf_token, load_content, set_clock
from tests.test_surveys import FULL, GOOD, IDENTIFIED, NOW, bearer

SLUG = "kenh-thong-tin"
ANONYMOUS = "hai-long-chinh-quyen-2026"
ANSWERS = {"a-hop": "1", "a-phat-bieu": "1", "a-kenh": ["1", "3"]}


@pytest.fixture
def surveys(app):  # type: ignore[no-untyped-def]
    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL), ("id.yaml", IDENTIFIED)], NOW)
    return app


@pytest.fixture
def officer(make_user):  # type: ignore[no-untyped-def]
    return make_user(role=Role.OFFICER, phone="0912000101", unit=VI_THANH)


@pytest.fixture
def outsider(make_user):  # type: ignore[no-untyped-def]
    """An officer of another commune."""
    return make_user(role=Role.OFFICER, phone="0912000102", unit=NINH_KIEU)


def add_hamlet(app, code: int, commune: int, name: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.add(
            Unit(
                code=code,
                name=name,
                level=UnitLevel.HAMLET,
                division_type="Ấp",
                parent_code=commune,
                search_name=name.lower(),
            )
        )
        db.session.commit()
    return code


def find(client, phone: str, slug: str = SLUG):  # type: ignore[no-untyped-def]
    url = f"/officer/entry/{slug}/assisted"
    return client.post(url, data={"csrf_token": csrf_token(client, url), "phone": phone})


def answer_for(client, user_id: int, data: dict, slug: str = SLUG):  # type: ignore[no-untyped-def]
    url = f"/officer/entry/{slug}/assisted/{user_id}"
    return client.post(url, data={"csrf_token": csrf_token(client, "/officer/entry/"), **data})


def test_an_assisted_response_is_the_residents_and_names_no_officer(
    surveys, client, auth, make_user, officer
):
    resident = make_user(phone="0987000001")
    auth.login(officer.phone)
    found = find(client, "0987 000 001")
    assert found.status_code == 302
    assert found.headers["Location"].endswith(f"/officer/entry/{SLUG}/assisted/{resident.id}")
    form = client.get(found.headers["Location"]).get_data(as_text=True)
    assert "0987***001" in form and "Ông/bà có đi họp tổ dân phố không?" in form
    done = answer_for(client, resident.id, ANSWERS)
    assert done.status_code == 302
    assert "Đã lưu" in client.get(done.headers["Location"]).get_data(as_text=True)

    with surveys.app_context():
        survey_id = db.session.scalar(select(Survey.id).where(Survey.slug == SLUG))
        responses = db.session.execute(select(SurveyResponse.__table__)).mappings().all()
        assert len(responses) == 1
        row = responses[0]
        assert (row["user_id"], row["channel"], row["unit_code"]) == (
            resident.id,
            "assisted",
            VI_THANH,
        )
        # No column of the response or its answers holds the officer.
        assert officer.id not in {v for k, v in row.items() if k.endswith("_id")}
        # hop, phat-bieu, and kenh's two choices with its one-row-per-respondent row
        assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 5
        ledger = db.session.execute(select(SurveyLedger.survey_id, SurveyLedger.user_id)).all()
        assert ledger == [(survey_id, resident.id)]  # the resident's entry, not the officer's
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "entry.assisted")
        ).all()
        assert [(e.actor_id, e.target, e.detail) for e in events] == [
            (officer.id, f"survey:{SLUG}", {"user_id": resident.id})
        ]

    again = answer_for(client, resident.id, ANSWERS)
    assert again.status_code == 409
    assert "đã trả lời" in again.get_data(as_text=True)
    with surveys.app_context():  # the refused one left no trail entry behind
        assert (
            db.session.scalar(select(func.count()).where(AuditEvent.action == "entry.assisted"))
            == 1
        )
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1


def test_a_wrong_answer_is_shown_beside_its_question_and_nothing_is_stored(
    surveys, client, auth, make_user, officer
):
    resident = make_user(phone="0987000002")
    auth.login(officer.phone)
    refused = answer_for(client, resident.id, {"a-hop": "1", "a-kenh": ["1", "2", "3"]})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "tối đa 2" in page
    assert re.search(r'value="3"\s*checked', page)  # what was ticked is kept
    with surveys.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
        assert not db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "entry.assisted")
        )


def test_an_officer_creates_a_residents_account_with_consent_given_in_person(
    surveys, client, auth, officer
):
    hamlet = add_hamlet(surveys, VI_THANH * 1000 + 1, VI_THANH, "Khu vực 1")
    auth.login(officer.phone)
    missing = find(client, "0987000003")
    assert missing.status_code == 404
    assert "/officer/entry/residents/new" in missing.get_data(as_text=True)
    url = f"/officer/entry/residents/new?survey={SLUG}&phone=0987000003"
    page = client.get(url).get_data(as_text=True)
    assert "Khu vực 1" in page and 'value="0987000003"' in page
    data = {
        "csrf_token": csrf_token(client, url),
        "name": "Lê Thị Ba",
        "phone": "0987000003",
        "unit": str(hamlet),
        "survey": SLUG,
    }
    no_consent = client.post("/officer/entry/residents/new", data=data)
    assert no_consent.status_code == 422 and "đồng ý" in no_consent.get_data(as_text=True)
    created = client.post("/officer/entry/residents/new", data=data | {"consent": "y"})
    text = created.get_data(as_text=True)
    assert created.status_code == 201, text
    password = re.search(r'<code class="app-otp">([a-z-]+)</code>', text).group(1)
    with surveys.app_context():
        user = db.session.scalar(select(User).where(User.phone == "0987000003"))
        assert (user.role, user.unit_code, user.hamlet_code) == ("resident", VI_THANH, hamlet)
        assert user.must_change_password
        consents = (
            db.session.execute(select(Consent.__table__).where(Consent.user_id == user.id))
            .mappings()
            .all()
        )
        assert [(c["user_id"], c["given_in"]) for c in consents] == [(user.id, "in_person")]
        from app.services.accounts import personal_data

        assert personal_data(db.session, user)["consents"][0]["given_in"] == "in_person"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "entry.resident"))
        assert (event.actor_id, event.target, event.unit_code) == (
            officer.id,
            f"user:{user.id}",
            hamlet,
        )
        assert "Lê Thị Ba" not in str(event.detail) and "0987000003" not in str(event.detail)
        user_id = user.id
    # The page goes on to the survey's form for that person.
    assert f"/officer/entry/{SLUG}/assisted/{user_id}" in text
    assert answer_for(client, user_id, ANSWERS).status_code == 302
    with surveys.app_context():
        stored = db.session.scalar(select(SurveyResponse))
        assert (stored.user_id, stored.hamlet_code, stored.channel) == (user_id, hamlet, "assisted")
    # The person can later sign in with the one-time password, and must choose their own.
    auth.logout()
    signed_in = auth.login("0987000003", password)
    assert signed_in.status_code == 302
    assert client.get("/contests/").headers["Location"].endswith("/account/password")

    again = client.post("/officer/entry/residents/new", data=data | {"consent": "y"})
    assert again.status_code in (302, 400, 403)  # a resident may not (nor a stale form)


def test_scope_an_officer_of_another_commune_can_do_nothing_for_this_one(
    surveys, client, auth, make_user, outsider
):
    resident = make_user(phone="0987000004")
    auth.login(outsider.phone)
    assert find(client, "0987000004").status_code == 403
    assert answer_for(client, resident.id, ANSWERS).status_code == 403
    url = "/officer/entry/residents/new"
    data = {
        "csrf_token": csrf_token(client, url),
        "name": "Lê Văn Tư",
        "phone": "0987000005",
        "unit": str(VI_THANH),
        "consent": "y",
    }
    refused = client.post(url, data=data)
    assert refused.status_code in (403, 422)
    with surveys.app_context():
        assert db.session.scalar(select(User.id).where(User.phone == "0987000005")) is None
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_residents_cannot_enter_for_others_and_anonymous_surveys_refuse(
    surveys, client, auth, make_user, officer
):
    resident = make_user(phone="0987000006")
    other = make_user(phone="0987000007")
    auth.login(resident.phone)
    assert client.get("/officer/entry/").status_code == 403
    assert client.get(f"/officer/entry/{SLUG}/assisted/{other.id}").status_code == 403
    auth.logout()
    auth.login(officer.phone)
    assert client.get(f"/officer/entry/{ANONYMOUS}/assisted").status_code == 422
    assert find(client, "12345").status_code == 422  # malformed phone: said so
    assert client.get(f"/officer/entry/{SLUG}/assisted/999999").status_code == 404
    assert client.get("/officer/entry/no-such-survey/assisted").status_code == 404


# --------------------------------------------------------------------------------------- API


def api(client, phone: str, body: dict, slug: str = SLUG):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/surveys/{slug}/responses", headers=bearer(client, phone), json=body
    )


def test_api_assisted_answers_for_the_resident_with_that_phone(
    surveys, client, make_user, officer, outsider
):
    resident = make_user(phone="0987000008")
    body = {"answers": {"hop": 2, "kenh": [2]}, "channel": "assisted", "phone": "0987000008"}
    assert api(client, outsider.phone, body).status_code == 403
    done = api(client, officer.phone, body)
    assert done.status_code == 201, done.get_json()
    assert api(client, officer.phone, body).status_code == 409
    with surveys.app_context():
        row = db.session.scalar(select(SurveyResponse))
        assert (row.user_id, row.channel) == (resident.id, "assisted")

    unknown = body | {"phone": "0987000009"}
    assert api(client, officer.phone, unknown).status_code == 404
    created = api(client, officer.phone, unknown | {"name": "Trần Văn Năm"})
    assert created.status_code == 201
    assert re.fullmatch(r"[a-z]{4}-[a-z]{4}-[a-z]{4}", created.get_json()["one_time_password"])
    with surveys.app_context():
        person = db.session.scalar(select(User).where(User.phone == "0987000009"))
        assert person.unit_code == VI_THANH  # the officer's commune
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 2


def test_api_assisted_with_a_name_creates_nothing_when_the_answer_is_refused(
    surveys, client, make_user
):
    """All or nothing: a province officer names a new resident of a commune outside the
    survey's audience. The answer is refused (403) — and no account is left behind for that
    phone (a retry for the right commune would find the phone taken, and a person would have
    an account nobody asked for)."""
    from app.models import Survey

    with surveys.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        survey.audience = [VI_THANH]
        db.session.commit()
    province = make_user(role=Role.OFFICER, phone="0912000103")  # the province's officer
    body = {
        "answers": {"hop": 2, "kenh": [2]},
        "channel": "assisted",
        "phone": "0987000011",
        "name": "Lê Văn Sáu",
        "unit": NINH_KIEU,
    }
    refused = api(client, province.phone, body)
    assert refused.status_code == 403, refused.get_json()
    with surveys.app_context():
        assert db.session.scalar(select(User).where(User.phone == "0987000011")) is None
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
    done = api(client, province.phone, body | {"unit": VI_THANH})
    assert done.status_code == 201, done.get_json()


def test_api_channel_refusals(surveys, client, make_user, officer):
    resident = make_user(phone="0987000010")
    body = {"answers": {"hop": 2, "kenh": [2]}, "channel": "assisted", "phone": "0987000010"}
    assert api(client, resident.phone, body).status_code == 403  # a resident: own answers only
    anonymous = client.post(
        f"/api/v1/surveys/{ANONYMOUS}/responses",
        json={"unit": VI_THANH, "answers": GOOD, "channel": "paper"},
    )
    assert anonymous.status_code == 403
    assert api(client, officer.phone, body | {"channel": "fax"}).status_code == 422
    assert api(client, officer.phone, body | {"phone": "12"}).status_code == 422
    assert api(client, officer.phone, body | {"phone": None}).status_code == 422
    # assisted on an anonymous survey: refused (it would name the response's author)
    assert (
        api(
            client,
            officer.phone,
            {"answers": GOOD, "channel": "assisted", "phone": "0987000010"},
            slug=ANONYMOUS,
        ).status_code
        == 422
    )
    with surveys.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
        assert db.session.scalar(select(func.count()).select_from(SurveyLedger)) == 0


def test_a_hamlet_officer_enters_for_their_hamlet_only(surveys, client, make_user):
    """policy.may_enter_for: a hamlet's officer, for the residents who named that hamlet; not
    for the rest of the commune, nor for another hamlet."""
    from app.services import entry

    mine = add_hamlet(surveys, VI_THANH * 1000 + 5, VI_THANH, "Khu vực 5")
    other = add_hamlet(surveys, VI_THANH * 1000 + 6, VI_THANH, "Khu vực 6")
    hamlet_officer = make_user(role=Role.OFFICER, phone="0912000111", unit=mine)
    neighbour = make_user(phone="0987000120")
    inside = make_user(phone="0987000121")
    elsewhere = make_user(phone="0987000122")
    with surveys.app_context():
        db.session.get(User, inside.id).hamlet_code = mine
        db.session.get(User, elsewhere.id).hamlet_code = other
        db.session.commit()
    body = {"answers": {"hop": 2, "kenh": [2]}, "channel": "assisted"}
    assert api(client, hamlet_officer.phone, body | {"phone": inside.phone}).status_code == 201
    for person in (neighbour, elsewhere):
        assert api(client, hamlet_officer.phone, body | {"phone": person.phone}).status_code == 403
    with surveys.app_context():
        officer = db.session.get(User, hamlet_officer.id)
        places = entry.places_for(db.session, officer)
        assert [p.code for p in places] == [mine]
        row = db.session.scalar(select(SurveyResponse))
        assert (row.user_id, row.hamlet_code, row.channel) == (inside.id, mine, "assisted")


def test_two_officers_answering_for_one_resident_at_once_store_one_response(
    surveys, make_user, officer
):
    """The ledger decides: one response, one trail entry; the others are told (409)."""
    from concurrent.futures import ThreadPoolExecutor

    colleague = make_user(role=Role.OFFICER, phone="0912000103", unit=VI_THANH)
    make_user(phone="0987000130")
    body = {"answers": {"hop": 2, "kenh": [2]}, "channel": "assisted", "phone": "0987000130"}
    headers = {who.phone: bearer(surveys.test_client(), who.phone) for who in (officer, colleague)}

    def respond(index: int) -> int:
        phone = (officer, colleague)[index % 2].phone
        with surveys.test_client() as other:
            url = f"/api/v1/surveys/{SLUG}/responses"
            return other.post(url, headers=headers[phone], json=body).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(respond, range(6)))
    assert statuses == [201, 409, 409, 409, 409, 409]
    with surveys.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        assert db.session.scalar(select(func.count()).select_from(SurveyLedger)) == 1
        trail = select(func.count()).where(AuditEvent.action == "entry.assisted")
        assert db.session.scalar(trail) == 1


def test_a_closed_survey_says_so_before_anything_is_typed(
    surveys, client, auth, make_user, officer
):
    from datetime import timedelta

    resident = make_user(phone="0987000140")
    surveys.config["CLOCK"].now = NOW + timedelta(days=40)
    auth.login(officer.phone)
    page = client.get(f"/officer/entry/{SLUG}/assisted/{resident.id}")
    assert page.status_code == 409 and "đã kết thúc" in page.get_data(as_text=True)
