"""Survey results on a small fixed data set, checked against values computed by hand."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Survey, Unit
from app.services import analytics, survey_definition
from app.services import surveys as service
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH

NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
CAI_KHE = 31120
SURVEY = """\
survey: hai-long-thu
title: Hài lòng (thử)
anonymous: true
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
sign_in: optional
scales:
  muc: [Rất không hài lòng, Không hài lòng, Bình thường, Hài lòng, Rất hài lòng]
pages:
  - title: Một
    questions:
      - {id: gioi-tinh, type: single, text: Giới tính, choices: [Nam, Nữ], demographic: true}
      - {id: hai-long, type: scale, scale: muc, text: Mức hài lòng, index: true}
      - {id: kenh, type: multiple, text: Kênh, choices: [Loa, Zalo, Báo], required: false}
      - {id: diem, type: rating, text: Điểm, required: false}
      - {id: so-lan, type: number, text: Số lần, required: false}
"""
# (unit, gender, satisfaction, channels)
DATA = [
    (VI_THANH, 1, 5, [1, 2]),
    (VI_THANH, 1, 4, [1]),
    (VI_THANH, 1, 4, [2]),
    (VI_THANH, 2, 3, [1, 3]),
    (VI_THANH, 2, 5, [2]),
    (VI_THANH, 2, 2, []),
    (VI_THANH, 2, 4, [1]),
    (NINH_KIEU, 2, 1, [3]),
    (NINH_KIEU, 2, 2, [1]),
    (NINH_KIEU, 2, 3, []),
    (CAI_KHE, 1, 4, [2]),
    (CAI_KHE, 1, 4, [1]),
    (CAI_KHE, 2, 5, [1]),
    (CAI_KHE, 2, 3, [2]),
    (CAI_KHE, 2, 4, []),
    (CAI_KHE, 1, 2, [3]),
]
SATISFACTION = [row[2] for row in DATA]


def hand_wilson(count: int, n: int) -> list[float]:
    p, z = count / n, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [round(centre - half, 4), round(centre + half, 4)]


@pytest.fixture
def survey(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        outcome = load_files(
            db.session, [("s.yaml", SURVEY.encode())], Actor(unit_code=PROVINCE, is_admin=True), NOW
        )[0]
        assert outcome.ok, outcome.result.messages("en")
        row = db.session.scalar(select(Survey))
        defn = survey_definition.definition(db.session, row)
        for index, (unit, gender, level, channels) in enumerate(DATA):
            answers = {"gioi-tinh": gender, "hai-long": level, "diem": index % 11, "so-lan": index}
            if channels:
                answers["kenh"] = channels
            clean, problems = service.clean_answers(defn, answers)
            assert not problems
            service.submit(db.session, defn, clean, NOW, user=None, unit=db.session.get(Unit, unit))
    return app


def overall(app, **kwargs):  # type: ignore[no-untyped-def]
    with app.app_context():
        return analytics.results(db.session, db.session.scalar(select(Survey)), **kwargs)


def question(result, key):  # type: ignore[no-untyped-def]
    return next(q for q in result["questions"] if q["id"] == key)


def test_counts_proportions_and_wilson_bounds(survey):
    result = overall(survey)
    assert result["n"] == 16 and result["threshold"] == 5
    group = question(result, "hai-long")["groups"][0]
    assert group["n"] == 16
    assert group["counts"] == {"1": 1, "2": 3, "3": 3, "4": 6, "5": 3}
    assert group["proportions"]["4"] == round(6 / 16, 4) == 0.375
    assert group["ci95"]["4"] == hand_wilson(6, 16)
    assert group["ci95"]["1"] == hand_wilson(1, 16)


def test_means_with_intervals(survey):
    group = question(overall(survey), "hai-long")["groups"][0]
    mean = statistics.mean(SATISFACTION)
    half = 1.959963984540054 * statistics.stdev(SATISFACTION) / math.sqrt(16)
    assert group["mean"] == round(mean, 4)
    assert group["index"] == round((round(mean, 4) - 1) / 4 * 100, 4)  # the question's 0–100 score
    assert group["mean_ci95"] == [round(mean - half, 4), round(mean + half, 4)]
    numbers = question(overall(survey), "so-lan")["groups"][0]
    assert numbers["mean"] == 7.5  # 0..15


def test_multiple_choice_proportions_are_of_respondents(survey):
    group = question(overall(survey), "kenh")["groups"][0]
    assert group["n"] == 13  # three people ticked nothing
    assert group["counts"] == {"1": 7, "2": 5, "3": 3}
    assert group["proportions"]["1"] == round(7 / 13, 4)


def test_satisfaction_index_and_percent_satisfied(survey):
    index = overall(survey)["index"][0]
    scores = [(v - 1) * 25 for v in SATISFACTION]
    mean = statistics.mean(scores)
    half = 1.959963984540054 * statistics.stdev(scores) / math.sqrt(len(scores))
    assert index["index"] == round(mean, 4)
    assert index["index_ci95"] == [round(mean - half, 4), round(mean + half, 4)]
    assert index["satisfied"] == round(9 / 16, 4)  # values 4 and 5


def test_a_group_of_three_is_hidden_and_so_is_the_next_smallest(survey):
    by_unit = question(overall(survey, by="unit"), "hai-long")["groups"]
    shown = {g["group"]: g for g in by_unit}
    assert shown[NINH_KIEU] == {"group": NINH_KIEU, "label": "Phường Ninh Kiều", "suppressed": True}
    # Vị Thanh (7) and Cái Khế (6) would reveal Ninh Kiều (3) from the total: the smaller goes too.
    assert shown[CAI_KHE].get("suppressed") is True and "n" not in shown[CAI_KHE]
    assert shown[VI_THANH]["n"] == 7 and not shown[VI_THANH].get("suppressed")


def test_a_group_and_the_total_cannot_reveal_the_other(survey):
    by_gender = question(overall(survey, by="gioi-tinh"), "hai-long")["groups"]
    sizes = {g["label"]: g.get("n") for g in by_gender}
    assert sizes == {"Không trả lời": 0, "Nam": 6, "Nữ": 10}
    with survey.app_context():
        scoped = analytics.results(
            db.session,
            db.session.scalar(select(Survey)),
            by="gioi-tinh",
            scope=db.session.get(Unit, NINH_KIEU),
        )
    # 3 people: a hidden commune is hidden in every view, its figures withheld altogether.
    assert scoped["suppressed"] is True and scoped["questions"] == [] and "n" not in scoped


def test_unknown_breakdown_is_refused(survey):
    with pytest.raises(analytics.UnknownBreakdown):
        overall(survey, by="hai-long")  # not a demographic question


def bearer(client, phone):  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD

    token = client.post(
        "/api/v1/auth/token", json={"phone": phone, "password": PASSWORD}
    ).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_results_api_follows_scope(survey, client, make_user):
    make_user(role="leader", phone="0911111111")
    make_user(role="officer", phone="0911111112", unit=VI_THANH)
    make_user(phone="0987654321")
    url = "/api/v1/surveys/hai-long-thu/results"
    leader = client.get(url, query_string={"by": "unit"}, headers=bearer(client, "0911111111"))
    assert leader.status_code == 200
    body = leader.get_json()
    assert body["n"] == 16 and body["by"] == "unit" and body["survey"] == "hai-long-thu"
    commune = client.get(url, headers=bearer(client, "0911111112")).get_json()
    assert commune["n"] == 7  # Vị Thanh only
    outside = client.get(
        url, query_string={"unit": NINH_KIEU}, headers=bearer(client, "0911111112")
    )
    assert outside.status_code == 403
    assert (
        client.get(url, headers=bearer(client, "0987654321")).status_code == 403
    )  # did not answer
    assert client.get(url).status_code == 401
    assert (
        client.get(
            url, query_string={"by": "kenh"}, headers=bearer(client, "0911111111")
        ).status_code
        == 422
    )


def test_free_text_is_masked_and_only_for_large_enough_groups():
    from app.text import mask_personal

    text = "Gọi 0912 345 678 hoặc +84912345678, thư a.b@x.vn, CCCD 001234567890."
    assert (
        mask_personal(text)
        == "Gọi [số điện thoại] hoặc [số điện thoại], thư [email], CCCD [số định danh]."
    )


WAVE = """\
survey: hai-long-WAVE
title: Hài lòng đợt WAVE
anonymous: true
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
sign_in: optional
series: hai-long-dot
wave: WAVE
pages:
  - title: Một
    questions:
      - {id: hai-long, type: scale, text: Mức hài lòng, choices: [1, 2, 3, 4, 5]}
