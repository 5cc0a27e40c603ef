"""The restore drill (issue 18 point 5; `make test-restore`, `scripts/restore_drill.sh`): proves
that a backup made by `flask backup` brings the data back, whole.

1. A source database on PostgreSQL with the demo content, demo attempts at every round that
   has opened and demo responses to every survey (the `flask demo …` commands).
2. `flask backup` (the real command, in its own process, from DATABASE_URL and BACKUP_DIR)
   twice: before the attempts and after them; the drill restores the newest.
3. `pg_restore` of that file into a fresh, empty database.
4. On the copy: no migration pending (alembic's revision is the head, and `flask db check`
   finds no difference between the models and the tables).
5. Every table of the two databases compared: its name, its row count and a digest of every
   row (so a changed value is found, not only a missing row).
6. `flask contests recheck` on every round of the copy (re-scores, re-ranks, compares with
   what is stored: exit status 1 on a difference), then each round's ranking of people and of
   communes compared between the source and the copy.

Exit status 0 when everything matched; 1 on any difference (each one printed); 2 when
PostgreSQL or pg_dump/pg_restore is missing (`make test-restore` reports SKIPPED). The two
databases (`<name>_source`, `<name>_copy`, from --url) are dropped at the end unless --keep.
Loopback only; a few seconds of demo data (`--attempts`, `--responses`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SKIP = 2
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/civic_restore"

Tamper = Callable[[str], None]  # given the copy's URL, after the restore (tests/…restore_drill)


class Drill:
    def __init__(self) -> None:
        self.differences: list[str] = []

    def step(self, message: str) -> None:
        print(f"  {message}", flush=True)

    def differ(self, message: str) -> None:
        self.differences.append(message)
        print(f"  DIFFERENCE {message}", flush=True)


def _admin(url: str) -> psycopg.Connection[Any]:
    parts = make_url(url)
    return psycopg.connect(
        host=parts.host or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


def _recreate(url: str, name: str) -> None:
    assert re.fullmatch(r"[a-z0-9_]+", name), name
    with _admin(url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def _drop(url: str, name: str) -> None:
    with _admin(url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _app(url: str) -> Any:
    from app import create_app
    from app.config import DevelopmentConfig

    # No Redis, no shared cache: the drill reads nothing but the two databases.
    return create_app(
        DevelopmentConfig,
        SQLALCHEMY_DATABASE_URI=url,
        REDIS_URL=None,
        RATELIMIT_STORAGE_URI="memory://",
        CACHE_TYPE="SimpleCache",
    )


def _invoke(app: Any, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exit_code != 0:
        raise RuntimeError(f"flask {' '.join(args)}: exit {result.exit_code}: {result.output}")
    return str(result.output)


def build_source(app: Any, drill: Drill, responses: int) -> None:
    from app.extensions import db
    from app.models import Round, Survey

    for step in (["db", "upgrade"], ["units", "load"], ["demo"], ["demo", "content"]):
        _invoke(app, *step)
    with app.app_context():
        rounds = len(db.session.scalars(db.select(Round)).all())
        surveys = [s.slug for s in db.session.scalars(db.select(Survey).order_by(Survey.id))]
        db.session.remove()
    for slug in surveys:
        _invoke(app, "demo", "responses", "--survey", slug, "--count", str(responses))
    _invoke(app, "surveys", "mix", "--all")
    drill.step(
        f"source: demo content ({rounds} rounds, {len(surveys)} surveys), "
        f"{responses} responses per survey"
    )


def add_attempts(app: Any, drill: Drill, attempts: int) -> list[int]:
    """Demo attempts at every round that has opened; returns the ids of every round."""
    from app.extensions import db
    from app.models import Round

    with app.app_context():
        now = _now(app)
        rounds = db.session.scalars(db.select(Round).order_by(Round.id)).all()
        opened = [r.id for r in rounds if r.opens_at <= now]
        every = [r.id for r in rounds]
        db.session.remove()
    for seed, round_id in enumerate(opened, start=1):  # demo attempts need a round opened
        _invoke(
            app, "demo", "attempts", "--round", str(round_id), "--count", str(attempts),
            "--seed", str(seed),
        )  # fmt: skip
    drill.step(f"source: {attempts} demo attempts at each of {len(opened)} opened rounds")
    return every


def _now(app: Any) -> Any:
    from app import clock

    with app.app_context():
        return clock.now()


def backup(url: str, folder: Path) -> Path:
    """`flask backup` as an operator runs it: its own process, the URL in DATABASE_URL."""
    from app.services.backups import backups_in

    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "BACKUP_DIR": str(folder),
        "BACKUP_KEEP": "2",
    }
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "backup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask backup: exit {done.returncode}: {done.stdout}{done.stderr}")
    return backups_in(folder)[-1]


def restore(path: Path, url: str) -> None:
    from app.services.backups import pg_environment

    # The address and the password in libpq's variables, off the command line.
    database = make_url(url).database or ""
    done = subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "-d",
            database,
            str(path),
        ],
        env=pg_environment(make_url(url)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pg_restore: exit {done.returncode}: {done.stderr[-2000:]}")


def check_migrations(app: Any, drill: Drill) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from app.extensions import db

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = set(ScriptDirectory.from_config(config).get_heads())
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
        db.session.remove()
    if current != heads:
        drill.differ(f"migrations: the copy is at {sorted(current)}, the code at {sorted(heads)}")
    result = app.test_cli_runner().invoke(args=["db", "check"])
    if result.exit_code != 0:
        drill.differ(f"flask db check on the copy: exit {result.exit_code}: {result.output}")
    else:
        drill.step(f"copy: migrations at the head ({', '.join(sorted(heads))}), db check clean")


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Each table of the public schema: (rows, md5 of its rows in a fixed order)."""
    parts = make_url(url)
    found: dict[str, tuple[int, str]] = {}
    with psycopg.connect(
        host=parts.host, port=parts.port, user=parts.username, password=parts.password,
        dbname=parts.database,
    ) as conn:  # fmt: skip
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        for table in tables:
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), "
                    "md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} t"
                ).format(sql.Identifier(table))
            ).fetchone()
            assert row is not None
            found[table] = (int(row[0]), str(row[1]))
    return found


