"""Exit 0 when PostgreSQL answers at the URL given, creating its database if missing.

Used by `make test` to decide whether to run the suite a second time on PostgreSQL.
"""

from __future__ import annotations

import sys

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


def main(url: str) -> int:
    parts = make_url(url)
    server = dict(
        host=parts.host or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        connect_timeout=3,
    )
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (parts.database,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parts.database)))
    except psycopg.OperationalError as error:
        print(f"PostgreSQL not reachable: {error}".strip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
