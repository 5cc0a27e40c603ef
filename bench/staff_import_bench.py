"""Import 500 staff accounts from CSV at the production password cost (issue 16, point 4).

    .venv/bin/python bench/staff_import_bench.py [--runs 3] [--count 500] [--database URL]

A fresh database (SQLite file under bench/.work/, or the PostgreSQL URL given: it is dropped and
recreated, so give a scratch database) migrated with the project's migrations, the units of
province 92, then, interleaved `--runs` times: the import itself (`staff.import_csv`: read the
file, check every line, one-time passwords hashed with the app's `hash_password` at Werkzeug's
default scrypt cost, insert, the audit entry, commit) and the baseline — hashing the same number
of passwords alone with the same threads, no database. Prints the median of each and the ratio,
and the CPU time the import used (all threads: on an idle machine of N cores the import takes
about that divided by N — the figure that does not depend on what else the machine runs);
the accounts of each run are deleted before the next. Load (`uptime`) is printed first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def csv_file(count: int, offset: int) -> bytes:
    lines = ["ho ten,so dien thoai,don vi,vai tro"]
    for i in range(count):
        role = "officer" if i % 10 else "leader"
        lines.append(f"Cán bộ Thử {i},09{offset + i:08d},31321,{role}")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    os.environ.setdefault("APP_ENV", "development")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())

    from flask_migrate import upgrade
    from sqlalchemy import delete, text

    from app import create_app
    from app.config import DevelopmentConfig
    from app.extensions import db
    from app.models import AuditEvent, User, utcnow
    from app.services import staff
    from app.services.units import load_units

    work = ROOT / "bench" / ".work"
    work.mkdir(exist_ok=True)
    url = args.database or f"sqlite:///{work / 'staff.sqlite'}"
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).unlink(missing_ok=True)
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        load_units(db.session, 92)
        print("engine:", db.engine.dialect.name, "| threads:", os.cpu_count())
        imports, hashes, cpu = [], [], []
        for run in range(args.runs):
            data = csv_file(args.count, run * args.count)
            started, started_cpu = time.perf_counter(), time.process_time()
            report = staff.import_csv(db.session, None, data, utcnow())
            imports.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            assert len(report.issued) == len(report.lines) == args.count, report.refused[:3]
            started = time.perf_counter()
            staff.hash_many([staff.one_time_password() for _ in range(args.count)])
            hashes.append(time.perf_counter() - started)
            print(
                f"run {run + 1}: import {imports[-1]:.1f} s (CPU {cpu[-1]:.1f} s), "
                f"hashing alone {hashes[-1]:.1f} s"
            )
            db.session.execute(delete(AuditEvent))
            db.session.execute(delete(User))
            db.session.commit()
        a, b = statistics.median(imports), statistics.median(hashes)
        print(
            f"median: import of {args.count} accounts {a:.1f} s; hashing alone {b:.1f} s; "
            f"ratio {a / b:.2f}; per account {1000 * a / args.count:.0f} ms; "
            f"CPU time of the import {statistics.median(cpu):.1f} s"
        )
        print("load after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout)


if __name__ == "__main__":
    main()
