"""Issue 17: start, answer save and submit near the cost of a bare insert.

What the fast paths promise beyond tests/test_attempts.py: a bounded number of SQL statements
per request (the regression guard of the benchmark's figures), the same answer as the full
path gives (the paper shown is the paper stored), the same refusals for accounts the token
check refuses (disabled, deleted, a password to change), scoring by sets of choices, and a
bank changed mid-round drawn from at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from app.api.schemas import AttemptOut
from app.extensions import db
from app.models import (
    Attempt,
    AttemptDevice,
    AttemptQuestion,
    Contest,
    QuestionVersion,
    Round,
    User,
)
from tests.conftest import PROVINCE, load_content
from tests.test_attempts import (  # noqa: F401 (fixtures)
    START,
    bank_yaml,
    bearer,
    clock,
    right_keys,
    rounds,
    start,
)


@contextmanager
def statements(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The SQL statements sent while the block runs (an executemany counts once: one trip)."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        sent.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def people(client, make_user):  # type: ignore[no-untyped-def]
    """Four residents with bearer tokens."""
    tokens = []
    for n in range(4):
        phone = f"098765432{n}"
        make_user(phone=phone)
        tokens.append(bearer(client, phone))
    return tokens


def test_statements_per_request_stay_few(app, client, rounds, people):  # noqa: F811
    """The regression guard: a first start reads once and writes the paper; an answer is one
    read and one conditional write; a submit one read and the closing (one statement on
    PostgreSQL: close, score, rank)."""
    warm = start(client, people[0], rounds["tuan-1"])  # fills the process's draw pool
    assert warm.status_code == 201
    with app.app_context():
        dialect = db.engine.dialect.name
    # The attempt, its questions and its device marks: one statement on PostgreSQL. (The read
    # stays a statement of its own, before the admission line: in the line it would lengthen
    # the time each start holds its slot — tried, and the spike of bench/contest_mix.py got
    # its last paper after 32.9 s instead of 19.8 s.)
    paper = 1 if dialect == "postgresql" else 3
    # With admission control on (the default) and room in the line, the line asks nothing of
    # the database (app/admission.py: the start's refusals are checked before only for a
    # person who would wait); a contest without eligibility conditions asks nothing more than
    # the fast path's one read (the token's account, the round, its contest, the attempts
    # made), then the paper with the device marks of issue 19's prize audit.
    with statements(app) as sent:
        started = start(client, people[2], rounds["tuan-1"])
    assert started.status_code == 201
    assert len(sent) <= 1 + paper, sent
    # With the line off: the same.
    app.config["ADMISSION_MAX_STARTS"] = 0
    with statements(app) as sent:
        started = start(client, people[1], rounds["tuan-1"])
    assert started.status_code == 201
    assert len(sent) <= 1 + paper, sent
    attempt = started.get_json()["id"]
    with statements(app) as sent:
        saved = client.put(
            f"/api/v1/attempts/{attempt}/answers/1", headers=people[1], json={"choices": ["A"]}
        )
    assert saved.status_code == 200
    assert len(sent) <= (1 if dialect == "postgresql" else 2), sent
    with statements(app) as sent:
        submitted = client.post(
            f"/api/v1/attempts/{attempt}/submit", headers=people[1], json={"prediction": 4}
        )
    assert submitted.status_code == 200
    assert len(sent) <= (2 if dialect == "postgresql" else 5), sent


@contextmanager
def executed_by_sqlalchemy(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The statements SQLAlchemy's own execution runs while the block runs (its
    `before_execute`; app/db_direct.py's statements never reach it). PostgreSQL only: on
    other engines db_direct is SQLAlchemy's execution, and the test is skipped."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("app/db_direct.py runs the driver on PostgreSQL only")
        engine = db.engine
    executed: list[str] = []

    def record(_conn, element, *_args):  # type: ignore[no-untyped-def]
        executed.append(str(element))

    event.listen(engine, "before_execute", record)
    try:
        yield executed
    finally:
        event.remove(engine, "before_execute", record)


def test_the_contest_hot_paths_run_on_the_drivers_connection(app, client, rounds, people):  # noqa: F811
    """On PostgreSQL the start, the answer and the submit send their statements through
    app/db_direct.py: the driver runs them (the engine's cursor events still see each one),
    SQLAlchemy's execution never does — its per-statement context and result objects were a
    fifth of a start's wall time (bench/profile_attempts.py)."""
    warm = start(client, people[0], rounds["tuan-1"])
    assert warm.status_code == 201
    with executed_by_sqlalchemy(app) as executed, statements(app) as sent:
        started = start(client, people[1], rounds["tuan-1"])
        attempt = started.get_json()["id"]
        saved = client.put(
            f"/api/v1/attempts/{attempt}/answers/1", headers=people[1], json={"choices": ["A"]}
        )
        submitted = client.post(
            f"/api/v1/attempts/{attempt}/submit", headers=people[1], json={"prediction": 4}
        )
    assert (started.status_code, saved.status_code, submitted.status_code) == (201, 200, 200)
    assert len(sent) == 5, sent  # the gate, the paper; the answer; the target, the closing
    assert executed == []


def test_a_fast_start_answers_the_paper_it_stored(app, client, rounds, people):  # noqa: F811
    """The start's answer is built from memory; it must be the stored paper, choice order and
    all: the same body as reading the attempt back."""
    first = start(client, people[0], rounds["tuan-1"]).get_json()
    read_back = client.get(f"/api/v1/attempts/{first['id']}", headers=people[0]).get_json()
    first.pop("remaining_s")
    read_back.pop("remaining_s")
    assert first == read_back
    again = start(client, people[0], rounds["tuan-1"])
    assert again.status_code == 200
    assert again.get_json()["questions"] == first["questions"]
    with app.app_context():
        stored = db.session.get(Attempt, first["id"])
        assert (stored.number, stored.state, stored.max_score) == (1, "open", 10)
        assert stored.unit_code == db.session.get(User, stored.user_id).unit_code
        assert len(stored.questions) == 10 and stored.paper


def test_every_attempt_body_is_its_schema_to_the_letter(app, client, rounds, people):  # noqa: F811
    """The attempt's bodies are built as plain values (app/api/contests.py `_body`, no model
    validation on the hot path): each must be exactly what the OpenAPI document's AttemptOut
    makes of it — a start with a prediction and without, the attempt read back open, and read
    back submitted with its result and review."""
    bodies = []
    for key in ("tuan-1", "tuan-2"):
        started = start(client, people[0], rounds[key])
        assert started.status_code == 201
        bodies.append(started.get_json())
    first = bodies[0]["id"]
    assert bodies[0]["prediction"]["target"] == "full_scores" and bodies[1]["prediction"] is None
    bodies.append(client.get(f"/api/v1/attempts/{first}", headers=people[0]).get_json())
    saved = client.put(
        f"/api/v1/attempts/{first}/answers/1", headers=people[0], json={"choices": ["A"]}
    )
    assert saved.status_code == 200
    submitted = client.post(
        f"/api/v1/attempts/{first}/submit", headers=people[0], json={"prediction": 4}
    )
    assert submitted.status_code == 200
    read_back = client.get(f"/api/v1/attempts/{first}", headers=people[0]).get_json()
    assert read_back["result"]["review"], "tuan-1 shows its review after submitting"
    assert read_back["answers"] == {"1": ["A"]}
    bodies.append(read_back)
    for body in bodies:
        assert AttemptOut.model_validate(body).model_dump(mode="json") == body


@pytest.mark.parametrize("refusal", ["disabled", "must_change_password", "deleted"])
def test_accounts_the_token_check_refuses_are_refused_on_every_hot_path(
    app,
    client,
    rounds,  # noqa: F811
    people,
    refusal,
):
    """The fast paths check the account in their own query: a token of a disabled account, or
    one that must change its password, is refused as the full token check refuses it."""
    owner = people[0]
    attempt = start(client, owner, rounds["tuan-1"]).get_json()["id"]
    with app.app_context():
        user_id = db.session.scalar(select(Attempt.user_id).where(Attempt.id == attempt))
        change = {
            "disabled": {"disabled_at": START},
            "must_change_password": {"must_change_password": True},
            "deleted": {"deleted_at": START},
        }[refusal]
        db.session.execute(update(User).where(User.id == user_id).values(**change))
        db.session.commit()
    answer = client.put(
        f"/api/v1/attempts/{attempt}/answers/1", headers=owner, json={"choices": ["A"]}
    )
    assert answer.status_code == 401
    submit = client.post(
        f"/api/v1/attempts/{attempt}/submit", headers=owner, json={"prediction": 1}
    )
    assert submit.status_code == 401
    assert start(client, owner, rounds["tuan-2"]).status_code == 401
    with app.app_context():
        stored = db.session.get(Attempt, attempt)
        assert stored.state == "open"
        assert all(q.selected is None for q in stored.questions)
        assert (
            db.session.scalar(select(Attempt.id).where(Attempt.round_id == rounds["tuan-2"]))
            is None
        )


def test_scoring_compares_sets_of_choices(app, client, rounds, people):  # noqa: F811
    """A multiple-answer question is right when the chosen set equals the answer's, whatever
    the order either is stored in; a blank or partial answer is wrong."""
    attempt = start(client, people[0], rounds["tuan-1"]).get_json()["id"]
    with app.app_context():
        items = db.session.scalars(
            select(AttemptQuestion)
            .where(AttemptQuestion.attempt_id == attempt)
            .order_by(AttemptQuestion.position)
        ).all()
        stored = {
            1: ([0, 2], [2, 0]),  # (answer, selected): right, stored in another order
            2: ([1, 3], [1]),  # partial: wrong
            3: ([1], [1]),  # right
            4: ([2], None),  # blank: wrong
            5: ([0, 1, 3], [3, 1, 0]),  # right
        }
        for item in items[:5]:
            answer, selected = stored[item.position]
            db.session.execute(
                update(QuestionVersion)
                .where(QuestionVersion.id == item.question_version_id)
                .values(answer=answer)
            )
            item.selected = selected
        for item in items[5:]:
            item.selected = None
        db.session.commit()
    result = client.post(
        f"/api/v1/attempts/{attempt}/submit", headers=people[0], json={"prediction": 2}
    )
    assert result.status_code == 200 and result.get_json()["score"] == 3
    with app.app_context():
        marks = dict(
            db.session.execute(
                select(AttemptQuestion.position, AttemptQuestion.correct).where(
                    AttemptQuestion.attempt_id == attempt
                )
            ).all()
        )
    assert [marks[p] for p in range(1, 6)] == [True, False, True, False, True]
    assert all(marks[p] is False for p in range(6, 11))


def test_a_bank_changed_mid_round_is_drawn_from_at_once(app, client, rounds, people):  # noqa: F811
    """The draw pool is cached per process; a changed bank (its version) is seen by the next
    start, whose paper shows the new texts."""
    before = start(client, people[0], rounds["tuan-1"]).get_json()
    assert all("(mới)" not in q["text"] for q in before["questions"])
    load_content(app, [("b.yaml", bank_yaml(" (mới)"))], START + timedelta(minutes=1))
    after = start(client, people[1], rounds["tuan-1"]).get_json()
    assert all(q["text"].endswith("(mới)") for q in after["questions"])
    read_back = client.get(f"/api/v1/attempts/{after['id']}", headers=people[1]).get_json()
    assert [q["text"] for q in read_back["questions"]] == [q["text"] for q in after["questions"]]


# What an officer's edit (or anything else) may change between two starts in one process,
# and what the second start must then do: (what to update, its values, the status, the
# deadline after START or the paper's size it must show).
_TUAN_1_CHANGES = {
    "closes sooner": (Round, {"closes_at": START + timedelta(minutes=5)}, 201, 5, 10),
    "a shorter time limit": (Round, {"time_limit_s": 240}, 201, 4, 10),
    "a smaller draw": (Round, {"draw": [{"bank": "ngan-hang-thu", "count": 4}]}, 201, 15, 4),
    "closed": (Round, {"closes_at": START - timedelta(minutes=1)}, 409, None, None),
    "one attempt": (Round, {"attempts": 0}, 409, None, None),
    "another audience": (Contest, {"audience": [PROVINCE + 1]}, 403, None, None),
    "an age condition": (Contest, {"min_age": 200}, 409, None, None),
    "the token revoked": (User, {"auth_nonce": "revoked"}, 401, None, None),
}


@pytest.mark.parametrize("change", list(_TUAN_1_CHANGES))
def test_a_start_sees_what_changed_since_the_last_start(
    app,
    client,
    rounds,  # noqa: F811
    people,
    change,
):
    """A process keeps what earlier starts of a round read (services.attempts: the banks it
    draws from, the candidates of each draw), and anything kept is a way to be stale. The
    attack: change the round, its contest or the account in the database between two starts;
    the second start must follow the database as it is now — the deadline, the paper's size —
    or be refused with nothing stored."""
    warm = start(client, people[0], rounds["tuan-1"])
    assert warm.status_code == 201
    model, values, status, minutes, size = _TUAN_1_CHANGES[change]
    with app.app_context():
        if model is Round:
            db.session.execute(update(Round).where(Round.id == rounds["tuan-1"]).values(**values))
        elif model is Contest:
            db.session.execute(update(Contest).values(**values))
        else:
            second = db.session.scalar(
                select(Attempt.user_id).where(Attempt.id == warm.get_json()["id"])
            )
            db.session.execute(update(User).where(User.id != second).values(**values))
        db.session.commit()
    started = start(client, people[1], rounds["tuan-1"])
    assert started.status_code == status, started.get_json()
    with app.app_context():
        stored = [
            (a.max_score, len(a.questions))
            for a in db.session.scalars(select(Attempt).where(Attempt.id != warm.get_json()["id"]))
        ]
    if status != 201:
        assert stored == []
        return
    body = started.get_json()
    assert datetime.fromisoformat(body["deadline"]) == START + timedelta(minutes=minutes)
    assert len(body["questions"]) == size
    assert stored == [(size, size)]


def kept_plan(  # type: ignore[no-untyped-def]
    app, statement, values: dict[str, object], lists: dict[str, str] | None = None
) -> str:
    """The query plan the database keeps for `statement` as a prepared statement reused with
    any values: PostgreSQL's generic plan (what a connection runs once it has prepared the
    statement, here with `values`, numbers the statement compiles in taken as they are),
    SQLite's plan (made without the values). `lists`: the SQL written for an expanding IN
    list's values, by the list's name (others: two empty strings)."""
    from sqlalchemy.engine import Connection

    with app.app_context():
        connection: Connection = db.session.connection()
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect)
        sql = str(compiled)
        for name, written in (lists or {}).items():
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", written)
        sql = re.sub(r"__\[POSTCOMPILE_\w+\]", "','", sql)
        if dialect.name == "postgresql":
            names: list[str] = []

            def number(match: re.Match[str]) -> str:
                if match.group(1) not in names:
                    names.append(match.group(1))
                return f"${names.index(match.group(1)) + 1}"

            prepared = re.sub(r"%\((\w+)\)s", number, sql)
            given = compiled.params | values
            arguments = ", ".join(f"'{given[name]}'" for name in names)
            connection.exec_driver_sql(f"PREPARE kept AS {prepared}")
            connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE kept({arguments})")
            plan = "\n".join(row[0] for row in rows)
            connection.exec_driver_sql("DEALLOCATE kept")
        else:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (1,) * sql.count("?"))
            plan = "\n".join(str(row[-1]) for row in rows)
        db.session.rollback()
    return plan


