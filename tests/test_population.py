"""Population figures (issue 16, point 6): the CSV `flask units load` reads (comments for its
source, whole numbers of people, each commune once), the file shipped for the province if any
(every code a commune of the province, every figure a positive whole number, its source named
in its header), and what a fresh `make run`-like database shows with and without figures: the
collective ranking's "per 1,000 residents" column and the team prize, and the officers' pages
saying where figures are missing and how to add them.

No figures are shipped: the 2025 resolution that lists each new commune's population (Nghị
quyết 1668/NQ-UBTVQH15 for Cần Thơ) could not be read from this workplace, and figures are
never estimated. The numbers in these tests are test data, not populations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from app.models import Round, Unit, UnitLevel
from app.services import units as units_service
from app.services.units import (
    UnitsError,
    parse_population_csv,
    population_problems,
    province_divisions,
    shipped_population_csv,
)
from tests.conftest import PROVINCE, VI_THANH, AuthActions, fresh_database_url

DATA = Path(units_service.__file__).resolve().parent.parent / "data"
SHIPPED = sorted(DATA.glob("population-*.csv"))
DEMO_PASSWORD = "demo-mat-khau-2026"


# ------------------------------------------------------------------------------ the CSV


def test_comment_lines_name_the_source_and_are_skipped():
    text = (
        "# Nguồn: Nghị quyết ... của Ủy ban Thường vụ Quốc hội\n"
        "# Ngày: ...\n"
        "code,population\n"
        f"{VI_THANH},45.678\n"
    )
    assert parse_population_csv(text) == {VI_THANH: 45678}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"code,population\n{VI_THANH},0\n", "line 2"),  # nobody lives there: not a figure
        (f"code,population\n{VI_THANH},-5\n", "line 2"),
        (f"{VI_THANH},100\n{VI_THANH},200\n", "line 2"),  # the same commune twice
        (f"{VI_THANH},100,7\n", "line 1"),
        (f"{VI_THANH},khoảng 40 nghìn\n", "line 1"),
    ],
)
def test_a_figure_that_is_not_a_number_of_people_is_refused_by_its_line(text, line):
    with pytest.raises(UnitsError, match=line):
        parse_population_csv(text)


def test_population_problems_name_codes_outside_the_province_and_bad_figures():
    assert population_problems({VI_THANH: 45678, PROVINCE: 1}, PROVINCE) == []
    problems = population_problems({99999: 10, VI_THANH: 0}, PROVINCE)
    assert any("99999" in p for p in problems) and any(str(VI_THANH) in p for p in problems)


# ------------------------------------------------------------------------ shipped figures


def test_a_shipped_population_file_is_found_by_its_province(tmp_path, monkeypatch):
    assert shipped_population_csv(PROVINCE, tmp_path) is None
    (tmp_path / f"population-{PROVINCE}.csv").write_text(f"{VI_THANH},1\n", encoding="utf-8")
    assert shipped_population_csv(PROVINCE, tmp_path) == tmp_path / f"population-{PROVINCE}.csv"
    monkeypatch.setattr(units_service, "DATA_DIR", tmp_path)
    assert shipped_population_csv(PROVINCE) == tmp_path / f"population-{PROVINCE}.csv"


def test_units_load_reads_the_shipped_file_by_default(app, runner, tmp_path, monkeypatch):
    (tmp_path / f"population-{PROVINCE}.csv").write_text(
        f"# test figures\ncode,population\n{VI_THANH},12345\n", encoding="utf-8"
    )
    monkeypatch.setattr(units_service, "DATA_DIR", tmp_path)
    result = runner.invoke(args=["units", "load"])
    assert result.exit_code == 0, result.output
    assert "1 populations set" in result.output
    with app.app_context():
        assert db.session.get(Unit, VI_THANH).population == 12345


def test_units_load_without_figures_says_how_to_add_them(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(units_service, "DATA_DIR", tmp_path)  # nothing shipped
    result = runner.invoke(args=["units", "load"])
    assert result.exit_code == 0, result.output
    assert "No population file" in result.output and "--population" in result.output


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_figure_is_a_commune_of_its_province_with_a_cited_source(path):
    province = int(re.fullmatch(r"population-(\d+)\.csv", path.name).group(1))  # type: ignore[union-attr]
    text = path.read_text(encoding="utf-8-sig")
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("NQ-UBTVQH15" in line for line in header), "the resolution is named"
    figures = parse_population_csv(text)
    assert figures and population_problems(figures, province) == []
    communes = {int(w.code) for w in province_divisions(province)[1]}
    assert set(figures) <= communes | {province}


def test_where_no_figures_are_shipped_the_data_readme_says_so():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    if not SHIPPED:
        assert "No population figures are shipped" in readme
    for path in SHIPPED:
        assert path.name in readme


# ------------------------------------------------------------- a fresh demo database


@pytest.fixture
def demo_app(tmp_path):  # type: ignore[no-untyped-def]
    """`make run`'s sequence on an empty database: migrations, units, demo accounts and content,
    then demo attempts at the sample's first round."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url("popdemo", tmp_path))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _run(app, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _demo_with_attempts(app, population: str | None) -> int:  # type: ignore[no-untyped-def]
    _run(app, "units", "load", *(["--population", population] if population else []))
    _run(app, "demo")
    _run(app, "demo", "content")
    with app.app_context():
        first = db.session.scalar(select(Round).order_by(Round.opens_at, Round.id))
        round_id = first.id
    _run(app, "demo", "attempts", "--round", str(round_id), "--count", "300", "--seed", "7")
    return int(round_id)


