"""Issue 17, point 2: a survey response through the API near the cost of a bare insert.

A bearer token's response to an anonymous survey takes a fast lane (services.surveys
`respond_fast`): one read — the token's account, its commune and hamlet, the survey — and the
writes (the ledger entry and the sealed pending row), with the survey's questions from the
process's cache. What it promises, attacked here: few statements (the benchmark's regression
guard), the same sealed payload as the full path, and the database as it is now — a survey
closed, narrowed, made identified or changed, an account whose token no longer holds, a hamlet
elsewhere — followed at once, with nothing stored for a refusal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from app.extensions import db
from app.models import Survey, SurveyLedger, SurveyPending, SurveyResponse, User, utcnow
from app.services import hamlets, mixer, survey_definition
from tests.conftest import NINH_KIEU, VI_THANH, csrf_token, load_content, set_clock
from tests.test_attempts import bearer
from tests.test_hot_paths import executed_by_sqlalchemy, kept_plan, statements
from tests.test_surveys import FULL, GOOD, GOOD_FORM, NOW

SLUG = "hai-long-chinh-quyen-2026"
URL = f"/api/v1/surveys/{SLUG}/responses"


@pytest.fixture
def residents(app, client, make_user):  # type: ignore[no-untyped-def]
    """The survey of survey-full.yaml (anonymous, sign-in optional, open to all) and three
    residents of Vị Thanh with bearer tokens: (user, headers) each. The mixer's batch is made
    larger than the tests' responses, so that what is sealed stays pending to be read."""
    app.config["SURVEY_MIX_BATCH"] = 50
    app.extensions.pop("survey_mixing", None)
    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL)], NOW)
    people = []
    for n in range(3):
        user = make_user(phone=f"097100000{n}")
        people.append((user, bearer(client, f"097100000{n}")))
    return people


def _stored(app) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(table))
            for table in (SurveyLedger, SurveyPending, SurveyResponse)
        )


