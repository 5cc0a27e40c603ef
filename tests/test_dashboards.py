"""Leaders' result pages: charts with their tables, exports equal to the tables, scope."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import statistics
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.formats import percent
from app.models import Survey, SurveyResponse, Unit
from app.services import demo_responses, survey_definition
from app.services import surveys as service
from tests.conftest import NINH_KIEU, VI_THANH, load_content, set_clock
from tests.test_analytics import (  # noqa: F401  (the fixed data set)
    CAI_KHE,
    DATA,
    NOW,
    SATISFACTION,
    hand_wilson,
    survey,
)

URL = "/results/hai-long-thu"


def test_the_dashboard_draws_charts_from_data_blocks(survey, client, auth, make_user):  # noqa: F811
    make_user(role="leader", phone="0911111111")
    auth.login("0911111111")
    response = client.get(URL)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    blocks = re.findall(
        r'<script type="application/json" id="fig-([^"]+)">(.*?)</script>', page, re.S
    )
    assert {name for name, _data in blocks} >= {"hai-long", "kenh", "diem"}
    assert "Chỉ số hài lòng" in page or "Satisfaction index" in page
    figure = json.loads(dict(blocks)["hai-long"])
    assert figure["layout"]["barmode"] == "relative" and figure["data"][0]["orientation"] == "h"
    assert "<script>" not in page and "cdn" not in page.lower()
    page = client.get(URL, query_string={"by": "unit"}).get_data(as_text=True)
    assert "Phường Vị Thanh" in page
    assert (
        page.count("ẩn: ít hơn 5") + page.count("hidden: fewer than 5") >= 2
    )  # Ninh Kiều and Cái Khế
    from app.plotly_assets import plotly_version

    script = client.get(f"/vendor/plotly-{plotly_version()}.min.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    assert script.cache_control.max_age == 365 * 24 * 3600
    script.close()
    # From memory, never a file stream: a phone that leaves mid-download leaves no file open.
    with survey.test_request_context():
        assert survey.view_functions["main.plotly"](plotly_version()).is_sequence


def test_exports_equal_the_tables(survey, client, auth, make_user):  # noqa: F811
    make_user(role="leader", phone="0911111111")
    auth.login("0911111111")
    text = client.get(f"{URL}/results.csv").get_data(as_text=True).lstrip("\ufeff")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:3] == ["Câu hỏi", "Mã câu hỏi", "Nhóm"]  # Vietnamese, then the ids
    assert lines[1][:3] == ["question_text", "question", "group"]
    rows = [dict(zip(lines[1], line, strict=True)) for line in lines[2:]]
    satisfied = [r for r in rows if r["question"] == "hai-long" and r["value"] == "Hài lòng"]
    low, high = hand_wilson(6, 16)
    assert len(satisfied) == 1
    (row,) = satisfied
    assert row["question_text"] and row["question_text"] != "hai-long"  # the question's text
    figures = (row["group"], row["n"], row["count"], row["proportion"])
    assert figures == ("Tất cả", "16", "6", "0.375")
    assert float(row["ci_low"]) == pytest.approx(low, abs=1e-6)  # a decimal point: programs
    assert float(row["ci_high"]) == pytest.approx(high, abs=1e-6)
    book = load_workbook(io.BytesIO(client.get(f"{URL}/results.xlsx").data))
    cells = list(book.active.iter_rows())
    assert [[c.value for c in line] for line in cells[:2]] == lines[:2]
    assert len(cells) == len(lines)
    found = dict(zip(lines[1], cells[2 + rows.index(row)], strict=True))
    # For Excel: number cells with formats (shown "37,5%" on a Vietnamese Windows).
    assert (found["n"].value, found["n"].number_format) == (16, "#,##0")
    assert (found["proportion"].value, found["proportion"].number_format) == (0.375, "0.0%")
    assert found["ci_low"].value == pytest.approx(low) and found["ci_low"].number_format == "0.0%"
    page = client.get(URL).get_data(as_text=True)
    # the same figures in the page, as a Vietnamese reader writes them
    assert "37,5%" in page and f"{percent(low)}–{percent(high)}" in page


def test_scope_and_the_raw_export_rules(survey, client, auth, make_user):  # noqa: F811
    make_user(role="officer", phone="0911111112", unit=VI_THANH)
    auth.login("0911111112")
    assert client.get(URL, query_string={"unit": NINH_KIEU}).status_code == 403
    assert "7" in client.get(URL).get_data(as_text=True)
    assert client.get(f"{URL}/responses.csv").status_code == 403  # anonymous: province scope only
    auth.logout()
    make_user(role="officer", phone="0911111113")
    auth.login("0911111113")
    raw = client.get(f"{URL}/responses.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(raw)))
    assert len(rows) == 18 and rows[1][:4] == ["response", "unit", "day", "signed_in"]
    units = {r[1] for r in rows[2:]}
    # Ninh Kiều (3) generalised, and Cái Khế (6) with it, as the results hide both.
    assert units == {"Phường Vị Thanh", "Thành phố Cần Thơ"}
    auth.logout()
    make_user(role="leader", phone="0911111114")
    auth.login("0911111114")
    assert client.get(f"{URL}/responses.csv").status_code == 403  # officers only
    make_user(phone="0987654321")
    auth.logout()
    auth.login("0987654321")
    assert client.get(URL).status_code == 403


def test_demo_responses_are_marked_and_removable(survey, runner):  # noqa: F811
    result = runner.invoke(args=["demo", "responses", "--survey", "hai-long-thu", "--count", "300"])
    assert result.exit_code == 0, result.output
    with survey.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(SurveyResponse)
                .where(SurveyResponse.demo.is_(True))
            )
            == 300
        )
    result = runner.invoke(args=["demo", "responses", "--remove"])
    assert "300 demo responses removed" in result.output
    with survey.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 16
        )  # the real ones stay


def leader_of(client, auth, make_user, unit=None, role="leader"):  # type: ignore[no-untyped-def]
    make_user(role=role, phone="0911111115", **({"unit": unit} if unit else {}))
    auth.login("0911111115")


def test_a_commune_hidden_by_unit_is_hidden_when_asked_for_alone(survey, client, auth, make_user):  # noqa: F811
    # Ninh Kiều (3) is small and Cái Khế (6) hidden as its complement in `?by=unit`; showing
    # `?unit=` Cái Khế would give Ninh Kiều = all − Vị Thanh − Cái Khế.
    leader_of(client, auth, make_user)
    for unit in (CAI_KHE, NINH_KIEU):
        page = client.get(URL, query_string={"unit": unit, "lang": "en"}).get_data(as_text=True)
        assert "are hidden" in page and "responses in" not in page
        api = client.get(f"/api/v1/surveys/hai-long-thu/results?unit={unit}").get_json()
        assert api["suppressed"] is True and "n" not in api and api["questions"] == []
        assert api["message"]
        text = client.get(f"{URL}/results.csv", query_string={"unit": unit}).get_data(as_text=True)
        lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        n_at = lines[1].index("n")
        assert len(lines) > 2 and all(not row[n_at] for row in lines[2:])
    shown = client.get("/api/v1/surveys/hai-long-thu/results", query_string={"unit": VI_THANH})
    assert shown.get_json()["n"] == 7


def test_progress_hides_the_counts_of_communes_the_results_hide(survey, client, auth, make_user):  # noqa: F811
    leader_of(client, auth, make_user, role="officer")
    page = client.get("/surveys/hai-long-thu/progress?lang=en").get_data(as_text=True)
    cells = dict(re.findall(r"<td>(Phường [^<]+)</td><td class=\"text-end\">(.*?)</td>", page))
    assert cells["Phường Vị Thanh"] == "7"
    for name in ("Phường Ninh Kiều", "Phường Cái Khế"):  # 3, and 6 as its complement
        assert "hidden" in cells[name] and not re.search(r"\d", cells[name])


def test_the_results_list_counts_within_the_readers_unit(survey, client, auth, make_user):  # noqa: F811
    leader_of(client, auth, make_user, unit=VI_THANH, role="officer")
    page = client.get("/results/?lang=en").get_data(as_text=True)
    shown = re.sub(r"<[^>]+>", " ", page)  # what a reader sees (a CSRF token may hold "16")
    assert "7 responses" in shown and "16" not in shown
    auth.logout()
    make_user(role="leader", phone="0911111116", unit=NINH_KIEU)
    auth.login("0911111116")
    page = client.get("/results/?lang=en").get_data(as_text=True)
    assert "3 responses" not in page and "responses hidden" in page


def test_bad_unit_or_breakdown_is_a_clear_4xx(survey, client, auth, make_user):  # noqa: F811
    leader_of(client, auth, make_user)
    for query, status in (
        ({"unit": "abc"}, 400),
        ({"unit": "99999999999999999999"}, 400),
        ({"unit": "1"}, 404),
        ({"by": "hai-long"}, 400),
    ):
        response = client.get(URL, query_string=query | {"lang": "en"})
        assert response.status_code == status, query
        if status == 400:
            assert "digits" in response.get_data(as_text=True) or "Break down" in (
                response.get_data(as_text=True)
            )
    # A commune × a demographic breakdown, with an empty group in the index table: no 500.
    assert client.get(URL, query_string={"unit": VI_THANH, "by": "gioi-tinh"}).status_code == 200
    for unit in ("abc", "99999999999999999999", "-1"):
        api = client.get(f"/api/v1/surveys/hai-long-thu/results?unit={unit}")
        assert api.status_code == 400 and api.get_json()["error"]["details"], unit


def test_an_officer_of_one_commune_sees_no_figure_of_another(survey, client, auth, make_user):  # noqa: F811
    leader_of(client, auth, make_user, unit=VI_THANH, role="officer")
    others = ("Ninh Kiều", "Cái Khế")
    for by in ("all", "unit", "gioi-tinh"):
        page = client.get(URL, query_string={"by": by}).get_data(as_text=True)
        assert not any(name in page for name in others)
        text = client.get(f"{URL}/results.csv", query_string={"by": by}).get_data(as_text=True)
        assert not any(name in text for name in others)
        api = client.get("/api/v1/surveys/hai-long-thu/results", query_string={"by": by})
        assert api.get_json()["n"] == 7
        assert not any(name in api.get_data(as_text=True) for name in others)
    for path in (URL, f"{URL}/results.csv", f"{URL}/results.xlsx", f"{URL}/responses.csv"):
        assert client.get(path, query_string={"unit": NINH_KIEU}).status_code == 403
    assert client.get("/api/v1/surveys/hai-long-thu/results?unit=31135").status_code == 403
    progress = client.get("/surveys/hai-long-thu/progress").get_data(as_text=True)
    assert not any(name in progress for name in others)


# ------------------------------------------------- issue 14: every breakdown, headline, weight

SAMPLES = sorted(Path(__file__).resolve().parent.parent.glob("surveys/*.yaml"))
ENGLISH_DECIMAL = re.compile(r"\d\.\d")


def breakdowns(app, slug: str) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.scalar(select(Survey).where(Survey.slug == slug))
        defn = survey_definition.definition(db.session, row)
        return ["all", "unit", *[q.key for q in defn.questions if q.demographic]]


def visible_text(page: str) -> str:
    """What a reader sees: the page without its scripts, data blocks and tags."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