def test_the_start_read_finds_the_attempt_in_progress_by_its_own_index(app, rounds):  # noqa: F811
    """Whether a person has an attempt in progress is read from the partial unique index of
    open attempts (uq_attempts_open: round, account; WHERE state = 'open'), whatever the
    values — not by walking every open attempt of the round, as the plan kept for a prepared
    statement did while the state was a bound value (a partial index needs its predicate as
    written): with 24,000 attempts in progress, 8 ms a start instead of 0.02 (EXPLAIN ANALYZE
    of the generic plan), and bench/run.py's starts fell from 461 to 337 a second."""
    from app.services import attempts as service

    values = {"round_id": 1, "user_id": 1, "owner_nonce": "x"}
    plan = kept_plan(app, service._GATE_OF_TOKEN, values, {"slugs": "'ngan-hang-thu'"})
    assert "uq_attempts_open" in plan, plan
    assert "ix_attempts_round_state" not in plan, plan


def test_a_late_submit_still_finishes_as_expired(app, client, clock, rounds, people):  # noqa: F811
    """What the fast submit does not settle (late, no prediction, twice) goes the full way."""
    attempt = start(client, people[0], rounds["tuan-1"]).get_json()["id"]
    right = right_keys(app, attempt)
    client.put(
        f"/api/v1/attempts/{attempt}/answers/2", headers=people[0], json={"choices": right[2]}
    )
    clock.now = START + timedelta(minutes=20)
    late = client.post(f"/api/v1/attempts/{attempt}/submit", headers=people[0], json={})
    assert late.status_code == 200 and late.get_json()["score"] == 1
    with app.app_context():
        stored = db.session.get(Attempt, attempt)
        assert (stored.state, stored.prediction, stored.duration_ms) == ("expired", None, 900_000)
    again = client.post(
        f"/api/v1/attempts/{attempt}/submit", headers=people[0], json={"prediction": 3}
    )
    assert again.get_json() == late.get_json()
    assert PROVINCE  # the fixtures' province (imported for load_content's actor)


