import pytest

from app.extensions import db
from app.models import Unit, UnitLevel
from app.services.units import UnitsError, communes, load_units, parse_population_csv, search_units
from app.text import clean_line, fold, vietnamese_key
from tests.conftest import PROVINCE, VI_THANH

PHU_HUU = 31378  # "Xã  Phú Hữu" in the official list, with two spaces


def test_can_tho_has_its_103_communes_and_wards_including_former_hau_giang(app):
    with app.app_context():
        province = db.session.get(Unit, PROVINCE)
        assert province.name == "Thành phố Cần Thơ" and province.level == UnitLevel.PROVINCE
        units = communes(db.session)
        assert len(units) == 103
        assert all(u.parent_code == PROVINCE for u in units)
        names = [u.name for u in units]
        assert "Phường Vị Thanh" in names  # the former Hậu Giang's capital
        assert "Phường Ninh Kiều" in names


def test_lists_are_in_vietnamese_order(app):
    with app.app_context():
        names = [u.name for u in communes(db.session)]
    assert names == sorted(names, key=vietnamese_key)
    assert names != sorted(names)  # code-point order differs: the key really matters here


def test_search_ignores_diacritics(app):
    with app.app_context():
        found = [u.name for u in search_units(db.session, "vi thanh")]
        assert found[0] == "Phường Vị Thanh"
        assert "Xã Vĩnh Thạnh" not in found  # "vi" is a whole word, not a prefix of "vinh"
        assert next(u.code for u in search_units(db.session, "VỊ THANH")) == VI_THANH
        assert search_units(db.session, "ninh kie")[0].name == "Phường Ninh Kiều"
        assert search_units(db.session, "100%_") == []


def test_loading_again_changes_nothing_and_population_csv_applies(app, tmp_path):
    csv_file = tmp_path / "population.csv"
    csv_file.write_text(
        f"code,population\n{VI_THANH},45.678\n{PROVINCE},4199824\n", encoding="utf-8"
    )
    with app.app_context():
        report = load_units(db.session, PROVINCE, str(csv_file))
        assert (report.added, report.updated, report.populations) == (0, 0, 2)
        assert db.session.get(Unit, VI_THANH).population == 45678


def test_population_csv_errors_name_the_line():
    with pytest.raises(UnitsError, match="line 2"):
        parse_population_csv("code,population\n31321,many\n")


def test_units_cli(runner):
    result = runner.invoke(args=["units", "load"])
    assert result.exit_code == 0, result.output
    assert "Thành phố Cần Thơ: 0 added, 0 updated" in result.output
    result = runner.invoke(args=["units", "load", "--province", "999"])
    assert result.exit_code != 0 and "Unknown province code 999" in result.output


def test_units_api(client):
    everything = client.get("/api/v1/units").get_json()
    assert len(everything) == 104
    assert everything[0] == {
        "code": PROVINCE,
        "name": "Thành phố Cần Thơ",
        "level": "province",
        "parent": None,
        "population": None,
    }
    assert {u["level"] for u in everything[1:]} == {"commune"}
    assert {u["parent"] for u in everything[1:]} == {PROVINCE}
    found = client.get("/api/v1/units", query_string={"q": "vi thanh"}).get_json()
    assert found[0]["name"] == "Phường Vị Thanh" and found[0]["code"] == VI_THANH
    # a query string's problem is a 400 (issue 13)
    assert client.get("/api/v1/units", query_string={"level": "town"}).status_code == 400


def test_names_are_cleaned_when_loaded_and_sort_where_they_belong(app):
    """The official list spells two communes with a double space ("Xã  Phú Hữu", "Xã  Đại
    Hải"): they sorted first among the "Xã" and a search typed with one space missed them."""
    with app.app_context():
        names = [u.name for u in communes(db.session)]
        assert all(name == clean_line(name) for name in names)
        assert {"Xã Phú Hữu", "Xã Đại Hải"} <= set(names)
        assert (
            names.index("Xã Cù Lao Dung") < names.index("Xã Đại Hải") < names.index("Xã Đại Ngãi")
        )
        assert names.index("Xã Phong Nẫm") < names.index("Xã Phú Hữu") < names.index("Xã Phú Lộc")
        assert [u.name for u in search_units(db.session, "Xã Phú Hữu")] == ["Xã Phú Hữu"]


def test_loading_cleans_a_name_stored_before(app):
    with app.app_context():
        unit = db.session.get(Unit, PHU_HUU)
        unit.name = "Xã  Phú Hữu "
        db.session.commit()
        report = load_units(db.session, PROVINCE)
        assert report.updated == 1
        assert db.session.get(Unit, PHU_HUU).name == "Xã Phú Hữu"


@pytest.mark.parametrize(
    "typed", ["vi thanh", "vị thanh", "VỊ THANH", "Phường  Vị Thanh", "  phuong vi  thanh "]
)
def test_search_ignores_diacritics_case_and_spaces(app, typed):
    with app.app_context():
        found = search_units(db.session, typed, UnitLevel.COMMUNE)
        assert found and found[0].code == VI_THANH


def test_search_finds_a_numbered_ward(app):
    """Cần Thơ's wards lost their numbers in 2025; another province's "Phường 5" is found by
    "phuong 5" and not by "phuong 50"."""
    with app.app_context():
        assert search_units(db.session, "phuong 5") == []
        db.session.add(
            Unit(
                code=99_905,
                name="Phường 5",
                level="commune",
                division_type="phường",
                parent_code=PROVINCE,
                search_name=fold("Phường 5"),
            )
        )
        db.session.commit()
        try:
            assert [u.name for u in search_units(db.session, "phuong 5")] == ["Phường 5"]
            assert [u.name for u in search_units(db.session, "PHƯỜNG 5")] == ["Phường 5"]
            assert search_units(db.session, "phuong 50") == []
        finally:
            db.session.delete(db.session.get(Unit, 99_905))
            db.session.commit()
