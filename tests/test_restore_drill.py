"""The restore drill (scripts/restore_drill.py) fails when the restored copy is not the
source: a row gone, a value changed. Its passing run is `make test-restore`."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "restore_drill.py"


def _drill():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("restore_drill", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pg_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the restore drill runs on PostgreSQL")
    return url


def test_the_drill_fails_on_a_missing_row_and_on_a_changed_value(capsys):
    base = make_url(_pg_url())
    url = base.set(database=f"{base.database}_rd").render_as_string(hide_password=False)
    tampered: list[str] = []

    def tamper(copy_url: str) -> None:
        parts = make_url(copy_url)
        with psycopg.connect(
            host=parts.host, port=parts.port, user=parts.username, dbname=parts.database
        ) as conn:
            conn.execute(
                "DELETE FROM survey_answers WHERE ctid = (SELECT min(ctid) FROM survey_answers)"
            )
            conn.execute(
                "UPDATE users SET name = name || ' ' WHERE id = (SELECT min(id) FROM users)"
            )
        tampered.append(parts.database or "")

    status = _drill().run(url, attempts=20, responses=10, tamper=tamper)
    said = capsys.readouterr().out
    assert tampered == [f"{base.database}_rd_copy"]
    assert status == 1, said
    assert "DIFFERENCE table survey_answers:" in said and " rows, " in said
    assert "DIFFERENCE table users: the same" in said  # same count, another value
    assert "restore drill: FAILED, 2 differences" in said
    with psycopg.connect(
        host=base.host, port=base.port, user=base.username, dbname="postgres"
    ) as c:
        left = c.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{base.database}_rd_%",)
        ).fetchall()
    assert left == []  # both databases dropped


def test_the_drill_skips_clearly_without_postgresql(capsys):
    status = _drill().main(["--url", "postgresql+psycopg://postgres@127.0.0.1:1/civic_nowhere"])
    assert status == 2
    assert "SKIPPED" in capsys.readouterr().out