def test_answers_are_stored_as_the_original_indices(app, client, rounds, people):  # noqa: F811
    """The one-statement save maps shown keys to original indices through the stored choice
    order, sorted, each once; a blank answer clears; two keys for a one-answer question and a
    key beyond the question's choices are refused (422) and change nothing."""
    attempt = start(client, people[0], rounds["tuan-1"]).get_json()["id"]
    with app.app_context():
        item = db.session.scalar(
            select(AttemptQuestion).where(
                AttemptQuestion.attempt_id == attempt, AttemptQuestion.position == 1
            )
        )
        order = item.choice_order
        db.session.execute(
            update(QuestionVersion)
            .where(QuestionVersion.id == item.question_version_id)
            .values(answer=[0, 2])
        )
        db.session.commit()

    def stored(position: int) -> list[int] | None:
        with app.app_context():
            return db.session.scalar(
                select(AttemptQuestion.selected).where(
                    AttemptQuestion.attempt_id == attempt, AttemptQuestion.position == position
                )
            )

    url = f"/api/v1/attempts/{attempt}/answers"
    put = client.put(f"{url}/1", headers=people[0], json={"choices": ["c", "A", "C"], "seq": 1})
    assert put.status_code == 200 and put.get_json()["remaining_s"] == 900
    assert stored(1) == sorted([order[0], order[2]])
    assert (
        client.put(f"{url}/1", headers=people[0], json={"choices": [], "seq": 2}).status_code == 200
    )
    assert stored(1) == []
    assert client.put(f"{url}/2", headers=people[0], json={"choices": ["B"]}).status_code == 200
    two = client.put(f"{url}/2", headers=people[0], json={"choices": ["A", "B"]})
    assert two.status_code == 422
    beyond = client.put(f"{url}/2", headers=people[0], json={"choices": ["E"]})
    assert beyond.status_code == 422
    with app.app_context():
        second = db.session.scalar(
            select(AttemptQuestion).where(
                AttemptQuestion.attempt_id == attempt, AttemptQuestion.position == 2
            )
        )
        assert second.selected == [second.choice_order[1]] and second.seq == 1


