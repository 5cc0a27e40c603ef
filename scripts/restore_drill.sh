#!/usr/bin/env bash
# The restore drill: build a source database, `flask backup`, restore the newest backup into a
# fresh database, check migrations, recheck every round, compare every table and ranking.
# Exit 0 passed, 1 a difference, 2 skipped (no PostgreSQL or pg_dump). See restore_drill.py.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
exec nice -n 10 .venv/bin/python scripts/restore_drill.py "$@"
