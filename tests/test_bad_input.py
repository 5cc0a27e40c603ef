"""Numbers from outside (issue 13): every one parsed once, bounded, a 4xx with the field named,
never a 500 — on pages, API and CLI alike."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.errors import DomainError
from app.extensions import db
from app.models import Attempt, Round, Survey, SurveyPending, SurveyResponse
from app.parse import ID_MAX, bounded_int, decimal_number, optional_int
from app.services import survey_definition
from app.services import surveys as survey_service
from tests.conftest import PASSWORD, PROVINCE, VI_THANH, csrf_token, load_content, set_clock
from tests.test_attempts import CONTEST, START, bank_yaml
from tests.test_surveys import FULL, NOW

HUGE = "9" * 5000
TWENTY = "9" * 20
ODD = ["²", "١٢", "１２", "--5", "+-1", "1e3", "0x10", "1_000", " ", "", HUGE]

# ---------------------------------------------------------------------------- app/parse.py


@pytest.mark.parametrize(
    "text, expected",
    [("12", 12), (" 7 ", 7), ("0", 0), ("-3", -3), ("2147483647", ID_MAX), (12, 12)],
)
def test_bounded_int_reads_plain_ascii_digits(app, text, expected):
    with app.test_request_context():
        assert bounded_int(text, -10, ID_MAX, "n") == expected


@pytest.mark.parametrize("text", [*ODD, "2147483648", "-11", True, 1.5, None, [1]])
def test_bounded_int_refuses_with_the_field_named(app, text):
    with app.test_request_context(), pytest.raises(DomainError) as caught:
        bounded_int(text, -10, ID_MAX, "days")
    assert caught.value.field == "days" and caught.value.status == 400


def test_optional_int_is_none_only_when_empty(app):
    with app.test_request_context():
        assert optional_int("", 1, 9, "n") is None
        assert optional_int(None, 1, 9, "n") is None
        with pytest.raises(DomainError):
            optional_int("²", 1, 9, "n")


@pytest.mark.parametrize(
    "text, expected",
    [("12,5", 12.5), ("12.5", 12.5), ("-0.25", -0.25), ("7", 7.0), (3, 3.0), (2.5, 2.5)],
)
def test_decimal_number_accepts_comma_and_point(text, expected):
    assert decimal_number(text) == expected


@pytest.mark.parametrize(
    "value",
    [*ODD, "1,2,3", "1.2.3", "nan", "inf", "1e400", 10**400, float("nan"), float("inf"), True],
)
def test_decimal_number_refuses_what_is_not_a_plain_number(value):
    assert decimal_number(value) is None


# ---------------------------------------------------------------------------- survey values


@pytest.fixture
def surveys(app):  # type: ignore[no-untyped-def]
    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL)], NOW)
    return app


@pytest.mark.parametrize(
    "key, value",
    [
        ("gioi-tinh", "--5"),
        ("gioi-tinh", "²"),
        ("gioi-tinh", HUGE),
        ("gioi-tinh", 10**400),
        ("so-lan", "--5"),
        ("so-lan", "²"),
        ("so-lan", HUGE),
        ("so-lan", 10**400),
        ("chi-phi", 10**400),
        ("chi-phi", "1e400"),
        ("kenh", ["²"]),
        ("kenh", [10**400]),
        ("danh-gia-chi-tiet", {"²": 1}),
        ("danh-gia-chi-tiet", {"1": "²"}),
        ("danh-gia-chi-tiet", {HUGE: 1}),
    ],
)
def test_odd_survey_values_are_a_problem_not_a_crash(surveys, key, value):
    with surveys.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == "hai-long-chinh-quyen-2026"))
        q = survey_definition.definition(db.session, survey).by_key[key]
        stored, problem = survey_service.check_value(q, value)
    assert stored is None and problem is not None and problem.key == key


@pytest.mark.parametrize("value", ["--5", "²", HUGE, 10**400])
def test_survey_api_odd_numbers_are_422_without_signing_in(surveys, client, value):
    response = client.post(
        "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
        json={"unit": VI_THANH, "answers": {"so-lan": value, "gioi-tinh": value}},
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert {d["question"] for d in response.get_json()["error"]["details"]} >= {"so-lan"}


@pytest.mark.parametrize("unit", [10**400, 10**30, -(10**30), "²"])
def test_survey_api_odd_unit_is_422_with_the_field_named(surveys, client, unit):
    response = client.post(
        "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
        json={"unit": unit, "answers": {}},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "unit"


@pytest.mark.parametrize("unit", ["²", "9" * 30, "-1"])
def test_anonymous_survey_page_with_an_odd_unit_asks_for_the_commune(surveys, client, unit):
    token = csrf_token(client, "/surveys/hai-long-chinh-quyen-2026")
    response = client.post(
        "/surveys/hai-long-chinh-quyen-2026/page/0",
        data={"csrf_token": token, "action": "start", "unit": unit},
    )
    assert response.status_code in (302, 400)
    assert response.status_code < 500
    with surveys.app_context():
        pending = db.session.scalar(select(func.count()).select_from(SurveyPending))
        stored = db.session.scalar(select(func.count()).select_from(SurveyResponse))
        assert pending == stored == 0


def test_progress_extend_with_odd_days_is_400_and_changes_nothing(surveys, client, auth, make_user):
    make_user(role="officer", phone="0911111111", unit=PROVINCE)
    auth.login("0911111111")
    with surveys.app_context():
        before = db.session.scalar(
            select(Survey.closes_at).where(Survey.slug == "hai-long-chinh-quyen-2026")
        )
    url = "/surveys/hai-long-chinh-quyen-2026/progress"
    for days in ["²", HUGE, "-3", "1e3"]:
        token = csrf_token(client, url)
        response = client.post(url, data={"csrf_token": token, "action": "extend", "days": days})
        assert response.status_code == 400, days
        assert "days" in response.get_data(as_text=True) or "ngày" in response.get_data(
            as_text=True
        )
    with surveys.app_context():
        after = db.session.scalar(
            select(Survey.closes_at).where(Survey.slug == "hai-long-chinh-quyen-2026")
        )
    assert after == before


# ---------------------------------------------------------------------------- contests


@pytest.fixture
def rounds(app):  # type: ignore[no-untyped-def]
    set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        return {r.key: r.id for r in db.session.scalars(select(Round))}


@pytest.fixture
def attempt_page(client, auth, rounds, make_user):  # type: ignore[no-untyped-def]
    make_user(phone="0987654321")
    auth.login("0987654321")
    token = csrf_token(client, f"/contests/rounds/{rounds['tuan-1']}")
    started = client.post(f"/contests/rounds/{rounds['tuan-1']}/start", data={"csrf_token": token})
    return started.headers["Location"]


@pytest.mark.parametrize("seq", ["²", "9" * 25, "-1", HUGE])
def test_attempt_page_odd_seq_is_400_and_keeps_the_saved_answer(app, client, attempt_page, seq):
    token = csrf_token(client, attempt_page)
    client.post(attempt_page, data={"csrf_token": token, "seq-1": "0", "q-1": "B"})
    response = client.post(attempt_page, data={"csrf_token": token, "seq-1": seq, "q-1": "C"})
    assert response.status_code == 400
    with app.app_context():
        attempt = db.session.scalar(select(Attempt))
        item = attempt.questions[0]
        assert item.selected == [item.choice_order[1]]  # B is kept


@pytest.mark.parametrize("prediction", ["²", HUGE, "-5", "1e3", "10000001"])
def test_attempt_page_odd_prediction_is_refused_and_the_attempt_stays_open(
    app, client, attempt_page, prediction
):
    token = csrf_token(client, attempt_page)
    response = client.post(
        attempt_page,
        data={"csrf_token": token, "action": "submit", "prediction": prediction, "seq-1": "0"},
    )
    assert 400 <= response.status_code < 500
    assert "dự đoán" in response.get_data(as_text=True).lower()
    with app.app_context():
        assert db.session.scalar(select(Attempt.state)) == "open"


def test_attempt_page_prediction_with_thousands_separators_is_read(app, client, attempt_page):
    token = csrf_token(client, attempt_page)
    response = client.post(
        attempt_page,
        data={"csrf_token": token, "action": "submit", "prediction": "1.250", "confirmed": "1"},
    )  # every question blank: confirmed, as on the confirmation page
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Attempt.prediction)) == 1250


@pytest.mark.parametrize(
    "path",
    [
        f"/contests/rounds/{TWENTY}",
        f"/contests/rounds/{TWENTY}/ranking",
        f"/contests/attempts/{TWENTY}",
        f"/api/v1/rounds/{TWENTY}/leaderboard",
        f"/api/v1/rounds/{TWENTY}/units",
        f"/api/v1/attempts/{TWENTY}",
        f"/contests/rounds/{2**31}",
    ],
)
def test_huge_ids_in_paths_are_404(client, rounds, make_user, path):
    make_user(phone="0987654321")
    token = client.post(
        "/api/v1/auth/token", json={"phone": "0987654321", "password": PASSWORD}
    ).get_json()["token"]
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query, field",
    [
        ("unit=-6226920771919149300449280", "unit"),
        (f"offset={TWENTY}", "offset"),
        (f"unit={TWENTY}", "unit"),
        ("unit=²", "unit"),
        (f"limit={TWENTY}", "limit"),
    ],
)
def test_leaderboard_odd_query_is_400_with_the_field_named(client, rounds, query, field):
    response = client.get(f"/api/v1/rounds/{rounds['tuan-1']}/leaderboard?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and error["details"][0]["field"] == field


@pytest.mark.parametrize("query", [f"page={TWENTY}", "page=²", f"unit={TWENTY}", "unit=-1"])
def test_ranking_page_odd_query_is_400(client, rounds, query):
    response = client.get(f"/contests/rounds/{rounds['tuan-1']}/ranking?{query}")
    assert response.status_code == 400


@pytest.mark.parametrize("body", [{"seq": 10**400}, {"seq": "²"}, {"seq": TWENTY}])
def test_api_answer_odd_seq_is_422(client, rounds, make_user, body):
    make_user(phone="0987654321")
    token = client.post(
        "/api/v1/auth/token", json={"phone": "0987654321", "password": PASSWORD}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    attempt = client.post(f"/api/v1/rounds/{rounds['tuan-1']}/attempts", headers=headers)
    response = client.put(
        f"/api/v1/attempts/{attempt.get_json()['id']}/answers/1",
        json={"choices": ["A"], **body},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "seq"


def test_an_answer_without_seq_after_the_largest_seq_is_kept_not_a_500(
    app, client, rounds, make_user
):
    """Found by the API fuzz on PostgreSQL: seq 2**31-1, then a write without seq → seq + 1
    overflowed the column (integer out of range, a 500)."""
    make_user(phone="0987654321")
    token = client.post(
        "/api/v1/auth/token", json={"phone": "0987654321", "password": PASSWORD}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    attempt = client.post(f"/api/v1/rounds/{rounds['tuan-1']}/attempts", headers=headers)
    url = f"/api/v1/attempts/{attempt.get_json()['id']}/answers/1"
    first = client.put(url, json={"choices": ["A"], "seq": ID_MAX}, headers=headers)
    assert first.status_code == 200
    again = client.put(url, json={"choices": ["B"]}, headers=headers)
    assert again.status_code == 200, again.get_data(as_text=True)[:300]
    with app.app_context():
        item = db.session.scalar(select(Attempt)).questions[0]
        assert item.seq == ID_MAX and item.selected == [item.choice_order[1]]


@pytest.mark.parametrize("unit", [10**400, 10**20])
def test_register_with_a_huge_unit_is_422(client, unit):
    response = client.post(
        "/api/v1/auth/register",
        json={
            "name": "Nguyễn Văn Thử",
            "phone": "0912345678",
            "password": PASSWORD,
            "unit": unit,
            "consent": True,
        },
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "unit"


def test_openapi_documents_what_bad_input_can_cause(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, operations in paths.items():
        for method, op in operations.items():
            statuses = set(op["responses"])
            if "{" in path:
                assert "404" in statuses, (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= statuses, (method, path)
            if any(p["in"] == "query" for p in op.get("parameters", [])):
                assert "400" in statuses, (method, path)
            if op.get("security") and method != "get":  # X-CSRFToken missing: 400
                assert "400" in statuses, (method, path)
    leaderboard = paths["/api/v1/rounds/{round_id}/leaderboard"]["get"]["parameters"]
    schemas = {p["name"]: p["schema"] for p in leaderboard}
    assert schemas["round_id"] == {"type": "integer", "minimum": 0, "maximum": ID_MAX}


def test_a_refused_number_on_a_page_is_in_vietnamese_with_a_way_back(
    surveys, client, auth, make_user
):
    make_user(role="officer", phone="0911111111", unit=PROVINCE)
    auth.login("0911111111")
    url = "/surveys/hai-long-chinh-quyen-2026/progress"
    token = csrf_token(client, url)
    page = client.post(url, data={"csrf_token": token, "action": "extend", "days": "²"})
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "Gia hạn thêm (ngày): vui lòng nhập một số nguyên từ 1 đến 365." in text
    assert f'href="{url}"' in text


# ---------------------------------------------------------------------------- re-publishing


CONTEST_WITHOUT_ROUND_2 = CONTEST.split("  - id: tuan-2")[0]


def test_republishing_without_a_round_that_has_attempts_is_refused(
    app, client, rounds, make_user, runner, tmp_path
):
    make_user(phone="0987654321")
    resident = client.post(
        "/api/v1/auth/token", json={"phone": "0987654321", "password": PASSWORD}
    ).get_json()["token"]
    client.post(
        f"/api/v1/rounds/{rounds['tuan-2']}/attempts",
        headers={"Authorization": f"Bearer {resident}"},
    )
    make_user(role="officer", phone="0911111111", unit=PROVINCE)
    officer = client.post(
        "/api/v1/auth/token", json={"phone": "0911111111", "password": PASSWORD}
    ).get_json()["token"]
    response = client.post(
        "/api/v1/contests",
        data=CONTEST_WITHOUT_ROUND_2.encode(),
        headers={"Authorization": f"Bearer {officer}", "Content-Type": "application/yaml"},
    )
    assert response.status_code == 409, response.get_data(as_text=True)[:500]
    assert "tuan-2" in response.get_json()["error"]["message"]
    path = tmp_path / "c.yaml"
    path.write_text(CONTEST_WITHOUT_ROUND_2, encoding="utf-8")
    result = runner.invoke(args=["content", "load", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "tuan-2" in result.output and "Traceback" not in result.output
    with app.app_context():
        assert {r.key for r in db.session.scalars(select(Round))} == {"tuan-1", "tuan-2"}
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1


# ------------------------------------------------------------------------ the dashboards' unit


@pytest.mark.parametrize("unit", ["²", "١٢", "99999999999999999999", "-1", "1e3", "%2B5"])
def test_a_results_page_s_unit_is_parsed_like_every_number(surveys, client, auth, make_user, unit):
    make_user(role="officer", phone="0911111111", unit=PROVINCE)
    auth.login("0911111111")
    assert client.get(f"/results/hai-long-chinh-quyen-2026?unit={unit}").status_code == 400
