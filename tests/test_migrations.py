"""The migrations build the models' schema, and go down and up again, on the engine under test."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from tests.conftest import fresh_database_url

TABLES = {"units", "users", "consents"}


def test_upgrade_downgrade_upgrade(tmp_path):
    url = fresh_database_url("migrations", tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        assert TABLES <= set(inspect(db.engine).get_table_names())
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert TABLES <= set(inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == [], f"models and migrations differ: {differences}"
        db.engine.dispose()


def test_unit_names_stored_before_lose_their_stray_spaces(tmp_path):
    """Migration 0012: names stored by the loader before it cleaned them ("Xã  Phú Hữu")."""
    url = fresh_database_url("unit_names", tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO units (code, name, level, division_type, parent_code,"
                    " search_name) VALUES (92, 'Thành phố Cần Thơ', 'province', 'thành phố',"
                    " NULL, 'thanh pho can tho'), (31378, 'Xã  Phú Hữu', 'commune', 'xã', 92,"
                    " 'xa  phu huu')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT code, name, search_name FROM units ORDER BY code"))
            assert rows.all() == [
                (92, "Thành phố Cần Thơ", "thanh pho can tho"),
                (31378, "Xã Phú Hữu", "xa phu huu"),
            ]
        db.engine.dispose()
