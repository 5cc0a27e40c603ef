"""The read switch (issue 18, point 4): the reads that tolerate a few seconds of lag —
dashboards, statistics, exports — go through `read_session()`.

With `DATABASE_READ_URL` set, that session reads a replica through an engine of its own,
opened read-only whatever the server is (PostgreSQL: `default_transaction_read_only`; SQLite:
`mode=ro`), so a write that slipped into a read path fails loudly instead of landing on the
wrong server. Unset, it is the primary's own session (`db.session`): nothing changes and no
second pool is opened.

What reads where, and why (replica lag: a page right after a write by the same person reads
the primary), is listed in docs/deploy.md, "Reads and the replica". The tests point the switch
at the test database itself (tests/conftest.py), so every dashboard, statistics and export test
goes through it read-only; tests/test_read_replica.py points it at another database."""

from __future__ import annotations

from typing import Any, cast

from flask import Flask, current_app, g
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app.extensions import db

EXTENSION = "civic_read_engine"


def read_only_engine(url: str, options: dict[str, Any]) -> Engine:
    """An engine on `url` that cannot write."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise RuntimeError(
                "DATABASE_READ_URL: an in-memory SQLite database cannot be read from elsewhere."
            )
        parsed = parsed.set(
            database=f"file:{parsed.database}", query={**parsed.query, "mode": "ro", "uri": "true"}
        )
        return create_engine(parsed, **options)
    if parsed.get_backend_name() == "postgresql":
        # A startup option of the connection: no transaction, no reset on check-in undoes it.
        connect_args = dict(options.get("connect_args", {}))
        connect_args["options"] = (
            connect_args.get("options", "") + " -c default_transaction_read_only=on"
        ).strip()
        return create_engine(parsed, **{**options, "connect_args": connect_args})
    raise RuntimeError(f"DATABASE_READ_URL: {parsed.get_backend_name()} is not supported.")


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_READ_URL")
    engine = None
    if url:
        engine = read_only_engine(url, app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        from app.metrics import watch_pool

        watch_pool(engine, "read")
    app.extensions[EXTENSION] = engine

    @app.teardown_appcontext
    def _close(_error: BaseException | None) -> None:
        session = g.pop("_read_session", None)
        if session is not None:
            session.close()


def replica() -> Engine | None:
    """The read engine when a replica is configured, else None (dispose() after a fork)."""
    engine: Engine | None = current_app.extensions.get(EXTENSION)
    return engine


def read_session() -> Session:
    """The session for reads that tolerate lag: the replica's (one per app context, closed at
    its end), or the primary's when no replica is configured."""
    engine = replica()
    if engine is None:
        return cast(Session, db.session)
    session: Session | None = g.get("_read_session")
    if session is None:
        session = g._read_session = Session(engine, autoflush=False)
    return session