"""


def hand_two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return round(math.erfc(abs(z) / math.sqrt(2)), 4)  # two-sided normal p-value


def test_trend_change_is_flagged_only_when_the_test_says_it_is_real(app):
    # Wave 2025: 12 of 40 satisfied (top two); 2026: 26 of 40 (real); 2027: 29 of 40 (not real).
    plan = {2025: (12, 40), 2026: (26, 40), 2027: (29, 40)}
    with app.app_context():
        files = [(f"{w}.yaml", WAVE.replace("WAVE", str(w)).encode()) for w in plan]
        assert all(
            o.ok
            for o in load_files(db.session, files, Actor(unit_code=PROVINCE, is_admin=True), NOW)
        )
        for wave, (top, n) in plan.items():
            row = db.session.scalar(select(Survey).where(Survey.wave == wave))
            defn = survey_definition.definition(db.session, row)
            for i in range(n):
                service.submit(
                    db.session,
                    defn,
                    {"hai-long": 5 if i < top else 2},
                    NOW,
                    user=None,
                    unit=db.session.get(Unit, VI_THANH),
                )
        latest = db.session.scalar(select(Survey).where(Survey.wave == 2027))
        (trend,) = analytics.trends(db.session, latest)
    waves = trend["waves"]
    assert [w["proportion"] for w in waves] == [0.3, 0.65, 0.725]
    assert (
        waves[1]["p_value"] == hand_two_proportion_p(26, 40, 12, 40)
        and waves[1]["real_change"] is True
    )
    assert (
        waves[2]["p_value"] == hand_two_proportion_p(29, 40, 26, 40)
        and waves[2]["real_change"] is False
    )


def test_results_never_load_raw_rows_into_pandas(survey, runner, monkeypatch):
    """The frames pandas gets are aggregates: their size does not grow with the responses."""
    sizes: list[int] = []
    real = analytics.pd.DataFrame

    def spy(data=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        frame = real(data, *args, **kwargs)
        sizes.append(len(frame))
        return frame

    monkeypatch.setattr(analytics.pd, "DataFrame", spy)
    overall(survey, by="unit")
    small = max(sizes)
    demo = ["demo", "responses", "--survey", "hai-long-thu", "--count", "7000"]
    assert runner.invoke(args=demo).exit_code == 0
    sizes.clear()
    overall(survey, by="unit")
    # At most one row per (question, commune, group of one breakdown, item, value) — the cube
    # (app/services/cube.py) keeps each breakdown's counts apart: 103 communes × 3 groups of
    # gioi-tinh (Nam, Nữ, no answer) × (2 + 5 + 3 + 11) values, whatever the number of
    # responses (7,016 here).
    assert 0 < small and max(sizes) <= 103 * 3 * (2 + 5 + 3 + 11) < 7016


def test_a_wave_that_hides_a_commune_shows_neither_its_share_nor_its_n(app):
    # Wave 2025: Ninh Kiều 3 (hidden, and Vị Thanh's 10 with it, as its complement);
    # wave 2026: 10 and 10, both shown.
    plan = {2025: {NINH_KIEU: 3, VI_THANH: 10}, 2026: {NINH_KIEU: 10, VI_THANH: 10}}
    with app.app_context():
        files = [(f"{w}.yaml", WAVE.replace("WAVE", str(w)).encode()) for w in plan]
        assert all(
            o.ok
            for o in load_files(db.session, files, Actor(unit_code=PROVINCE, is_admin=True), NOW)
        )
        for wave, people in plan.items():
            row = db.session.scalar(select(Survey).where(Survey.wave == wave))
            defn = survey_definition.definition(db.session, row)
            for unit, n in people.items():
                for i in range(n):
                    service.submit(
                        db.session,
                        defn,
                        {"hai-long": 5 if i % 2 else 2},
                        NOW,
                        user=None,
                        unit=db.session.get(Unit, unit),
                    )
        latest = db.session.scalar(select(Survey).where(Survey.wave == 2026))
        (trend,) = analytics.trends(db.session, latest, scope=db.session.get(Unit, NINH_KIEU))
    before, after = trend["waves"]
    assert before == {"wave": 2025, "survey": "hai-long-2025", "suppressed": True}
    assert after["n"] == 10 and after["proportion"] == 0.5


SERIES = """\
survey: chi-so-WAVE
title: Chỉ số đợt WAVE
anonymous: true
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
sign_in: optional
series: chi-so
wave: WAVE
scales:
  muc: [Rất không hài lòng, Không hài lòng, Bình thường, Hài lòng, Rất hài lòng]
