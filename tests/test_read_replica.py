"""The read switch (issue 18, point 4): with DATABASE_READ_URL set, dashboards, statistics and
exports read the replica, never write through it, and a person's own fresh writes are still
read from the primary.

The "replica" here is a second database of the engine under test with different content: the
same migrations, units and published content (so ids agree, as on a real replica), and
responses that only it holds. What a page shows tells which database it read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.config import TestingConfig
from app.db_read import read_session, replica
from app.extensions import db
from app.models import Role, SurveyResponse, Unit, utcnow
from app.services.accounts import NewAccount, create_account
from app.services.units import load_units
from tests.conftest import (
    PASSWORD,
    PROVINCE,
    VI_THANH,
    AuthActions,
    fresh_database_url,
    load_content,
    set_clock,
)
from tests.test_surveys import FULL, GOOD, IDENTIFIED, NOW

SURVEY = "hai-long-chinh-quyen-2026"  # anonymous, min_group 5


def _database(name: str, tmp_path: Path) -> str:
    """A migrated database with the province's units and the sample surveys."""
    url = fresh_database_url(name, tmp_path)
    setup = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with setup.app_context():
        upgrade()
        load_units(db.session, PROVINCE)
    load_content(setup, [("full.yaml", FULL), ("id.yaml", IDENTIFIED)], NOW)
    with setup.app_context():
        db.engine.dispose()
    return url


def _answer(app: Flask, times: int, headers: dict[str, str] | None = None) -> None:
    for _ in range(times):
        with app.test_client() as resident:  # a fresh browser each: no repeat cookie
            sent = resident.post(
                f"/api/v1/surveys/{SURVEY}/responses",
                json={"unit": VI_THANH, "answers": GOOD},
                headers=headers or {},
            )
            assert sent.status_code == 201, sent.get_json()


def _responses(url: str) -> int:
    counter = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with counter.app_context():
        n = db.session.scalar(select(func.count()).select_from(SurveyResponse)) or 0
        db.session.remove()  # its connection back to the pool before the pool is closed
        db.engine.dispose()
    return n


def _account(app: Flask, phone: str, role: Role, unit: int) -> dict[str, str]:
    with app.app_context():
        create_account(
            db.session,
            NewAccount(
                name="Trần Thị Đọc", phone=phone, password=PASSWORD, unit_code=unit, role=role
            ),
            utcnow(),
            consent=True,
        )
    token = (
        app.test_client()
        .post("/api/v1/auth/token", json={"phone": phone, "password": PASSWORD})
        .get_json()["token"]
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def split(tmp_path: Path) -> Iterator[tuple[Flask, str, str]]:
    """(the app reading a replica, the primary's URL, the replica's URL): six responses in the
    replica only, none in the primary."""
    primary, copy = _database("primary", tmp_path), _database("replica", tmp_path)
    writer = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=copy)
    set_clock(writer, NOW)
    _answer(writer, 6)
    with writer.app_context():
        db.engine.dispose()
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=primary, DATABASE_READ_URL=copy)
    set_clock(app, NOW)
    yield app, primary, copy
    with app.app_context():
        db.engine.dispose()
        read = replica()
        assert read is not None
        read.dispose()


def test_dashboards_statistics_and_exports_read_the_replica(split):
    app, primary, copy = split
    assert (_responses(primary), _responses(copy)) == (0, 6)
    leader = _account(app, "0912000001", Role.LEADER, PROVINCE)  # the account: primary only
    client = app.test_client()

    results = client.get(f"/api/v1/surveys/{SURVEY}/results", headers=leader)
    assert results.status_code == 200
    assert results.get_json()["n"] == 6  # the replica's responses: the primary has none

    AuthActions(client).login("0912000001")
    assert client.get(f"/results/{SURVEY}").status_code == 200
    assert client.get("/api/v1/rounds/1/stats", headers=leader).status_code == 404
    assert client.get("/overview").status_code == 200
    assert client.get(f"/briefs/{VI_THANH}.pdf").status_code == 200

    officer = app.test_client()
    _account(app, "0912000003", Role.OFFICER, PROVINCE)
    AuthActions(officer).login("0912000003")
    raw = officer.get(f"/results/{SURVEY}/responses.csv")
    assert raw.status_code == 200
    lines = raw.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 2 + 6  # two header rows, then the replica's six responses
    # nothing was written to the replica by any of it
    assert _responses(copy) == 6 and _responses(primary) == 0


def test_nothing_is_written_through_the_read_engine(split):
    app, _primary, copy = split
    with app.app_context():
        session = read_session()
        assert session is not db.session
        with pytest.raises(DBAPIError):
            session.execute(text("UPDATE units SET population = 1"))
        session.rollback()
        with pytest.raises(DBAPIError):
            session.execute(text("DELETE FROM survey_responses"))
        session.rollback()
        session.add(Unit(code=99999999, name="Xã Giả", level="commune", parent_code=PROVINCE))
        with pytest.raises(DBAPIError):
            session.commit()
        session.rollback()
        if db.engine.dialect.name == "postgresql":
            shown = session.execute(text("SHOW default_transaction_read_only")).scalar()
            assert shown == "on"
    assert _responses(copy) == 6


def test_a_persons_own_fresh_answer_is_read_from_the_primary(split):
    """The replica lags: the resident who has just answered must not be told they have not.
    Whether they answered (the ledger) is read from the primary."""
    app, primary, copy = split
    resident = _account(app, "0912000002", Role.RESIDENT, VI_THANH)
    client = app.test_client()
    sent = client.post(
        "/api/v1/surveys/kenh-thong-tin/responses",
        json={"answers": {"hop": 2, "kenh": [1]}},
        headers=resident,
    )
    assert sent.status_code == 201  # written to the primary
    assert _responses(primary) == 1 and _responses(copy) == 6
    mine = client.get("/api/v1/surveys/kenh-thong-tin/results", headers=resident)
    assert mine.status_code == 200  # allowed: the primary knows they answered


def test_without_a_replica_the_switch_is_the_primarys_session(app_factory):
    plain = app_factory(DATABASE_READ_URL=None)
    with plain.app_context():
        assert replica() is None
        assert read_session() is db.session


def test_an_in_memory_replica_is_refused_at_start(app_factory):
    with pytest.raises(RuntimeError, match="DATABASE_READ_URL"):
        app_factory(DATABASE_READ_URL="sqlite://")
