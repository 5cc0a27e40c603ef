"""`flask backup`: pg_dump's custom format on PostgreSQL, SQLite's backup API on SQLite; names
with UTC timestamps, the newest N kept, written under a temporary name and renamed, never a
partial file, never the password on screen."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.extensions import db
from app.models import User
from app.services import backups
from app.services.backups import BackupError, make_backup

NAME = re.compile(r"civic-\d{8}T\d{6}Z\.(pgdump|sqlite3)")
WHEN = datetime(2026, 7, 12, 13, 0, 5, tzinfo=UTC)


def _engine(url: str) -> str:
    return make_url(url).get_backend_name()


def test_flask_backup_writes_a_readable_copy(app, runner, make_user, database_url, tmp_path):
    make_user(phone="0912000111", name="Người Sao Lưu")
    folder = tmp_path / "backups"
    result = runner.invoke(args=["backup", "--dir", str(folder), "--keep", "3"])
    assert result.exit_code == 0, result.output
    files = list(folder.iterdir())
    assert len(files) == 1 and NAME.fullmatch(files[0].name), files
    backup = files[0]
    assert str(backup) in result.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # personal data: the owner only
    with app.app_context():
        users = db.session.scalar(select(func.count()).select_from(User))
    if _engine(database_url) == "sqlite":
        assert backup.suffix == ".sqlite3"
        with sqlite3.connect(backup) as copy:
            assert copy.execute("SELECT count(*) FROM users").fetchone()[0] == users
            phones = [r[0] for r in copy.execute("SELECT phone FROM users")]
        assert "0912000111" in phones
    else:
        assert backup.suffix == ".pgdump" and backup.read_bytes()[:5] == b"PGDMP"
        listing = subprocess.run(
            ["pg_restore", "--list", str(backup)], capture_output=True, text=True, check=True
        )
        assert "TABLE DATA public users" in listing.stdout


def test_backup_dir_and_keep_come_from_the_configuration(app_factory, tmp_path):
    folder = tmp_path / "from-config"
    configured = app_factory(BACKUP_DIR=str(folder), BACKUP_KEEP=1)
    runner = configured.test_cli_runner()
    assert runner.invoke(args=["backup"]).exit_code == 0
    result = runner.invoke(args=["backup"])  # the same second or the next: one file kept
    assert result.exit_code == 0, result.output
    assert len([p for p in folder.iterdir() if NAME.fullmatch(p.name)]) == 1


def test_retention_keeps_the_newest_and_nothing_else_is_touched(database_url, tmp_path):
    folder = tmp_path / "b"
    folder.mkdir()
    other = folder / "notes.txt"
    other.write_text("the operator's file")
    foreign = folder / "civic-20200101T000000Z.pgdump.bak"
    foreign.write_text("not ours: another name")
    made = [
        make_backup(database_url, folder, keep=3, now=WHEN + timedelta(hours=h)).path
        for h in range(5)
    ]
    kept = sorted(p.name for p in folder.iterdir() if NAME.fullmatch(p.name))
    assert kept == sorted(p.name for p in made[-3:])
    assert other.read_text() == "the operator's file" and foreign.exists()
    assert made[0].name.startswith("civic-20260712T130005Z")  # the time in UTC, to the second


def test_keep_must_be_at_least_one(database_url, tmp_path):
    with pytest.raises(BackupError, match="at least 1"):
        make_backup(database_url, tmp_path, keep=0, now=WHEN)


def test_a_missing_pg_dump_is_named_and_leaves_nothing(tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/whatever"
    with pytest.raises(BackupError, match="pg_dump"):
        make_backup(url, tmp_path, keep=2, now=WHEN, pg_dump=str(tmp_path / "no-such-pg_dump"))
    assert list(tmp_path.iterdir()) == []


def test_flask_backup_fails_clearly_without_pg_dump(app_factory, tmp_path, database_url):
    if _engine(database_url) != "postgresql":
        pytest.skip("pg_dump is used on PostgreSQL only")
    folder = tmp_path / "none"
    configured = app_factory(BACKUP_PG_DUMP=str(tmp_path / "absent" / "pg_dump"))
    result = configured.test_cli_runner().invoke(args=["backup", "--dir", str(folder)])
    assert result.exit_code != 0
    assert "pg_dump" in result.output and "postgresql-client" in result.output
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_dump_that_dies_halfway_leaves_no_partial_file(tmp_path):
    fake = tmp_path / "pg_dump"
    # Writes half a dump where it is told to, then fails as a killed pg_dump would.
    fake.write_text(
        '#!/bin/sh\nfor a in "$@"; do case "$a" in --file=*) f="${a#--file=}";; esac; done\n'
        'printf PGDMP-half > "$f"\necho "pg_dump: error: connection lost" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    folder = tmp_path / "out"
    url = "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:5432/whatever"
    with pytest.raises(BackupError) as failure:
        make_backup(url, folder, keep=2, now=WHEN, pg_dump=str(fake))
    assert "connection lost" in str(failure.value)
    assert "s3cret-pw" not in str(failure.value)
    assert list(folder.iterdir()) == []


def test_the_password_goes_to_pg_dump_in_its_environment_not_its_arguments(tmp_path):
    seen = tmp_path / "seen"
    fake = tmp_path / "pg_dump"
    fake.write_text(
        f'#!/bin/sh\necho "ARGS $*" > {seen}\necho "PASS $PGPASSWORD" >> {seen}\n'
        'for a in "$@"; do case "$a" in --file=*) f="${a#--file=}";; esac; done\n'
        'printf PGDMP > "$f"\n'
    )
    fake.chmod(0o755)
    url = "postgresql+psycopg://civic:s3cret-pw@db.example:6543/civic_prod"
    made = make_backup(url, tmp_path / "out", keep=2, now=WHEN, pg_dump=str(fake))
    args, password = seen.read_text().splitlines()
    assert "s3cret-pw" not in args and "--format=custom" in args
    assert password == "PASS s3cret-pw"
    assert "s3cret-pw" not in made.describe()


def test_a_bad_postgresql_address_fails_clearly_without_the_password(database_url, tmp_path):
    if _engine(database_url) != "postgresql":
        pytest.skip("needs the PostgreSQL server")
    url = make_url(database_url).set(password="s3cret-pw", database="civic_help_no_such_db")
    with pytest.raises(BackupError) as failure:
        make_backup(url.render_as_string(hide_password=False), tmp_path, keep=2, now=WHEN)
    message = str(failure.value)
    assert "civic_help_no_such_db" in message and "s3cret-pw" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_missing_sqlite_file_fails_clearly(tmp_path):
    with pytest.raises(BackupError, match=r"nope\.sqlite"):
        make_backup(f"sqlite:///{tmp_path / 'nope.sqlite'}", tmp_path / "o", keep=2, now=WHEN)
    assert not (tmp_path / "nope.sqlite").exists()  # not created by trying to read it
    assert not (tmp_path / "o").exists() or list((tmp_path / "o").iterdir()) == []


def test_an_in_memory_database_cannot_be_backed_up(tmp_path):
    with pytest.raises(BackupError, match="memory"):
        make_backup("sqlite://", tmp_path, keep=2, now=WHEN)


def test_flask_backup_failure_exits_non_zero_with_the_message(tmp_path):
    from app import create_app
    from app.config import TestingConfig

    url = f"sqlite:///{tmp_path / 'gone.sqlite'}"
    gone = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    result = gone.test_cli_runner().invoke(args=["backup", "--dir", str(tmp_path / "x")])
    assert result.exit_code != 0 and "gone.sqlite" in result.output
    assert not (tmp_path / "gone.sqlite").exists()


def test_sqlite_backup_is_consistent_while_another_connection_writes(tmp_path):
    source = tmp_path / "live.sqlite"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(5000)])
    writer = sqlite3.connect(source)
    writer.execute("BEGIN")
    writer.execute("INSERT INTO t VALUES (-1)")  # not committed: must not be in the copy
    made = make_backup(f"sqlite:///{source}", tmp_path / "o", keep=2, now=WHEN)
    writer.rollback()
    writer.close()
    with sqlite3.connect(made.path) as copy:
        assert copy.execute("SELECT count(*), min(n) FROM t").fetchone() == (5000, 0)
    assert os.access(made.path, os.R_OK) and backups.BACKUP_NAME.fullmatch(made.path.name)


def test_the_dump_is_private_while_it_is_being_written(tmp_path):
    """Another account on the machine must not read the dump as it grows: the partial file is
    the owner's alone from its first byte, whatever the umask (pg_dump creates with 0644)."""
    seen = tmp_path / "mode"
    fake = tmp_path / "pg_dump"
    fake.write_text(
        '#!/bin/sh\nfor a in "$@"; do case "$a" in --file=*) f="${a#--file=}";; esac; done\n'
        f'printf PGDMP > "$f"\nstat -c %a "$f" > {seen}\n'
    )
    fake.chmod(0o755)
    old = os.umask(0o022)
    try:
        made = make_backup(
            "postgresql+psycopg://postgres@127.0.0.1:5432/x",
            tmp_path / "out",
            keep=2,
            now=WHEN,
            pg_dump=str(fake),
        )
    finally:
        os.umask(old)
    assert seen.read_text().strip() == "600"
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600


def test_a_sqlite_copy_is_private_while_it_is_being_written(tmp_path, monkeypatch):
    source = tmp_path / "source.sqlite"
    sqlite3.connect(source).close()
    modes: list[int] = []
    real = backups._sqlite_backup

    def watching(source_path, partial):  # type: ignore[no-untyped-def]
        real(source_path, partial)
        modes.append(stat.S_IMODE(partial.stat().st_mode))

    monkeypatch.setattr(backups, "_sqlite_backup", watching)
    old = os.umask(0o022)
    try:
        make_backup(f"sqlite:///{source}", tmp_path / "out", keep=2, now=WHEN)
    finally:
        os.umask(old)
    assert modes == [0o600]
