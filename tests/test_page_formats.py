"""Every number, percentage, duration and time a person reads goes through app/formats.py, on
the clock of the contest or survey: one test per family of pages (contests, surveys, officers'
and account pages)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select, update

from app import formats
from app.extensions import db
from app.models import Attempt, Contest, Survey, Unit, User
from app.services import survey_definition
from app.services import surveys as service
from tests.conftest import PROVINCE, VI_THANH, csrf_token, load_content, set_clock
from tests.test_ranking import AFTER, add_attempt, clock, officer, rounds, set_population  # noqa: F401 (fixtures)
from tests.test_surveys import IDENTIFIED, NOW

TOKYO = "Asia/Tokyo"  # not the default zone: UTC+9, two hours ahead of Vietnam


def text_of(page: str) -> str:
    """The page as a person reads it: tags out, spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_contest_pages_read_vietnamese_numbers_in_the_contest_s_time_zone(
    app,
    client,
    auth,
    clock,  # noqa: F811
    rounds,  # noqa: F811
    make_user,
):
    with app.app_context():
        db.session.execute(update(Contest).values(timezone=TOKYO))
        db.session.commit()
    set_population(app, {VI_THANH: 12_345})
    me = make_user(phone="0987654321", name="Trần Văn Dự")
    attempt = add_attempt(
        app, rounds["entries"], me.id, score=5, duration_ms=13_598, prediction=1_234
    )
    auth.login("0987654321")
    # The round opens at 08:00 and closes at 20:00 in Vietnam: 10:00 and 22:00 in Tokyo.
    round_page = text_of(client.get(f"/contests/rounds/{rounds['entries']}").get_data(True))
    assert "Từ 01/12/2026 10:00 đến 07/12/2026 22:00." in round_page
    assert "15 phút cho mỗi lượt thi" in round_page
    listing = text_of(client.get("/contests/").get_data(True))
    assert "01/12/2026 10:00 – 07/12/2026 22:00" in listing
    result = text_of(client.get(f"/contests/attempts/{attempt}/result").get_data(True))
    assert "13,598 giây" in result and "Số dự đoán của ông/bà: 1.234." in result
    # An attempt in progress: its deadline on the contest's clock.
    started = client.post(
        f"/contests/rounds/{rounds['plain']}/start",
        data={"csrf_token": csrf_token(client, f"/contests/rounds/{rounds['plain']}")},
    )
    assert started.status_code == 302
    with app.app_context():
        open_attempt = db.session.scalar(select(Attempt).where(Attempt.state == "open"))
        deadline = formats.clock_time(open_attempt.deadline, TOKYO)
    assert deadline.startswith("12:")  # START is 03:00 UTC, 12:00 in Tokyo
    attempt_page = text_of(client.get(started.headers["Location"]).get_data(True))
    assert f"Nộp trước {deadline}" in attempt_page

    clock.now = AFTER  # closed: the ranking is final and the prediction counts
    ranking = text_of(client.get(f"/contests/rounds/{rounds['entries']}/ranking").get_data(True))
    assert "Dự đoán 1.234 (chênh lệch 1.233)" in ranking  # 1 entry: off by 1,233
    assert "13,598" in ranking and "13.598" not in ranking
    units = text_of(
        client.get(f"/contests/rounds/{rounds['entries']}/ranking/units").get_data(True)
    )
    assert "12.345 dân" in units and "0,1" in units  # 1 participant per 12,345 residents
    auth.logout()
    officer(make_user, auth)
    winners = text_of(client.get(f"/contests/rounds/{rounds['entries']}/winners").get_data(True))
    # Submitted 13.598 s after START (03:00:00 UTC): 12:00:13 in Tokyo, to the second.
    assert "03/12/2026 12:00:13" in winners and "1.234 (chênh lệch 1.233)" in winners
    audit = text_of(
        client.get(f"/contests/rounds/{rounds['entries']}/ranking/audit").get_data(True)
    )
    assert "Hãy mở tệp XLSX bằng Excel" in audit
    with app.app_context():
        frozen = db.session.scalar(select(Contest)).rounds[1].frozen_at
    assert f"Chốt lúc {formats.when(frozen, TOKYO)}." in audit
    live = client.get(f"/contests/rounds/{rounds['entries']}/live").get_data(True)
    chart = json.loads(re.search(r'id="score-chart-data">(.*?)</script>', live, re.S).group(1))
    assert chart["layout"]["separators"] == ",."  # Plotly's axes read "1.234,5" too


