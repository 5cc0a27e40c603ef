"""app/services/policy.py: the one home of who may do what; no copy of it elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Role, Unit, User
from app.services import policy
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH

APP = Path(__file__).resolve().parent.parent / "app"


def person(role: Role, unit: Unit) -> User:
    return User(role=role, unit_code=unit.code, unit=unit)


@pytest.mark.parametrize(
    "role, home, owner, allowed",
    [
        (Role.ADMIN, PROVINCE, VI_THANH, True),
        (Role.OFFICER, PROVINCE, VI_THANH, True),  # the province manages its communes' content
        (Role.OFFICER, VI_THANH, VI_THANH, True),
        (Role.OFFICER, VI_THANH, NINH_KIEU, False),  # not a neighbour's
        (Role.OFFICER, VI_THANH, PROVINCE, False),  # nor the province's
        (Role.LEADER, PROVINCE, VI_THANH, False),  # leaders read, they do not manage
        (Role.RESIDENT, VI_THANH, VI_THANH, False),
    ],
)
def test_who_may_manage_what(app, role, home, owner, allowed):
    with app.app_context():
        user = person(role, db.session.get(Unit, home))
        assert policy.may_manage(user, db.session.get(Unit, owner)) is allowed


def test_audience_takes_in_the_units_below(app):
    with app.app_context():
        vi_thanh = db.session.get(Unit, VI_THANH)
        assert policy.in_audience(None, vi_thanh)  # "all"
        assert not policy.in_audience([], vi_thanh)  # an empty list is nobody, not everyone
        assert policy.in_audience([PROVINCE], vi_thanh)
        assert policy.in_audience([VI_THANH], vi_thanh)
        assert not policy.in_audience([NINH_KIEU], vi_thanh)


def test_no_view_writes_a_role_rule_of_its_own():
    """Role comparisons with string literals, or role groups defined outside policy."""
    literal = re.compile(r"\.role\s*(==|!=|in|not in)\s*\(?\s*[\"']")
    group = re.compile(r"=\s*\(\s*Role\.\w+\s*,")
    found = []
    for path in APP.rglob("*.py"):
        if path.name == "policy.py":
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {m.group(0)}" for m in literal.finditer(text)]
        found += [f"{path.name}: {m.group(0)}" for m in group.finditer(text)]
    assert found == []


@pytest.mark.parametrize(
    "role, home, place, allowed",
    [
        (Role.ADMIN, PROVINCE, VI_THANH, True),
        (Role.OFFICER, PROVINCE, VI_THANH, True),
        (Role.OFFICER, VI_THANH, VI_THANH, True),
        (Role.OFFICER, VI_THANH, NINH_KIEU, False),  # not a neighbour's residents
        (Role.OFFICER, PROVINCE, PROVINCE, False),  # a place is a commune or a hamlet
        (Role.LEADER, VI_THANH, VI_THANH, False),  # leaders read, they do not enter
        (Role.RESIDENT, VI_THANH, VI_THANH, False),
    ],
)
def test_who_may_enter_answers_for_others_and_where(app, role, home, place, allowed):
    with app.app_context():
        user = person(role, db.session.get(Unit, home))
        assert policy.may_enter_for(user, db.session.get(Unit, place)) is allowed
        assert policy.may_enter_for(user, None) is False
