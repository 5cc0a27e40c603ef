"""A person sees, downloads and erases their own data."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Consent, SurveyDraft, SurveyResponse, User
from tests.conftest import PASSWORD, VI_THANH, csrf_token, load_content, set_clock


def test_profile_and_download_show_everything_kept(client, auth, make_user):
    make_user(phone="0987654321", name="Đỗ Thị Hoa")
    auth.login("0987654321")
    page = client.get("/account/").get_data(as_text=True)
    assert "Đỗ Thị Hoa" in page and "0987654321" in page and "Phường Vị Thanh" in page
    download = client.get("/account/data.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    data = json.loads(download.get_data(as_text=True))
    assert data["account"]["name"] == "Đỗ Thị Hoa"
    assert data["account"]["unit"]["code"] == VI_THANH
    assert len(data["consents"]) == 1


def test_delete_page_explains_before_confirming(client, auth, make_user):
    make_user(phone="0987654321")
    auth.login("0987654321")
    page = client.get("/account/delete").get_data(as_text=True)
    assert "placeholder" in page or "ẩn danh" in page
    token = csrf_token(client, "/account/delete")
    unconfirmed = client.post("/account/delete", data={"csrf_token": token})
    assert unconfirmed.status_code == 422
    assert client.get("/account/").status_code == 200  # still there


def test_delete_erases_personal_fields_and_keeps_a_placeholder(app, client, auth, make_user):
    user = make_user(phone="0987654321", name="Đỗ Thị Hoa")
    auth.login("0987654321")
    token = csrf_token(client, "/account/delete")
    response = client.post("/account/delete", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 302  # signed out
    with app.app_context():
        row = db.session.get(User, user.id)
        assert (row.name, row.phone, row.password_hash, row.birth_year, row.gender) == (
            None,
            None,
            None,
            None,
            None,
        )
        assert row.deleted_at is not None and row.unit_code == VI_THANH  # still counted
        assert (
            db.session.scalar(select(func.count(Consent.id)).where(Consent.user_id == user.id)) == 1
        )
    assert auth.login("0987654321").status_code == 401
    # The phone number is free again for a new account.
    make_user(phone="0987654321")


def test_old_session_cookie_dies_with_the_account(app, make_user):
    make_user(phone="0987654321")
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        token = csrf_token(browser, "/auth/login")
        browser.post(
            "/auth/login",
            data={"phone": "0987654321", "password": "mat-khau-thu-nghiem", "csrf_token": token},
        )
        assert browser.get("/account/").status_code == 200
    token = csrf_token(first, "/account/delete")
    first.post("/account/delete", data={"csrf_token": token, "confirm": "y"})
    assert second.get("/account/").status_code == 302


# ------------------------------------------------------------- survey answers in the download

SURVEY_NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
IDENTIFIED = """\
survey: duong-lang
title: Ý kiến về đường làng
anonymous: false
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
scales:
  dong-y: [Không đồng ý, Bình thường, Đồng ý]
pages:
  - title: Một
    questions:
      - {id: duong, type: single, text: Đường làng có tốt không?, choices: [Tốt, Chưa tốt],
         other: true}
      - {id: kenh, type: multiple, text: Kênh nào?, choices: [Loa, Zalo, Báo], other: true}
      - {id: so-lan, type: number, text: Mấy lần?}
      - {id: diem, type: rating, text: Chấm điểm}
      - {id: y-kien, type: text, text: Ý kiến khác}
      - {id: bang, type: grid, scale: dong-y, text: Đánh giá, rows: [Sạch, Sáng]}
"""
DRAFTED = """\
survey: con-do
title: Khảo sát còn dở
anonymous: false
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
pages:
  - title: Một
    questions:
      - {id: hop, type: single, text: Có đi họp không?, choices: [Có, Không]}
  - title: Hai
    questions:
      - {id: gop-y, type: text, text: Góp ý}
"""
ANONYMOUS = """\
survey: an-danh
title: Khảo sát ẩn danh
anonymous: true
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
pages:
  - title: Một
    questions:
      - {id: y-kien, type: text, text: Ý kiến}
