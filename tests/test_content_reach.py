"""Content reaches only its owner's unit: audiences and the banks a contest draws from."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Contest, Survey
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH
from tests.test_content_api import bearer

VALID = Path(__file__).parent / "content" / "valid"
BANK = (VALID / "bank-full.yaml").read_text(encoding="utf-8")
CONTEST = (VALID / "contest-full.yaml").read_text(encoding="utf-8")
SURVEY = (VALID / "survey-full.yaml").read_text(encoding="utf-8")


def post(client, kind: str, text: str, phone: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/{kind}", data=text.encode(), headers=bearer(client, phone))


def officers(make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(role="officer", phone="0911000001", unit=VI_THANH)
    make_user(role="officer", phone="0911000002", unit=NINH_KIEU)
    make_user(role="officer", phone="0911000003", unit=PROVINCE)


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_contest_may_not_draw_from_a_neighbour_s_bank(app, client, make_user):
    officers(make_user)
    assert post(client, "banks", BANK, "0911000002").status_code == 201  # Ninh Kiều's bank
    mine = CONTEST.replace("audience: [92]", f"audience: [{VI_THANH}]").replace("review", "review")
    refused = post(client, "contests", mine, "0911000001")
    assert refused.status_code == 403
    message = refused.get_json()["error"]["details"][0]["message"]
    assert "dan-chu-co-so" in message and "Vị Thanh" in message
    assert count(app, Contest) == 0


def test_a_commune_contest_may_not_draw_from_the_province_s_bank(app, client, make_user):
    officers(make_user)
    assert post(client, "banks", BANK, "0911000003").status_code == 201
    mine = CONTEST.replace("audience: [92]", f"audience: [{VI_THANH}]")
    assert post(client, "contests", mine, "0911000001").status_code == 403
    assert count(app, Contest) == 0


def test_a_commune_s_own_bank_and_own_audience_are_fine(app, client, make_user):
    officers(make_user)
    assert post(client, "banks", BANK, "0911000001").status_code == 201
    mine = CONTEST.replace("audience: [92]", f"audience: [{VI_THANH}]")
    assert post(client, "contests", mine, "0911000001").status_code == 201


def test_a_commune_officer_may_not_open_content_beyond_the_commune(app, client, make_user):
    officers(make_user)
    assert post(client, "banks", BANK, "0911000001").status_code == 201
    for audience in ("audience: all", f"audience: [{NINH_KIEU}]", "audience: [92]"):
        contest = CONTEST.replace("audience: [92]", audience)
        refused = post(client, "contests", contest, "0911000001")
        assert refused.status_code == 403, audience
    survey = SURVEY  # audience: all
    refused = post(client, "surveys", survey, "0911000001")
    assert refused.status_code == 403
    assert "audience" in refused.get_json()["error"]["details"][0]["message"]
    assert refused.get_json()["error"]["details"][0]["line"] == 7
    assert count(app, Contest) == 0 and count(app, Survey) == 0
    own = SURVEY.replace("audience: all", f"audience: [{VI_THANH}]")
    assert post(client, "surveys", own, "0911000001").status_code == 201


def test_the_province_reaches_everyone_and_draws_from_banks_below_it(app, client, make_user):
    officers(make_user)
    assert post(client, "banks", BANK, "0911000002").status_code == 201  # a commune's bank
    contest = CONTEST.replace("audience: [92]", "audience: all")
    assert post(client, "contests", contest, "0911000003").status_code == 201
    assert post(client, "surveys", SURVEY, "0911000003").status_code == 201
