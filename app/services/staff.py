"""Staff accounts: officers and leaders created one by one or by CSV, disabled, re-enabled.

Who may act on which account is `policy.may_manage_account`. Every new account gets a
one-time password (`one_time_password`): it is returned once to the caller (shown on the page,
written to a file or stdout by `flask users import`) and stored only as a hash; the account
must choose its own at first sign-in (`User.must_change_password`). Hashing at the production
cost dominates an import (about 0.1 s a password on a quiet core), so the hashes of an import
are computed in parallel, one thread per core (hashlib's scrypt releases the GIL), before the
rows are written. The rows go in with one INSERT … ON CONFLICT (phone) DO NOTHING, so two
imports naming the same phone at once make one account: the unique index decides, and the
other import reports that line. The audit entry is written in the same transaction.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.csvread import CsvError, Row, read_rows
from app.models import Role, Unit, User
from app.parse import ID_MAX, int_or_none
from app.phones import PhoneError, normalize_sheet_phone
from app.services import accounts, audit
from app.services.policy import STAFF, in_scope, may_manage_account, scope_of
from app.services.refusals import FieldError, NotAllowed
from app.text import clean_line, fold, has_hidden_characters

IMPORT_MAX = 2000  # accounts in one file
PAGE_SIZE = 50
# Letters only, none easily mistaken for another (no i, l, o): a one-time password never
# contains a phone number and reads aloud over the telephone. 12 letters of 23: 54 bits.
ALPHABET = "abcdefghjkmnpqrstuvwxyz"
# What a column is called in a header row (folded: lower case, no diacritics).
HEADERS = {
    "name": {"name", "ho ten", "ho va ten", "ten", "full name"},
    "phone": {"phone", "so dien thoai", "dien thoai", "sdt", "so dt", "mobile"},
    "unit": {"unit", "don vi", "ma don vi", "xa phuong", "xa/phuong", "unit code"},
    "role": {"role", "vai tro", "chuc vu", "quyen"},
}
ROLE_WORDS = {
    "officer": Role.OFFICER,
    "can bo": Role.OFFICER,
    "can bo tuyen giao": Role.OFFICER,
    "leader": Role.LEADER,
    "lanh dao": Role.LEADER,
}


class StaffError(FieldError):
    """A problem with one field (`field`) of a staff account; the message says what to fix."""


@dataclass(frozen=True)
class Issued:
    """An account just made (or given a new one-time password): the password is here only."""

    user_id: int
    name: str
    phone: str
    unit_name: str
    role: str
    password: str
    line: int | None = None


@dataclass(frozen=True)
class Line:
    line: int
    ok: bool
    message: str


@dataclass
class ImportReport:
    lines: list[Line] = field(default_factory=list)
    issued: list[Issued] = field(default_factory=list)
    error: str | None = None  # the whole file was unreadable

    @property
    def refused(self) -> list[Line]:
        return [line for line in self.lines if not line.ok]


@dataclass(frozen=True)
class Checked:
    name: str
    phone: str
    unit: Unit
    role: Role


def one_time_password() -> str:
    letters = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return "-".join(letters[i : i + 4] for i in range(0, 12, 4))


def hash_many(passwords: Sequence[str]) -> list[str]:
    """Hashes at the app's configured cost, one thread per core."""
    workers = max(1, min(len(passwords), os.cpu_count() or 1))
    if workers == 1:
        return [accounts.hash_password(p) for p in passwords]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(accounts.hash_password, passwords))


class UnitIndex:
    """Units found by code or by full name (accents and case ignored)."""

    def __init__(self, session: Session) -> None:
        self.by_code: dict[int, Unit] = {u.code: u for u in session.scalars(select(Unit))}
        self.by_name: dict[str, list[Unit]] = {}
        for unit in self.by_code.values():
            self.by_name.setdefault(fold(unit.name), []).append(unit)

    def find(self, text: str) -> Unit:
        text = clean_line(text)
        if not text:
            raise StaffError("unit", _("Please give the unit (its code or its full name)."))
        code = int_or_none(text, 1, ID_MAX) if text.isascii() and text.isdigit() else None
        if code is not None:
            unit = self.by_code.get(code)
        else:
            found = self.by_name.get(fold(text), [])
            if len(found) > 1:
                raise StaffError(
                    "unit", _("Several units are called %(name)s: give its code.", name=text)
                )
            unit = found[0] if found else None
        if unit is None:
            raise StaffError("unit", _("Unknown unit: %(unit)s.", unit=text))
        return unit


def parse_role(text: str) -> Role:
    role = ROLE_WORDS.get(fold(text))
    if role is None:
        raise StaffError(
            "role", _('Unknown role "%(role)s": write "officer" or "leader".', role=text[:40])
        )
    return role