@pytest.fixture
def samples(app):  # type: ignore[no-untyped-def]
    """The sample surveys with 30 real answers in two communes, every one a man under 30 and a
    farmer: most groups of every demographic breakdown have no answers at all."""
    set_clock(app, NOW)
    load_content(app, [(p.name, p.read_text(encoding="utf-8")) for p in SAMPLES], NOW)
    rng = random.Random(14)
    with app.app_context():
        for row in db.session.scalars(select(Survey)).all():
            defn = survey_definition.definition(db.session, row)
            for i in range(30):
                values = {}
                for q in defn.questions:
                    value = demo_responses._answer(q, 0.6, rng)
                    if value is not None:
                        values[q.key] = value
                values |= {"gioi-tinh": 1, "do-tuoi": 1, "nghe-nghiep": 1}
                values = {
                    k: v for k, v in values.items() if k in service.visible_keys(defn, values)
                }
                clean, problems = service.clean_answers(defn, values)
                assert not problems, problems
                unit = db.session.get(Unit, VI_THANH if i < 18 else NINH_KIEU)
                service.submit(db.session, defn, clean, NOW, user=None, unit=unit)
    return app


def test_every_breakdown_of_every_sample_survey_renders(samples, client, auth, make_user):
    leader_of(client, auth, make_user)
    seen = 0
    for path in SAMPLES:
        slug = path.stem
        for unit in (None, VI_THANH):
            for by in breakdowns(samples, slug):
                query = {"by": by} | ({"unit": unit} if unit else {})
                response = client.get(f"/results/{slug}", query_string=query)
                assert response.status_code == 200, (slug, query)
                text = visible_text(response.get_data(as_text=True))
                assert not ENGLISH_DECIMAL.search(text), (
                    slug,
                    query,
                    ENGLISH_DECIMAL.findall(text),
                )
                seen += 1
    assert seen == 2 * (5 + 2)  # the satisfaction survey has three demographic questions


