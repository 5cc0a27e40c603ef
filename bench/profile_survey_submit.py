"""Anonymous survey submissions through the Flask test client on PostgreSQL (issue 12).

    .venv/bin/python bench/profile_survey_submit.py [N]            # submissions per second
    PROFILE=1 .venv/bin/python bench/profile_survey_submit.py [N]  # and where the time goes

Resets the database `civic_prof` (127.0.0.1:5432, user postgres), migrates it, loads the test
suite's sample anonymous survey and N residents with bearer tokens, sends 50 submissions as a
warm-up, then times the other N - 50 (the mixer moves them in batches of 20). Loopback only.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
WARM_UP = 50


def main(count: int) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from app.config import TestingConfig
    from app.extensions import db
    from app.models import Role, User
    from app.services.accounts import hash_password
    from app.services.tokens import issue_token
    from app.services.units import load_units
    from tests.conftest import load_content
    from tests.test_surveys import FULL, GOOD

    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS civic_prof WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE civic_prof"))
    admin.dispose()
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=f"{SERVER}/civic_prof",
        RATELIMIT_ENABLED=False,
        SURVEY_MIX_BATCH=20,
        CLOCK=lambda: NOW,
    )
    with app.app_context():
        upgrade()
        load_units(db.session, 92)
    load_content(app, [("full.yaml", FULL)], NOW)
    with app.app_context():
        shared = hash_password("mat-khau-thu-nghiem")
        users = [
            User(
                name="Nguyễn Văn Thử",
                phone=f"09{i:08d}",
                password_hash=shared,
                role=Role.RESIDENT,
                unit_code=31321,
                created_at=NOW,
            )
            for i in range(count)
        ]
        db.session.add_all(users)
        db.session.commit()
        secret = app.config["SECRET_KEY"]
        tokens = [issue_token(secret, u, NOW, timedelta(days=1))[0] for u in users]
    client = app.test_client()

    def submit(batch: list[str]) -> None:
        for token in batch:
            response = client.post(
                "/api/v1/surveys/hai-long-chinh-quyen-2026/responses",
                headers={"Authorization": f"Bearer {token}"},
                json={"answers": GOOD},
            )
            assert response.status_code == 201, response.get_data()

    submit(tokens[:WARM_UP])
    profile = cProfile.Profile()
    started = time.perf_counter()
    if os.environ.get("PROFILE"):
        profile.enable()
    submit(tokens[WARM_UP:])
    profile.disable()
    elapsed = time.perf_counter() - started
    timed = count - WARM_UP
    print(f"{timed / elapsed:.1f} submissions/s in process ({elapsed / timed * 1000:.2f} ms each)")
    if os.environ.get("PROFILE"):
        pstats.Stats(profile).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
