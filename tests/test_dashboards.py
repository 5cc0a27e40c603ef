"""Leaders' result pages: charts with their tables, exports equal to the tables, scope."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import SurveyResponse
from tests.conftest import NINH_KIEU, VI_THANH
from tests.test_analytics import (  # noqa: F401  (the fixed data set)
    CAI_KHE,
    hand_wilson,
    survey,
)

URL = "/results/hai-long-thu"


def test_the_dashboard_draws_charts_from_data_blocks(survey, client, auth, make_user):  # noqa: F811
    make_user(role="leader", phone="0911111111")
    auth.login("0911111111")
    response = client.get(URL, query_string={"by": "unit"})
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
    assert "Phường Vị Thanh" in page
    assert (
        page.count("ẩn: ít hơn 5") + page.count("hidden: fewer than 5") >= 2
    )  # Ninh Kiều and Cái Khế
    import plotly

    script = client.get(f"/vendor/plotly-{plotly.__version__}.min.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    script.close()


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
    assert (
        "37.5" in page and f"{round(low, 3)}–{round(high, 3)}" in page
    )  # the same figures in the page


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
    assert "7 responses" in page and "16" not in page
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
