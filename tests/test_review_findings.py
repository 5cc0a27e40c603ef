"""Findings of an attacker's review of this session's change, each as a test (all failed
before their fix)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

import tests.test_suppression_attack as t
from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Survey, SurveyPending, SurveyResponse, Unit, User
from app.services import mixer, survey_definition
from app.services import surveys as service
from tests.conftest import PROVINCE
from tests.test_anonymity_attack import SLUG, answer, is_postgres
from tests.test_anonymity_attack import survey as survey
from tests.test_surveys import GOOD, bearer

ADMIN = Actor(unit_code=PROVINCE, is_admin=True)


def test_a_mixer_never_moves_a_lone_response_left_by_another(survey, client, make_user):
    """Mixer A holds 19 pending rows; B's submission makes 20 waiting: B must not move its own
    row alone (its xmin would follow B's ledger entry)."""
    if not is_postgres(survey):
        pytest.skip("SQLite writes one transaction at a time: no second mixer runs")
    people = [make_user(phone=f"09876502{i:02d}") for i in range(20)]
    for i, person in enumerate(people[:19]):
        answer(client, person, i)
    with survey.app_context():
        survey_id = db.session.scalar(select(Survey.id).where(Survey.slug == SLUG))
        other = Session(db.engine)
        taken, _oldest = mixer.claim(other, mixer.current(), survey_id)
        assert len(taken) == 19
    response = client.post(
        f"/api/v1/surveys/{SLUG}/responses",
        headers=bearer(client, people[19].phone),
        json={"answers": GOOD | {"so-lan": 300}},
    )
    assert response.status_code == 201
    with survey.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
    other.rollback()
    other.close()
    with survey.app_context():
        assert service.settle(db.session, t.NOW) == 20
        assert (
            db.session.scalar(text("SELECT count(DISTINCT xmin::text) FROM survey_responses")) == 1
        )


def test_a_survey_made_anonymous_mid_request_gets_no_identified_row(app, make_user):
    person = make_user(phone="0987650399")
    identified = t.SURVEY.replace("anonymous: true", "anonymous: false")
    with app.app_context():
        assert load_files(db.session, [("s.yaml", identified.encode())], ADMIN, t.NOW)[0].ok
        request = Session(db.engine)
        row = request.scalar(select(Survey).where(Survey.slug == t.SLUG))
        defn = survey_definition.definition(request, row)
        user = request.get(User, person.id)
        assert load_files(db.session, [("s.yaml", t.SURVEY.encode())], ADMIN, t.NOW)[0].ok
        service.submit(request, defn, {"hai-long": 4}, t.NOW, user=user, unit=user.unit)
        request.close()
        stored = db.session.execute(select(SurveyResponse.user_id)).scalars().all()
        assert stored == [] or stored == [None]
        waiting = db.session.scalar(select(func.count()).select_from(SurveyPending))
        assert waiting + len(stored) == 1


def test_a_hidden_commune_s_raw_export_is_refused(app, client, auth, make_user):
    identified = t.SURVEY.replace("anonymous: true", "anonymous: false")
    with app.app_context():
        assert load_files(db.session, [("s.yaml", identified.encode())], ADMIN, t.NOW)[0].ok
        row = db.session.scalar(select(Survey).where(Survey.slug == t.SLUG))
        communes = db.session.scalars(
            select(Unit.code).where(Unit.parent_code == PROVINCE).order_by(Unit.code).limit(5)
        ).all()
        plan = [(communes[i], g, v) for i, people in enumerate(t.PLAN) for g, v in people]
        t.add_responses(db.session, row, plan)
    make_user(role="officer", phone="0911111112")
    auth.login("0911111112")
    hidden = client.get(f"/results/{t.SLUG}/responses.csv", query_string={"unit": communes[0]})
    assert hidden.status_code == 403


def test_an_empty_audience_is_not_everyone(app):
    src = t.SURVEY.replace("anonymous: true", "anonymous: true\naudience: []")
    with app.app_context():
        outcome = load_files(db.session, [("s.yaml", src.encode())], ADMIN, t.NOW)[0]
        assert not outcome.ok


def test_the_current_password_is_guessed_no_faster_than_at_sign_in(client, auth, make_user):
    from tests.conftest import csrf_token

    make_user(phone="0912345678")
    auth.login("0912345678")
    codes = []
    for _ in range(7):
        codes.append(
            client.post(
                "/account/password",
                data={
                    "csrf_token": csrf_token(client, "/account/password"),
                    "current": "a-wrong-guess-1",
                    "password": "song-hau-ben-cau",
                    "confirm": "song-hau-ben-cau",
                },
            ).status_code
        )
    assert 429 in codes and codes[:4] == [422] * 4
