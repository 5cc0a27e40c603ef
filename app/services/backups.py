"""Backups of the database (`flask backup`): pg_dump's custom format on PostgreSQL (restored
with pg_restore, table by table if need be), SQLite's online backup API on SQLite (a
consistent copy while the app writes).

- Names carry the UTC time to the second, `civic-YYYYMMDDTHHMMSSZ.pgdump` (`.sqlite3`), so they
  sort by age; retention keeps the newest N of *these* names and touches no other file.
- A backup is written under a temporary name in the same folder and renamed once complete
  (and flushed to disk): a backup that fails, or a machine that stops halfway, leaves no file
  that looks like a backup.
- Files and the folder are readable by their owner only: a backup holds personal data.
- The database password goes to pg_dump in its environment (PGPASSWORD), never on its command
  line (which `ps` shows), and never into a message.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

BACKUP_NAME = re.compile(r"civic-(\d{8}T\d{6}Z)\.(pgdump|sqlite3)")
SUFFIX = {"postgresql": "pgdump", "sqlite": "sqlite3"}
CLIENT_PACKAGE = "postgresql-client-15"  # the server's major version (pg_dump --version)


class BackupError(Exception):
    """A backup that could not be made: the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    removed: list[Path] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"Backup written: {self.path} ({self.size:,} bytes)."]
        lines += [f"  removed (older than the newest kept): {p.name}" for p in self.removed]
        return "\n".join(lines)


def make_backup(
    database_url: str, directory: Path, keep: int, now: datetime, pg_dump: str = "pg_dump"
) -> Backup:
    """Back up the database at `database_url` into `directory` as of `now`, then delete all
    but the newest `keep` backups there. Raises BackupError, leaving no partial file."""
    if keep < 1:
        raise BackupError(f"--keep must be at least 1 (given {keep}).")
    url = make_url(database_url)
    engine = url.get_backend_name()
    if engine not in SUFFIX:
        raise BackupError(f"Backups are made of PostgreSQL or SQLite databases, not {engine}.")
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"civic-{stamp}.{SUFFIX[engine]}"
    if engine == "sqlite":
        source = _sqlite_source(url)  # checked before the folder is made
    else:
        program = shutil.which(pg_dump)
        if program is None:
            raise BackupError(
                f"pg_dump not found ({pg_dump}): install the PostgreSQL client of the server's "
                f"version (Debian: apt-get install {CLIENT_PACKAGE}) or set BACKUP_PG_DUMP."
            )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = directory / f".{target.name}.partial-{os.getpid()}"
    # The owner's alone from its first byte: pg_dump and SQLite would create it with the
    # umask's mode (0644), readable by other accounts while the dump grows; they write into
    # this empty file and keep its mode.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if engine == "sqlite":
            _sqlite_backup(source, partial)
        else:
            _pg_dump(program, url, partial)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        partial.chmod(0o600)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    _fsync_directory(directory)
    return Backup(target, target.stat().st_size, _prune(directory, keep))


def backups_in(directory: Path) -> list[Path]:
    """The backups in `directory`, oldest first (by the time in their names)."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_file() and BACKUP_NAME.fullmatch(p.name)]
    return sorted(found, key=lambda p: (BACKUP_NAME.fullmatch(p.name)[1], p.name))  # type: ignore[index]


def _prune(directory: Path, keep: int) -> list[Path]:
    old = backups_in(directory)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _fsync_directory(directory: Path) -> None:
    """The rename itself reaches the disk (a crash right after leaves the new name)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------- SQLite


def _sqlite_source(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database has nothing to back up.")
    source = Path(url.database)
    if not source.is_file():
        raise BackupError(f"SQLite database {source} not found: check DATABASE_URL.")
    return source


def _sqlite_backup(source: Path, partial: Path) -> None:
    try:
        # Read-only: a mistyped path is never created as an empty database.
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as origin:
            copy = sqlite3.connect(partial)
            try:
                origin.backup(copy)  # pages copied under a read transaction: one instant
            finally:
                copy.close()
    except sqlite3.Error as error:
        raise BackupError(f"SQLite backup of {source} failed: {error}") from None


# ------------------------------------------------------------------------------- PostgreSQL


def pg_environment(url: URL) -> dict[str, str]:
    """libpq's variables for `url`: the address, the user and the password stay off the
    command line of pg_dump, pg_restore and psql."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    values = {
        "PGHOST": url.host or url.query.get("host"),
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
        "PGSSLMODE": url.query.get("sslmode"),
    }
    env.update({k: str(v) for k, v in values.items() if v})
    return env


def _pg_dump(program: str, url: URL, partial: Path) -> None:
    try:
        done = subprocess.run(
            [program, "--format=custom", "--no-password", f"--file={partial}"],
            env=pg_environment(url),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as error:
        raise BackupError(f"pg_dump could not run ({program}): {error.strerror}") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[-600:] or "no message"
        if url.password:
            said = said.replace(str(url.password), "***")
        raise BackupError(
            f"pg_dump of database {url.database} failed (exit {done.returncode}): {said}"
        )
