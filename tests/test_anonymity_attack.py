"""Anonymity as a reader of the database would attack it (docs/anonymity.md).

The reader has every table, PostgreSQL's system columns (`xmin`, `ctid`) included, and knows
who answered (the ledger). These tests give each resident a distinguishable answer (the number
of visits: the resident's index), so that the test — not the reader — knows which response is
whose, and checks that nothing the reader can query relates the two.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pandas as pd
import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from app import create_app
from app.config import Config, TestingConfig
from app.extensions import db
from app.models import (
    Role,
    Survey,
    SurveyAnswer,
    SurveyLedger,
    SurveyPending,
    SurveyQuestion,
    SurveyResponse,
)
from app.services import mixer, survey_definition
from app.services import surveys as service
from app.services.accounts import NewAccount, create_account
from app.services.units import load_units
from tests.conftest import PASSWORD, PROVINCE, VI_THANH, fresh_database_url, set_clock
from tests.test_surveys import FULL, GOOD, NOW, bearer, load_content

SLUG = "hai-long-chinh-quyen-2026"
SECRET_TEXT = "Cán bộ Trần Văn Bê ở bộ phận một cửa đòi tiền"


@pytest.fixture
def survey(app):  # type: ignore[no-untyped-def]
    """The sample anonymous survey, with the mixer as production runs it."""
    set_clock(app, NOW)
    app.config["SURVEY_MIX_BATCH"] = Config.SURVEY_MIX_BATCH
    app.config["SURVEY_MIX_WAIT_SECONDS"] = Config.SURVEY_MIX_WAIT_SECONDS
    load_content(app, [("full.yaml", FULL)], NOW)
    return app


def answer(client, person, index: int):  # type: ignore[no-untyped-def]
    answers = GOOD | {"so-lan": index, "thai-do": 1, "ly-do": f"{SECRET_TEXT} {index}"}
    response = client.post(
        f"/api/v1/surveys/{SLUG}/responses",
        headers=bearer(client, person.phone),
        json={"answers": answers},
    )
    assert response.status_code == 201, response.get_json()


def index_of_response(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """response id → the resident's index (what only the test knows)."""
    with app.app_context():
        so_lan = select(SurveyQuestion.id).where(SurveyQuestion.key == "so-lan")
        rows = db.session.execute(
            select(SurveyAnswer.response_id, SurveyAnswer.number).where(
                SurveyAnswer.question_id.in_(so_lan)
            )
        ).all()
    return {str(r): int(n) for r, n in rows}


def rank_correlation(a: list[float], b: list[float]) -> float:
    """Spearman's ρ with ties ranked by their mean; a side that is all ties orders nothing: 0."""
    x, y = pd.Series(a).rank(), pd.Series(b).rank()
    if x.nunique() < 2 or y.nunique() < 2:
        return 0.0
    return float(x.corr(y))


