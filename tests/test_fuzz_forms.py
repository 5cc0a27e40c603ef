"""Every HTML form's fields fed arbitrary text and numbers (hypothesis): a 4xx or a page,
never a 5xx (issue 13). Sign-up, sign-in, survey pages, the attempt page (save and submit with
seq-N and the prediction), the content upload and publish forms, a survey's close/extend."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from app.models import Attempt, Role, Round, utcnow
from app.services.accounts import NewAccount, create_account
from tests.conftest import (
    PASSWORD,
    PROVINCE,
    VI_THANH,
    csrf_token,
    empty_database,
    load_content,
    set_clock,
)
from tests.test_attempts import CONTEST, bank_yaml
from tests.test_surveys import FULL, IDENTIFIED

NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)  # the surveys are open
ROUNDS_OPEN = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
SURVEY = "hai-long-chinh-quyen-2026"
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# What people and scripts type where a number is expected, and any text at all.
ODD = st.sampled_from(
    [
        *["²", "١٢", "１２", "--5", "+3", "-1", "0", "1e400", "nan", "12,5", "1.250", "", " "],
        *["9" * 25, "9" * 5000, "0x10", "1_000", "2147483648", "<script>", "'; DROP TABLE u; --"],
    ]
)
VALUE = st.one_of(ODD, st.text(max_size=40), st.integers().map(str), st.floats().map(str))

phones = itertools.count(1)


@pytest.fixture(scope="module")
def forms_app(database_url: str) -> Iterator[Flask]:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=False)
    clock = set_clock(app, ROUNDS_OPEN)
    contest = CONTEST.replace("attempts: 2", "attempts: 100")
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", contest)], ROUNDS_OPEN)
    clock.now = NOW
    load_content(app, [("s.yaml", FULL), ("i.yaml", IDENTIFIED)], NOW)
    clock.now = ROUNDS_OPEN  # rounds and surveys are both open on 3 December
    yield app
    empty_database(app)


def signed_in(app: Flask, role: Role) -> FlaskClient:
    phone = f"0966{next(phones):06d}"
    with app.app_context():
        unit = VI_THANH if role == Role.RESIDENT else PROVINCE
        account = NewAccount(
            name="Trần Thị Thử", phone=phone, password=PASSWORD, unit_code=unit, role=role
        )
        create_account(db.session, account, utcnow(), consent=True)
    client = app.test_client()
    token = csrf_token(client, "/auth/login")
    client.post("/auth/login", data={"phone": phone, "password": PASSWORD, "csrf_token": token})
    return client


@pytest.fixture(scope="module")
def resident(forms_app: Flask) -> FlaskClient:
    return signed_in(forms_app, Role.RESIDENT)


@pytest.fixture(scope="module")
def officer(forms_app: Flask) -> FlaskClient:
    return signed_in(forms_app, Role.OFFICER)


@pytest.fixture(scope="module")
def anonymous(forms_app: Flask) -> FlaskClient:
    return forms_app.test_client()


def token_of(client: FlaskClient, path: str) -> str:
    return csrf_token(client, path)


def no_5xx(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


# ------------------------------------------------------------------------- sign-up, sign-in


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {
            name: VALUE
            for name in ["name", "phone", "unit", "password", "confirm", "birth_year", "gender"]
        },
        optional={"consent": st.sampled_from(["y", "", "²"])},
    )
)
def test_sign_up_form(anonymous, fields):  # type: ignore[no-untyped-def]
    token = token_of(anonymous, "/auth/register")
    response = anonymous.post("/auth/register", data={**fields, "csrf_token": token})
    no_5xx(response)
    if response.status_code == 302:  # an account was made and signed in: sign out again
        anonymous.post("/auth/logout", data={"csrf_token": token_of(anonymous, "/account/")})


@FUZZ
@given(phone=VALUE, password=VALUE, next_=VALUE)
def test_sign_in_form(anonymous, phone, password, next_):  # type: ignore[no-untyped-def]
    token = token_of(anonymous, "/auth/login")
    response = anonymous.post(
        "/auth/login",
        data={"phone": phone, "password": password, "next": next_, "csrf_token": token},
    )
    no_5xx(response)


# ------------------------------------------------------------------------------ survey pages

SURVEY_FIELDS = [
    "a-gioi-tinh",
    "a-tuoi",
    "a-tuoi-other",
    "a-thai-do",
    "a-kenh",
    "a-kenh-other",
    "a-de-xuat-diem",
    "a-loa",
    "a-so-lan",
    "a-chi-phi",
    "a-ly-do",
    "a-danh-gia-chi-tiet-1",
    "a-danh-gia-chi-tiet-2",
    "a-danh-gia-chi-tiet-3",
]


@FUZZ
@given(
    page=st.integers(0, 5),
    action=st.sampled_from(["start", "next", "back", "submit", "²"]),
    unit=st.one_of(st.just(str(VI_THANH)), VALUE),
    answers=st.dictionaries(st.sampled_from(SURVEY_FIELDS), VALUE),
)
def test_survey_page_form(forms_app, page, action, unit, answers):  # type: ignore[no-untyped-def]
    client = forms_app.test_client()  # a new person: no cookie saying "already answered"
    token = token_of(client, f"/surveys/{SURVEY}")
    data = {**answers, "unit": unit, "action": action, "csrf_token": token}
    no_5xx(client.post(f"/surveys/{SURVEY}/page/{page}", data=data))


# ------------------------------------------------------------------------------ attempt page


def open_attempt(app: Flask, client: FlaskClient) -> str:
    """The resident's open attempt's page, started anew when the last one was submitted."""
    with app.app_context():
        round_id = db.session.scalar(select(Round.id).where(Round.key == "tuan-1"))
        open_id = db.session.scalar(select(Attempt.id).where(Attempt.state == "open"))
    if open_id is not None:
        return f"/contests/attempts/{open_id}"
    token = token_of(client, f"/contests/rounds/{round_id}")
    started = client.post(f"/contests/rounds/{round_id}/start", data={"csrf_token": token})
    assert started.status_code == 302, started.get_data(as_text=True)[:300]
    return re.sub(r"^https?://[^/]+", "", started.headers["Location"])


@FUZZ
@given(
    action=st.sampled_from(["save", "submit", ""]),
    seqs=st.dictionaries(st.integers(0, 12), VALUE, max_size=4),
    keys=st.dictionaries(st.integers(0, 12), st.one_of(st.sampled_from("ABCDE"), VALUE)),
    prediction=st.one_of(st.just("125"), VALUE),
)
def test_attempt_page_form(forms_app, resident, action, seqs, keys, prediction):  # type: ignore[no-untyped-def]
    url = open_attempt(forms_app, resident)
    data = {f"seq-{n}": v for n, v in seqs.items()} | {f"q-{n}": v for n, v in keys.items()}
    data |= {"action": action, "prediction": prediction, "csrf_token": token_of(resident, url)}
    no_5xx(resident.post(url, data=data))


# ------------------------------------------------------------------------- officers' forms


@FUZZ
@given(
    text=st.one_of(VALUE, st.just(CONTEST.replace("15m", "99999999h")), st.just(IDENTIFIED)),
    fmt=st.one_of(st.sampled_from(["yaml", "aiken", "gift", "word"]), VALUE),
    bank=VALUE,
    title=VALUE,
)
def test_content_upload_form(officer, text, fmt, bank, title):  # type: ignore[no-untyped-def]
    token = token_of(officer, "/officer/content/upload")
    data = {"text": text, "format": fmt, "bank": bank, "title": title, "csrf_token": token}
    no_5xx(officer.post("/officer/content/upload", data=data))


@FUZZ
@given(source=st.one_of(VALUE, st.just(IDENTIFIED.replace("min_group: 3", "min_group: ²"))))
def test_content_publish_form(officer, source):  # type: ignore[no-untyped-def]
    token = token_of(officer, "/officer/content/upload")
    data = {"source": source, "filename": "x.yaml", "csrf_token": token}
    no_5xx(officer.post("/officer/content/publish", data=data))


@FUZZ
@given(action=st.sampled_from(["extend", "close", ""]), days=VALUE)
def test_progress_close_and_extend_form(officer, action, days):  # type: ignore[no-untyped-def]
    url = "/surveys/kenh-thong-tin/progress"
    data = {"action": action, "days": days, "csrf_token": token_of(officer, url)}
    no_5xx(officer.post(url, data=data))


@FUZZ
@given(until=VALUE)
def test_confirmed_extend_form(officer, until):  # type: ignore[no-untyped-def]
    token = token_of(officer, "/surveys/kenh-thong-tin/progress")
    data = {"until": until, "csrf_token": token}
    no_5xx(officer.post("/surveys/kenh-thong-tin/extend", data=data))