def check(actor: User | None, name: str, phone: str, unit: Unit, role: str | Role) -> Checked:
    """One account's fields, cleaned; StaffError naming the field, or NotAllowed."""
    clean = clean_line(name)
    if not clean:
        raise StaffError("name", _("Please enter the full name."))
    if len(clean) > accounts.NAME_MAX:
        raise StaffError(
            "name", _("The name must have at most %(n)d characters.", n=accounts.NAME_MAX)
        )
    if has_hidden_characters(clean):
        raise StaffError(
            "name", _("The name contains invisible or control characters: please retype it.")
        )
    try:
        number = normalize_sheet_phone(phone)
    except PhoneError as error:
        raise StaffError("phone", str(error)) from None
    if role not in (Role.OFFICER, Role.LEADER):
        raise StaffError(
            "role", _('Unknown role "%(role)s": write "officer" or "leader".', role=role)
        )
    if not may_manage_account(actor, role, unit):
        raise NotAllowed(
            _(
                "You may create officer accounts only for the units below yours, "
                "never a leader or an administrator."
            )
        )
    return Checked(clean, number, unit, Role(role))


def _insert(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert accounts whose phone is free; {phone: id} of those inserted (the unique index
    on phone decides between concurrent writers)."""
    if not rows:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    inserted: dict[str, int] = {}
    for start in range(0, len(rows), 500):
        statement = (
            insert(User)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["phone"])
            .returning(User.id, User.phone)
        )
        inserted.update({phone: id_ for id_, phone in session.execute(statement).all()})
    return inserted


def _row(checked: Checked, password_hash: str, now: datetime) -> dict[str, Any]:
    return {
        "name": checked.name,
        "phone": checked.phone,
        "password_hash": password_hash,
        "role": str(checked.role),
        "unit_code": checked.unit.code,
        "auth_nonce": secrets.token_hex(16),
        "created_at": now,
        "must_change_password": True,
    }


def create(
    session: Session,
    actor: User | None,
    name: str,
    phone: str,
    unit_code: int,
    role: str,
    now: datetime,
) -> Issued:
    """One staff account with a one-time password. Commits (with its audit entry)."""
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise StaffError("unit", _("Unknown unit: %(unit)s.", unit=unit_code))
    checked = check(actor, name, phone, unit, role)
    password = one_time_password()
    inserted = _insert(session, [_row(checked, accounts.hash_password(password), now)])
    if checked.phone not in inserted:
        session.rollback()
        raise StaffError("phone", _("This phone number already has an account."), conflict=True)
    user_id = inserted[checked.phone]
    audit.record(
        session,
        actor,
        "staff.create",
        f"user:{user_id}",
        unit.code,
        now,
        {"role": str(checked.role)},
    )
    session.commit()
    return Issued(user_id, checked.name, checked.phone, unit.name, str(checked.role), password)


def _columns(first: Row) -> dict[str, int] | None:
    """The column of each field when the first row is a header, else None."""
    folded = [fold(cell) for cell in first.cells]
    found = {}
    for key, names in HEADERS.items():
        for index, cell in enumerate(folded):
            if cell in names:
                found[key] = index
    return found if len(found) == 4 else None


def read_file(data: bytes) -> tuple[list[Row], dict[str, int]]:
    rows = read_rows(data, IMPORT_MAX + 1)
    columns = _columns(rows[0]) if rows else None
    if columns is not None:
        rows = rows[1:]
    else:
        columns = {"name": 0, "phone": 1, "unit": 2, "role": 3}
    if not rows:
        raise CsvError(_("The file has no accounts: one line per person, name, phone, unit, role."))
    if len(rows) > IMPORT_MAX:
        raise CsvError(_("At most %(n)d accounts in one file: please split it.", n=IMPORT_MAX))
    return rows, columns


def import_csv(
    session: Session,
    actor: User | None,
    data: bytes,
    now: datetime,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Every line checked and reported; the good ones created, each with a one-time password,
    in one transaction with one audit entry. Commits."""
    report = ImportReport()
    try:
        rows, columns = read_file(data)
    except CsvError as error:
        report.error = str(error)
        return report
    units = UnitIndex(session)
    good: list[tuple[int, Checked]] = []
    results: dict[int, Line] = {}
    first_line: dict[str, int] = {}
    for row in rows:
        try:
            cells = [
                row.cells[columns[k]] if columns[k] < len(row.cells) else ""
                for k in ("name", "phone", "unit", "role")
            ]
            if len(row.cells) < 4:
                raise StaffError("line", _("expected 4 columns: name, phone, unit, role."))
            checked = check(actor, cells[0], cells[1], units.find(cells[2]), parse_role(cells[3]))
        except (StaffError, NotAllowed) as error:
            results[row.line] = Line(row.line, False, str(error))
            continue
        if checked.phone in first_line:
            message = _("the same phone number as line %(line)d.", line=first_line[checked.phone])
            results[row.line] = Line(row.line, False, message)
            continue
        first_line[checked.phone] = row.line
        good.append((row.line, checked))
    taken = _taken(session, [c.phone for _line, c in good])
    fresh = []
    for line, checked in good:
        if checked.phone in taken:
            results[line] = Line(line, False, _("this phone number already has an account."))
        else:
            fresh.append((line, checked))
    if progress:
        progress("hashing", 0, len(fresh))
    passwords = [one_time_password() for _ in fresh]
    hashes = hash_many(passwords)
    if progress:
        progress("writing", len(fresh), len(fresh))
    inserted = _insert(session, [_row(c, h, now) for (_l, c), h in zip(fresh, hashes, strict=True)])
    for (line, checked), password in zip(fresh, passwords, strict=True):
        user_id = inserted.get(checked.phone)
        if user_id is None:  # another import took it meanwhile
            results[line] = Line(line, False, _("this phone number already has an account."))
            continue
        results[line] = Line(
            line, True, _("account created (%(role)s).", role=_role_word(checked.role))
        )
        report.issued.append(
            Issued(
                user_id,
                checked.name,
                checked.phone,
                checked.unit.name,
                str(checked.role),
                password,
                line,
            )
        )
    report.lines = [results[line] for line in sorted(results)]
    audit.record(
        session,
        actor,
        "staff.import",
        "staff:csv",
        actor.unit_code if actor is not None else None,
        now,
        {
            "lines": len(rows),
            "created": len(report.issued),
            "refused": len(report.refused),
            "user_ids": [i.user_id for i in report.issued],
        },
    )
    session.commit()
    return report


def _role_word(role: str) -> str:
    return _("officer") if role == Role.OFFICER else _("leader")


def _taken(session: Session, phones: Iterable[str]) -> set[str]:
    phones = list(phones)
    taken: set[str] = set()
    for start in range(0, len(phones), 500):
        chunk = phones[start : start + 500]
        taken.update(session.scalars(select(User.phone).where(User.phone.in_(chunk))))
    return taken


def _managed(session: Session, actor: User | None, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotAllowed(_("No such staff account."))
    if not may_manage_account(actor, user.role, user.unit):
        raise NotAllowed(_("You may not manage this account."))
    return user


def set_disabled(
    session: Session, actor: User | None, user_id: int, disabled: bool, now: datetime
) -> User:
    """Disable (every session and token ends; sign-in refused) or re-enable. Commits."""
    user = _managed(session, actor, user_id)
    if disabled and user.disabled_at is None:
        user.disabled_at = now
        accounts.end_sessions(user)
        audit.record(session, actor, "staff.disable", f"user:{user.id}", user.unit_code, now)
    elif not disabled and user.disabled_at is not None:
        user.disabled_at = None
        audit.record(session, actor, "staff.enable", f"user:{user.id}", user.unit_code, now)
    session.commit()
    return user


def reset_password(session: Session, actor: User | None, user_id: int, now: datetime) -> Issued:
    """A new one-time password (to be changed at next sign-in); every session ends. Commits."""
    user = _managed(session, actor, user_id)
    password = one_time_password()
    user.password_hash = accounts.hash_password(password)
    user.must_change_password = True
    accounts.end_sessions(user)
    audit.record(session, actor, "staff.reset", f"user:{user.id}", user.unit_code, now)
    session.commit()
    return Issued(user.id, user.name or "", user.phone or "", user.unit.name, user.role, password)


@dataclass(frozen=True)
class StaffPage:
    people: list[User]
    total: int
    page: int
    pages: int


def staff_list(
    session: Session, actor: User, unit_code: int | None, role: str | None, page: int = 1
) -> StaffPage:
    """Staff accounts within the actor's scope, narrowed to a unit (and the units below it)
    and a role."""
    conditions = [
        User.role.in_([str(r) for r in STAFF]),
        User.deleted_at.is_(None),
        in_scope(User.unit_code, scope_of(actor)),
    ]
    if unit_code is not None:
        unit = session.get(Unit, unit_code)
        conditions.append(in_scope(User.unit_code, unit) if unit else User.unit_code == unit_code)
    if role:
        conditions.append(User.role == role)
    total = session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    people = session.scalars(
        select(User)
        .where(*conditions)
        .order_by(User.unit_code, User.role, User.name, User.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return StaffPage(list(people), total, page, pages)