pages:
  - title: Một
    questions:
      - {id: hai-long, type: scale, scale: muc, text: Mức hài lòng, index: true}
      - {id: dan-chu, type: grid, scale: muc, text: 'Dân biết, dân bàn', rows: [Biết, Bàn]}
"""


def test_the_index_and_each_grid_row_across_waves_with_a_test_for_a_real_change(app):
    from scipy.stats import ttest_ind

    # 40 people a wave. Index: 2 or 3 (37,5) in 2025, 4 or 5 (87,5) in 2026 (real, by Welch's
    # test, checked against scipy on the raw scores); grid row "Biết": 20 → 21 of 40 in the top
    # two (not real); row "Bàn": 10 → 30 of 40 (real).
    def answers(wave: int, i: int) -> dict:
        level = (2 if i % 2 else 3) if wave == 2025 else (4 if i % 2 else 5)
        knows = 21 if wave == 2026 else 20
        debates = 10 if wave == 2025 else 30
        return {
            "hai-long": level,
            "dan-chu": {"1": 4 if i < knows else 2, "2": 5 if i < debates else 1},
        }

    scores: dict[int, list[float]] = {2025: [], 2026: []}
    with app.app_context():
        files = [(f"{w}.yaml", SERIES.replace("WAVE", str(w)).encode()) for w in scores]
        outcomes = load_files(db.session, files, Actor(unit_code=PROVINCE, is_admin=True), NOW)
        assert all(o.ok for o in outcomes)
        for wave in scores:
            row = db.session.scalar(select(Survey).where(Survey.wave == wave))
            defn = survey_definition.definition(db.session, row)
            for i in range(40):
                clean, problems = service.clean_answers(defn, answers(wave, i))
                assert not problems
                service.submit(
                    db.session, defn, clean, NOW, user=None, unit=db.session.get(Unit, VI_THANH)
                )
                scores[wave].append((answers(wave, i)["hai-long"] - 1) / 4 * 100)
        latest = db.session.scalar(select(Survey).where(Survey.wave == 2026))
        found = {t["id"]: t for t in analytics.trends(db.session, latest)}
    assert set(found) == {"index", "hai-long", "dan-chu:1", "dan-chu:2"}
    before, after = found["index"]["waves"]
    assert (before["index"], after["index"]) == (37.5, 87.5)
    assert before["n"] == after["n"] == 40 and len(after["index_ci95"]) == 2
    expected = ttest_ind(scores[2026], scores[2025], equal_var=False).pvalue
    assert after["p_value"] == round(expected, 4) and after["real_change"] is True
    knows = found["dan-chu:1"]
    assert knows["row"] == "Biết" and [w["proportion"] for w in knows["waves"]] == [0.5, 0.525]
    assert knows["waves"][1]["p_value"] == hand_two_proportion_p(21, 40, 20, 40)
    assert knows["waves"][1]["real_change"] is False
    debates = found["dan-chu:2"]["waves"]
    assert [w["proportion"] for w in debates] == [0.25, 0.75]
    assert debates[1]["p_value"] == hand_two_proportion_p(30, 40, 10, 40)
    assert debates[1]["real_change"] is True