def is_postgres(app) -> bool:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def test_twenty_residents_one_after_another_leave_nothing_that_links_them(
    survey, client, make_user, runner
):
    people = [make_user(phone=f"09876543{i:02d}") for i in range(20)]
    user_index = {person.id: i for i, person in enumerate(people)}
    for index, person in enumerate(people):
        answer(client, person, index)
        if index == 10:  # while responses wait: sealed, so the shared xmin tells nothing
            with survey.app_context():
                sealed = db.session.scalars(select(SurveyPending.sealed)).all()
                assert len(sealed) == 11
                assert all(SECRET_TEXT.encode() not in s for s in sealed)
                assert len({len(s) for s in sealed}) == 1  # padded: no length to match
                assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0

    # No command run: the twentieth response completed a batch, counted at once.
    with survey.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyPending)) == 0
    officer = make_user(role=Role.LEADER, phone="0912000001")
    results = client.get(f"/api/v1/surveys/{SLUG}/results", headers=bearer(client, officer.phone))
    assert results.status_code == 200 and results.get_json()["n"] == 20

    whose = index_of_response(survey)
    assert sorted(whose.values()) == list(range(20))
    for reorder in (False, True):
        if reorder:
            assert runner.invoke(args=["surveys", "reorder"]).exit_code == 0
        with survey.app_context():
            if not is_postgres(survey):
                # SQLite: no rowid to read on these tables; rows come back in key order.
                with pytest.raises(Exception, match="rowid"):
                    db.session.execute(text("SELECT rowid FROM survey_responses")).all()
                db.session.rollback()
                physical = [
                    str(r) for r in db.session.scalars(text("SELECT id FROM survey_responses"))
                ]
                assert physical == sorted(physical)
                continue
            linked = db.session.scalar(
                text(
                    "SELECT count(*) FROM survey_ledger l JOIN survey_responses r "
                    "ON r.survey_id = l.survey_id AND r.xmin = l.xmin"
                )
            )
            linked_answers = db.session.scalar(
                text(
                    "SELECT count(*) FROM survey_ledger l JOIN survey_answers a ON a.xmin = l.xmin"
                )
            )
            assert (linked, linked_answers) == (0, 0)
            ledger = {
                user: int(x)
                for user, x in db.session.execute(
                    text("SELECT user_id, xmin::text::bigint FROM survey_ledger")
                )
            }
            responses = {
                str(key): (int(x), ctid)
                for key, x, ctid in db.session.execute(
                    text("SELECT id, xmin::text::bigint, ctid::text FROM survey_responses")
                )
            }
            # The order of answering, as the ledger keeps it, against the responses' xmin.
            pairs = [
                (ledger[user], responses[key][0])
                for key, i in whose.items()
                for user, j in user_index.items()
                if i == j
            ]
            rho = rank_correlation([p[0] for p in pairs], [p[1] for p in pairs])
            assert abs(rho) < 0.5
            assert len({x for x, _ctid in responses.values()}) == 1  # one batch, one xmin
            if not reorder:
                # Before CLUSTER, slots come from the free-space map (rows deleted by earlier
                # tests): the batch is written in key order into whatever space there is.
                continue
            # After `flask surveys reorder`, physical order is the order of the random keys.
            by_ctid = [
                str(k)
                for k in db.session.scalars(text("SELECT id FROM survey_responses ORDER BY ctid"))
            ]
            assert by_ctid == sorted(by_ctid, key=uuid.UUID)
            answers_by_ctid = [
                str(k)
                for k in db.session.scalars(
                    text("SELECT response_id FROM survey_answers ORDER BY ctid")
                )
            ]
            assert answers_by_ctid == sorted(answers_by_ctid, key=uuid.UUID)


def test_a_lone_response_is_counted_within_five_minutes_with_no_command(survey, client, make_user):
    person = make_user(phone="0987650001")
    answer(client, person, 7)
    with survey.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
    clock = survey.config["CLOCK"]
    clock.now = NOW + timedelta(minutes=2)
    client.get("/")
    with survey.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
    clock.now = NOW + timedelta(minutes=4, seconds=31)
    client.get("/surveys/")  # any request: the app checks what is due
    with survey.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        assert db.session.scalar(select(func.count()).select_from(SurveyPending)) == 0
        assert db.session.scalar(select(func.count()).select_from(SurveyLedger)) == 1


def test_the_scheduled_command_moves_what_is_due(survey, client, make_user, runner):
    answer(client, make_user(phone="0987650002"), 3)
    result = runner.invoke(args=["surveys", "mix"])
    assert result.exit_code == 0 and "0 pending responses moved" in result.output
    survey.config["CLOCK"].now = NOW + timedelta(minutes=5)
    result = runner.invoke(args=["surveys", "mix"])
    assert result.exit_code == 0 and "1 pending responses moved" in result.output
    answer(client, make_user(phone="0987650003"), 4)
    assert "1 pending" in runner.invoke(args=["surveys", "mix", "--all"]).output


