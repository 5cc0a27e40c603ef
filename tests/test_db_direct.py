"""app/db_direct.py: the hot paths' statements on the driver's connection keep what
SQLAlchemy's execution promised — UTC datetimes whatever the connection's time zone, types'
bind processing, SQLAlchemy's errors (a lost race is an IntegrityError), a dead connection
replaced, the engine's cursor events, one text for any length of IN list. PostgreSQL only:
on other engines `first` is SQLAlchemy's Core execution, which the whole suite runs on SQLite."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from sqlalchemy import JSON, Integer, bindparam, event, insert, literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from app import db_direct
from app.extensions import db
from app.models import Unit
from app.models.types import UTCDateTime

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="app/db_direct.py runs statements on PostgreSQL through psycopg",
)

HANOI = timezone(timedelta(hours=7))
AT = select(
    bindparam("at", type_=UTCDateTime()).label("at"),
    text("now() AS server_now, TIMESTAMP '2026-12-07 13:00' AS plain"),
)
CODES = select(Unit.code).where(Unit.code.in_(bindparam("codes", expanding=True)))


def test_datetimes_come_back_in_utc_whatever_the_connections_time_zone(app: Any) -> None:
    sent = datetime(2026, 12, 7, 20, 0, tzinfo=HANOI)
    with app.app_context():
        db.session.execute(text("SET LOCAL TIME ZONE 'Asia/Ho_Chi_Minh'"))
        row = db_direct.first(db.session, AT, {"at": sent})
        assert row is not None
        assert row.at == sent and row.at.tzinfo is UTC and row.at.hour == 13
        assert row.server_now.tzinfo is UTC
        assert row.plain == datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # no zone: UTC, as UTCDateTime
        db.session.rollback()


def test_a_naive_datetime_is_refused_before_it_is_sent(app: Any) -> None:
    with app.app_context(), pytest.raises((ValueError, StatementError)):
        db_direct.first(db.session, AT, {"at": datetime(2026, 12, 7, 20, 0)})


def test_a_lost_race_is_sqlalchemys_integrity_error_and_the_session_goes_on(app: Any) -> None:
    new_unit = insert(Unit).values(
        code=bindparam("code"),
        name="Xã Thử",
        level="commune",
        division_type="Xã",
        parent_code=None,
        search_name="xa thu",
    )
    with app.app_context():
        code = db.session.scalar(select(Unit.code).limit(1))
        assert code is not None
        with pytest.raises(IntegrityError) as lost:
            db_direct.first(db.session, new_unit, {"code": code})
        assert lost.value.orig.sqlstate == "23505"  # type: ignore[union-attr] (unique_violation)
        db.session.rollback()
        assert db_direct.first(db.session, CODES, {"codes": [code]}) == (code,)


def test_an_in_list_of_any_length_is_one_text(app: Any) -> None:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    with app.app_context():
        codes = list(db.session.scalars(select(Unit.code).order_by(Unit.code).limit(3)))
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert db_direct.first(db.session, CODES, {"codes": []}) is None
            assert db_direct.first(db.session, CODES, {"codes": codes[:1]}) == (codes[0],)
            assert db_direct.first(db.session, CODES, {"codes": codes}) is not None
            assert db_direct.first(db.session, CODES, {"codes": [-1, -2]}) is None
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        db.session.rollback()
    assert len(set(sent)) == 1 and "= ANY(" in sent[0], sent


def test_not_in_over_a_list_is_refused_rather_than_rewritten(app: Any) -> None:
    not_in = select(Unit.code).where(Unit.code.not_in(bindparam("codes", expanding=True)))
    with app.app_context(), pytest.raises(NotImplementedError):
        db_direct.first(db.session, not_in, {"codes": [1]})


def test_the_engines_cursor_events_see_and_may_change_the_statement(app: Any) -> None:
    seen: list[tuple[str, Any]] = []

    def watch(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_a: Any) -> None:
        seen.append((statement, parameters))

    def tag(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_a: Any) -> Any:
        return statement.replace("AS server_now,", "AS server_now, 42 AS tagged,"), parameters

    sent = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", tag, retval=True)
        event.listen(engine, "after_cursor_execute", watch)
        try:
            row = db_direct.first(db.session, AT, {"at": sent})
        finally:
            event.remove(engine, "before_cursor_execute", tag)
            event.remove(engine, "after_cursor_execute", watch)
        db.session.rollback()
    assert row is not None and row.tagged == 42
    assert len(seen) == 1 and "42 AS tagged" in seen[0][0] and seen[0][1]["at"] == sent


def test_a_connection_cut_is_invalidated_and_the_next_statement_has_a_live_one(
    app: Any,
) -> None:
    target = make_url(os.environ["TEST_DATABASE_URL"])
    with app.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        with psycopg.connect(
            host=target.host, port=target.port, user=target.username, dbname="postgres"
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(DBAPIError) as cut:
            db_direct.first(db.session, CODES, {"codes": [1]})
        assert cut.value.connection_invalidated
        db.session.rollback()
        assert db.session.scalar(text("SELECT pg_backend_pid()")) != pid
        assert db_direct.first(db.session, CODES, {"codes": [-1]}) is None


def test_an_error_does_not_carry_its_parameters_when_the_engine_hides_them(app: Any) -> None:
    """app/config.py sets hide_parameters: no phone, nonce or answer in an error's text (the
    periodic jobs log exceptions as they are)."""
    new_unit = insert(Unit).values(
        code=bindparam("code"),
        name=bindparam("name"),
        level="commune",
        division_type="Xã",
        parent_code=None,
        search_name="xa thu",
    )
    with app.app_context():
        assert db.engine.hide_parameters
        code = db.session.scalar(select(Unit.code).limit(1))
        with pytest.raises(IntegrityError) as lost:
            db_direct.first(db.session, new_unit, {"code": code, "name": "PHONE-0912345678"})
        db.session.rollback()
    assert "0912345678" not in str(lost.value)
    assert "hidden" in str(lost.value)


def test_values_are_bound_as_their_types_bind_them_on_postgresql(app: Any) -> None:
    """The dialect's own bind processing (PostgreSQL's JSON serialises a dict), a callable
    value called on every execution, an IN list given as a tuple."""
    calls = iter(range(1, 100))
    typed = select(
        bindparam("doc", type_=JSON).label("doc"),
        bindparam("n", type_=Integer, callable_=lambda: next(calls)).label("n"),
    )
    with app.app_context():
        first = db_direct.first(db.session, typed, {"doc": {"a": [1, "ă"]}})
        second = db_direct.first(db.session, typed, {"doc": {"b": None}})
        code = db.session.scalar(select(Unit.code).limit(1))
        listed = db_direct.first(db.session, CODES, {"codes": (code, -1)})
        db.session.rollback()
    assert first is not None and second is not None
    assert (first.doc, first.n, second.doc, second.n) == ({"a": [1, "ă"]}, 1, {"b": None}, 2)
    assert listed == (code,)


def test_statements_built_on_every_call_do_not_grow_the_cache_without_bound(app: Any) -> None:
    with app.app_context():
        for n in range(db_direct.CACHED + 50):
            db_direct.first(db.session, select(literal(n).label("n")), {})
        db.session.rollback()
        assert len(db_direct.cached(db.engine.dialect)) <= db_direct.CACHED
