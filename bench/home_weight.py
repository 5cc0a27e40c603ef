"""The leaders' home and a commune brief on the demo data: bytes sent and time taken.

Run after `make run`'s data steps on a database (DATABASE_URL), e.g.:
    DATABASE_URL=sqlite:////tmp/demo.sqlite .venv/bin/python -m bench.home_weight
Signs in as the demo leader (province) and as a commune leader it creates if missing.
"""

from __future__ import annotations

import gzip
import re
import statistics
import time

from app import create_app
from app.extensions import db
from app.models import Role, User, utcnow
from app.services.accounts import NewAccount, create_account

VI_THANH = 31321
PASSWORD = "demo-mat-khau-2026"  # noqa: S105 (the demo accounts' published password)


def sign_in(client, phone: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"phone": phone, "password": PASSWORD, "csrf_token": token})


def measure(client, path: str, runs: int = 5) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    times, body = [], b""
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
        body = response.data
    return len(body), len(gzip.compress(body)), statistics.median(times) * 1000


def main() -> None:
    app = create_app(RATELIMIT_ENABLED=False)
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        if db.session.scalar(db.select(User).where(User.phone == "0900000013")) is None:
            create_account(
                db.session,
                NewAccount("Lãnh đạo Vị Thanh", "0900000013", PASSWORD, VI_THANH, role=Role.LEADER),
                utcnow(),
                consent=True,
            )
    rows = []
    for who, phone in (("province leader", "0900000003"), ("Vị Thanh leader", "0900000013")):
        client = app.test_client()
        sign_in(client, phone)
        for path in ("/", f"/briefs/{VI_THANH}.pdf"):
            size, zipped, ms = measure(client, path)
            rows.append(f"| {who} | `{path}` | {size:,} | {zipped:,} | {ms:.0f} |")
    print("| reader | page | bytes | gzip bytes | median ms (5 runs) |")
    print("|---|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
