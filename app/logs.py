"""Logs carry no personal data: the one place that decides what a log line may hold.

- SQL parameters (names, phones, password hashes, nonces, answers) never reach a log line:
  the engine hides them (`hide_parameters`, app/config.py), in its INFO lines and in the text
  of every database error.
- Result rows, which SQLAlchemy's engine logs at DEBUG, are dropped: a row of `users` or of
  `survey_answers` is personal data whatever the log level (`NoRows`).
- A database error is logged by its kind, SQLSTATE, constraint and statement only
  (`loggable`): PostgreSQL's own message may quote the values ("DETAIL: Key
  (phone)=(0912345678) already exists.", "Failing row contains (...)"). SQLite's names
  columns only, and is kept.
"""

from __future__ import annotations

import logging
from types import TracebackType

from sqlalchemy.exc import DBAPIError, StatementError

ENGINE_LOGGER = "sqlalchemy.engine.Engine"


class NoRows(logging.Filter):
    """Drops the result rows SQLAlchemy's engine logs at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


class DatabaseError(Exception):
    """What is logged in place of a database error: nothing the database was sent."""


def _describe(error: BaseException) -> str:
    if not isinstance(error, StatementError):
        return f"{type(error).__module__}.{type(error).__qualname__}"
    orig = error.orig
    parts = [type(error).__name__]
    if orig is not None:
        parts.append(f"{type(orig).__module__}.{type(orig).__qualname__}")
        diag = getattr(orig, "diag", None)  # psycopg
        for name in ("sqlstate", "constraint_name", "table_name", "column_name"):
            value = getattr(diag, name, None) if diag is not None else None
            if value:
                parts.append(f"{name}={value}")
        code = getattr(orig, "sqlite_errorname", None)
        if code:  # SQLite's messages name columns, never the values bound to a statement
            parts.append(f"{code}: {str(orig).splitlines()[0] if str(orig) else ''}")
    return " ".join(parts) + f"\n[SQL: {error.statement}]"


def _chain(error: BaseException) -> list[BaseException]:
    """The error and those a traceback would print with it (causes and contexts)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return seen


def loggable(
    error: BaseException,
) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    """`exc_info` to log for `error`: itself, unless a database error is in its chain; then a
    DatabaseError naming each link (kind, SQLSTATE, constraint, statement) with the same
    traceback, without any message the database wrote."""
    chain = _chain(error)
    if not any(isinstance(e, (DBAPIError, StatementError)) for e in chain):
        return type(error), error, error.__traceback__
    text = "\n".join(_describe(e) for e in chain if not _is_driver_error(e, chain))
    substitute = DatabaseError(text)
    return DatabaseError, substitute.with_traceback(error.__traceback__), error.__traceback__


def _is_driver_error(error: BaseException, chain: list[BaseException]) -> bool:
    """The driver's own exception, already named by the SQLAlchemy error that wraps it."""
    return any(isinstance(e, StatementError) and e.orig is error for e in chain)


def init_app() -> None:
    engine_logger = logging.getLogger(ENGINE_LOGGER)
    if not any(isinstance(f, NoRows) for f in engine_logger.filters):
        engine_logger.addFilter(NoRows())
