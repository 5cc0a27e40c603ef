"""A response's demographic answers kept on its row (`survey_responses.groups`, migration 0022),
so that results break down by them without joining the answers again (app/services/cube.py).

The promise attacked: no breakdown ever differs from one read from the answers themselves
(tests/reference_analytics.py joins each demographic answer) — whatever path stored the
response (identified, anonymous through the mixer, the demo generator), when the survey's
demographic questions change after responses exist (one stops being demographic, one is added
in front: every stored code must move), when a response checked against the old definition is
stored after the change, and for responses stored before the migration."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import event, func, select

from app import create_app
from app.config import TestingConfig
from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Survey, SurveyAnswer, SurveyResponse, Unit
from app.services import cube, demo_responses, survey_definition
from app.services import surveys as service
from app.services.units import load_units
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, fresh_database_url, load_content
from tests.test_analytics import NOW
from tests.test_cube_equivalence import same_everywhere

SAMPLE = Path(__file__).resolve().parent.parent / "surveys" / "hai-long-chinh-quyen-2026.yaml"
GENDER = "        choices: [Nam, Nữ, Khác]\n        demographic: true\n"
# A new demographic question in front of the others: every stored code must shift.
FIRST_PAGE = "    questions:\n"
HOME = (
    "    questions:\n"
    "      - id: noi-o\n"
    "        type: single\n"
    "        text: Ông/bà sống ở đâu?\n"
    "        choices: [Thành thị, Nông thôn]\n"
    "        required: false\n"
    "        demographic: true\n"
)


def sample(gender: bool = True, home: bool = False, anonymous: bool = True) -> str:
    text = SAMPLE.read_text(encoding="utf-8")
    assert GENDER in text and FIRST_PAGE in text
    if not gender:
        text = text.replace(GENDER, "        choices: [Nam, Nữ, Khác]\n")
    if home:
        text = text.replace(FIRST_PAGE, HOME, 1)
    if not anonymous:
        text = text.replace("anonymous: true", "anonymous: false", 1)
    return text


def load(app: Any, text: str) -> None:
    load_content(app, [("s.yaml", text)], NOW)


def codes_agree(session: Any) -> int:
    """Every stored response's `groups` is what its answers give now; returns how many."""
    survey = session.scalar(select(Survey))
    defn = survey_definition.definition(session, survey)
    stored = dict(session.execute(select(SurveyResponse.id, SurveyResponse.groups)).all())
    wanted = {}
    for response in session.scalars(select(SurveyResponse)):
        answers = {}
        for row in response.answers:
            q = next((q for q in defn.questions if q.id == row.question_id), None)
            if q is not None and q.type == "single" and row.item == 0:
                answers[q.key] = row.value
        wanted[response.id] = survey_definition.groups_code(defn, answers)
    assert stored == wanted
    return len(stored)


def answer(session: Any, defn: Any, unit: int, chosen: dict[str, Any], seed: int) -> None:
    """A complete response (the demo generator's answers, `chosen` over them)."""
    rng = random.Random(seed)
    values = {q.key: demo_responses._answer(q, 0.6, rng) for q in defn.questions} | chosen
    shown = service.visible_keys(defn, values)
    values = {k: v for k, v in values.items() if k in shown and v is not None}
    clean, problems = service.clean_answers(defn, values)
    assert not problems, problems
    service.submit(session, defn, clean, NOW, user=None, unit=session.get(Unit, unit))


def test_a_change_of_the_demographic_questions_moves_every_stored_code(app):
    load(app, sample())
    with app.app_context():
        row = db.session.scalar(select(Survey))
        demo_responses.generate(db.session, row, 300, seed=22)
        assert codes_agree(db.session) == 300
        assert same_everywhere(db.session, row) > 0
    for version in (sample(gender=False), sample(gender=False, home=True), sample(home=True)):
        load(app, version)
        with app.app_context():
            row = db.session.scalar(select(Survey))
            assert codes_agree(db.session) == 300
            assert same_everywhere(db.session, row) > 0


@pytest.mark.parametrize("anonymous", [False, True])
def test_a_response_checked_before_the_change_and_stored_after_it_follows_it(app, anonymous):
    """Identified, and anonymous (the mixer moves it; in tests at once): stored under the
    definition in force when it is stored, as its index figures are."""
    load(app, sample(anonymous=anonymous))
    with app.app_context():
        row = db.session.scalar(select(Survey))
        demo_responses.generate(db.session, row, 40, seed=5)
        before = survey_definition.definition(db.session, row)  # the respondent's page
        changed = sample(gender=False, home=True, anonymous=anonymous)
        admin = Actor(unit_code=PROVINCE, is_admin=True)
        (outcome,) = load_files(db.session, [("s.yaml", changed.encode())], admin, NOW)
        assert outcome.ok and outcome.report.version == before.version + 1
        for n, (unit, gender, age) in enumerate(((VI_THANH, 2, 3), (NINH_KIEU, 1, 1))):
            answer(db.session, before, unit, {"gioi-tinh": gender, "do-tuoi": age}, seed=n)
        assert codes_agree(db.session) == 42
        assert same_everywhere(db.session, db.session.scalar(select(Survey))) > 0