def test_a_survey_definition_is_read_once_per_version(app, client, make_user):
    """The definition of a survey (its questions) is kept per process under the survey's
    version: the second response reads no survey_questions, and a changed survey is seen at
    once (its version moved)."""
    from tests.conftest import set_clock
    from tests.test_surveys import FULL, GOOD, NOW

    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL)], NOW)
    url = "/api/v1/surveys/hai-long-chinh-quyen-2026"
    people = []
    for n in range(3):
        make_user(phone=f"097000000{n}")
        people.append(bearer(client, f"097000000{n}"))
    first = client.post(f"{url}/responses", headers=people[0], json={"answers": GOOD})
    assert first.status_code == 201
    with statements(app) as sent:
        second = client.post(f"{url}/responses", headers=people[1], json={"answers": GOOD})
    assert second.status_code == 201
    assert not [s for s in sent if "FROM survey_questions" in s], sent
    changed = FULL.replace("text: Giới tính", "text: Giới tính của ông/bà")
    assert changed != FULL
    load_content(app, [("full.yaml", changed)], NOW)
    shown = client.get(url, headers=people[2]).get_json()
    texts = [q["text"] for page in shown["pages"] for q in page["questions"]]
    assert "Giới tính của ông/bà" in texts


def test_a_web_survey_answer_reads_its_survey_once(app, client):
    """The web form's answer (issue 17: the web survey's POST): one read of the survey (and
    its flag FOR SHARE when storing), not a second read after the commit to name it in the
    cookie; the commune the form names read with the survey, not by a query of its own (a
    tenth of a benchmark worker's time went to that one); the response stored, the thanks
    page next."""
    from tests.conftest import csrf_token, set_clock
    from tests.test_surveys import FULL, GOOD_FORM, NOW

    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL)], NOW)
    url = "/surveys/hai-long-chinh-quyen-2026/page/1"
    form = {"csrf_token": csrf_token(client, "/surveys/hai-long-chinh-quyen-2026"), **GOOD_FORM}
    with statements(app) as sent:
        done = client.post(url, data=form)
    assert done.status_code == 302 and done.headers["Location"].endswith("/thanks")
    reads = [s for s in sent if s.startswith("SELECT surveys.id")]
    assert len(reads) == 1, reads
    assert "JOIN units" in reads[0], reads  # the commune named, read with the survey
    assert not [s for s in sent if "FROM units" in s], sent
    # No hamlet named, none to check: the commune's list of hamlets is for the page, not read
    # to store the answer.
    assert not [s for s in sent if "units.parent_code = " in s], sent
    again = client.post(url, data=form)  # the cookie names the survey answered
    assert again.status_code == 302 and not again.headers["Location"].endswith("/thanks")


def test_a_fast_start_stores_its_device_marks_with_the_attempt(app, client, rounds, people):  # noqa: F811
    """The prize audit's marks (app/devices.py) are written by the start's one write: one row
    for the attempt, with the browser's device id (the cookie sent back) and the client mark."""
    started = client.post(
        f"/api/v1/rounds/{rounds['tuan-1']}/attempts",
        headers=people[0] | {"User-Agent": "Nokia 105"},
    )
    assert started.status_code == 201
    cookie = client.get_cookie("device")
    assert cookie is not None
    with app.app_context():
        marks = db.session.scalars(select(AttemptDevice)).all()
        assert [(m.attempt_id, len(m.device or ""), len(m.client or "")) for m in marks] == [
            (started.get_json()["id"], 32, 32)
        ]