def _payloads(app) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The pending responses, opened as the mixer opens them."""
    with app.app_context():
        sealer = mixer.current().sealer
        rows = db.session.scalars(select(SurveyPending.sealed)).all()
        return [payload for payload in map(sealer.open, rows) if payload is not None]


def test_a_response_through_the_api_is_one_read_and_its_writes(app, client, residents):
    """The regression guard: the survey's questions come from the process's cache, the token,
    the account's commune and the survey from one read; the ledger entry and the sealed row
    are written by one statement on PostgreSQL (two on SQLite)."""
    first = client.post(URL, headers=residents[0][1], json={"answers": GOOD})
    assert first.status_code == 201
    with app.app_context():
        dialect = db.engine.dialect.name
    with statements(app) as sent:
        second = client.post(URL, headers=residents[1][1], json={"answers": GOOD})
    assert second.status_code == 201, second.get_json()
    assert len(sent) <= (2 if dialect == "postgresql" else 3), sent
    assert _stored(app) == (2, 2, 0)


def test_a_response_through_the_api_runs_on_the_drivers_connection(app, client, residents):
    """On PostgreSQL the fast lane's read and its write go through app/db_direct.py (the
    driver; the cursor events see both), never SQLAlchemy's execution (as the contest's hot
    paths: tests/test_hot_paths.py)."""
    assert client.post(URL, headers=residents[0][1], json={"answers": GOOD}).status_code == 201
    with executed_by_sqlalchemy(app) as executed, statements(app) as sent:
        second = client.post(URL, headers=residents[1][1], json={"answers": GOOD})
    assert second.status_code == 201, second.get_json()
    assert len(sent) == 2 and executed == [], (sent, executed)
    assert _stored(app) == (2, 2, 0)


def test_a_response_through_the_web_form_writes_on_the_drivers_connection(app, client, residents):
    """The web form's anonymous response (not signed in): the survey's flag read FOR SHARE and
    the sealed row go through app/db_direct.py, as the API's do — SQLAlchemy's execution
    around them was about a sixth of the form's time (py-spy, bench/profile_survey_paths.py).
    The survey itself is still read as an entity (the pages need it)."""
    token = csrf_token(client, f"/surveys/{SLUG}")
    with executed_by_sqlalchemy(app) as executed, statements(app) as sent:
        done = client.post(f"/surveys/{SLUG}/page/1", data={"csrf_token": token, **GOOD_FORM})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    written = [s for s in executed if "survey_pending" in s or "SELECT surveys.anonymous" in s]
    assert written == [], executed
    assert any("survey_pending" in s for s in sent) and any("FOR SHARE" in s for s in sent), sent
    assert _stored(app) == (0, 1, 0)


def test_the_fast_lane_seals_what_the_full_path_seals(app, client, residents):
    """The same person's answers sealed by the fast lane (a bearer token) and by the full path
    (a body naming the hamlet, even as none, goes the full way): the same payload, to the
    letter — the mixer cannot tell them apart."""
    warm = client.post(URL, headers=residents[2][1], json={"answers": GOOD})
    assert warm.status_code == 201  # the first reading of the questions: the full path's
    with statements(app) as sent:
        fast = client.post(URL, headers=residents[0][1], json={"answers": GOOD})
    assert len(sent) <= 3, sent  # the fast lane's read and writes (the full path: 5 and more)
    with statements(app) as sent:
        full = client.post(URL, headers=residents[1][1], json={"answers": GOOD, "hamlet": None})
    assert len(sent) >= 5, sent
    assert (fast.status_code, full.status_code) == (201, 201)
    assert fast.get_json() == full.get_json() == {"status": "received"}
    first, second, third = _payloads(app)
    assert first == second == third
    assert first["signed_in"] is True and first["unit"] == VI_THANH and first["hamlet"] is None
    with app.app_context():
        sealed = db.session.scalars(select(SurveyPending.sealed)).all()
    assert len({len(row) for row in sealed}) == 1  # padded alike


def test_the_fast_lane_seals_the_hamlet_the_account_names(app, client, residents):
    """A resident who named their hamlet (of their commune) answers on the fast lane; the
    sealed response is placed in that hamlet, as the full path places it."""
    with app.app_context():
        code = hamlets.create(db.session, None, VI_THANH, "Khu vực 2", "Khu vực", None, utcnow())
        code = code.code
        db.session.execute(
            update(User).where(User.id == residents[0][0].id).values(hamlet_code=code)
        )
        db.session.commit()
    assert client.post(URL, headers=residents[2][1], json={"answers": GOOD}).status_code == 201
    with statements(app) as sent:
        answered = client.post(URL, headers=residents[0][1], json={"answers": GOOD})
    assert answered.status_code == 201
    assert len(sent) <= 3, sent
    assert sorted(p["hamlet"] or 0 for p in _payloads(app)) == [0, code]


def _hamlet_elsewhere() -> dict[str, Any]:
    return {
        "hamlet_code": hamlets.create(
            db.session, None, NINH_KIEU, "Ấp 1", "Ấp", None, utcnow()
        ).code
    }


def _hamlet_audience() -> dict[str, Any]:
    return {
        "audience": [
            hamlets.create(db.session, None, VI_THANH, "Khu vực 1", "Khu vực", None, utcnow()).code
        ]
    }


# change: (table, values or a function making them, status, a response stored)
_CHANGES: dict[str, tuple[type, Any, int, bool]] = {
    "the survey closed": (Survey, {"closes_at": NOW - timedelta(minutes=1)}, 409, False),
    "not open yet": (Survey, {"opens_at": NOW + timedelta(days=1)}, 409, False),
    "another commune's": (Survey, {"audience": [NINH_KIEU]}, 403, False),
    "one hamlet's only": (Survey, _hamlet_audience, 403, False),
    "made identified": (Survey, {"anonymous": False}, 201, True),
    "signed out everywhere": (User, {"auth_nonce": "rotated"}, 401, False),
    "disabled": (User, {"disabled_at": NOW}, 401, False),
    "deleted": (User, {"deleted_at": NOW}, 401, False),
    "a password to change": (User, {"must_change_password": True}, 401, False),
    "a hamlet of another commune": (User, _hamlet_elsewhere, 422, False),
}


@pytest.mark.parametrize("change", list(_CHANGES))
def test_a_response_sees_what_changed_since_the_last_response(app, client, residents, change):
    """A process keeps what an earlier response read (the survey's questions, the token's
    signature); anything kept is a way to be stale. The attack: change the survey or the
    account in the database between two responses; the second must follow the database as it
    is now — refused with nothing stored, or stored as the survey now says."""
    warm = client.post(URL, headers=residents[0][1], json={"answers": GOOD})
    assert warm.status_code == 201
    table, values, status, stored = _CHANGES[change]
    user = residents[1][0]
    with app.app_context():
        made = values() if callable(values) else values
        if table is Survey:
            db.session.execute(update(Survey).where(Survey.slug == SLUG).values(**made))
        else:
            db.session.execute(update(User).where(User.id == user.id).values(**made))
        db.session.commit()
    before = _stored(app)
    answered = client.post(URL, headers=residents[1][1], json={"answers": GOOD})
    assert answered.status_code == status, answered.get_json()
    after = _stored(app)
    if not stored:
        assert after == before
        return
    assert after[0] == before[0] + 1  # the ledger entry
    with app.app_context():  # identified now: the response is stored, with its account
        response = db.session.scalars(select(SurveyResponse)).one()
        assert response.user_id == user.id


def test_a_survey_changed_since_the_last_response_is_sealed_under_its_new_version(
    app, client, residents
):
    """A content load that changes the survey moves its version: the next response is checked
    against the new questions and sealed under the new version (the cache is keyed by it)."""
    warm = client.post(URL, headers=residents[0][1], json={"answers": GOOD})
    assert warm.status_code == 201
    changed = FULL.replace("text: Giới tính", "text: Giới tính của ông/bà")
    assert changed != FULL
    load_content(app, [("full.yaml", changed)], NOW)
    with app.app_context():
        version = db.session.scalar(select(Survey.version).where(Survey.slug == SLUG))
    answered = client.post(URL, headers=residents[1][1], json={"answers": GOOD})
    assert answered.status_code == 201
    versions = sorted(p["version"] for p in _payloads(app))
    assert versions[-1] == version and versions[0] < version


def test_a_second_response_of_the_same_person_is_refused_by_the_ledger(app, client, residents):
    """Exactly once: the ledger's key decides, also on the fast lane."""
    headers = residents[0][1]
    assert client.post(URL, headers=headers, json={"answers": GOOD}).status_code == 201
    again = client.post(URL, headers=headers, json={"answers": GOOD})
    assert again.status_code == 409
    assert "đã trả lời" in again.get_json()["error"]["message"]
    assert _stored(app) == (1, 1, 0)


