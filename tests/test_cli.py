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


def test_demo_content_opens_the_first_round_now(app, runner):
    from datetime import timedelta
    from pathlib import Path

    from app.models import Round, Survey, utcnow

    valid = Path(__file__).parent / "content" / "valid"
    result = runner.invoke(args=["demo", "content", str(valid)])
    assert result.exit_code == 0, result.output
    now = utcnow()
    with app.app_context():
        first = db.session.scalar(select(Round).where(Round.key == "tuan-1"))
        assert first.opens_at <= now < first.closes_at
        second = db.session.scalar(select(Round).where(Round.key == "tuan-2"))
        assert second.opens_at - first.opens_at == timedelta(days=7)  # the weekly rhythm kept
        survey = db.session.scalar(select(Survey))
        assert survey.opens_at <= now < survey.closes_at


def test_shift_keeps_weekday_and_time_when_it_can():
    from datetime import UTC, datetime

    from app.content.demo import shift_dates, shift_needed
    from app.content.validate import validate_many

    bank = "bank: b-1\ntitle: B\nquestions:\n  - {id: a, text: A, choices: [x, y], answer: A}\n"
    contest = (
        "contest: c-1\ntitle: C\nrounds:\n"
        "  - id: r1\n    opens: 2026-11-23 08:00\n    closes: 2026-11-29 20:00\n"
        "    time_limit: 10m\n    draw: [{bank: b-1, count: 1}]\n"
    )
    model = validate_many([("b", bank), ("c", contest)])[1].model
    wednesday_three_weeks_on = datetime(2026, 12, 16, 5, 0, tzinfo=UTC)  # 12:00 in Vietnam
    shift = shift_needed(model, wednesday_three_weeks_on)
    assert shift.days == 21 and shift.seconds == 0
    moved = shift_dates(contest, shift)
    assert "opens: 2026-12-14 08:00" in moved and "closes: 2026-12-20 20:00" in moved