def compare_tables(source: str, copy: str, drill: Drill) -> None:
    before, after = table_digests(source), table_digests(copy)
    for table in sorted(set(before) | set(after)):
        if table not in after:
            drill.differ(f"table {table}: missing from the copy")
        elif table not in before:
            drill.differ(f"table {table}: in the copy only")
        elif before[table][0] != after[table][0]:
            drill.differ(f"table {table}: {before[table][0]} rows, {after[table][0]} in the copy")
        elif before[table][1] != after[table][1]:
            drill.differ(f"table {table}: the same {before[table][0]} rows count, other values")
    rows = sum(n for n, _ in before.values())
    drill.step(f"compared {len(before)} tables, {rows:,} rows (count and digest of every row)")


def rankings(app: Any) -> dict[int, Any]:
    from app import clock
    from app.extensions import db
    from app.models import Round
    from app.services import ranking

    found = {}
    with app.app_context():
        now, grace = clock.now(), clock.grace()
        for round_ in db.session.scalars(db.select(Round).order_by(Round.id)):
            people = ranking.ranking(db.session, round_, now, grace)
            units = ranking.unit_ranking(db.session, round_, now, grace)
            found[round_.id] = (
                people.final,
                [tuple(s) for s in people.standings],
                repr(units),
            )
        db.session.remove()
    return found