def test_bad_answers_on_the_fast_lane_are_refused_naming_the_question(app, client, residents):
    """A choice out of range: 422 naming the question, nothing stored — decided by the fast
    lane itself (its one read, no more)."""
    assert client.post(URL, headers=residents[2][1], json={"answers": GOOD}).status_code == 201
    bad = dict(GOOD, **{"thai-do": 9})
    with statements(app) as sent:
        answered = client.post(URL, headers=residents[0][1], json={"answers": bad})
    assert answered.status_code == 422
    assert len(sent) == 1, sent
    assert answered.get_json()["error"]["details"][0]["question"] == "thai-do"
    assert "chọn một" in answered.get_json()["error"]["message"].lower()
    assert _stored(app) == (1, 1, 0)


def test_the_mixer_reads_a_batch_at_most_however_many_responses_it_has_moved(app, residents):
    """Every response asks how many of its survey's responses wait and since when; the mixer
    asks again and claims them. A survey's pending rows come and go (each batch is deleted
    when it moves), and until the table is vacuumed every row ever moved stays in its index:
    a bitmap scan of the survey's entries read all of them (21,652 entries, 1.1 ms a
    response, after 21,641 moved: bench/surveys_bench.py). The attack: the plans the database
    keeps for these statements must walk the index on (survey, queue time) in order and stop
    after a batch (a plain index scan also marks the dead entries it meets, so later scans
    skip them)."""
    with app.app_context():
        survey_id = db.session.scalar(select(Survey.id).where(Survey.slug == SLUG))
        dialect = db.engine.dialect.name
        if dialect == "postgresql":
            # The state the statements must cope with: a queue whose moved rows are still
            # dead in the table (the planner sees the table's size as it is on disk).
            _queue_all_moved(survey_id)
    for plan in _queue_plans(app, survey_id, dialect):
        assert "ix_survey_pending_waiting" in plan, plan
        if dialect == "postgresql":
            assert "Bitmap" not in plan and "Seq Scan" not in plan, plan
            assert "Limit" in plan, plan


