"""Keeping PostgreSQL's planner statistics of tables the app fills itself, where autovacuum
may not (it is off on some servers, this project's CI machine kind among them).

Why it matters beyond a slow report: a foreign-key check is a query whose plan each database
connection prepares once and keeps until the table's statistics change. Prepared while a table
is believed empty (migrations leave new tables so), the check scans the whole table, for every
row checked, for as long as the connection lives — the survey mixer's move of a batch slowed
from 17 to 106 ms as 6,000 responses accumulated (docs/benchmarks.md). An ANALYZE refreshes
the statistics and makes every connection plan the check again."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

# autovacuum's own rule (autovacuum_analyze_scale_factor 0.1), measured in pages: what the
# file holds now against what the last ANALYZE or VACUUM saw. Growth, not the statistics
# collector's change counters, which reach other connections up to seconds late. Not seen so:
# rows written into space a mass delete and a VACUUM freed (the file does not grow); the
# nightly `flask surveys reorder` (CLUSTER) takes the statistics afresh.
GROWTH = 0.1

_GROWN = text(
    "SELECT c.relname FROM pg_class c"
    " WHERE c.oid = ANY(CAST(:tables AS regclass[]))"
    " AND pg_relation_size(c.oid) / current_setting('block_size')::int"
    " > c.relpages * (1 + :growth) + 1"
    " ORDER BY c.relname"
)


def analyze_grown(session: Session, tables: Sequence[str]) -> list[str]:
    """ANALYZE those of `tables` that grew by more than a tenth (and a page) since their
    statistics were last taken; returns their names. PostgreSQL only (the caller checks).
    Commits: ANALYZE's own locks are light, but nothing of the caller's should wait on it."""
    grown = list(session.scalars(_GROWN, {"tables": list(tables), "growth": GROWTH}))
    session.commit()
    for name in grown:
        # Names come from pg_class for the caller's own list, never from a request.
        session.execute(text(f'ANALYZE "{name}"'))
        session.commit()
    return grown
