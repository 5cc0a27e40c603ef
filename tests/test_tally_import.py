"""Tallies of hand-counted paper forms (issue 20, point 2): an import changes the results as
worked out by hand (overall, per commune, by channel, by a demographic question), a bad file is
refused whole with a Vietnamese report per line, officers import and withdraw only within their
scope, and both are in the audit trail."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select

from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import cache, db
from app.models import AuditEvent, Survey, SurveyTally, Unit
from app.services.analytics import wilson
from tests.conftest import PROVINCE, csrf_token
from tests.test_results_channels import counts, groups, hamlet, read
from tests.test_suppression_attack import NOW, SLUG, SURVEY, add_responses, bearer

# Commune A: 8 online responses (hai-long values below, gender 1 or 2); commune B: 6.
A_VALUES = [(1, 5), (1, 4), (1, 4), (2, 3), (2, 2), (2, 5), (1, 1), (2, 4)]
B_VALUES = [(1, 3), (1, 3), (2, 4), (2, 5), (1, 2), (2, 1)]
# 10 forms counted by hand in commune A: hai-long 5 ×4, 4 ×3, 3 ×2 (one form left it blank).
TALLY = b"question,value,count\nhai-long,5,4\nhai-long,4,3\nhai-long,3,2\n"


@pytest.fixture
def tallied(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        outcome = load_files(
            db.session, [("s.yaml", SURVEY.encode())], Actor(unit_code=PROVINCE, is_admin=True), NOW
        )[0]
        assert outcome.ok
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        a, b = db.session.scalars(
            select(Unit.code).where(Unit.parent_code == PROVINCE).order_by(Unit.code).limit(2)
        ).all()
        hamlet(a * 1000 + 1, a, "Ấp Một")
        db.session.commit()
        add_responses(
            db.session,
            survey,
            [(a, g, v) for g, v in A_VALUES] + [(b, g, v) for g, v in B_VALUES],
        )
    return app, a, b


def upload(client: Any, unit: int, forms: Any, data: bytes) -> Any:
    token = csrf_token(client, f"/results/{SLUG}/tallies")
    answer = client.post(
        f"/results/{SLUG}/tallies",
        data={
            "csrf_token": token,
            "unit": str(unit),
            "forms": str(forms),
            "file": (io.BytesIO(data), "kiem-dem.csv"),
        },
        content_type="multipart/form-data",
    )
    with client.application.app_context():
        cache.clear()  # results may be a minute behind (app/services/stamped.py): not here
    return answer


def test_a_tally_changes_the_results_as_worked_out_by_hand(tallied, client, auth, make_user):
    _app, a, _b = tallied
    make_user(role="officer", phone="0911111112", unit=a)
    make_user(role="leader", phone="0911111111")
    headers = bearer(client, "0911111111")
    before = read(client, headers)
    auth.login("0911111112")
    answer = upload(client, a, 10, TALLY)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    after = read(client, headers)
    values = [v for _g, v in A_VALUES + B_VALUES] + [5] * 4 + [4] * 3 + [3] * 2
    assert after["n"] == before["n"] + 10 == 24
    whole = groups(after)["all"]
    assert whole["n"] == 23 and whole["counts"] == counts(values)
    low, high = wilson(values.count(5), 23)
    assert whole["proportions"]["5"] == round(values.count(5) / 23, 4)
    assert whole["ci95"]["5"] == [round(float(low), 4), round(float(high), 4)]
    assert whole["mean"] == round(sum(values) / 23, 4)
    # Commune A's own view: its 8 responses and the 10 forms.
    commune = groups(read(client, headers, unit=a))["all"]
    assert commune["n"] == 17
    assert commune["counts"] == counts([v for _g, v in A_VALUES] + [5] * 4 + [4] * 3 + [3] * 2)
    # Shown as paper forms counted by hand, and whom the figures represent.
    shares = {c["channel"]: c for c in after["channels"]}
    assert shares["paper"] == {
        "channel": "paper",
        "label": "Phiếu giấy",
        "n": 10,
        "share": round(10 / 24, 4),
        "tallied": 10,
    }
    paper = groups(read(client, headers, by="channel"))["paper"]
    assert paper["n"] == 9 and paper["counts"] == {"3": 2, "4": 3, "5": 4}
    # No index score: the satisfaction index is that of the 14 responses only.
    assert after["index"] == before["index"]
    # By gender: the forms are their own group "unknown", not "no answer".
    by_gender = groups(read(client, headers, by="gioi-tinh"))
    assert by_gender[-1]["label"].startswith("Không rõ") and by_gender[-1]["n"] == 9
    assert "0" not in by_gender or by_gender[0].get("n", 0) == 0
    # The page says so.
    page = client.get(f"/results/{SLUG}").get_data(as_text=True)
    assert "gồm 10 phiếu giấy kiểm đếm tay" in page


def test_withdrawing_a_tally_takes_it_out_and_both_are_audited(tallied, client, auth, make_user):
    app, a, _b = tallied
    make_user(role="officer", phone="0911111112", unit=a)
    make_user(role="leader", phone="0911111111")
    headers = bearer(client, "0911111111")
    before = read(client, headers)
    auth.login("0911111112")
    assert upload(client, a * 1000 + 1, 10, TALLY).status_code == 302
    assert read(client, headers)["n"] == 24
    with app.app_context():
        tally = db.session.scalar(select(SurveyTally))
        assert tally.unit_code == a and tally.hamlet_code == a * 1000 + 1
        tally_id = tally.id
    hamlet_view = groups(read(client, headers, by="hamlet", unit=a))
    assert hamlet_view[a * 1000 + 1]["n"] == 9  # the forms' hamlet
    token = csrf_token(client, f"/results/{SLUG}/tallies")
    answer = client.post(f"/results/{SLUG}/tallies/{tally_id}/withdraw", data={"csrf_token": token})
    assert answer.status_code == 302
    with app.app_context():
        cache.clear()
    assert read(client, headers) == before
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["survey.tally", "survey.tally_withdraw"]


BAD = (
    "question,value,count\n"
    "khong-co,1,2\n"  # 2: no such question
    "hai-long,9,1\n"  # 3: no such value
    "hai-long,4,-1\n"  # 4: negative
    "hai-long,3,2.5\n"  # 5: not a whole number
    "hai-long,2,11\n"  # 6: more than the forms
    "gioi-tinh,1,3\n"  # 7: a question about the person
    "hai-long,5,6\n"  # 8: fine alone
    "hai-long,Rất hài lòng,1\n"  # 9: a label that is not a choice
    "hai-long,5,1\n"  # 10: the same as line 8
    "hai-long,1,5\n"  # 11: fine alone, but 6 + 5 > 10 forms
)


def test_a_bad_file_is_refused_whole_with_a_vietnamese_report_per_line(
    tallied, client, auth, make_user
):
    app, a, _b = tallied
    make_user(role="officer", phone="0911111112", unit=a)
    auth.login("0911111112")
    answer = upload(client, a, 10, BAD.encode())
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    for line, words in [
        (2, "không có câu hỏi"),
        (3, "không có lựa chọn"),
        (4, "không phải số phiếu"),
        (5, "không phải số phiếu"),
        (6, "nhiều hơn số phiếu đã đếm"),
        (7, "về người trả lời"),
        (9, "không có lựa chọn"),
        (10, "trùng câu hỏi và giá trị với dòng 8"),
    ]:
        assert f"Dòng {line}: " in page, line
        item = page.split(f"Dòng {line}: ", 1)[1].split("</li>", 1)[0]
        assert words in item, (line, item)
    assert "Dòng 8:" not in page and "Dòng 11:" not in page
    good_alone = "question,value,count\nhai-long,5,6\nhai-long,1,5\n"
    answer = upload(client, a, 10, good_alone.encode())
    assert answer.status_code == 422
    assert "cộng lại được 11" in answer.get_data(as_text=True)
    for data in (b"", b"hai-long,5,1\n", "\ufeffcâu hỏi;giá trị\n".encode()):
        assert upload(client, a, 10, data).status_code == 422
    assert upload(client, a, "mười", TALLY).status_code == 422
    assert upload(client, a, 0, TALLY).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyTally)) == 0


def test_officers_import_and_withdraw_within_their_scope_only(tallied, client, auth, make_user):
    app, a, b = tallied
    make_user(role="officer", phone="0911111112", unit=a)
    make_user(role="officer", phone="0911111113", unit=b)
    make_user(role="leader", phone="0911111111")
    auth.login("0911111113")  # commune B's officer
    answer = upload(client, a, 10, TALLY)
    assert answer.status_code == 422  # commune A is not among the choices
    assert upload(client, a * 1000 + 1, 10, TALLY).status_code == 422
    auth.logout()
    auth.login("0911111112")
    assert upload(client, a, 10, TALLY).status_code == 302
    auth.logout()
    with app.app_context():
        tally_id = db.session.scalar(select(SurveyTally.id))
    auth.login("0911111113")
    token = csrf_token(client, f"/results/{SLUG}/tallies")
    refused = client.post(
        f"/results/{SLUG}/tallies/{tally_id}/withdraw", data={"csrf_token": token}
    )
    assert refused.status_code == 403
    assert "kiem" not in client.get(f"/results/{SLUG}/tallies").get_data(as_text=True)
    auth.logout()
    auth.login("0911111111")  # a leader reads results but does not import
    assert client.get(f"/results/{SLUG}/tallies").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(SurveyTally.withdrawn_at)) is None


def test_a_multiple_choice_tally_on_an_identified_survey(app, client, auth, make_user):
    from tests.conftest import VI_THANH, load_content
    from tests.test_surveys import IDENTIFIED

    load_content(app, [("id.yaml", IDENTIFIED)], NOW)
    make_user(role="officer", phone="0911111112", unit=VI_THANH)
    make_user(role="leader", phone="0911111111")
    auth.login("0911111112")
    path = "/results/kenh-thong-tin/tallies"

    def send(data: str) -> Any:
        token = csrf_token(client, path)
        answer = client.post(
            path,
            data={
                "csrf_token": token,
                "unit": str(VI_THANH),
                "forms": "12",
                "file": (io.BytesIO(data.encode()), "t.csv"),
            },
            content_type="multipart/form-data",
        )
        with app.app_context():
            cache.clear()
        return answer

    # The choices' labels work as well as their numbers; the answered line is required.
    missing = send("câu hỏi;giá trị;số lượng\nkenh;Loa;6\n")
    assert missing.status_code == 422
    assert "thêm một dòng để trống giá trị" in missing.get_data(as_text=True)
    too_many = send("question,value,count\nkenh,,4\nkenh,Loa,6\n")
    assert too_many.status_code == 422 and "nhiều phiếu hơn" in too_many.get_data(as_text=True)
    assert send("question,value,count\nly-do,,1\n").status_code == 422  # written answers
    good = "question,value,count\nhop,1,7\nhop,Không,5\nkenh,,10\nkenh,Loa,6\nkenh,2,5\nkenh,3,2\n"
    assert send(good).status_code == 302
    body = read(client, bearer(client, "0911111111"), "kenh-thong-tin", unit=VI_THANH)
    assert body["n"] == 12
    hop, kenh = groups(body, "hop")["all"], groups(body, "kenh")["all"]
    assert hop["n"] == 12 and hop["counts"] == {"1": 7, "2": 5}
    assert kenh["n"] == 10 and kenh["counts"] == {"1": 6, "2": 5, "3": 2}
    assert kenh["proportions"] == {"1": 0.6, "2": 0.5, "3": 0.2}


def test_a_tally_from_outside_the_surveys_audience_is_refused(tallied, client, auth, make_user):
    app, a, b = tallied
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        survey.audience = [b]
        db.session.commit()
    make_user(role="officer", phone="0911111112", unit=a)
    auth.login("0911111112")
    answer = upload(client, a, 10, TALLY)
    assert answer.status_code == 422
    assert "không dành cho xã" in answer.get_data(as_text=True)


def test_the_trends_count_a_waves_tally_as_its_results_do(app):
    """Wave 2025: 4 of 10 responses in the top two, and a tally of 10 forms, 8 in the top two:
    its point is 12 of 20, as its results count them (20 answered)."""
    from app.models import User
    from app.services import analytics, tallies
    from app.services import surveys as service
    from app.services.survey_definition import definition
    from tests.conftest import VI_THANH
    from tests.test_analytics import WAVE

    with app.app_context():
        files = [(f"{w}.yaml", WAVE.replace("WAVE", str(w)).encode()) for w in (2025, 2026)]
        assert all(
            o.ok
            for o in load_files(db.session, files, Actor(unit_code=PROVINCE, is_admin=True), NOW)
        )
        unit = db.session.get(Unit, VI_THANH)
        for wave in (2025, 2026):
            row = db.session.scalar(select(Survey).where(Survey.wave == wave))
            for i in range(10):
                service.submit(
                    db.session,
                    definition(db.session, row),
                    {"hai-long": 5 if i < 4 else 2},
                    NOW,
                    user=None,
                    unit=unit,
                )
        first = db.session.scalar(select(Survey).where(Survey.wave == 2025))
        officer = User(
            name="Cán bộ", phone="0911111119", role="officer", unit_code=VI_THANH, created_at=NOW
        )
        db.session.add(officer)
        db.session.commit()
        report = tallies.import_tally(
            db.session,
            definition(db.session, first),
            officer,
            unit,
            b"question,value,count\nhai-long,5,5\nhai-long,4,3\nhai-long,1,2\n",
            10,
            NOW,
        )
        assert report.ok
        latest = db.session.scalar(select(Survey).where(Survey.wave == 2026))
        (trend,) = analytics.trends(db.session, latest, scope=unit)
        result = analytics.results(db.session, first, scope=unit)
    assert [w["n"] for w in trend["waves"]] == [20, 10]
    assert [w["proportion"] for w in trend["waves"]] == [0.6, 0.4]
    assert groups(result)["all"]["n"] == 20