def _queue_all_moved(survey_id: int) -> None:
    """PostgreSQL, in an app context: 5,000 rows of the survey queued and moved (deleted)."""
    db.session.execute(
        text(
            "INSERT INTO survey_pending (id, survey_id, sealed, queued_at) SELECT"
            " gen_random_uuid(), :survey, decode(repeat('00', 200), 'hex'), now()"
            " FROM generate_series(1, 5000)"
        ),
        {"survey": survey_id},
    )
    db.session.commit()
    db.session.execute(text("DELETE FROM survey_pending"))
    db.session.commit()


def _queue_plans(app, survey_id: int, dialect: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The plans kept (tests/test_hot_paths.py `kept_plan`) for every statement on the
    queue: a response's (with its ledger entry on PostgreSQL), the mixer's count, its claim."""
    values: dict[str, Any] = {
        "key": "00000000-0000-0000-0000-000000000000",
        "survey_id": survey_id,
        "user_id": 1,
        "sealed": "\\x00",
        "queued_at": "2026-12-10 03:00:00+00",
        "batch": 20,
        "limit": 5000,
    }
    checked = [mixer._QUEUE, mixer._WAITING_OF, mixer._CLAIM]
    if dialect == "postgresql":
        checked += [mixer._QUEUE_PG, mixer._QUEUE_ENTERED]
    return [kept_plan(app, statement, values) for statement in checked]


def test_a_response_walks_its_surveys_line_once(app, residents):
    """A response's write answers how many of its survey's others wait (up to a batch) and
    since when. Two subqueries asked it, each walking the survey's index entries from the
    oldest — first over every entry of the rows moved since the last VACUUM — one to count,
    one to find the oldest (pgbench, a response's transaction with a mixer beside it: 3 to
    18% more of them a second with one walk). The attack: the plans kept on PostgreSQL for
    both forms of the write (the web's and the API's, with its ledger entry) walk the index
    once; what the one walk answers is checked by the mixer's tests (a batch filled or
    stalled here, a lone response in tests/test_anonymity_attack.py)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite: two statements, as before (no data-modifying CTE)")
        survey_id = db.session.scalar(select(Survey.id).where(Survey.slug == SLUG))
        _queue_all_moved(survey_id)
    plans = _queue_plans(app, survey_id, "postgresql")[-2:]
    for plan in plans:
        assert plan.count("ix_survey_pending_waiting") == 1, plan
        assert "Seq Scan on survey_pending" not in plan, plan