def test_the_headline_gives_the_index_and_percent_satisfied_in_vietnamese(
    survey,  # noqa: F811
    client,
    auth,
    make_user,
):
    leader_of(client, auth, make_user)
    scores = [(v - 1) / 4 * 100 for v in SATISFACTION]
    mean = statistics.mean(scores)
    half = 1.959963984540054 * statistics.stdev(scores) / math.sqrt(len(scores))
    index = f"{mean:.1f}".replace(".", ",")
    ci = f"{mean - half:.1f}–{mean + half:.1f}".replace(".", ",")
    satisfied = f"{sum(v >= 4 for v in SATISFACTION) / len(SATISFACTION) * 100:.1f}%"
    for by in ("all", "unit", "gioi-tinh"):  # the whole scope's figure, whatever the breakdown
        page = client.get(URL, query_string={"by": by}).get_data(as_text=True)
        headline = page.split('aria-label="Các số liệu chính"')[1].split("</section>")[0]
        assert index in headline and ci in headline, by
        assert satisfied.replace(".", ",") in headline
    # A commune's page: that commune's own figures (Vị Thanh: 7 people).
    page = client.get(URL, query_string={"unit": VI_THANH}).get_data(as_text=True)
    own = [(v - 1) / 4 * 100 for unit, _g, v, _c in DATA if unit == VI_THANH]
    headline = page.split('aria-label="Các số liệu chính"')[1].split("</section>")[0]
    assert f"{statistics.mean(own):.1f}".replace(".", ",") in headline
    assert "n = 7" in headline


