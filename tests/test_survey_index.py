"""The satisfaction index kept on each response: the figures stored at submission are the
spec's (checked by hand), equal what the SQL re-computation gives, follow a change of what
the index counts, and are filled by the migration for responses stored before it. Also the
respondents of each question counted without DISTINCT ("other" texts; the row at item 0 of
multiple-choice and grid answers, which a migration adds to answers stored before it)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select

from app import create_app
from app.config import TestingConfig
from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Survey, SurveyAnswer, SurveyResponse, Unit
from app.services import analytics, survey_definition
from app.services import surveys as service
from app.services.units import load_units
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, fresh_database_url, load_content

NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
SCALE5 = "[Rất không hài lòng, Không hài lòng, Bình thường, Hài lòng, Rất hài lòng]"
SCALE6 = SCALE5[:-1] + ", Tuyệt vời]"


def survey_yaml(scale: str = SCALE5, grid_index: str = "true") -> str:
    return f"""\
survey: chi-so-thu
title: Chỉ số (thử)
anonymous: true
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
sign_in: optional
scales:
  muc: {scale}
  bon: [Kém, Tạm, Khá, Tốt]
pages:
  - title: Một
    questions:
      - {{id: chung, type: scale, scale: muc, text: Hài lòng chung, index: true}}
      - id: luoi
        type: grid
        scale: bon
        text: Từng việc
        rows: [Tiếp dân, Hồ sơ, Thái độ]
        required: false
        index: {grid_index}
      - {{id: kenh, type: single, text: Kênh, choices: [Loa, Zalo], other: true, required: false}}
