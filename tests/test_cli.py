from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.conftest import PROVINCE, VI_THANH


def test_users_create_each_role(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "officer",
            "--unit",
            str(PROVINCE),
            "--phone",
            "0911 111 111",
            "--name",
            "Cán bộ Một",
            "--password",
            "mat-khau-can-bo",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        officer = db.session.scalar(select(User).where(User.phone == "0911111111"))
        assert officer.role == "officer" and officer.unit_code == PROVINCE
        assert officer.consents == []  # created by an administrator, not signed up


def test_users_create_prompts_for_the_password(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "resident",
            "--unit",
            str(VI_THANH),
            "--phone",
            "0912222222",
            "--name",
            "Người Dân",
        ],
        input="mat-khau-dan\nmat-khau-dan\n",
    )
    assert result.exit_code == 0, result.output
    assert "mat-khau-dan" not in result.output


def test_users_create_explains_bad_input(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "resident",
            "--unit",
            str(VI_THANH),
            "--phone",
            "123",
            "--name",
            "X",
            "--password",
            "mat-khau-dan",
        ]
    )
    assert result.exit_code != 0 and "0912345678" in result.output
    assert "Traceback" not in result.output


def test_demo_creates_one_account_per_role_and_can_run_twice(app, runner):
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        roles = sorted(db.session.scalars(select(User.role)))
    assert roles == ["admin", "leader", "officer", "resident"]
    assert "password" in result.output and "0900000002" in result.output
