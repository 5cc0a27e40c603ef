"""WSGI entry point for the benchmark: the real app plus one baseline route.

    gunicorn -w 4 -b 127.0.0.1:8765 bench.bench_app:app

`app` is `create_app()` with the default configuration read from the environment
(DATABASE_URL, SECRET_KEY, RATELIMIT_ENABLED=false), exactly as `wsgi.py` builds it, with one
extra route: `POST /bench/bare` inserts one row into the bench-only table `bench_hits` through
the app's own `db.session` and answers a tiny JSON. It is the baseline "bare Flask route doing
one insert": same process, same hooks (security headers, limiter, babel), same connection pool
(with its pre-ping), one INSERT and one COMMIT, none of the API's work.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, func, insert, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.extensions import csrf, db

# Its own MetaData: the app's migrations and models never see this table.
bench_metadata = MetaData()
bench_hits = Table(
    "bench_hits",
    bench_metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)


def create_bench_table(engine: Engine) -> None:
    """CREATE TABLE bench_hits unless it exists (run.py makes it before gunicorn starts; a
    worker racing another one to create it is fine as long as the table is there after)."""
    try:
        bench_metadata.create_all(engine, checkfirst=True)
    except DBAPIError:
        if not inspect(engine).has_table("bench_hits"):
            raise


def bare() -> Response:
    db.session.execute(insert(bench_hits).values(at=func.now()))
    db.session.commit()
    return jsonify(ok=True)


def create_bench_app() -> Flask:
    flask_app = create_app()
    flask_app.add_url_rule("/bench/bare", "bench_bare", bare, methods=["POST"])
    csrf.exempt(bare)  # like the API blueprint: no browser session, no CSRF token
    with flask_app.app_context():
        create_bench_table(db.engine)
    return flask_app


app = create_bench_app()