def test_every_breakdown_stays_light_with_many_communes(samples, client, auth, make_user, runner):
    slug = "hai-long-chinh-quyen-2026"
    demo = ["demo", "responses", "--survey", slug, "--count", "3000"]
    assert runner.invoke(args=demo).exit_code == 0
    leader_of(client, auth, make_user)
    for by in breakdowns(samples, slug):
        response = client.get(f"/results/{slug}", query_string={"by": by})
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert len(response.data) < 300_000, (by, len(response.data))
        if by == "unit":
            blocks = re.findall(r'<script type="application/json" id="fig-([^"]+)"', page)
            assert blocks == ["index"]  # the communes' ranking: one chart
            assert page.count("<tr") < 150  # one row per commune, no question tables
            picker = page.split("data-unit-picker")[1].split("</select>")[0]
            assert picker.count("<option") > 50  # every commune answered: pick one
    # Typed without JavaScript, the search step stays on the communes' page and offers them.
    found = client.get(
        f"/results/{slug}", query_string={"unit_q": "vi thanh", "unit_search": "1"}
    ).get_data(as_text=True)
    assert 'value="31321"' in found and "fig-index" in found and "fig-tiep-can" not in found
    assert re.search(r'type="radio"[^>]*value="31321"', found)
    # The picker's choice is the commune's own page, with its tables.
    page = client.get(f"/results/{slug}", query_string={"unit": VI_THANH}).get_data(as_text=True)
    assert "fig-tiep-can-thong-tin" in page


def test_a_result_that_names_a_retired_question_is_read_without_it(survey, monkeypatch):  # noqa: F811
    """Results read from a replica that lags behind the primary (DATABASE_READ_URL), or kept
    under a stamp, may name a question the survey's current definition has retired: the page,
    the export and the brief show the questions they know, never a 500."""
    from app.dashboards.views import sections
    from app.services import analytics, brief, result_exports

    with survey.app_context():
        row = db.session.scalar(select(Survey))
        province = db.session.get(Unit, 92)
        real = analytics.results(db.session, row, scope=province)
        ghost = {**real["questions"][0], "id": "cau-hoi-da-bo"}
        lagging = {**real, "questions": [*real["questions"], ghost]}
        defn = survey_definition.definition(db.session, row)
        shown = [s["question"].key for s in sections(defn, lagging)]
        assert "cau-hoi-da-bo" not in shown and shown
        monkeypatch.setattr(analytics, "results", lambda *a, **k: lagging)
        exported = result_exports.table(db.session, row, province)
        assert exported.rows and all("cau-hoi-da-bo" not in map(str, r) for r in exported.rows)
        assert isinstance(brief.least_satisfied(lagging, row, db.session), list)
