"""Issue 20's foundation: a response records how it came in (its channel) and, below its
commune, its hamlet — stored directly for identified surveys, sealed and moved by the mixer
for anonymous ones, and refused when the hamlet is not of the respondent's commune."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Survey, SurveyResponse, Unit, UnitLevel
from app.services import survey_definition
from app.services import surveys as service
from tests.conftest import NINH_KIEU, VI_THANH, load_content, set_clock
from tests.test_surveys import FULL, GOOD, IDENTIFIED, NOW


@pytest.fixture
def surveys(app):  # type: ignore[no-untyped-def]
    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL), ("id.yaml", IDENTIFIED)], NOW)
    return app


def hamlet(code: int, commune: int, name: str) -> Unit:
    unit = Unit(
        code=code,
        name=name,
        level=UnitLevel.HAMLET,
        division_type="Khu vực",
        parent_code=commune,
        search_name=name.lower(),
    )
    db.session.add(unit)
    db.session.commit()
    return unit


def definition(slug: str) -> survey_definition.SurveyDef:
    survey = db.session.scalar(select(Survey).where(Survey.slug == slug))
    assert survey is not None
    return survey_definition.definition(db.session, survey)


def test_channel_and_hamlet_are_stored_for_identified_and_mixed_for_anonymous(surveys, make_user):  # type: ignore[no-untyped-def]
    resident = make_user()
    with surveys.app_context():
        khu_vuc_1 = hamlet(VI_THANH * 1000 + 1, VI_THANH, "Khu vực 1")
        unit = db.session.get(Unit, VI_THANH)
        identified = service.submit(
            db.session,
            definition("kenh-thong-tin"),
            {"hop": 2, "kenh": [1]},
            NOW,
            user=db.session.merge(resident),
            unit=unit,
            channel="assisted",
            hamlet=khu_vuc_1,
        )
        assert identified is not None
        stored = db.session.get(SurveyResponse, identified.id)
        assert (stored.channel, stored.hamlet_code) == ("assisted", khu_vuc_1.code)

        anonymous = definition("hai-long-chinh-quyen-2026")
        assert (
            service.submit(
                db.session,
                anonymous,
                GOOD,
                NOW,
                user=None,
                unit=unit,
                channel="paper",
                hamlet=db.session.get(Unit, khu_vuc_1.code),
            )
            is None
        )
        service.settle(db.session, NOW, force=True)
        rows = db.session.execute(
            select(SurveyResponse.channel, SurveyResponse.hamlet_code, SurveyResponse.user_id)
            .join(Survey)
            .where(Survey.slug == "hai-long-chinh-quyen-2026")
        ).all()
        assert rows == [("paper", khu_vuc_1.code, None)]


def test_a_hamlet_of_another_commune_or_an_unknown_channel_is_refused(surveys):  # type: ignore[no-untyped-def]
    with surveys.app_context():
        elsewhere = hamlet(NINH_KIEU * 1000 + 1, NINH_KIEU, "Khu vực 1")
        unit = db.session.get(Unit, VI_THANH)
        defn = definition("hai-long-chinh-quyen-2026")
        with pytest.raises(service.SurveyError):
            service.submit(db.session, defn, GOOD, NOW, user=None, unit=unit, hamlet=elsewhere)
        with pytest.raises(service.SurveyError):  # a commune is not a hamlet
            service.submit(db.session, defn, GOOD, NOW, user=None, unit=unit, hamlet=unit)
        with pytest.raises(ValueError):
            service.submit(db.session, defn, GOOD, NOW, user=None, unit=unit, channel="fax")
        db.session.rollback()
        assert db.session.scalar(select(SurveyResponse.id)) is None


def test_the_database_refuses_an_unknown_channel(surveys):  # type: ignore[no-untyped-def]
    """Whatever the code above it does (a Core insert, a script): the CHECK constraint."""
    with surveys.app_context():
        survey_id = db.session.scalar(select(Survey.id).where(Survey.slug == "kenh-thong-tin"))
        with pytest.raises(IntegrityError):
            db.session.execute(
                SurveyResponse.__table__.insert(),
                {
                    "id": uuid.uuid4(),
                    "survey_id": survey_id,
                    "unit_code": VI_THANH,
                    "submitted_on": NOW.date(),
                    "signed_in": False,
                    "channel": "fax",
                },
            )
        db.session.rollback()