"""


def _token(client, phone: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = client.post(
        "/api/v1/auth/token", json={"phone": phone, "password": PASSWORD}
    ).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def answered(app, client, auth, make_user):  # type: ignore[no-untyped-def]
    """Hoa answered the identified survey and the anonymous one, and left a draft of another;
    Lan answered the anonymous survey too."""
    set_clock(app, SURVEY_NOW)
    load_content(
        app, [("a.yaml", IDENTIFIED), ("b.yaml", DRAFTED), ("c.yaml", ANONYMOUS)], SURVEY_NOW
    )
    hoa = make_user(phone="0987654321", name="Đỗ Thị Hoa")
    make_user(phone="0987654322", name="Lê Thị Lan")
    for phone, secret in (("0987654321", "bí mật của Hoa"), ("0987654322", "bí mật của Lan")):
        sent = client.post(
            "/api/v1/surveys/an-danh/responses",
            headers=_token(client, phone),
            json={"answers": {"y-kien": secret}},
        )
        assert sent.status_code == 201
    sent = client.post(
        "/api/v1/surveys/duong-lang/responses",
        headers=_token(client, "0987654321"),
        json={
            "answers": {
                "duong": {"other": "Lầy lội"},
                "kenh": {"choices": [1, 3], "other": "Nhà văn hoá"},
                "so-lan": 2,
                "diem": 7,
                "y-kien": "Cần đèn đường",
                "bang": {"1": 3, "2": 1},
            }
        },
    )
    assert sent.status_code == 201
    auth.login("0987654321")
    token = csrf_token(client, "/surveys/con-do/page/0")
    client.post(
        "/surveys/con-do/page/0", data={"csrf_token": token, "action": "next", "a-hop": "2"}
    )
    return hoa


def test_download_holds_identified_answers_and_drafts_but_no_anonymous_answer(
    app, client, answered
):
    download = client.get("/account/data.json")
    body = download.get_data(as_text=True)
    data = json.loads(body)

    [response] = data["survey_responses"]
    assert response["survey"] == "Ý kiến về đường làng"
    assert response["submitted_on"] == "2026-12-10"
    answers = {a["question"]: a for a in response["answers"]}
    assert answers["duong"]["text"] == "Đường làng có tốt không?"
    assert answers["duong"]["answer"] == "Lầy lội"
    assert answers["kenh"]["answer"] == ["Loa", "Báo", "Nhà văn hoá"]
    assert answers["kenh"]["value"] == {"choices": [1, 3], "other": "Nhà văn hoá"}
    assert answers["so-lan"]["answer"] == 2
    assert answers["diem"]["answer"] == 7
    assert answers["y-kien"]["answer"] == "Cần đèn đường"
    assert answers["bang"]["answer"] == {"Sạch": "Đồng ý", "Sáng": "Không đồng ý"}

    [draft] = data["survey_drafts"]
    assert draft["survey"] == "Khảo sát còn dở"
    assert draft["answers"] == [
        {"question": "hop", "text": "Có đi họp không?", "value": 2, "answer": "Không"}
    ]

    # The anonymous survey: only that Hoa answered it, never what (hers or anyone's).
    assert data["anonymous_surveys"] == [{"survey": "Khảo sát ẩn danh", "answered": True}]
    assert "bí mật" not in body
    assert "Khảo sát ẩn danh" not in json.dumps(data["survey_responses"], ensure_ascii=False)


def test_deleting_the_account_deletes_its_drafts_and_keeps_counted_responses(app, client, answered):
    token = csrf_token(client, "/account/delete")
    assert client.post("/account/delete", data={"csrf_token": token, "confirm": "y"}).status_code
    with app.app_context():
        drafts = db.session.scalar(select(func.count()).select_from(SurveyDraft))
        assert drafts == 0
        # Identified responses stay counted, under the placeholder (docs/architecture.md).
        kept = db.session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.user_id == answered.id)
        )
        assert kept == 1