def _winners_page(app, round_id: int) -> str:  # type: ignore[no-untyped-def]
    client = app.test_client()
    AuthActions(client).login("0900000002", DEMO_PASSWORD)  # the demo officer (province)
    page = client.get(f"/contests/rounds/{round_id}/winners")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_with_population_figures_the_demo_ranks_communes_per_1000_and_awards_the_team_prize(
    demo_app, tmp_path
):
    with demo_app.app_context():
        codes = [int(w.code) for w in province_divisions(PROVINCE)[1]]
    population = tmp_path / "test-figures.csv"  # test data, not real populations
    population.write_text(
        "code,population\n" + "".join(f"{c},{20_000 + i}\n" for i, c in enumerate(codes)),
        encoding="utf-8",
    )
    round_id = _demo_with_attempts(demo_app, str(population))
    page = demo_app.test_client().get(f"/contests/rounds/{round_id}/ranking/units")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="units-ranked"' in html
    ranked = html.split('id="units-ranked"')[1].split("</table>")[0]
    rates = re.findall(r'<td class="text-end">(\d+,\d)</td>', ranked)
    assert rates and any(rate != "0,0" for rate in rates)  # the per 1,000 column is filled
    assert 'id="units-unknown"' not in html
    winners = _winners_page(demo_app, round_id)
    prizes = winners.split("Giải tập thể")[1]
    assert "người tham gia trên 1.000 dân" in prizes
    assert 'id="population-missing"' not in winners


def test_without_figures_the_officers_pages_say_where_they_are_missing(demo_app, tmp_path):
    round_id = _demo_with_attempts(demo_app, None)
    html = demo_app.test_client().get(f"/contests/rounds/{round_id}/ranking/units")
    assert 'id="units-unknown"' in html.get_data(as_text=True)
    winners = _winners_page(demo_app, round_id)
    assert 'id="population-missing"' in winners and "--population" in winners
    client = demo_app.test_client()
    AuthActions(client).login("0900000002", DEMO_PASSWORD)
    dashboard = client.get("/officer/").get_data(as_text=True)
    assert "Chưa có số dân của 103 xã/phường" in dashboard and "--population" in dashboard
    with demo_app.app_context():
        assert (
            db.session.scalar(
                select(Unit.population).where(Unit.level == UnitLevel.COMMUNE).limit(1)
            )
            is None
        )
