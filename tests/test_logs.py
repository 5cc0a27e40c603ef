"""Logs carry no personal data: not at DEBUG, not in a database error, not in an error page.

Every logger is turned up to DEBUG (SQLAlchemy's engine, werkzeug's request lines, Flask's
app logger included), then failing writes are driven through a real HTTP server: a sign-up
that loses the race for its phone number, a survey answered twice, and a database error that
nothing catches. What the database was sent — name, phone, password hash, nonce, answer text —
and the bearer token must appear in no log record, and in no error page or API error.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD, VI_THANH, load_content, set_clock

NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
SURVEY = """\
survey: y-kien-khu-pho
title: Ý kiến khu phố
anonymous: false
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
pages:
  - title: Một
    questions:
      - {id: y-kien, type: text, text: Ý kiến của ông/bà}
"""
NAME = "Trần Thị Bí Mật"
PHONE = "0987654321"
ANSWER = "Nhà tôi ở số 7 ngõ Hoa Sữa, ông Bảy hàng xóm hay say rượu"


def http(
    server: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, str]:
    assert server.startswith("http://127.0.0.1:")
    request = urllib.request.Request(  # noqa: S310 (the test's own server, over http)
        server + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Accept-Language": "vi"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger that exists, and those that matter by name, at DEBUG."""
    names = {"", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.engine.Engine", "sqlalchemy.pool"}
    names |= {"werkzeug", "flask", "flask.app", "app", "flask_limiter", "flask_login"}
    names |= {
        n for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)
    }
    for name in sorted(names):
        caplog.set_level(logging.DEBUG, logger=name or None)
    yield caplog