"""


# (unit, overall 1-5, grid rows answered {row: 1-4}, channel: a choice or an "other" text)
DATA = [
    (VI_THANH, 5, {"1": 4, "2": 3}, 1),
    (VI_THANH, 4, {}, "Tổ dân phố"),
    (VI_THANH, 2, {"1": 1, "2": 2, "3": 1}, 2),
    (VI_THANH, 3, {"3": 4}, None),
    (NINH_KIEU, 1, {"1": 2}, "Hàng xóm"),
    (NINH_KIEU, 5, {"1": 4, "2": 4, "3": 4}, 1),
]


def hand_figures(overall: int, grid: dict[str, int], k: int = 5) -> tuple[float, int, int]:
    """survey.md: each item rescaled (value − 1) / (k − 1) × 100; top two of its scale."""
    items = [(overall - 1) * 100 / (k - 1), *((v - 1) * 100 / 3 for v in grid.values())]
    top = (overall >= k - 1) + sum(v >= 3 for v in grid.values())
    return statistics.mean(items), len(items), top


def load(app, text: str) -> None:  # type: ignore[no-untyped-def]
    load_content(app, [("s.yaml", text)], NOW)


def answer_all(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        defn = survey_definition.definition(db.session, db.session.scalar(select(Survey)))
        for unit, overall, grid, channel in DATA:
            answers: dict[str, object] = {"chung": overall}
            if grid:
                answers["luoi"] = grid
            if isinstance(channel, int):
                answers["kenh"] = channel
            elif channel:
                answers["kenh"] = {"other": channel}
            clean, problems = service.clean_answers(defn, answers)
            assert not problems, problems
            service.submit(db.session, defn, clean, NOW, user=None, unit=db.session.get(Unit, unit))


def stored(app) -> list[tuple[float | None, int, int]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.execute(
            select(SurveyResponse.index_score, SurveyResponse.index_items, SurveyResponse.index_top)
        ).all()
        return sorted((round(s, 9) if s is not None else None, i, t) for s, i, t in rows)


@pytest.fixture
def answered(app):  # type: ignore[no-untyped-def]
    load(app, survey_yaml())
    answer_all(app)
    return app


def expected(k: int = 5, grid: bool = True) -> list[tuple[float, int, int]]:
    return sorted(
        tuple(round(x, 9) for x in hand_figures(o, g if grid else {}, k))  # type: ignore[misc]
        for _u, o, g, _c in DATA
    )


def test_each_response_keeps_its_figures_and_sql_computes_the_same(answered):
    assert stored(answered) == expected()
    with answered.app_context():
        assert survey_definition.restamp_index(db.session, db.session.scalar(select(Survey))) == 6
        db.session.commit()
    assert stored(answered) == expected()


def test_the_index_is_the_mean_of_the_respondents_scores(answered):
    scores = [hand_figures(o, g)[0] for _u, o, g, _c in DATA]
    items = [hand_figures(o, g) for _u, o, g, _c in DATA]
    with answered.app_context():
        result = analytics.results(db.session, db.session.scalar(select(Survey)))
    index = result["index"][0]
    assert index["n"] == 6
    assert index["index"] == round(statistics.mean(scores), 4)
    half = 1.959963984540054 * statistics.stdev(scores) / 6**0.5
    assert index["index_ci95"] == [
        round(statistics.mean(scores) - half, 4),
        round(statistics.mean(scores) + half, 4),
    ]
    assert index["satisfied"] == round(
        sum(t for _s, _i, t in items) / sum(i for _s, i, _t in items), 4
    )


def test_a_change_of_what_the_index_counts_recomputes_every_response(answered):
    load(answered, survey_yaml(scale=SCALE6))  # a choice added at the end: k = 6
    assert stored(answered) == expected(k=6)
    load(answered, survey_yaml(scale=SCALE6, grid_index="false"))  # the grid leaves the index
    assert stored(answered) == expected(k=6, grid=False)


def test_respondents_of_a_one_row_question_count_the_other_texts(answered):
    with answered.app_context():
        result = analytics.results(db.session, db.session.scalar(select(Survey)))
    channel = next(q for q in result["questions"] if q["id"] == "kenh")["groups"][0]
    assert channel["n"] == 5  # three choices and two "other" texts; one did not answer
    assert channel["counts"] == {"1": 2, "2": 1}
    assert channel["proportions"] == {"1": 0.4, "2": 0.2}
    grid = next(q for q in result["questions"] if q["id"] == "luoi")["groups"][0]
    assert grid["n"] == 5  # respondents with any row answered
    assert {k: r["n"] for k, r in grid["rows"].items()} == {"1": 4, "2": 3, "3": 3}


def test_the_migration_fills_the_figures_of_responses_stored_before_it(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url("index", tmp_path))
    with app.app_context():
        upgrade()
        load_units(db.session, PROVINCE)
    load(app, survey_yaml())
    answer_all(app)

    def answers_and_results() -> tuple[list[tuple[object, ...]], dict[str, object]]:
        with app.app_context():
            rows = db.session.execute(
                select(SurveyAnswer.question_id, SurveyAnswer.item, SurveyAnswer.value)
            ).all()
            results = analytics.results(db.session, db.session.scalar(select(Survey)))
            db.session.remove()  # no transaction left open on the tables the migrations change
            return sorted(tuple(row) for row in rows), results

    before = answers_and_results()
    assert (0, None) in {(item, value) for _q, item, value in before[0]}  # the grid's row 0
    with app.app_context():
        downgrade(revision="0007")  # 0009 takes the rows at item 0 away, 0008 the figures
        valueless = (SurveyAnswer.item == 0) & SurveyAnswer.value.is_(None)
        assert db.session.scalar(select(func.count()).where(valueless)) == 0
        db.session.remove()
        upgrade()
    assert stored(app) == expected()
    assert answers_and_results() == before
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_response_read_under_the_old_rules_is_scored_by_the_new_ones(answered):
    """A response checked against the survey just before a load changes what the index counts,
    and stored just after it: its figures follow the rules in force when it is stored."""
    with answered.app_context():
        survey = db.session.scalar(select(Survey))
        before = survey_definition.definition(db.session, survey)  # the respondent's page, say
        outcome = load_files(
            db.session,
            [("s.yaml", survey_yaml(scale=SCALE6).encode())],
            Actor(unit_code=PROVINCE, is_admin=True),
            NOW,
        )[0]
        assert outcome.ok  # committed: the scale now has 6 points
        clean, problems = service.clean_answers(before, {"chung": 5})
        assert not problems
        earlier = set(db.session.scalars(select(SurveyResponse.id)))
        service.submit(
            db.session, before, clean, NOW, user=None, unit=db.session.get(Unit, VI_THANH)
        )  # anonymous: queued, then moved by the mixer (at once in tests: SURVEY_MIX_BATCH 1)
        (new,) = set(db.session.scalars(select(SurveyResponse.id))) - earlier
        stored = db.session.get(SurveyResponse, new)
        assert (stored.index_score, stored.index_items, stored.index_top) == (80.0, 1, 1)