def recheck_rounds(app: Any, rounds: list[int], drill: Drill, where: str) -> None:
    for round_id in rounds:
        result = app.test_cli_runner().invoke(args=["contests", "recheck", str(round_id)])
        last = result.output.strip().splitlines()[:1]
        if result.exit_code != 0:
            drill.differ(f"flask contests recheck {round_id} on the {where}: {result.output}")
        else:
            drill.step(f"{where}: flask contests recheck {round_id}: {' '.join(last)}")


def compare_rankings(source: Any, copy: Any, drill: Drill) -> None:
    before, after = rankings(source), rankings(copy)
    if set(before) != set(after):
        drill.differ(f"rounds: {sorted(before)} in the source, {sorted(after)} in the copy")
    for round_id in sorted(set(before) & set(after)):
        if before[round_id] != after[round_id]:
            drill.differ(f"round {round_id}: the ranking differs between source and copy")
        else:
            drill.step(
                f"round {round_id}: the same ranking ({len(before[round_id][1])} people, "
                f"and the communes')"
            )


def missing_parts(url: str) -> list[str]:
    missing = [p for p in ("pg_dump", "pg_restore") if shutil.which(p) is None]
    try:
        _admin(url).close()
    except psycopg.Error:
        missing.append(f"PostgreSQL at {make_url(url).host}:{make_url(url).port or 5432}")
    return missing


def run(
    url: str, attempts: int, responses: int, keep: bool = False, tamper: Tamper | None = None
) -> int:
    base = make_url(url)
    assert base.database and re.fullmatch(r"[a-z0-9_]+", base.database), base.database
    names = {"source": f"{base.database}_source", "copy": f"{base.database}_copy"}
    urls = {k: base.set(database=v).render_as_string(hide_password=False) for k, v in names.items()}
    drill = Drill()
    started = time.monotonic()
    apps: list[Any] = []
    try:
        for name in names.values():
            _recreate(url, name)
        source = _app(urls["source"])
        apps.append(source)
        with tempfile.TemporaryDirectory(prefix="civic-restore-") as folder:
            build_source(source, drill, responses)
            first = backup(urls["source"], Path(folder))
            time.sleep(1.1)  # the next backup's name is at least a second later
            rounds = add_attempts(source, drill, attempts)
            newest = backup(urls["source"], Path(folder))
            if newest == first:
                raise RuntimeError("the second backup did not get a newer name")
            drill.step(f"flask backup: {first.name}, then {newest.name} (restored)")
            restore(newest, urls["copy"])
            drill.step(f"pg_restore into {names['copy']}: {newest.stat().st_size:,} bytes")
        if tamper is not None:
            tamper(urls["copy"])
        copy = _app(urls["copy"])
        apps.append(copy)
        check_migrations(copy, drill)
        compare_tables(urls["source"], urls["copy"], drill)
        recheck_rounds(copy, rounds, drill, "copy")  # every round of the source
        compare_rankings(source, copy, drill)
    finally:
        from app.extensions import db

        for app in apps:
            with app.app_context():
                db.engine.dispose()
        if not keep:
            for name in names.values():
                _drop(url, name)
    seconds = time.monotonic() - started
    if drill.differences:
        print(f"restore drill: FAILED, {len(drill.differences)} differences ({seconds:.0f} s)")
        return 1
    print(f"restore drill: passed in {seconds:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("RESTORE_DRILL_URL", DEFAULT_URL),
        help="PostgreSQL URL whose database name is the prefix of the drill's two databases "
        f"(default: RESTORE_DRILL_URL, else {DEFAULT_URL})",
    )
    parser.add_argument("--attempts", type=int, default=60, help="demo attempts per round")
    parser.add_argument("--responses", type=int, default=40, help="demo responses per survey")
    parser.add_argument("--keep", action="store_true", help="keep the two databases")
    args = parser.parse_args(argv)
    missing = missing_parts(args.url)
    if missing:
        print("restore drill: SKIPPED, this machine lacks " + ", ".join(missing))
        return SKIP
    return run(args.url, args.attempts, args.responses, args.keep)


if __name__ == "__main__":
    sys.exit(main())