@pytest.fixture
def sent(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """Every statement and its parameters, as the database received them."""
    seen: list[tuple[str, Any]] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def secrets_sent(sent: list[tuple[str, Any]]) -> set[str]:
    """The name, phone, password hashes and nonces the users table was sent."""
    found = set()
    for statement, parameters in sent:
        if not statement.lstrip().upper().startswith(("INSERT INTO USERS", "UPDATE USERS")):
            continue
        rows = parameters if isinstance(parameters, list) else [parameters]
        for row in rows:
            values = row.values() if isinstance(row, dict) else row
            for value in values:
                if isinstance(value, str) and (
                    value in (NAME, PHONE)
                    or value.startswith("scrypt:")
                    or re.fullmatch(r"[0-9a-f]{32}", value)
                ):
                    found.add(value)
    return found


def leaks(caplog: pytest.LogCaptureFixture, secrets: set[str]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = []
    for record in caplog.records:
        text = formatter.format(record) + repr(record.args) + repr(record.msg)
        lines += [f"{s!r} in {record.name}: {text[:300]}" for s in secrets if s in text]
    return lines


@pytest.fixture
def racing_phone(app: Flask) -> Iterator[list[bool]]:
    """Just before a sign-up's INSERT, another sign-up takes the same phone number: the
    application's own check has passed, and only the unique index can refuse."""
    fired: list[bool] = []

    def race(session: Session, _context: Any, _instances: Any) -> None:
        mine = [o for o in session.new if isinstance(o, User) and o.phone == PHONE]
        if mine and not fired:
            fired.append(True)
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(
                    insert(User).values(
                        name="Người khác",
                        phone=PHONE,
                        role="resident",
                        unit_code=VI_THANH,
                        auth_nonce="0" * 32,
                        created_at=NOW,
                    )
                )

    event.listen(Session, "before_flush", race)
    yield fired
    event.remove(Session, "before_flush", race)


REGISTRATION = {
    "name": NAME,
    "phone": PHONE,
    "password": PASSWORD,
    "unit": VI_THANH,
    "consent": True,
}


def test_a_sign_up_losing_the_race_for_its_phone_logs_nothing_personal(
    app, server, every_log, sent, racing_phone
):
    status, body = http(server, "POST", "/api/v1/auth/register", REGISTRATION)
    assert racing_phone, "the race did not happen"
    assert status == 409, body
    secrets = secrets_sent(sent)
    assert {NAME, PHONE} <= secrets and any(s.startswith("scrypt:") for s in secrets)
    assert leaks(every_log, secrets) == []


def test_a_survey_answered_twice_logs_neither_the_answer_nor_the_person(
    app, server, every_log, sent, make_user
):
    set_clock(app, NOW)
    load_content(app, [("y.yaml", SURVEY)], NOW)
    make_user(phone=PHONE, name=NAME)
    _status, body = http(
        server, "POST", "/api/v1/auth/token", {"phone": PHONE, "password": PASSWORD}
    )
    token = json.loads(body)["token"]
    answer = {"answers": {"y-kien": ANSWER}}
    first = http(server, "POST", "/api/v1/surveys/y-kien-khu-pho/responses", answer, token)
    again = http(server, "POST", "/api/v1/surveys/y-kien-khu-pho/responses", answer, token)
    assert (first[0], again[0]) == (201, 409), again
    assert ANSWER not in again[1] and PHONE not in again[1]
    with app.app_context():
        nonce = db.session.scalar(db.select(User.auth_nonce).where(User.phone == PHONE))
        hashed = db.session.scalar(db.select(User.password_hash).where(User.phone == PHONE))
    assert leaks(every_log, {ANSWER, PHONE, NAME, token, nonce, hashed}) == []


@pytest.mark.parametrize("path", ["/api/v1/auth/register", "/auth/register"])
def test_a_database_error_nothing_catches_is_logged_and_shown_without_its_values(
    app, server, every_log, sent, make_user, monkeypatch, path
):
    """A bug lets an IntegrityError through (a duplicate phone, say): the 500 page and the
    API error are generic, and the logged traceback names the constraint, not the values."""
    make_user(phone=PHONE, name="Người có số này trước")

    def careless(session: Session, new: Any, now: datetime, *, consent: bool) -> User:
        from app.services.accounts import hash_password

        user = User(
            name=NAME,
            phone=PHONE,
            password_hash=hash_password(PASSWORD),
            role="resident",
            unit_code=VI_THANH,
            created_at=now,
        )
        session.add(user)
        session.flush()  # the unique index refuses, and nobody catches it
        return user

    monkeypatch.setattr("app.api.auth.create_account", careless)
    monkeypatch.setattr("app.auth.routes.create_account", careless)
    if path.startswith("/api/"):
        status, body = http(server, "POST", path, REGISTRATION)
    else:
        client = app.test_client()
        page = client.get(path).get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post(
            path,
            data={
                "csrf_token": csrf,
                "name": NAME,
                "phone": PHONE,
                "password": PASSWORD,
                "confirm": PASSWORD,
                "unit": str(VI_THANH),
                "consent": "y",
            },
        )
        status, body = response.status_code, response.get_data(as_text=True)
    assert status == 500, body[:2000]
    secrets = secrets_sent(sent)
    assert {NAME, PHONE} <= secrets
    assert [s for s in secrets if s in body] == []
    assert "INSERT" not in body and "IntegrityError" not in body
    assert any(r.levelno >= logging.ERROR for r in every_log.records)  # still logged
    assert leaks(every_log, secrets) == []


def test_other_errors_keep_their_message_and_traceback():
    from app.logs import loggable

    try:
        raise ValueError("a programming mistake")
    except ValueError as error:
        assert loggable(error) == (ValueError, error, error.__traceback__)


def test_failed_sign_ins_until_blocked_log_no_phone_or_password(app, server, every_log, make_user):
    make_user(phone=PHONE, name=NAME)
    statuses = [
        http(server, "POST", "/api/v1/auth/token", {"phone": PHONE, "password": "sai-mat-khau"})[0]
        for _ in range(7)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429
    assert leaks(every_log, {PHONE, NAME, "sai-mat-khau"}) == []