def test_while_one_mixer_moves_a_survey_others_do_not_claim_its_rows(app, client, residents):
    """Once a survey's batch is due, every response that arrives while a mixer moves it finds
    it due too (the rows being moved stay visible until that mixer commits). Each used to
    claim what it could — the few rows not yet held — open them, delete them, find them no
    batch and roll back: 4,463 wasted claims for 626 batches moved in bench/surveys_bench.py.
    The attack: a mixer holds the survey (it has read that its batch is due); another mixer
    must then leave the survey alone without claiming anything, and move it once the first
    is gone."""
    from sqlalchemy.orm import Session

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite writes one transaction at a time: no second mixer runs")
    for _user, headers in residents:
        assert client.post(URL, headers=headers, json={"answers": GOOD}).status_code == 201
    with app.app_context():
        mixing = mixer.Mixing(mixer.current().sealer, batch=3)
        survey_id = db.session.scalar(select(Survey.id).where(Survey.slug == SLUG))
        first = Session(db.engine)
        assert mixer.waiting(first, mixing, survey_id)[survey_id][0] == 3
        with statements(app) as sent:
            from app.services import surveys as service

            assert service.settle(db.session, NOW, survey_id=survey_id, mixing=mixing) == 0
        assert not [s for s in sent if "SKIP LOCKED" in s or s.startswith("DELETE")], sent
        first.rollback()
        first.close()
        assert service.settle(db.session, NOW, survey_id=survey_id, mixing=mixing) == 3
    assert _stored(app) == (3, 0, 3)


def test_once_the_scheduled_mixer_has_emptied_the_queue_responses_still_walk_its_index(
    app, residents
):
    """bench/surveys_bench.py, the second of three rounds: 686 sequential scans of the
    queue (474,848 rows read) under the responses' statements, none in the other rounds. The
    scheduled mixer's VACUUM had cut the emptied queue down to no page at all; planned for an
    empty table, a response's count of its survey's waiting rows read the table whole and
    sorted it, and each connection kept that plan (a prepared statement's generic plan)
    while the queue filled again — rows moved stay dead until the next VACUUM. The attack: a
    queue of thousands, all moved, the scheduled mixer run, then a plain VACUUM (autovacuum's,
    which cut it down too where it runs); the plans then kept for every statement on the
    queue must walk its index in line and stop. (A queue whose longest line fitted in a few
    pages is still read whole: a few pages.)"""
    from app.surveys.cli import mix

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite: no VACUUM of one table; its plans do not follow its size")
        survey_id = db.session.scalar(select(Survey.id).where(Survey.slug == SLUG))
        _queue_all_moved(survey_id)
        assert mix() == 0
        # And any other VACUUM of the queue: autovacuum's (set to follow every change of
        # the queue where it runs), or one typed by hand.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM survey_pending"))
    for plan in _queue_plans(app, survey_id, "postgresql"):
        assert "ix_survey_pending_waiting" in plan, plan
        assert "Seq Scan" not in plan, plan


def test_the_scheduled_mixer_vacuums_the_queue_even_when_requests_moved_every_batch(
    app, client, residents
):
    """Responses move their batches themselves (after the submission that makes one due), so
    the scheduled mixer (`flask surveys mix`, every minute) mostly finds nothing to move; the
    rows those batches left dead in `survey_pending` and its index must still go at its next
    round, not wait for autovacuum (off on some servers: then they piled up, and a
    benchmark's response spent more and more of its time stepping over them)."""
    from app.surveys.cli import mix

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite: no VACUUM of one table (its rows go when deleted)")
    app.config["SURVEY_MIX_BATCH"] = 1
    app.extensions.pop("survey_mixing", None)
    for _user, headers in residents:
        assert client.post(URL, headers=headers, json={"answers": GOOD}).status_code == 201
    assert _stored(app) == (3, 0, 3)  # every response moved by its own request
    with statements(app) as sent, app.app_context():
        assert mix() == 0
    assert "VACUUM survey_pending" in sent, sent


