"""The hot paths' statements run straight on the driver's connection (PostgreSQL).

SQLAlchemy Core still builds every statement; `first` compiles it once per dialect and runs it
on the session's own psycopg connection, in the session's transaction, without SQLAlchemy's
per-execution context and result objects. Those were a fifth of a contest start's wall time
and most of what an answer save costs beyond the bare route (bench/profile_attempts.py;
docs/benchmarks.md, "Statements on the driver's connection").

What SQLAlchemy's own execution gives the callers is kept, and tested
(tests/test_db_direct.py):
- the engine's `before_cursor_execute` and `after_cursor_execute` events see each statement
  and its parameters (the statement counts of the tests and benches); a listener gets no
  execution context (`context` is None: there is none), so one that keeps state on it — a
  tracing integration's span — would fail here: none is installed;
- each bind parameter passes its dialect's bind processing (UTCDateTime refuses a naive
  datetime and sends UTC; JSON is serialised), a callable value is called at each execution;
- values read back are psycopg's, not passed through SQLAlchemy's result processing: each
  timestamp aware and in UTC whatever the connection's TimeZone (UTCDateTime's promise), JSON
  parsed; a statement whose columns need more (Numeric as Decimal, Enum, Interval) does not
  belong here — the hot paths read integers, text, booleans, JSON and timestamps;
- a driver error is raised as SQLAlchemy's (`IntegrityError` for a lost race, which the
  callers catch) with its parameters hidden as the engine hides them, and a connection found
  dead is invalidated so the pool replaces it;
- `IN` over an expanding parameter becomes `= ANY(array)`: one text for any number of values;
  forms the rewrite does not know (NOT IN, a tuple IN) are refused when first compiled.

Other engines (SQLite) run the same statements through SQLAlchemy's Core execution: one call
for the callers on every engine."""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from psycopg.pq import ExecStatus
from psycopg.rows import tuple_row
from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from app.models.types import UTCDateTime

TUPLES_OK = ExecStatus.TUPLES_OK
_TIMESTAMPS = frozenset({1184, 1114})  # PostgreSQL's timestamptz and timestamp oids
_UTC = UTCDateTime()
_POSTCOMPILE = re.compile(r"(NOT )?IN \(__\[POSTCOMPILE_(\w+)\]\)|__\[POSTCOMPILE_(\w+)\]")


@dataclass
class _Compiled:
    statement: Executable  # kept: the cache's key is its id
    sql: str
    defaults: dict[str, Any]  # the statement's own values (literals, defaults of bindparams)
    callables: dict[str, Callable[[], Any]]  # values called for at each execution
    lists: tuple[str, ...]  # expanding parameters: sent as arrays
    processors: dict[str, Callable[[Any], Any]]  # bind name -> its dialect's bind processor
    shape: _Shape | None = None  # its rows', known from its first answer


_CACHE: WeakKeyDictionary[Dialect, dict[int, _Compiled]] = WeakKeyDictionary()
CACHED = 256  # statements kept compiled per dialect (the hot paths have about twenty)