def test_the_migration_fills_the_codes_of_responses_stored_before_it(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url("groups", tmp_path))
    with app.app_context():
        upgrade()
        load_units(db.session, PROVINCE)
    load(app, sample(home=True))
    with app.app_context():
        demo_responses.generate(db.session, db.session.scalar(select(Survey)), 120, seed=7)
        stored = dict(db.session.execute(select(SurveyResponse.id, SurveyResponse.groups)).all())
        assert len(set(stored.values())) > 10  # codes of several questions' answers
        db.session.remove()
        downgrade(revision="0021")
        db.session.remove()
        upgrade()
        again = db.session.execute(select(SurveyResponse.id, SurveyResponse.groups)).all()
        assert dict(again) == stored
        assert codes_agree(db.session) == 120
        db.session.remove()
        db.engine.dispose()


def test_a_definition_read_before_a_change_still_reads_the_right_groups(app):
    """A request holds the survey and its definition read just before a content load commits
    (or a replica's older copy of them): the cube must decode each row's groups by the layout
    the rows were written with, not by the definition it was handed. A question added in front
    moves every other one a place; read by the old places, the breakdown by age would be the
    breakdown by gender."""
    answered_by_300(app, seed=9)
    with app.app_context():
        stale = db.session.scalar(select(Survey))
        old = survey_definition.definition(db.session, stale)
        load(app, sample(home=True))  # committed by another request meanwhile
        assert stale.version == old.version  # this request still holds the survey it read
        counts = cube.build(db.session, stale, old)
        assert_right_groups(counts, old, 300)


def test_a_load_rolled_back_leaves_no_definition_behind(app, monkeypatch):
    """A content load reads the survey's new definition before it commits (to restamp the
    responses); if its commit fails, that definition must not be served later for the same
    version number committed by another load — responses would be coded by questions that were
    never in force."""
    load(app, sample())
    with app.app_context():
        demo_responses.generate(db.session, db.session.scalar(select(Survey)), 20, seed=3)
    with app.app_context():
        first = db.session.scalar(select(Survey)).version
        session = db.session()

        def fail() -> None:
            raise OSError("the connection dropped at COMMIT")

        monkeypatch.setattr(session, "commit", fail)
        admin = Actor(unit_code=PROVINCE, is_admin=True)
        with pytest.raises(OSError):  # gioi-tinh no longer demographic: restamped, not committed
            load_files(session, [("s.yaml", sample(gender=False).encode())], admin, NOW)
        monkeypatch.undo()
        session.rollback()
    load(app, sample(home=True))  # another load commits the same version number
    with app.app_context():
        survey = db.session.scalar(select(Survey))
        # PostgreSQL: the same version number as the failed load's. (SQLite's driver commits a
        # load's outermost savepoint when it is released, before the COMMIT that failed here.)
        assert survey.version == first + (1 if db.engine.dialect.name == "postgresql" else 2)
        now = survey_definition.definition(db.session, survey)
        assert [q.key for q in survey_definition.grouped(now)] == [
            "noi-o",
            "gioi-tinh",
            "do-tuoi",
            "nghe-nghiep",
        ]
        answer(db.session, now, VI_THANH, {"noi-o": 2, "gioi-tinh": 1, "do-tuoi": 3}, seed=1)
        assert codes_agree(db.session) == 21


@pytest.mark.parametrize(
    "before",
    [
        "surveys.version",  # the first statement of the cube's reading
        "survey_questions.demographic",  # the stored layout
        "SELECT survey_answers.question_id, survey_responses.unit_code",  # the pass itself
    ],
)
def test_a_load_committed_while_the_cube_reads_its_layout_is_seen(app, before):
    """A content load that moves every question a place commits at the worst moments of the
    cube's reading: just before it reads the survey's version, the stored layout, or the
    answers. Each way the cube decodes the rows by the layout they were written with (the
    version read first and again after the passes: a load in between makes it read again)."""
    answered_by_300(app, seed=4)
    with app.app_context():
        survey = db.session.scalar(select(Survey))
        old = survey_definition.definition(db.session, survey)
        fired: list[str] = []

        def meddle(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
            if not fired and before in statement:
                fired.append(statement)
                load(app, sample(home=True))  # another request's load, committed

        event.listen(db.engine, "before_cursor_execute", meddle)
        try:
            counts = cube.build(db.session, survey, old)
        finally:
            event.remove(db.engine, "before_cursor_execute", meddle)
        assert fired
        assert_right_groups(counts, old, 300)


def answered_by_300(app: Any, seed: int) -> None:
    """The sample survey loaded and answered by 300 demo respondents."""
    load(app, sample())
    with app.app_context():
        demo_responses.generate(db.session, db.session.scalar(select(Survey)), 300, seed=seed)


def assert_right_groups(counts: Any, defn: Any, total: int) -> None:
    """Each demographic question's groups in the cube `counts` are those its answers give."""
    for q in defn.questions:
        if q.demographic:
            assert groups_of(counts, q) == answered_groups(q, total), q.key


def answered_groups(q: Any, total: int) -> dict[int, int]:
    """People per group of `q` from its answers: the truth the cube must give."""
    answered = dict(
        db.session.execute(
            select(SurveyAnswer.value, func.count())
            .where(SurveyAnswer.question_id == q.id, SurveyAnswer.item == 0)
            .group_by(SurveyAnswer.value)
        ).all()
    )
    truth = answered | {0: total - sum(answered.values())}
    return {g: n for g, n in truth.items() if n}


def groups_of(counts: Any, q: Any) -> dict[int, int]:
    people = counts.part(q.key).people.groupby("group")["n"].sum()
    return {int(g): int(n) for g, n in people.items() if n}