def test_a_response_past_a_full_batch_leaves_it_to_its_mover_until_it_stalls(
    app, client, residents, make_user
):
    """While one mixer moves a survey's batch its rows stay visible, so every response that
    arrives meanwhile counted a batch and more, and each tried to move it: a lock test and a
    rollback sent for nothing (a benchmark's API workers spent 8% of their time there). The
    response that fills a batch moves it; one that finds more than a batch waiting leaves it
    to the mixer already at work — unless the batch has waited `mixer.STALLED` (concurrent
    responses may each have counted one short of a batch: then nobody filled it)."""
    for _user, headers in residents:  # three sealed and waiting: the fixture's batch is 50
        assert client.post(URL, headers=headers, json={"answers": GOOD}).status_code == 201
    with app.app_context():
        app.extensions["survey_mixing"] = mixer.Mixing(mixer.current().sealer, batch=3)
    late = []
    for n in range(2):
        make_user(phone=f"097200000{n}")
        late.append(bearer(client, f"097200000{n}"))
    with statements(app) as sent:
        fourth = client.post(URL, headers=late[0], json={"answers": GOOD})
    assert fourth.status_code == 201, fourth.get_json()
    assert len(sent) <= 3, sent  # its own read and write: no mixer
    assert _stored(app) == (4, 4, 0)
    set_clock(app, NOW + mixer.STALLED)
    fifth = client.post(URL, headers=late[1], json={"answers": GOOD})
    assert fifth.status_code == 201
    assert _stored(app) == (5, 0, 5)  # stalled: the next response moved all of them


def _statistics(app) -> dict[str, tuple[int, float]]:  # type: ignore[no-untyped-def]
    """(pages, rows) the planner believes each survey table has, and the rows it has."""
    with app.app_context():
        found = db.session.execute(
            text(
                "SELECT relname, relpages, reltuples FROM pg_class"
                " WHERE relname IN ('survey_responses', 'survey_answers')"
            )
        )
        believed = {name: (pages, rows) for name, pages, rows in found}
        db.session.rollback()
        return believed


def test_the_scheduled_mixer_refreshes_the_statistics_of_the_tables_it_fills(
    app, client, residents
):
    """Each answer row a batch moves is checked against its response (the foreign key) by a
    query whose plan each database connection keeps. Planned while `survey_responses` was
    believed empty — as migrations leave it, and as it stays where autovacuum is off (this
    machine kind) — that check scans the whole table: a benchmark's batch move went from 17
    to 106 ms a batch as 6,000 responses accumulated (0.3 ms per answer row checked), and
    back to flat after an ANALYZE. The scheduled mixer refreshes the statistics of the
    tables it fills once they have grown by a tenth (autovacuum's own rule), not every round."""
    from app.services import demo_responses
    from app.surveys.cli import mix

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite plans each statement afresh (no planner statistics kept)")
        # Empty files (a DELETE-emptied table's dead pages may be reused where autovacuum
        # runs) and no autovacuum of its own meanwhile: what this test sees is mix()'s doing.
        db.session.execute(text("TRUNCATE survey_answers, survey_responses"))
        for table in ("survey_responses", "survey_answers"):
            db.session.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
        db.session.execute(text("ANALYZE survey_responses, survey_answers"))  # empty
        db.session.commit()
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        demo_responses.generate(db.session, survey, 600)
        db.session.commit()
        rows = {
            name: db.session.scalar(text(f"SELECT count(*) FROM {name}"))  # noqa: S608
            for name in ("survey_responses", "survey_answers")
        }
        db.session.rollback()
    try:
        assert _statistics(app)["survey_responses"][1] <= 0  # believed empty: the trap
        with statements(app) as sent, app.app_context():
            mix()
        assert any(s.startswith("ANALYZE") for s in sent), sent
        for name, (pages, believed) in _statistics(app).items():
            assert pages > 0 and believed == pytest.approx(rows[name], rel=0.1), (name, believed)
        with statements(app) as sent, app.app_context():
            mix()  # nothing grew since
        assert not any(s.startswith("ANALYZE") for s in sent), sent
    finally:
        with app.app_context():
            for table in ("survey_responses", "survey_answers"):
                db.session.execute(text(f"ALTER TABLE {table} RESET (autovacuum_enabled)"))
            db.session.commit()


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        ({"thai-do": 2, "ly-do": "Chậm\u0000"}, "ly-do"),
        ({"thai-do": 2, "ly-do": "Chậm\u0007 quá"}, "ly-do"),
        ({"kenh": {"choices": [1], "other": "Loa\u0000"}}, "kenh"),
    ],
    ids=["NUL in a text", "a bell in a text", "NUL in an other answer"],
)
def test_control_characters_in_a_text_answer_are_refused_before_anything_is_stored(
    app, client, residents, answer, question
):
    """PostgreSQL cannot store a NUL in text: sealed with a 201, such an answer failed the
    mixer's move of its batch, every later move of the survey with it (the claim takes the
    oldest first), and each response that made the batch due got a 500 after its answer was
    stored. The answer is refused (422, naming the question) on both paths, nothing stored,
    and the next answers still move."""
    warm = client.post(URL, headers=residents[2][1], json={"answers": GOOD})
    assert warm.status_code == 201
    for headers, body in (
        (residents[0][1], {"answers": GOOD | answer}),  # the fast lane
        (residents[1][1], {"answers": GOOD | answer, "hamlet": None}),  # the full path
    ):
        refused = client.post(URL, headers=headers, json=body)
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["error"]["details"][0]["question"] == question
        assert "ký tự điều khiển" in refused.get_json()["error"]["message"]
    assert _stored(app) == (1, 1, 0)


