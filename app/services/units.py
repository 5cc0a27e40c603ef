"""Administrative units: loaded from `vietnam-provinces`, searched without diacritics."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import literal, select
from sqlalchemy.orm import Session
from vietnam_provinces import Province, ProvinceCode, Ward

from app.models import Unit, UnitLevel
from app.parse import ID_MAX, int_or_none
from app.text import clean_line, fold, vietnamese_key

# Population files shipped with the app: app/data/population-<province code>.csv, read by
# `flask units load` when neither --population nor UNITS_POPULATION_CSV names another.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def shipped_population_csv(province_code: int, data_dir: Path | None = None) -> Path | None:
    """The population file shipped for the province, or None when there is none."""
    path = (data_dir or DATA_DIR) / f"population-{int(province_code)}.csv"
    return path if path.is_file() else None


class UnitsError(ValueError):
    """A problem an operator can fix (wrong province code, bad population CSV)."""


@dataclass
class LoadReport:
    province: str
    added: int = 0
    updated: int = 0
    populations: int = 0
    problems: list[str] = field(default_factory=list)


def province_divisions(province_code: int) -> tuple[Province, list[Ward]]:
    try:
        province = Province.from_code(ProvinceCode(province_code))
    except ValueError:
        raise UnitsError(f"Unknown province code {province_code} (vietnam-provinces).") from None
    return province, list(Ward.iter_by_province(province.code))


def load_units(
    session: Session, province_code: int, population_csv: str | None = None
) -> LoadReport:
    """Insert or update the province and its communes/wards; idempotent. Commits."""
    province, wards = province_divisions(province_code)
    report = LoadReport(province=province.name)
    existing = {u.code: u for u in session.scalars(select(Unit))}
    rows = [(int(province.code), province.name, UnitLevel.PROVINCE, province.division_type, None)]
    rows += [
        (int(w.code), w.name, UnitLevel.COMMUNE, w.division_type, int(province.code)) for w in wards
    ]
    for code, official_name, level, division_type, parent in rows:
        unit = existing.get(code)
        # The official list has stray spaces ("Xã  Phú Hữu"): stored clean, they sort and
        # read like the others (migration 0012 cleaned the names stored before).
        name = clean_line(official_name)
        values = {
            "name": name,
            "level": str(level),
            "division_type": str(division_type.value),
            "parent_code": parent,
            "search_name": fold(name),
        }
        if unit is None:
            session.add(Unit(code=code, **values))
            report.added += 1
        elif any(getattr(unit, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(unit, key, value)
            report.updated += 1
        # Parents first: the province row must exist before its communes reference it.
        if level == UnitLevel.PROVINCE:
            session.flush()
    if population_csv:
        with open(population_csv, encoding="utf-8-sig") as handle:
            populations = parse_population_csv(handle.read())
        report.populations = apply_populations(session, populations)
    session.commit()
    return report


def parse_population_csv(text: str) -> dict[int, int]:
    """`code,population` rows -> {code: population}. A header line is optional; lines starting
    with `#` are comments (a shipped file names its source there). A population is a whole
    number of people, at least 1 ("12.345" and "12 345" read as 12345)."""
    populations: dict[int, int] = {}
    problems: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if not populations and not problems and row[0].strip().lower() == "code":
            continue
        if len(row) != 2:
            problems.append(f"line {number}: expected 'code,population'")
            continue
        code, population = (cell.strip().replace(".", "").replace(" ", "") for cell in row)
        unit, people = int_or_none(code, 1, ID_MAX), int_or_none(population, 1, ID_MAX)
        if unit is None or people is None:
            problems.append(f"line {number}: code and population must be whole numbers (>= 1)")
            continue
        if unit in populations:
            problems.append(f"line {number}: unit {unit} appears twice")
            continue
        populations[unit] = people
    if problems:
        raise UnitsError("; ".join(problems))
    return populations


def population_problems(populations: dict[int, int], province_code: int) -> list[str]:
    """What is wrong with population figures for a province: a code that is neither the
    province nor one of its communes/wards (vietnam-provinces), a figure that is not a whole
    number of people."""
    province, wards = province_divisions(province_code)
    communes = {int(w.code) for w in wards} | {int(province.code)}
    problems = [
        f"{code}: not a commune/ward of province {province_code}"
        for code in populations
        if code not in communes
    ]
    problems += [
        f"{code}: population must be a whole number >= 1"
        for code, people in populations.items()
        if not isinstance(people, int) or isinstance(people, bool) or people < 1
    ]
    return problems


def apply_populations(session: Session, populations: dict[int, int]) -> int:
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(populations)))}
    unknown = sorted(set(populations) - set(units))
    if unknown:
        raise UnitsError(f"unknown unit codes in population file: {', '.join(map(str, unknown))}")
    for code, population in populations.items():
        units[code].population = population
    return len(populations)


def search_units(
    session: Session,
    query: str | None = None,
    level: str | None = None,
    parent: int | None = None,
    *,
    any_level: bool = False,
) -> list[Unit]:
    """Units whose name has every word of `query`, diacritics ignored; in Vietnamese order.
    The province and its communes (of `level` when given), or the units whose parent is
    `parent` (a commune's hamlets); `any_level`: hamlets too (a search among given choices)."""
    stmt = select(Unit)
    if parent is not None:
        stmt = stmt.where(Unit.parent_code == parent)
    elif level:
        stmt = stmt.where(Unit.level == level)
    elif not any_level:  # hamlets are listed under their commune only
        stmt = stmt.where(Unit.level != UnitLevel.HAMLET)
    # Every word typed must be a word of the name, the last one possibly unfinished:
    # "vi thanh" finds "Phường Vị Thanh" and "Xã Vị Thanh 1", not "Xã Vĩnh Thạnh".
    padded = literal(" ") + Unit.search_name + literal(" ")
    words = fold(query or "").split()
    for position, word in enumerate(words):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        ending = "%" if position == len(words) - 1 else " %"
        stmt = stmt.where(padded.like(f"% {escaped}{ending}", escape="\\"))
    units = list(session.scalars(stmt))
    # Province first, then communes/wards (or hamlets) in Vietnamese alphabetical order.
    return sorted(units, key=lambda u: (u.level != UnitLevel.PROVINCE, vietnamese_key(u.name)))


def search_within(session: Session, query: str, choices: Iterable[Unit]) -> list[Unit]:
    """The units among `choices` that `search_units` finds for `query`, in its order: the
    commune picker's search step (the same rule as `GET /api/v1/units?q=`)."""
    allowed = {unit.code for unit in choices}
    return [unit for unit in search_units(session, query, any_level=True) if unit.code in allowed]


def communes(session: Session) -> list[Unit]:
    return search_units(session, level=UnitLevel.COMMUNE)


def get_unit(session: Session, code: int) -> Unit | None:
    return session.get(Unit, code)
