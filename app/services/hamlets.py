"""Hamlets (ấp, khu vực, tổ dân phố): the places below a commune where officers work (issue 20).

A hamlet is a row of `units` of level `hamlet` whose parent is its commune; its kind is the
unit's `division_type`, its population optional. The commune's officers (and those above it,
and admins: `policy.may_manage`) add, rename and delete them, one by one or from a CSV file,
and every change goes into the audit trail in its own transaction. Codes follow the scheme
agreed for issue 20: commune code × 1000 + n, n = 1..999, the next free n of that commune
(never a code deleted before while a higher one is used). Names are stored clean (NFC, single
spaces) and folded into `search_name` (the unit picker's search); two hamlets of a commune may
not share a folded name (checked here with the line or field named, and by the unique index of
migration 0019 when two officers add the same one at once). A hamlet is deleted only while
nothing refers to it: no resident, response, staff account or audience names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.csvread import CsvError, Row, read_rows
from app.models import Contest, Survey, SurveyResponse, Unit, UnitLevel, User
from app.models.people import HAMLET_CODE_BASE
from app.parse import ID_MAX, int_or_none
from app.services import audit, policy
from app.services.refusals import FieldError, NotAllowed
from app.text import clean_line, fold, has_hidden_characters, vietnamese_key

NAME_MAX = 100  # units.name
PER_COMMUNE = HAMLET_CODE_BASE - 1  # codes commune × 1000 + 1..999 (models.people)
IMPORT_MAX = PER_COMMUNE
# The kinds, as stored (units.division_type), found by their folded spellings.
KINDS = ("Ấp", "Khu vực", "Tổ dân phố")
KIND_WORDS = {
    "ap": "Ấp",
    "khu vuc": "Khu vực",
    "kv": "Khu vực",
    "to dan pho": "Tổ dân phố",
    "tdp": "Tổ dân phố",
    "hamlet": "Ấp",
    "area": "Khu vực",
    "neighbourhood": "Tổ dân phố",
    "neighborhood": "Tổ dân phố",
}
HEADERS = {
    "name": {"name", "ten", "ten ap", "ho", "ten ap/khu vuc/to dan pho"},
    "kind": {"kind", "loai", "cap", "loai don vi"},
    "population": {"population", "dan so", "so dan", "nhan khau"},
}


class HamletError(FieldError):
    """A problem with one field (`field`: name, kind, population) the message says how to fix."""


@dataclass(frozen=True)
class Fields:
    name: str
    kind: str
    population: int | None


@dataclass(frozen=True)
class Line:
    line: int
    ok: bool
    message: str


@dataclass
class ImportReport:
    lines: list[Line] = field(default_factory=list)
    created: list[Unit] = field(default_factory=list)
    error: str | None = None  # the whole file was unreadable

    @property
    def refused(self) -> list[Line]:
        return [line for line in self.lines if not line.ok]


# ------------------------------------------------------------------------------ reading


# Built once: building it on every call was a quarter of its cost, and the web survey's every
# page asks (py-spy, bench/profile_survey_paths.py).
_HAMLETS_OF = select(Unit).where(
    Unit.parent_code == bindparam("commune", type_=Unit.code.type), Unit.level == UnitLevel.HAMLET
)


def hamlets_of(session: Session, commune_code: int) -> list[Unit]:
    """The hamlets of a commune, in Vietnamese order (names with numbers in their order)."""
    found = session.scalars(_HAMLETS_OF, {"commune": commune_code})
    return sorted(found, key=lambda u: vietnamese_key(u.name))


def hamlet_of(session: Session, commune: Unit, code: int | None) -> Unit | None:
    """The hamlet `code` of `commune`, or None when it is not one of its hamlets."""
    if code is None:
        return None
    unit = session.get(Unit, code)
    if unit is None or unit.level != UnitLevel.HAMLET or unit.parent_code != commune.code:
        return None
    return unit


def managed_communes(session: Session, actor: User) -> list[Unit]:
    """The communes whose hamlets `actor` may manage, in Vietnamese order."""
    if actor.role not in policy.MANAGERS:
        return []
    scope = policy.scope_of(actor)
    if scope is not None and scope.level == UnitLevel.HAMLET:
        return []
    found = session.scalars(
        select(Unit).where(Unit.level == UnitLevel.COMMUNE, policy.in_scope(Unit.code, scope))
    )
    return sorted(found, key=lambda u: vietnamese_key(u.name))


def commune_for(session: Session, actor: User | None, code: int | None) -> Unit:
    """The commune `code` when `actor` (None: the command line) may manage its hamlets."""
    unit = session.get(Unit, code) if code is not None else None
    if unit is None or unit.level != UnitLevel.COMMUNE:
        raise NotAllowed(_("No such commune or ward."))
    if actor is not None and not policy.may_manage(actor, unit):
        raise NotAllowed(_("You may manage only the hamlets of the communes/wards in your unit."))
    return unit


# ------------------------------------------------------------------------------ checking


def clean_fields(name: str, kind: str, population: Any) -> Fields:
    """The fields as typed, checked and cleaned; HamletError naming the field otherwise."""
    clean = clean_line(name or "")
    if not clean:
        raise HamletError("name", _("Please enter the name of the hamlet."))
    if len(clean) > NAME_MAX:
        raise HamletError("name", _("The name must have at most %(n)d characters.", n=NAME_MAX))
    if has_hidden_characters(clean):
        raise HamletError(
            "name", _("The name contains invisible or control characters: please retype it.")
        )
    stored_kind = KIND_WORDS.get(fold(kind or ""))
    if stored_kind is None:
        raise HamletError(
            "kind",
            _(
                'Unknown kind "%(kind)s": write "ấp", "khu vực" or "tổ dân phố".',
                kind=clean_line(kind or "")[:40],
            ),
        )
    return Fields(clean, stored_kind, _population(population))


def _population(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip().replace(".", "").replace(" ", "") if isinstance(value, str) else value
    number = int_or_none(text, 0, ID_MAX)
    if number is None:
        raise HamletError(
            "population",
            _("The population must be a whole number of people (for example 1.250), or empty."),
        )
    return number


def _taken_name(session: Session, commune: Unit, folded: str, but: int | None = None) -> bool:
    stmt = select(Unit.code).where(
        Unit.parent_code == commune.code,
        Unit.level == UnitLevel.HAMLET,
        Unit.search_name == folded,
    )
    if but is not None:
        stmt = stmt.where(Unit.code != but)
    return session.scalar(stmt.limit(1)) is not None


def _duplicate(name: str) -> HamletError:
    return HamletError(
        "name",
        _("This commune/ward already has a hamlet called %(name)s.", name=name),
        conflict=True,
    )


def _next_code(session: Session, commune: Unit) -> int:
    base = commune.code * HAMLET_CODE_BASE
    used = set(
        session.scalars(
            select(Unit.code).where(
                Unit.parent_code == commune.code,
                Unit.level == UnitLevel.HAMLET,
                Unit.code > base,
                Unit.code <= base + PER_COMMUNE,
            )
        )
    )
    top = max(used, default=base)
    if top < base + PER_COMMUNE:
        return top + 1
    free = next((base + n for n in range(1, PER_COMMUNE + 1) if base + n not in used), None)
    if free is None:
        raise HamletError(
            "name", _("A commune/ward has at most %(n)d hamlets.", n=PER_COMMUNE), conflict=True
        )
    return free


def _add(session: Session, commune: Unit, fields: Fields) -> Unit:
    """Insert one hamlet in a savepoint: the unique indexes decide a concurrent writer (the
    same name: refused; the same code: the next one tried)."""
    folded = fold(fields.name)
    for _try in range(5):
        if _taken_name(session, commune, folded):
            raise _duplicate(fields.name)
        unit = Unit(
            code=_next_code(session, commune),
            name=fields.name,
            level=UnitLevel.HAMLET,
            division_type=fields.kind,
            parent_code=commune.code,
            search_name=folded,
            population=fields.population,
        )
        try:
            with session.begin_nested():
                session.add(unit)
        except IntegrityError:
            continue  # another officer's hamlet took the code or the name: look again
        return unit
    raise _duplicate(fields.name)


# ------------------------------------------------------------------------------ changing


def create(
    session: Session,
    actor: User | None,
    commune_code: int | None,
    name: str,
    kind: str,
    population: Any,
    now: datetime,
) -> Unit:
    """One hamlet of the commune. Commits (with its audit entry)."""
    commune = commune_for(session, actor, commune_code)
    fields = clean_fields(name, kind, population)
    unit = _add(session, commune, fields)
    audit.record(session, actor, "hamlet.create", f"unit:{unit.code}", commune.code, now)
    session.commit()
    return unit


def _managed_hamlet(session: Session, actor: User | None, code: int) -> Unit:
    unit = session.get(Unit, code)
    if unit is None or unit.level != UnitLevel.HAMLET:
        raise NotAllowed(_("No such hamlet."))
    commune_for(session, actor, unit.parent_code)
    return unit


def update(
    session: Session,
    actor: User | None,
    code: int,
    name: str,
    kind: str,
    population: Any,
    now: datetime,
) -> Unit:
    """Rename a hamlet, change its kind or population. Its code stays. Commits."""
    unit = _managed_hamlet(session, actor, code)
    commune = session.get(Unit, unit.parent_code)
    assert commune is not None
    fields = clean_fields(name, kind, population)
    folded = fold(fields.name)
    if _taken_name(session, commune, folded, but=unit.code):
        raise _duplicate(fields.name)
    unit.name, unit.division_type = fields.name, fields.kind
    unit.search_name, unit.population = folded, fields.population
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _duplicate(fields.name) from None
    audit.record(session, actor, "hamlet.update", f"unit:{unit.code}", commune.code, now)
    session.commit()
    return unit


def references(session: Session, code: int) -> list[str]:
    """What still names the hamlet, in words: residents, responses, staff accounts, the
    audiences of contests and surveys. Empty: it may be deleted."""
    found: list[str] = []
    people = session.scalar(
        select(func.count())
        .select_from(User)
        .where(or_(User.hamlet_code == code, User.unit_code == code))
    )
    if people:
        found.append(_("%(n)d accounts (residents or officers)", n=people))
    if session.scalar(select(exists().where(SurveyResponse.hamlet_code == code))):
        found.append(_("survey responses"))
    for model, words in ((Survey, _("a survey's audience")), (Contest, _("a contest's audience"))):
        audiences = session.scalars(select(model.audience).where(model.audience.is_not(None)))
        if any(code in (audience or []) for audience in audiences):
            found.append(str(words))
    return found


def delete(session: Session, actor: User | None, code: int, now: datetime) -> Unit:
    """Delete a hamlet that nothing refers to (HamletError naming what does otherwise; the
    foreign keys refuse any reference this check does not know of). Commits."""
    unit = _managed_hamlet(session, actor, code)
    still = references(session, code)
    if still:
        raise HamletError(
            "hamlet",
            _(
                "%(name)s cannot be deleted while it is named by: %(what)s.",
                name=unit.name,
                what=", ".join(still),
            ),
            conflict=True,
        )
    name, commune_code = unit.name, unit.parent_code
    try:
        with session.begin_nested():
            session.delete(unit)
    except IntegrityError:
        session.rollback()
        raise HamletError(
            "hamlet",
            _("%(name)s cannot be deleted: other records name it.", name=name),
            conflict=True,
        ) from None
    audit.record(session, actor, "hamlet.delete", f"unit:{code}", commune_code, now)
    session.commit()
    return unit


# ------------------------------------------------------------------------------ CSV


def _columns(first: Row) -> dict[str, int] | None:
    """The column of each field when the first row is a header (name and kind at least)."""
    folded = [fold(cell) for cell in first.cells]
    found = {}
    for key, names in HEADERS.items():
        for index, cell in enumerate(folded):
            if cell in names:
                found[key] = index
    return found if "name" in found and "kind" in found else None


def _cell(row: Row, index: int | None) -> str:
    return row.cells[index] if index is not None and index < len(row.cells) else ""


def import_csv(
    session: Session, actor: User | None, commune_code: int | None, data: bytes, now: datetime
) -> ImportReport:
    """A commune's hamlets from a CSV file (name, kind, optional population; a header line is
    optional): every line checked and reported with the same checks as the page, the good
    ones added, in one transaction with one audit entry. Commits."""
    commune = commune_for(session, actor, commune_code)
    report = ImportReport()
    try:
        rows = read_rows(data, IMPORT_MAX + 1)
        columns = _columns(rows[0]) if rows else None
        if columns is not None:
            rows = rows[1:]
        else:
            columns = {"name": 0, "kind": 1, "population": 2}
        if not rows:
            raise CsvError(
                _("The file has no hamlets: one line per hamlet, name, kind, population.")
            )
        if len(rows) > IMPORT_MAX:
            raise CsvError(_("At most %(n)d hamlets in one file: please split it.", n=IMPORT_MAX))
    except CsvError as error:
        report.error = str(error)
        return report
    first_line: dict[str, int] = {}
    for row in rows:
        try:
            if len(row.cells) < 2:
                raise HamletError("line", _("expected name, kind and, if known, population."))
            fields = clean_fields(
                _cell(row, columns["name"]),
                _cell(row, columns["kind"]),
                _cell(row, columns.get("population")),
            )
            folded = fold(fields.name)
            if folded in first_line:
                raise HamletError(
                    "name", _("the same name as line %(line)d.", line=first_line[folded])
                )
            unit = _add(session, commune, fields)
        except HamletError as error:
            report.lines.append(Line(row.line, False, error.message))
            continue
        first_line[folded] = row.line
        report.created.append(unit)
        report.lines.append(Line(row.line, True, _("added (%(kind)s).", kind=fields.kind)))
    audit.record(
        session,
        actor,
        "hamlet.import",
        f"unit:{commune.code}",
        commune.code,
        now,
        {
            "lines": len(rows),
            "created": len(report.created),
            "refused": len(report.refused),
            "codes": [unit.code for unit in report.created],
        },
    )
    session.commit()
    return report