def test_one_response_per_person_under_concurrency_with_the_mixer(survey, make_user):
    """Eight tries at once by one person, and thirty people at once: the ledger decides, the
    mixers running after each submission never move a response twice nor lose one."""
    one = make_user(phone="0987650010")
    others = [make_user(phone=f"09876501{i:02d}") for i in range(30)]

    signed_in = {p.id: bearer(survey.test_client(), p.phone) for p in [one, *others]}

    def submit(person, index: int) -> int:  # type: ignore[no-untyped-def]
        client = survey.test_client()
        answers = GOOD | {"so-lan": index}
        return client.post(
            f"/api/v1/surveys/{SLUG}/responses",
            headers=signed_in[person.id],
            json={"answers": answers},
            environ_base={"REMOTE_ADDR": f"127.0.1.{index % 250}"},  # people on many phones
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: submit(one, 99), range(8)))
        pairs = zip(others, range(30), strict=True)
        codes_others = list(pool.map(lambda pair: submit(*pair), pairs))
    assert sorted(codes) == [201] + [409] * 7
    assert codes_others == [201] * 30
    with survey.app_context():
        service.settle(db.session, NOW, force=True)
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 31
        assert db.session.scalar(select(func.count()).select_from(SurveyLedger)) == 31
        assert db.session.scalar(select(func.count()).select_from(SurveyPending)) == 0
    assert sorted(index_of_response(survey).values()) == sorted([99, *range(30)])


def test_responses_waiting_while_the_key_changes_are_not_lost(survey, client, make_user):
    answer(client, make_user(phone="0987650020"), 5)
    with survey.app_context():
        old_key = survey.config["SECRET_KEY"]
        rotated = mixer.Mixing(mixer.Sealer("a-new-secret-key-" + "x" * 40), batch=20)
        assert service.settle(db.session, NOW, force=True, mixing=rotated) == 0  # kept
        assert db.session.scalar(select(func.count()).select_from(SurveyPending)) == 1
        with_fallback = mixer.Mixing(mixer.Sealer("a-new-secret-key-" + "x" * 40, [old_key]))
        assert service.settle(db.session, NOW, force=True, mixing=with_fallback) == 1
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1


def test_a_survey_with_only_pending_responses_keeps_its_answers_consistent(
    survey, client, make_user
):
    answer(client, make_user(phone="0987650030"), 1)
    with survey.app_context():
        row = db.session.scalar(select(Survey))
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
        assert survey_definition.responses_exist(db.session, row)  # a harmful change is refused


def test_the_migration_unties_responses_stored_before_the_mixer(tmp_path):
    """Responses written with their ledger entry (before revision 0010) share its xmin; the
    migration rewrites them so that none does."""
    url = fresh_database_url("mixer_migration", tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    if not is_postgres(app):
        pytest.skip("SQLite keeps no transaction id in rows")
    set_clock(app, NOW)
    # The survey and the accounts are stored by today's code on today's schema, then the
    # schema goes back to 0009 (before the mixer) for the rows written the old way: today's
    # code on an old schema would write columns and tables that did not exist then.
    with app.app_context():
        upgrade()
        load_units(db.session, PROVINCE)
    load_content(app, [("full.yaml", FULL)], NOW)
    with app.app_context():
        survey_id = db.session.scalar(select(Survey.id))
        users = [
            create_account(
                db.session,
                NewAccount(
                    name="Nguyễn Văn Thử",
                    phone=f"098765409{i}",
                    password=PASSWORD,
                    unit_code=VI_THANH,
                    role=Role.RESIDENT,
                ),
                NOW,
                consent=True,
            ).id
            for i in range(3)
        ]
        db.session.remove()
        downgrade(revision="0009")
        for user_id in users:  # written as before the mixer: response and ledger in one transaction
            db.session.execute(
                text("INSERT INTO survey_ledger VALUES (:s, :u)"), {"s": survey_id, "u": user_id}
            )
            db.session.execute(
                text(
                    "INSERT INTO survey_responses (id, survey_id, unit_code, submitted_on, "
                    "signed_in, demo, index_items, index_top) "
                    "VALUES (:id, :s, :unit, current_date, true, false, 0, 0)"
                ),
                {"id": uuid.uuid4(), "s": survey_id, "unit": VI_THANH},
            )
            db.session.commit()
        join = text(
            "SELECT count(*) FROM survey_ledger l JOIN survey_responses r ON r.xmin = l.xmin"
        )
        assert db.session.scalar(join) == 3  # the attack works on the old rows
        db.session.commit()
        upgrade()
        assert db.session.scalar(join) == 0
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 3
        db.session.remove()
        db.engine.dispose()
