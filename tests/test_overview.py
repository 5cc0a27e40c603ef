"""The leaders' home: open and recent surveys with n and index, the change since the wave
before and whether it is real, small groups hidden as on the result pages; the menu entry."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Survey, Unit
from app.services import overview, survey_definition
from app.services import surveys as service
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, set_clock
from tests.test_analytics import survey  # noqa: F401  (the fixed data set of analytics)
from tests.test_contest_stats import fixture  # noqa: F401  (a contest with its attempts)

NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
CAI_KHE = 31120
Z = 1.959963984540054
WAVE = """\
survey: hai-long-WAVE
title: Hài lòng đợt WAVE
anonymous: true
opens: WAVE-12-01 00:00
closes: WAVE-12-31 23:59
sign_in: optional
series: hai-long-thu
wave: WAVE
pages:
  - title: Một
    questions:
      - {id: thai-do, type: scale, text: Thái độ phục vụ, choices: [1, 2, 3, 4, 5], index: true}
      - id: thoi-gian
        type: scale
        text: Thời gian giải quyết
        choices: [1, 2, 3, 4, 5]
        index: true
"""
NO_INDEX = """\
survey: kenh-thu
title: Kênh thông tin (thử)
anonymous: true
opens: 2026-10-01 00:00
closes: 2026-10-31 23:59
sign_in: optional
pages:
  - title: Một
    questions:
      - {id: kenh, type: single, text: Kênh, choices: [Loa, Zalo]}