def test_survey_pages_read_vietnamese_numbers_and_percentages(app, client, auth, make_user):
    set_clock(app, NOW)
    load_content(app, [("id.yaml", IDENTIFIED)], NOW)
    set_population(app, {VI_THANH: 12_345})
    people = [make_user(phone=f"098765430{i}") for i in range(3)]
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == "kenh-thong-tin"))
        survey.timezone = TOKYO
        db.session.commit()
        defn = survey_definition.definition(db.session, survey)
        for person, hop in zip(people, (1, 1, 2), strict=True):
            answers, problems = service.clean_answers(
                defn,
                {"hop": hop, "phat-bieu": 1, "kenh": [1]} if hop == 1 else {"hop": 2, "kenh": [2]},
            )
            assert not problems
            service.submit(
                db.session,
                defn,
                answers,
                NOW,
                user=db.session.merge(person),
                unit=db.session.get(Unit, VI_THANH),
            )
    auth.login("0987654300")
    thanks = text_of(client.get("/surveys/kenh-thong-tin/thanks").get_data(True))
    assert "Đến nay có 3 phiếu trả lời" in thanks
    assert "67%" in thanks and "33%" in thanks  # 2 of 3 and 1 of 3, Vietnamese percentages
    auth.logout()
    officer(make_user, auth)
    progress = text_of(client.get("/surveys/kenh-thong-tin/progress").get_data(True))
    # Closes 2026-12-31 23:59 in Vietnam: 01:59 on 1 January in Tokyo.
    assert "Mở đến 01/01/2027 01:59." in progress
    assert "12.345" in progress
    token = csrf_token(client, "/surveys/kenh-thong-tin/progress")
    shown = client.post(
        "/surveys/kenh-thong-tin/progress",
        data={"action": "extend", "days": "7", "csrf_token": token},
    ).get_data(True)
    assert "Khảo sát sẽ đóng lúc 08/01/2027 01:59." in text_of(shown)
    until = re.search(r'name="until" value="([^"]+)"', shown)
    assert until
    extended = client.post(
        "/surveys/kenh-thong-tin/extend",
        data={"until": until.group(1), "csrf_token": token},
        follow_redirects=True,
    )
    assert "Khảo sát nay kết thúc vào 08/01/2027 01:59" in text_of(extended.get_data(True))


def test_officer_and_account_pages_read_vietnamese_numbers_and_local_times(
    app, client, auth, make_user
):
    set_population(app, {VI_THANH: 12_345})
    make_user(phone="0987654321")
    officer(make_user, auth)
    dashboard = text_of(client.get("/officer/").get_data(True))
    assert "0,08" in dashboard  # 1 resident per 12,345 inhabitants: per 1,000
    assert re.search(r"Tổng cộng: \d+ người dân", dashboard)
    with app.app_context():
        me = db.session.scalar(select(User).where(User.phone == "0911111111"))
        created = formats.when(me.created_at)
        assert me.unit_code == PROVINCE
    profile = text_of(client.get("/account/").get_data(True))
    assert created in profile and re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", created)
    # More than 999 residents read "1.234" (a dot for thousands).
    with app.app_context():
        db.session.execute(update(Unit).where(Unit.code == VI_THANH).values(population=1))
        db.session.commit()
    assert "1.000" in text_of(client.get("/officer/").get_data(True))  # 1 per 1 inhabitant