def test_a_survey_address_with_a_nul_is_not_found(app, client, residents):
    """A NUL in the survey's address reached the database (which refuses NUL in text): a 500.
    Now: no such survey, on the API's read and answer and on the web page."""
    bad = "hai-long\u0000"
    assert client.get(f"/api/v1/surveys/{bad}").status_code == 404
    answered = client.post(
        f"/api/v1/surveys/{bad}/responses", headers=residents[0][1], json={"answers": GOOD}
    )
    assert answered.status_code == 404
    assert client.get(f"/surveys/{bad}").status_code == 404


def test_a_batch_the_database_refuses_stays_pending_and_other_surveys_still_move(
    app, client, residents
):
    """A sealed response the database refuses when it is moved (a NUL in a text, as sealed
    before such answers were refused) failed the mixer: the scheduled round stopped at that
    survey, leaving the surveys after it unmoved, and the response that made its batch due
    got a 500 after its answer was stored. The refused batch stays pending (nothing lost, and
    logged); the other surveys' batches move."""
    from app.services import surveys as service
    from tests.test_surveys import IDENTIFIED

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite stores a NUL in text")
    assert client.post(URL, headers=residents[0][1], json={"answers": GOOD}).status_code == 201
    load_content(app, [("id.yaml", IDENTIFIED)], NOW)
    (good,) = _payloads(app)
    with app.app_context():
        mixing = mixer.current()
        full, other = (
            db.session.scalar(select(Survey).where(Survey.slug == slug))
            for slug in (SLUG, "kenh-thong-tin")
        )
        text_id = next(
            q.id
            for q in survey_definition.definition(db.session, full).questions
            if q.key == "ly-do"
        )
        bad = good | {"rows": [*good["rows"], [text_id, 0, None, None, "x\x00"]]}
        mixer.queue(db.session, mixing, full.id, bad, NOW)
        plain = {
            "unit": VI_THANH,
            "hamlet": None,
            "channel": "online",
            "day": "2026-12-10",
            "signed_in": False,
            "version": other.version,
            "answers": {},
            "rows": [],
            "figures": {"index_score": None, "index_items": 0, "index_top": 0, "groups": 0},
        }
        other_id = other.id
        mixer.queue(db.session, mixing, other_id, plain, NOW)
        db.session.commit()
        assert service.settle(db.session, NOW, force=True) == 1
        moved = db.session.scalars(select(SurveyResponse.survey_id)).all()
        assert moved == [other_id]
    assert _stored(app)[1] == 2  # the refused batch: still pending, both its responses
