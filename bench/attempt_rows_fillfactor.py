"""A paper's rows in PostgreSQL at fillfactor 100 (as they are) and 80: what a start's insert, an
answer's update and a submit's scoring cost the database backend.

    .venv/bin/python bench/run.py --no-docs        # once: creates civic_bench's tables
    .venv/bin/python bench/attempt_rows_fillfactor.py [--papers 1000]

Copies `attempt_questions`' columns and indexes (not its rows) into two throwaway tables of
`civic_bench`, one per fillfactor, and in three interleaved rounds per table: inserts PAPERS papers
of 20 rows (one statement each, as a start does), updates every row once (as answer save does,
one transaction each), then sets `correct` on each paper's 20 rows (as submit's scoring does).
It prints the backend's CPU (from /proc) per paper or per row, the share of HOT updates and the
tables' sizes, then drops both tables. Loopback only; the result is in docs/benchmarks.md
("fillfactor tried").
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import psycopg
from harness import process_cpu_s
from psycopg import sql

DSN = "host=127.0.0.1 port=5432 user=postgres dbname=civic_bench"
FILLFACTORS = (100, 80)
ROUNDS = 3


def backend_cpu_s(conn: psycopg.Connection) -> float:
    return process_cpu_s(conn.info.backend_pid)


def create(conn: psycopg.Connection, table: str, fillfactor: int) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"DROP SEQUENCE IF EXISTS {table}_seq")
    conn.execute(
        f"CREATE TABLE {table} (LIKE attempt_questions INCLUDING DEFAULTS INCLUDING INDEXES) "
        f"WITH (fillfactor = {fillfactor})"
    )
    conn.execute(f"CREATE SEQUENCE {table}_seq")
    conn.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_seq')")
    conn.commit()


def one_round(conn: psycopg.Connection, table: str, first: int, papers: int) -> tuple[float, ...]:
    """ms of backend CPU: per paper inserted, per row answered, per paper scored."""
    rng = random.Random(first)
    order = json.dumps([2, 0, 3, 1])
    name = sql.Identifier(table)
    insert = sql.SQL(
        "INSERT INTO {} (attempt_id, position, question_version_id, choice_order, seq) "
        "SELECT %s, p, 1 + p, %s::json, 0 FROM generate_series(1, 20) AS p"
    ).format(name)
    answer = sql.SQL(
        "UPDATE {} SET selected = %s::json, seq = %s, answered_at = now() "
        "WHERE attempt_id = %s AND position = %s"
    ).format(name)
    score = sql.SQL(
        "UPDATE {} SET correct = (selected::text = '[1]') WHERE attempt_id = %s"
    ).format(name)
    t0 = backend_cpu_s(conn)
    for attempt in range(first, first + papers):
        conn.execute(insert, (attempt, order))
        conn.commit()
    t1 = backend_cpu_s(conn)
    for attempt in range(first, first + papers):
        for position in range(1, 21):
            conn.execute(answer, (json.dumps([rng.randrange(4)]), position, attempt, position))
            conn.commit()
    t2 = backend_cpu_s(conn)
    for attempt in range(first, first + papers):
        conn.execute(score, (attempt,))
        conn.commit()
    t3 = backend_cpu_s(conn)
    return (t1 - t0) * 1000 / papers, (t2 - t1) * 1000 / (papers * 20), (t3 - t2) * 1000 / papers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=1000, help="papers per round and table")
    args = parser.parse_args()
    tables = {ff: f"bench_aq_ff{ff}" for ff in FILLFACTORS}
    with psycopg.connect(DSN) as conn:
        for ff, table in tables.items():
            create(conn, table, ff)
        results: dict[int, list[tuple[float, ...]]] = {ff: [] for ff in FILLFACTORS}
        try:
            for number in range(ROUNDS):
                for ff, table in tables.items():
                    row = one_round(conn, table, number * args.papers, args.papers)
                    results[ff].append(row)
                    print(
                        f"round {number + 1}, fillfactor {ff}: start {row[0]:.3f} ms a paper, "
                        f"answer {row[1]:.3f} ms a row, scoring {row[2]:.3f} ms a paper",
                        flush=True,
                    )
            conn.execute("SELECT pg_stat_force_next_flush()")
            conn.commit()
            time.sleep(1)
            for ff, table in tables.items():
                medians = [statistics.median(r[i] for r in results[ff]) for i in range(3)]
                updated, hot, size = conn.execute(
                    "SELECT n_tup_upd, n_tup_hot_upd, pg_relation_size(relid) "
                    "FROM pg_stat_user_tables WHERE relname = %s",
                    (table,),
                ).fetchone() or (0, 0, 0)
                print(
                    f"fillfactor {ff}: median start {medians[0]:.3f} / answer {medians[1]:.3f} / "
                    f"scoring {medians[2]:.3f} ms; HOT updates {hot / max(updated, 1):.0%}; "
                    f"table {size / 2**20:.1f} MiB"
                )
        finally:
            conn.rollback()
            for table in tables.values():
                conn.execute(f"DROP TABLE IF EXISTS {table}")
                conn.execute(f"DROP SEQUENCE IF EXISTS {table}_seq")
            conn.commit()


if __name__ == "__main__":
    main()