"""
LATER = NO_INDEX.replace("kenh-thu", "sau-nay").replace("2026-10", "2027-01")
OLD = NO_INDEX.replace("kenh-thu", "cu-nam-nay").replace("2026-10", "2026-01")
# Each response answers both index questions with the same value: its score is (v − 1) × 25.
ANSWERS = {
    2025: {
        VI_THANH: [2, 3, 2, 3, 3, 2, 4, 3, 2, 3],
        CAI_KHE: [3, 3, 2, 4, 3, 3],
        NINH_KIEU: [3] * 6,
    },
    2026: {
        VI_THANH: [5, 4, 4, 3, 5, 2, 4, 4, 5, 3],
        CAI_KHE: [4, 4, 5, 3, 4, 2],
        NINH_KIEU: [1, 2, 3],
    },
}


def hand_index(values: list[int]) -> tuple[float, float, float]:
    scores = [(v - 1) * 25 for v in values]
    mean = statistics.mean(scores)
    half = Z * statistics.stdev(scores) / math.sqrt(len(scores))
    return mean, mean - half, mean + half


def everyone(wave: int) -> list[int]:
    return [v for values in ANSWERS[wave].values() for v in values]


@pytest.fixture
def waves(app):  # type: ignore[no-untyped-def]
    files = [(f"{w}.yaml", WAVE.replace("WAVE", str(w))) for w in ANSWERS]
    files += [("k.yaml", NO_INDEX), ("l.yaml", LATER), ("o.yaml", OLD)]
    with app.app_context():
        outcomes = load_files(
            db.session,
            [(name, text.encode()) for name, text in files],
            Actor(unit_code=PROVINCE, is_admin=True),
            datetime(2025, 11, 1, tzinfo=UTC),
        )
        assert all(o.ok for o in outcomes), [o.result.messages("en") for o in outcomes]
        for wave, per_unit in ANSWERS.items():
            row = db.session.scalar(select(Survey).where(Survey.wave == wave))
            defn = survey_definition.definition(db.session, row)
            for code, values in per_unit.items():
                for v in values:
                    service.submit(
                        db.session,
                        defn,
                        {"thai-do": v, "thoi-gian": v},
                        datetime(wave, 12, 10, tzinfo=UTC),
                        user=None,
                        unit=db.session.get(Unit, code),
                    )
        row = db.session.scalar(select(Survey).where(Survey.slug == "kenh-thu"))
        kenh = survey_definition.definition(db.session, row)
        for i in range(7):
            answers = {"kenh": 1 + i % 2}
            day = datetime(2026, 10, 5, tzinfo=UTC)
            vi_thanh = db.session.get(Unit, VI_THANH)
            service.submit(db.session, kenh, answers, day, user=None, unit=vi_thanh)
    set_clock(app, NOW)
    return app


def lines_for(app, code: int | None):  # type: ignore[no-untyped-def]
    with app.app_context():
        scope = db.session.get(Unit, code) if code else None
        return overview.surveys(db.session, scope, NOW)


def test_open_and_recent_surveys_with_their_n_and_index(waves):
    lines = lines_for(waves, PROVINCE)
    # Open first, then closed within 90 days; not the old one, nor the one not yet open.
    assert [(line.survey.slug, line.is_open) for line in lines] == [
        ("hai-long-2026", True),
        ("kenh-thu", False),
    ]
    current, kenh = lines
    mean, low, high = hand_index(everyone(2026))
    assert current.n == 19 and current.index.n == 19
    assert current.index.value == pytest.approx(mean, abs=1e-4)
    assert current.index.ci95 == pytest.approx((low, high), abs=1e-4)
    assert kenh.n == 7 and kenh.index is None and kenh.change is None


def test_the_change_since_the_last_wave_and_whether_it_is_real(waves):
    (current, _kenh) = lines_for(waves, PROVINCE)
    change = current.change
    before, after = hand_index(everyone(2025)), hand_index(everyone(2026))
    assert change.previous.slug == "hai-long-2025"
    assert change.difference == pytest.approx(after[0] - before[0], abs=1e-3)
    # +15.6 points with 22 and 19 people: real by a z-test (p = 0.024) and by Welch's t (about
    # 0.03), the verdict once analytics.trends gives the index's own.
    # +15.6 points with 22 and 19 people: real by Welch's t-test on the people's scores (the
    # verdict of analytics.trends, the one test of a change), computed here by scipy.
    from scipy.stats import ttest_ind

    scores = {w: [(v - 1) * 25 for v in everyone(w)] for w in (2025, 2026)}
    p = ttest_ind(scores[2026], scores[2025], equal_var=False).pvalue
    assert change.p_value == pytest.approx(p, abs=1e-3) and change.real is True
    # Both questions' share of "4 or 5" changed really (analytics.trends says so).
    assert {q.text for q in change.questions} == {"Thái độ phục vụ", "Thời gian giải quyết"}
    one = change.questions[0]
    assert one.before == pytest.approx(2 / 22, abs=1e-4) and one.after == pytest.approx(
        11 / 19, abs=1e-4
    )


def test_a_commune_s_change_is_tested_on_its_own_people(waves):
    vi_thanh = lines_for(waves, VI_THANH)[0].change
    before, after = hand_index(ANSWERS[2025][VI_THANH]), hand_index(ANSWERS[2026][VI_THANH])
    assert vi_thanh.difference == pytest.approx(after[0] - before[0], abs=1e-3)
    assert vi_thanh.real is True  # 10 people, +30 points: real even so


def test_a_commune_the_survey_hides_shows_no_figures(waves):
    # Ninh Kiều has 3 responses in 2026 (hidden) and Cái Khế is hidden as its complement.
    for code in (NINH_KIEU, CAI_KHE):
        current = lines_for(waves, code)[0]
        assert current.n is None and current.index.suppressed and current.index.value is None
        assert current.change is None


def test_a_leader_lands_on_the_overview_with_vietnamese_figures(waves, client, auth, make_user):
    make_user(role="leader", phone="0911111111")
    auth.login("0911111111")
    page = client.get("/").get_data(as_text=True)
    mean, low, high = hand_index(everyone(2026))
    assert "Hài lòng đợt 2026" in page and "Kênh thông tin (thử)" in page
    assert f"{mean:.1f}".replace(".", ",") in page
    assert f"{low:.1f}–{high:.1f}".replace(".", ",") in page
    assert 'href="/results/hai-long-2026"' in page
    assert "thay đổi thật sự" in page
    assert client.get("/overview").status_code == 200


def test_the_menu_has_the_overview_for_staff_only(waves, client, auth, make_user):
    make_user(role="officer", phone="0911111112", unit=VI_THANH)
    auth.login("0911111112")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/overview"' in page
    assert "Tổng quan" in client.get("/overview").get_data(as_text=True)
    auth.logout()
    make_user(phone="0987654321")
    auth.login("0987654321")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/overview"' not in page and "Phường Vị Thanh" in page
    assert client.get("/overview").status_code == 403


def test_a_hidden_commune_reads_that_its_figures_are_hidden(waves, client, auth, make_user):
    make_user(role="leader", phone="0911111113", unit=NINH_KIEU)
    auth.login("0911111113")
    page = client.get("/").get_data(as_text=True)
    assert "ít hơn 5" in page
    mean, *_ = hand_index(ANSWERS[2026][NINH_KIEU])
    assert f"{mean:.1f}".replace(".", ",") not in page


@pytest.mark.parametrize("by", [None, "unit", "gioi-tinh"])
def test_the_index_alone_equals_the_index_of_the_full_results(survey, by):  # noqa: F811
    """analytics.index_results (what the overview and briefs read) is results()["index"]
    without the questions: the same figures, the same groups hidden, in every scope."""
    from app.services import analytics

    with survey.app_context():
        row = db.session.scalar(select(Survey))
        for code in (None, PROVINCE, VI_THANH, NINH_KIEU, CAI_KHE):
            scope = db.session.get(Unit, code) if code else None
            full = analytics.results(db.session, row, by=by, scope=scope)
            alone = analytics.index_results(db.session, row, by=by, scope=scope)
            assert alone["index"] == full["index"], (by, code)
            assert alone.get("suppressed") == full.get("suppressed")
            assert alone["threshold"] == full["threshold"]


# ------------------------------------------------------------------- contest rounds


def test_rounds_with_participants_and_communes_reached(app, fixture):  # noqa: F811
    from tests.test_contest_stats import CAI_KHE as SMALL
    from tests.test_contest_stats import START

    with app.app_context():
        lines = overview.rounds(db.session, db.session.get(Unit, PROVINCE), START)
        by_key = {line.round.key: line.summary for line in lines}
        assert set(by_key) == {"tuan-1", "tuan-2"} and all(line.is_open for line in lines)
        first = by_key["tuan-1"]
        # 12 + 7 + 6 + 2 people from four communes, of the province's 103.
        assert (first.participants, first.covered, first.communes) == (27, 4, 103)
        assert by_key["tuan-2"].participants == 12 + 7
        small = overview.rounds(db.session, db.session.get(Unit, SMALL), START)
        # Round 1: 2 people there (hidden); round 2: nobody (0 hides nothing).
        assert [line.summary.participants for line in small] == [None, 0]
        later = overview.rounds(db.session, None, START + timedelta(days=200))
        assert later == []  # closed more than 90 days before


def test_the_home_shows_the_rounds_reach(app, fixture, client, auth, make_user):  # noqa: F811
    make_user(role="leader", phone="0911111116")
    auth.login("0911111116")
    page = client.get("/").get_data(as_text=True)
    round_id = fixture["rounds"]["tuan-1"]
    assert f'href="/results/rounds/{round_id}"' in page
    assert "27 người dự thi" in page and "4/103</strong> xã, phường có người dự thi" in page
    assert client.get(f"/results/rounds/{round_id}").status_code == 200


def test_the_index_verdict_of_analytics_trends_wins_and_grid_rows_are_named(waves, monkeypatch):
    """When analytics.trends gives the index's own test (measure "index"), the overview shows
    that verdict, not its own; a grid row's change reads "question — row"."""
    from app.services import analytics

    def trends(session, wave, *, scope=None, now=None):  # type: ignore[no-untyped-def]
        a, b = {"wave": 2025, "survey": "hai-long-2025"}, {"wave": 2026, "survey": "hai-long-2026"}
        return [
            {
                "id": "index",
                "text": None,
                "measure": "index",
                "waves": [
                    a | {"n": 22, "index": 40.0},
                    b | {"n": 19, "index": 55.0, "p_value": 0.2, "real_change": False},
                ],
            },
            {
                "id": "luoi:2",
                "text": "Dân chủ cơ sở",
                "row": "Dân bàn",
                "measure": "top_two",
                "waves": [
                    a | {"n": 22, "proportion": 0.2},
                    b | {"n": 19, "proportion": 0.6, "p_value": 0.01, "real_change": True},
                ],
            },
        ]

    monkeypatch.setattr(analytics, "trends", trends)
    change = lines_for(waves, PROVINCE)[0].change
    assert change.real is False and change.p_value == 0.2
    assert [q.text for q in change.questions] == ["Dân chủ cơ sở — Dân bàn"]