def first(session: Session, statement: Executable, params: Mapping[str, Any]) -> Any | None:
    """The first row `statement` answers with `params` (attributes named as its columns), or
    None, run on the session's connection in its transaction: on PostgreSQL by the driver,
    elsewhere by SQLAlchemy's Core execution (never the ORM's: a hot path loads no entity)."""
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        result = connection.execute(statement, params)
        return result.first() if result.returns_rows else None
    compiled = _compiled(dialect, statement)
    values = {**compiled.defaults, **params}
    for name, make in compiled.callables.items():
        if name not in params:
            values[name] = make()
    for name in compiled.lists:
        values[name] = list(values[name])
    for name, process in compiled.processors.items():
        values[name] = process(values[name])
    driver = connection.connection.driver_connection
    assert driver is not None
    dispatch = connection.dispatch
    sql = compiled.sql
    cursor = driver.cursor(row_factory=tuple_row)
    try:
        # As SQLAlchemy's execution calls them (a listener may hand back another statement).
        for listener in dispatch.before_cursor_execute:
            sql, values = listener(connection, cursor, sql, values, None, False)
        cursor.execute(sql, values)
        dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
        # The result's status, not `description` (which builds an object per column).
        if cursor.pgresult is None or cursor.pgresult.status != TUPLES_OK:
            return None
        values_read = cursor.fetchone()
        if values_read is None:
            return None
        if sql is not compiled.sql:  # a listener's own text: its own columns
            return _shape_of(cursor).of(values_read)
        if compiled.shape is None:
            compiled.shape = _shape_of(cursor)
        return compiled.shape.of(values_read)
    except dialect.loaded_dbapi.Error as error:
        dead = dialect.is_disconnect(error, driver, cursor)
        if dead:
            connection.invalidate(error)
        raise exc.DBAPIError.instance(
            sql,
            values,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters,  # no phone or answer in logs
            connection_invalidated=dead,
            dialect=dialect,
        ) from error
    finally:
        cursor.close()


def _compiled(dialect: Dialect, statement: Executable) -> _Compiled:
    known = _CACHE.setdefault(dialect, {})
    found = known.get(id(statement))
    if found is not None and found.statement is statement:
        return found
    if dialect.name != "postgresql" or dialect.paramstyle != "pyformat":
        raise NotImplementedError("db_direct runs statements on PostgreSQL through psycopg")
    compiled = statement.compile(dialect=dialect)

    def rendered(match: re.Match[str]) -> str:
        if match.group(1):  # NOT IN (…) has no ANY form that keeps NULL's meaning
            raise NotImplementedError("NOT IN over an expanding parameter")
        if match.group(2):
            return f"= ANY(%({match.group(2)})s)"
        return f"%({match.group(3)})s"

    sql = _POSTCOMPILE.sub(rendered, compiled.string)
    if "__[POSTCOMPILE_" in sql:  # a form the rewrite does not know (a tuple IN, a wrapped bind)
        raise NotImplementedError(f"db_direct cannot send {sql!r}")
    defaults: dict[str, Any] = {}
    callables: dict[str, Callable[[], Any]] = {}
    lists: list[str] = []
    processors: dict[str, Callable[[Any], Any]] = {}
    for bind, name in compiled.bind_names.items():
        if bind.callable is not None:
            callables[name] = bind.callable
        elif not bind.required:
            defaults[name] = bind.value
        if bind.expanding:
            lists.append(name)
            continue  # an array of plain values: psycopg adapts them
        # The dialect's own processing, as SQLAlchemy's execution applies it (PostgreSQL's
        # JSON serialises, UTCDateTime refuses a naive datetime and sends UTC).
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    found = _Compiled(statement, sql, defaults, callables, tuple(lists), processors)
    if len(known) >= CACHED:  # statements built per call: not what this module is for
        known.clear()
    known[id(statement)] = found
    return found


def cached(dialect: Dialect) -> dict[int, _Compiled]:
    """The statements compiled for `dialect` (for tests)."""
    return _CACHE.get(dialect, {})


@dataclass(frozen=True)
class _Shape:
    """A result's rows: a named tuple (attributes named as the columns) and which columns are
    timestamps, read back as UTCDateTime reads them (its own `process_result_value`)."""

    row: Any  # a namedtuple class
    stamps: tuple[int, ...]  # timestamp columns, with or without time zone

    def of(self, values: Sequence[Any]) -> Any:
        if self.stamps:
            values = list(values)
            for i in self.stamps:
                values[i] = _UTC.process_result_value(values[i], None)
        return self.row._make(values)


def _shape_of(cursor: Any) -> _Shape:
    result = cursor.pgresult
    count = result.nfields
    names = [result.fname(i).decode() for i in range(count)]
    return _Shape(
        namedtuple("Row", names, rename=True),  # type: ignore[misc] (names known at run time)
        tuple(i for i in range(count) if result.ftype(i) in _TIMESTAMPS),
    )
