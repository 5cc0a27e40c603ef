"""Hamlets (issue 20, point 5): officers of a commune define its hamlets (page and CSV), residents
name theirs, audiences and hamlet officers' scope work at hamlet level, progress breaks down by
hamlet with small groups hidden, and the units API lists a commune's hamlets."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Role, Unit, UnitLevel, User, utcnow
from app.services import hamlets
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, csrf_token


def _csv(lines: list[str], *, bom: bool = True) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode()


def _me(user: User | None) -> User | None:
    return db.session.get(User, user.id) if user is not None else None


def add(
    name: str, kind: str = "Khu vực", commune: int = VI_THANH, population: object = None
) -> Unit:
    """A hamlet added through the service, as the command line (inside an app context)."""
    return hamlets.create(db.session, None, commune, name, kind, population, utcnow())


# ------------------------------------------------------------------------------ the service


def test_an_officer_of_the_commune_or_above_adds_hamlets_with_codes_of_the_scheme(app, make_user):
    commune_officer = make_user(role=Role.OFFICER, phone="0911000001", unit=VI_THANH)
    province_officer = make_user(role=Role.OFFICER, phone="0911000002", unit=PROVINCE)
    neighbour = make_user(role=Role.OFFICER, phone="0911000003", unit=NINH_KIEU)
    leader = make_user(role=Role.LEADER, phone="0911000004", unit=VI_THANH)
    now = utcnow()
    with app.app_context():
        first = hamlets.create(
            db.session, _me(commune_officer), VI_THANH, "  Khu  vực 1 ", "khu vuc", "1.250", now
        )
        second = hamlets.create(
            db.session, _me(province_officer), VI_THANH, "Ấp Thạnh Lợi", "Ấp", "", now
        )
        assert (first.code, first.name, first.division_type, first.population) == (
            VI_THANH * 1000 + 1,
            "Khu vực 1",
            "Khu vực",
            1250,
        )
        assert (second.code, second.search_name, second.population) == (
            VI_THANH * 1000 + 2,
            "ap thanh loi",
            None,
        )
        assert (second.level, second.parent_code) == (UnitLevel.HAMLET, VI_THANH)
        for actor in (neighbour, leader):
            with pytest.raises(hamlets.NotAllowed):
                hamlets.create(db.session, _me(actor), VI_THANH, "Khu vực 2", "Khu vực", None, now)
        with pytest.raises(hamlets.NotAllowed):  # a commune's hamlet is never a hamlet's parent
            hamlets.create(db.session, None, first.code, "Tổ 1", "Tổ dân phố", None, now)
        with pytest.raises(hamlets.NotAllowed):  # nor the province
            hamlets.create(db.session, None, PROVINCE, "Tổ 1", "Tổ dân phố", None, now)
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["hamlet.create", "hamlet.create"]
        assert [u.name for u in hamlets.hamlets_of(db.session, VI_THANH)] == [
            "Ấp Thạnh Lợi",
            "Khu vực 1",
        ]


@pytest.mark.parametrize(
    ("name", "kind", "population", "field"),
    [
        ("", "Ấp", None, "name"),
        ("A" * 101, "Ấp", None, "name"),
        ("Ấp\u200bMột", "Ấp", None, "name"),
        ("Ấp Một", "làng", None, "kind"),
        ("Ấp Một", "Ấp", "-3", "population"),
        ("Ấp Một", "Ấp", "1e3", "population"),
        ("Ấp Một", "Ấp", "١٢", "population"),
    ],
)
def test_bad_fields_are_refused_with_the_field_named(app, name, kind, population, field):
    with app.app_context():
        with pytest.raises(hamlets.HamletError) as refused:
            add(name, kind, population=population)
        assert refused.value.field == field
        assert hamlets.hamlets_of(db.session, VI_THANH) == []


def test_the_same_name_folded_twice_in_a_commune_is_refused_but_not_in_another(app):
    with app.app_context():
        add("Ấp Thạnh Lợi", "Ấp")
        for twin in ("ap thanh loi", "ẤP  THẠNH LỢI", "A\u0302\u0301p Thạnh Lợi"):
            with pytest.raises(hamlets.HamletError) as refused:
                add(twin, "Ấp")
            assert refused.value.conflict
        other = add("Ấp Thạnh Lợi", "Ấp", commune=NINH_KIEU)
        assert other.code == NINH_KIEU * 1000 + 1
        renamed = add("Khu vực 2")
        with pytest.raises(hamlets.HamletError):
            hamlets.update(db.session, None, renamed.code, "Ap Thanh Loi", "Ấp", None, utcnow())
        hamlets.update(db.session, None, renamed.code, "Khu vực 3", "khu vực", "900", utcnow())
        assert (db.session.get(Unit, renamed.code).name, renamed.population) == ("Khu vực 3", 900)


def test_the_database_refuses_a_second_hamlet_of_the_same_name(app):
    """Two officers at once: whatever the check above sees, the unique index decides."""
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        add("Khu vực 1")
        with pytest.raises(IntegrityError):
            db.session.execute(
                Unit.__table__.insert(),
                {
                    "code": VI_THANH * 1000 + 9,
                    "name": "KHU VỰC 1",
                    "level": "hamlet",
                    "division_type": "Khu vực",
                    "parent_code": VI_THANH,
                    "search_name": "khu vuc 1",
                },
            )
        db.session.rollback()


def test_a_hamlet_is_deleted_only_while_nothing_names_it(app, make_user):
    resident = make_user(phone="0912000001")
    with app.app_context():
        free, used = add("Khu vực 1"), add("Khu vực 2")
        used_code, free_code = used.code, free.code
        db.session.get(User, resident.id).hamlet_code = used_code
        db.session.commit()
        with pytest.raises(hamlets.HamletError) as refused:
            hamlets.delete(db.session, None, used_code, utcnow())
        assert "1 accounts" in refused.value.message or "1 tài khoản" in refused.value.message
        hamlets.delete(db.session, None, free_code, utcnow())
        assert db.session.get(Unit, free_code) is None
        assert db.session.get(Unit, used_code) is not None
        # The next hamlet takes the next number, never the deleted one while a higher is used.
        assert add("Khu vực 3").code == VI_THANH * 1000 + 3


def test_csv_import_reports_every_line_and_adds_the_good_ones(app, make_user):
    officer = make_user(role=Role.OFFICER, phone="0911000001", unit=VI_THANH)
    data = _csv(
        [
            "Tên,Loại,Dân số",
            "Khu vực 1,khu vực,1.250",
            "Khu vực 2,Khu vực,",
            ",Ấp,100",
            "Ấp Thạnh Lợi,làng,300",
            "khu vuc 1,Khu vực,5",
            "Tổ dân phố 7,TDP,mười",
            "Ấp Phú Hưng,Ấp,2 400",
            "Khu vực 9",
            '=HYPERLINK("http://x"),Ấp,',
        ]
    )
    with app.app_context():
        add("Ấp Phú Hưng", "Ấp")  # already there
        report = hamlets.import_csv(db.session, _me(officer), VI_THANH, data, utcnow())
        assert report.error is None
        by_line = {line.line: (line.ok, line.message) for line in report.lines}
        assert [n for n, (ok, _m) in sorted(by_line.items()) if ok] == [2, 3, 10]
        assert "name" in by_line[4][1] or "tên" in by_line[4][1]
        assert "làng" in by_line[5][1]
        assert "line 2" in by_line[6][1] or "dòng 2" in by_line[6][1]
        assert "mười" not in by_line[7][1] and not by_line[7][0]
        assert "Ấp Phú Hưng" in by_line[8][1]
        assert not by_line[9][0]
        names = {
            u.name: (u.division_type, u.population)
            for u in hamlets.hamlets_of(db.session, VI_THANH)
        }
        assert names == {
            "Ấp Phú Hưng": ("Ấp", None),
            "Khu vực 1": ("Khu vực", 1250),
            "Khu vực 2": ("Khu vực", None),
            '=HYPERLINK("http://x")': ("Ấp", None),  # stored as the characters it holds
        }
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "hamlet.import")
        ).one()
        assert (event.actor_id, event.unit_code) == (officer.id, VI_THANH)
        assert event.detail["created"] == 3 and event.detail["refused"] == 6


def test_csv_import_refuses_an_unreadable_file_and_a_commune_out_of_reach(app, make_user):
    officer = make_user(role=Role.OFFICER, phone="0911000001", unit=VI_THANH)
    with app.app_context():
        report = hamlets.import_csv(db.session, None, VI_THANH, b"\xc1p 1,\xc1p\n", utcnow())
        assert report.error and "UTF-8" in report.error
        assert hamlets.import_csv(db.session, None, VI_THANH, b"\n\n", utcnow()).error
        with pytest.raises(hamlets.NotAllowed):
            hamlets.import_csv(db.session, _me(officer), NINH_KIEU, _csv(["Ấp 1,Ấp"]), utcnow())
        assert hamlets.hamlets_of(db.session, NINH_KIEU) == []


# ------------------------------------------------------------------------------ units API


def test_units_api_lists_a_communes_hamlets_under_it_and_not_in_the_province_list(app, client):
    with app.app_context():
        add("Khu vực 2", population="800")
        add("Khu vực 1")
        add("Ấp Mỹ Hòa", "Ấp", commune=NINH_KIEU)
    listed = client.get("/api/v1/units", query_string={"parent": VI_THANH})
    assert listed.status_code == 200
    assert listed.get_json() == [
        {
            "code": VI_THANH * 1000 + 2,
            "name": "Khu vực 1",
            "level": "hamlet",
            "parent": VI_THANH,
            "population": None,
        },
        {
            "code": VI_THANH * 1000 + 1,
            "name": "Khu vực 2",
            "level": "hamlet",
            "parent": VI_THANH,
            "population": 800,
        },
    ]
    searched = client.get("/api/v1/units", query_string={"parent": VI_THANH, "q": "khu vuc 2"})
    assert [u["name"] for u in searched.get_json()] == ["Khu vực 2"]
    everything = client.get("/api/v1/units").get_json()
    assert {u["level"] for u in everything} == {"province", "commune"}
    assert client.get("/api/v1/units", query_string={"q": "khu vuc"}).get_json() == []
    assert client.get("/api/v1/units", query_string={"parent": 99999}).get_json() == []
    assert client.get("/api/v1/units", query_string={"parent": "x"}).status_code == 400


# ------------------------------------------------------------------------------ the pages


def test_the_officer_page_adds_edits_imports_and_deletes_within_scope_only(
    app, client, auth, make_user
):
    officer = make_user(role=Role.OFFICER, phone="0911000001", unit=VI_THANH)
    make_user(role=Role.OFFICER, phone="0911000002", unit=NINH_KIEU)
    auth.login(officer.phone)
    page = client.get("/officer/hamlets")
    assert page.status_code == 200 and "Vị Thanh" in page.get_data(as_text=True)
    token = csrf_token(client, "/officer/hamlets")
    added = client.post(
        f"/officer/hamlets/{VI_THANH}/new",
        data={"csrf_token": token, "name": "Khu vực 1", "kind": "Khu vực", "population": "1.250"},
    )
    assert added.status_code == 302
    twin = client.post(
        f"/officer/hamlets/{VI_THANH}/new",
        data={"csrf_token": token, "name": "khu vuc 1", "kind": "Khu vực", "population": ""},
    )
    assert twin.status_code == 409 and "Khu vực 1" in twin.get_data(as_text=True)
    bad = client.post(
        f"/officer/hamlets/{VI_THANH}/new",
        data={"csrf_token": token, "name": "Khu vực 2", "kind": "Khu vực", "population": "nhiều"},
    )
    assert bad.status_code == 422
    forged = client.post(
        f"/officer/hamlets/{VI_THANH}/new",
        data={"csrf_token": token, "name": "Khu vực 2", "kind": "Làng", "population": ""},
    )
    assert forged.status_code == 422
    elsewhere = client.post(
        f"/officer/hamlets/{NINH_KIEU}/new",
        data={"csrf_token": token, "name": "Khu vực 1", "kind": "Khu vực", "population": ""},
    )
    assert elsewhere.status_code == 403
    assert client.get(f"/officer/hamlets?unit={NINH_KIEU}").status_code == 403
    code = VI_THANH * 1000 + 1
    edited = client.post(
        f"/officer/hamlets/edit/{code}",
        data={"csrf_token": token, "name": "Khu vực Một", "kind": "Khu vực", "population": ""},
    )
    assert edited.status_code == 302
    imported = client.post(
        f"/officer/hamlets/{VI_THANH}/import",
        data={
            "csrf_token": token,
            "file": (
                io.BytesIO(_csv(["Ấp Thạnh Lợi,ấp,300", "Ấp X,làng,"])),
                "h.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    text = imported.get_data(as_text=True)
    assert imported.status_code == 200 and "Ấp Thạnh Lợi" in text and "làng" in text
    deleted = client.post(f"/officer/hamlets/delete/{code}", data={"csrf_token": token})
    assert deleted.status_code == 302
    with app.app_context():
        assert [u.name for u in hamlets.hamlets_of(db.session, VI_THANH)] == ["Ấp Thạnh Lợi"]
        assert db.session.get(Unit, code) is None


def test_residents_leaders_and_hamlet_officers_cannot_manage_hamlets(app, client, auth, make_user):
    with app.app_context():
        hamlet = add("Khu vực 1").code
    resident = make_user(phone="0912000001")
    leader = make_user(role=Role.LEADER, phone="0911000003", unit=VI_THANH)
    hamlet_officer = make_user(role=Role.OFFICER, phone="0911000004", unit=hamlet)
    for person in (resident, leader, hamlet_officer):
        auth.login(person.phone)
        token = csrf_token(client, "/account/")
        posted = client.post(
            f"/officer/hamlets/{VI_THANH}/new",
            data={"csrf_token": token, "name": "Khu vực 9", "kind": "Khu vực"},
        )
        assert posted.status_code == 403, person.role
        assert (
            client.post(f"/officer/hamlets/delete/{hamlet}", data={"csrf_token": token}).status_code
            == 403
        )
        assert client.get(f"/officer/hamlets?unit={VI_THANH}").status_code == 403
        auth.logout()
    with app.app_context():
        assert [u.code for u in hamlets.hamlets_of(db.session, VI_THANH)] == [hamlet]


# ------------------------------------------------------------------------------ progress


def _answer(app, slug: str, commune: int, hamlet: int | None, n: int) -> None:  # type: ignore[no-untyped-def]
    """`n` anonymous responses of `commune` naming `hamlet`, moved by the mixer."""
    from app.models import Survey
    from app.services import survey_definition
    from app.services import surveys as survey_service
    from tests.test_surveys import GOOD, NOW

    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == slug))
        defn = survey_definition.definition(db.session, survey)
        unit = db.session.get(Unit, commune)
        place = db.session.get(Unit, hamlet) if hamlet else None
        for _i in range(n):
            survey_service.submit(db.session, defn, GOOD, NOW, user=None, unit=unit, hamlet=place)
        survey_service.settle(db.session, NOW, force=True)


@pytest.fixture
def full_survey(app):  # type: ignore[no-untyped-def]
    from tests.conftest import load_content, set_clock
    from tests.test_surveys import FULL, NOW

    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL)], NOW)
    return "hai-long-chinh-quyen-2026"


def _hamlet_rows(html: str) -> dict[str, str]:
    import re

    table = html.split('id="by-hamlet"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<tr><td>(.*?)</td><td class=\"text-end\">(.*?)</td>", table)
    return {re.sub(r"<[^>]+>", "", name): re.sub(r"<[^>]+>", "", n) for name, n in cells}


def test_progress_by_hamlet_hides_a_small_hamlet_so_that_the_commune_total_does_not_give_it(
    app, client, auth, make_user, full_survey
):
    with app.app_context():
        a, b, c = (add(name).code for name in ("Khu vực 1", "Khu vực 2", "Khu vực 3"))
    for hamlet, n in ((a, 6), (b, 2), (c, 7), (None, 5)):
        _answer(app, full_survey, VI_THANH, hamlet, n)
    _answer(app, full_survey, NINH_KIEU, None, 9)
    commune_officer = make_user(role=Role.OFFICER, phone="0911000001", unit=VI_THANH)
    auth.login(commune_officer.phone)
    page = client.get(f"/surveys/{full_survey}/progress")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = _hamlet_rows(html)
    hidden = {name for name, n in rows.items() if not n.strip().isdigit()}
    assert rows["Khu vực 1"] == "6" and rows["Khu vực 3"] == "7"
    assert "Khu vực 2" in hidden  # 2 people: below the threshold of 5
    # The attacker's sum: the commune's total (20, shown) less the hamlets shown leaves the
    # hidden ones together, never the small one alone.
    assert len(hidden) >= 2
    assert ">20<" in html  # the commune's own figure is shown
    auth.logout()
    # A hamlet officer reads their own hamlet's row, hidden or not, and nothing else.
    for hamlet, phone, expected in ((a, "0911000002", "6"), (b, "0911000003", None)):
        officer = make_user(role=Role.OFFICER, phone=phone, unit=hamlet)
        auth.login(officer.phone)
        html = client.get(f"/surveys/{full_survey}/progress").get_data(as_text=True)
        rows = _hamlet_rows(html)
        assert len(rows) == 1
        (shown,) = rows.values()
        assert (shown if shown.isdigit() else None) == expected
        assert ">20<" not in html and ">9<" not in html
        assert client.get(f"/surveys/{full_survey}/progress?unit={VI_THANH}").status_code == 200
        auth.logout()
    # An officer above chooses the commune to break down; a neighbour may not.
    neighbour = make_user(role=Role.OFFICER, phone="0911000004", unit=NINH_KIEU)
    auth.login(neighbour.phone)
    other = client.get(f"/surveys/{full_survey}/progress?unit={VI_THANH}").get_data(as_text=True)
    assert 'id="by-hamlet"' not in other and "Khu vực 1" not in other
    province = make_user(role=Role.OFFICER, phone="0911000005", unit=PROVINCE)
    auth.logout()
    auth.login(province.phone)
    listed = client.get(f"/surveys/{full_survey}/progress").get_data(as_text=True)
    assert f"unit={VI_THANH}" in listed and 'id="by-hamlet"' not in listed
    chosen = client.get(f"/surveys/{full_survey}/progress?unit={VI_THANH}").get_data(as_text=True)
    assert _hamlet_rows(chosen)["Khu vực 1"] == "6"
    assert client.get(f"/surveys/{full_survey}/progress?unit={a}").status_code == 403


def test_the_hamlet_decision_never_leaves_one_hidden_figure_alone():
    """Every shape of a commune's hamlets: the hidden rows are never one alone (it would be the
    commune's total less the shown ones), and every row under the threshold is hidden."""
    import itertools

    from app.services.suppression import NOT_STATED, TableDecision, decide_hamlets

    commune = 31321
    for sizes in itertools.product((0, 1, 2, 4, 5, 9), repeat=4):
        counts = {(commune, slot): n for slot, n in zip((1, 2, 3, NOT_STATED), sizes, strict=True)}
        decision = decide_hamlets(counts, TableDecision(), 5)
        hidden = [slot for (_c, slot) in counts if decision.hides(commune, slot)]
        if 0 < sum(sizes) < 5:  # the commune itself is small: all its hamlets go with it
            assert len(hidden) == 4, (sizes, hidden)
            continue
        assert all(decision.hides(commune, slot) for (_c, slot), n in counts.items() if 0 < n < 5)
        assert len(hidden) != 1, (sizes, hidden)
    hidden_commune = TableDecision(rows=frozenset([commune]))
    assert decide_hamlets({(commune, 1): 9, (commune, 2): 9}, hidden_commune, 5).hides(commune, 1)


# ------------------------------------------------------------------------------ audiences


def test_an_audience_listing_a_hamlet_takes_in_its_people_only(app):
    from app.services import policy

    with app.app_context():
        h1, h2 = add("Khu vực 1").code, add("Khu vực 2").code
        commune = db.session.get(Unit, VI_THANH)
        assert policy.in_audience([h1], commune, h1)
        assert not policy.in_audience([h1], commune, h2)
        assert not policy.in_audience([h1], commune, None)
        assert policy.in_audience([VI_THANH], commune, h2)  # a commune takes in its hamlets
        assert policy.in_audience([PROVINCE], commune, None)
        assert policy.audience_reaches(db.session, [h1], commune)
        assert not policy.audience_reaches(db.session, [h1], db.session.get(Unit, NINH_KIEU))


def test_a_contest_open_to_a_hamlet_starts_for_its_residents_only(app, client, make_user):
    from tests.conftest import load_content, set_clock
    from tests.test_attempts import CONTEST, START, bank_yaml, bearer

    set_clock(app, START)
    with app.app_context():
        h1, h2 = add("Khu vực 1").code, add("Khu vực 2").code
    load_content(
        app,
        [
            ("b.yaml", bank_yaml()),
            ("c.yaml", CONTEST.replace("rounds:", f"audience: [{h1}]\nrounds:")),
        ],
        START,
    )
    inside, other, none = (make_user(phone=p) for p in ("0987000001", "0987000002", "0987000003"))
    with app.app_context():
        db.session.get(User, inside.id).hamlet_code = h1
        db.session.get(User, other.id).hamlet_code = h2
        db.session.commit()
        from app.models import Round

        round_id = db.session.scalars(select(Round.id).order_by(Round.id)).first()
    started = {
        person.phone: client.post(
            f"/api/v1/rounds/{round_id}/attempts", headers=bearer(client, person.phone)
        ).status_code
        for person in (inside, other, none)
    }
    assert started == {"0987000001": 201, "0987000002": 403, "0987000003": 403}


def test_content_may_name_a_hamlet_in_its_audience_but_not_a_made_up_one(app):
    from app.content.store import Actor
    from tests.test_surveys import IDENTIFIED, NOW

    with app.app_context():
        real = add("Khu vực 1").code
    from app.content.pipeline import load_files

    def load(audience: str) -> list[str]:
        text = IDENTIFIED.replace("min_group: 3", f"min_group: 3\naudience: {audience}")
        with app.app_context():
            (outcome,) = load_files(
                db.session,
                [("id.yaml", text.encode())],
                Actor(unit_code=VI_THANH, is_admin=False),
                NOW,
            )
            if outcome.refused is not None:
                return [p.message % p.params for p in outcome.refused.problems]
            return outcome.result.messages("en")

    assert load(f"[{real}]") == []
    assert any("31321009" in m and "Hamlets page" in m for m in load("[31321009]")), load(
        "[31321009]"
    )
    assert any("neither" in m for m in load("[99999001]")), load("[99999001]")
    assert any("outside" in m for m in load(f"[{NINH_KIEU}]"))


# ------------------------------------------------------------------------------ answering


def test_the_survey_form_asks_the_hamlet_and_stores_it_preselecting_the_residents_own(
    app, client, auth, make_user
):
    from app.models import SurveyResponse
    from tests.conftest import load_content, set_clock
    from tests.test_surveys import IDENTIFIED, NOW

    set_clock(app, NOW)
    load_content(app, [("id.yaml", IDENTIFIED)], NOW)
    with app.app_context():
        h1, h2 = add("Khu vực 1").code, add("Khu vực 2").code
        elsewhere = add("Khu vực 1", commune=NINH_KIEU).code
    resident, other, forger = (
        make_user(phone=p) for p in ("0987000001", "0987000002", "0987000003")
    )
    with app.app_context():
        db.session.get(User, resident.id).hamlet_code = h2
        db.session.commit()

    def answer(person: User, hamlet: str | None) -> str:
        auth.login(person.phone)
        first = client.get("/surveys/kenh-thong-tin/page/0").get_data(as_text=True)
        token = csrf_token(client, "/surveys/kenh-thong-tin/page/0")
        data = {"csrf_token": token, "action": "next", "a-hop": "2"}
        if hamlet is not None:
            data["hamlet"] = hamlet
        second = client.post("/surveys/kenh-thong-tin/page/0", data=data)
        assert second.status_code == 200, second.get_data(as_text=True)[-3000:]
        carried = re.search(r'name="hamlet" value="(\d*)"', second.get_data(as_text=True))
        posted = {"csrf_token": token, "action": "submit", "a-hop": "2", "a-kenh": "1"}
        posted["hamlet"] = carried.group(1) if carried else ""
        assert client.post("/surveys/kenh-thong-tin/page/1", data=posted).status_code == 302
        auth.logout()
        return first

    first = answer(resident, None)  # the page's own choice: the resident's hamlet
    assert f'<option value="{h2}" selected>' in first and 'id="hamlet-choice"' in first
    answer(other, str(h1))
    answer(forger, str(elsewhere))  # another commune's hamlet: names none
    with app.app_context():
        stored = dict(
            db.session.execute(select(SurveyResponse.user_id, SurveyResponse.hamlet_code)).all()
        )
    assert stored == {resident.id: h2, other.id: h1, forger.id: None}


# ------------------------------------------------------------------------------ signing up


def test_sign_up_with_a_hamlet_of_another_commune_is_refused_naming_the_field(app, client):
    from tests.test_api import REGISTRATION
    from tests.test_auth import register_form

    with app.app_context():
        mine, theirs = add("Khu vực 1").code, add("Ấp Mỹ Hòa", "Ấp", commune=NINH_KIEU).code
    for bad in (theirs, VI_THANH, 99_999_999):
        refused = client.post("/api/v1/auth/register", json={**REGISTRATION, "hamlet": bad})
        assert refused.status_code == 422
        assert [d["field"] for d in refused.get_json()["error"]["details"]] == ["hamlet"]
    page = register_form(client, hamlet=str(theirs))
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'id="hamlet-field"' in html and f'<option value="{mine}">Khu vực 1</option>' in html
    assert "Ấp Mỹ Hòa" not in html  # the chosen commune's hamlets only
    with app.app_context():
        assert db.session.scalar(select(User.id)) is None
    created = client.post("/api/v1/auth/register", json={**REGISTRATION, "hamlet": mine})
    assert created.status_code == 201
    assert register_form(client, phone="0912000009", hamlet="").status_code == 302
    with app.app_context():
        stored = db.session.execute(select(User.phone, User.hamlet_code)).all()
    assert sorted(stored) == [("0912000009", None), ("0912345678", mine)]


def test_a_resident_names_or_changes_their_hamlet_on_the_account_page(app, client, auth, make_user):
    resident = make_user(phone="0912000001")
    with app.app_context():
        mine, theirs = add("Khu vực 1").code, add("Ấp Mỹ Hòa", "Ấp", commune=NINH_KIEU).code
    auth.login(resident.phone)
    assert "Khu vực 1" in client.get("/account/hamlet").get_data(as_text=True)
    token = csrf_token(client, "/account/hamlet")
    assert (
        client.post("/account/hamlet", data={"csrf_token": token, "hamlet": theirs}).status_code
        == 422
    )
    assert (
        client.post("/account/hamlet", data={"csrf_token": token, "hamlet": "x"}).status_code == 422
    )
    assert (
        client.post("/account/hamlet", data={"csrf_token": token, "hamlet": mine}).status_code
        == 302
    )
    assert "Khu vực 1" in client.get("/account/").get_data(as_text=True)
    me = client.get("/api/v1/me").get_json()
    assert me["hamlet"]["code"] == mine and me["hamlet"]["level"] == "hamlet"
    download = client.get("/account/data.json").get_json()
    assert download["account"]["hamlet"] == {"code": mine, "name": "Khu vực 1"}
    assert (
        client.post("/account/hamlet", data={"csrf_token": token, "hamlet": ""}).status_code == 302
    )
    with app.app_context():
        assert db.session.get(User, resident.id).hamlet_code is None


# ------------------------------------------------------------------------------ hamlet officers


def test_a_commune_officer_creates_an_officer_of_one_of_its_hamlets_only(
    app, client, auth, make_user
):
    from app.services import staff

    commune_officer = make_user(role=Role.OFFICER, phone="0911000001", unit=VI_THANH)
    neighbour = make_user(role=Role.OFFICER, phone="0911000002", unit=NINH_KIEU)
    with app.app_context():
        mine = add("Khu vực 1").code
    now = utcnow()
    with app.app_context():
        made = staff.create(
            db.session, _me(commune_officer), "Lê Thị Hoa", "0912000001", mine, "officer", now
        )
        assert db.session.get(User, made.user_id).unit_code == mine
        with pytest.raises(staff.NotAllowed):
            staff.create(db.session, _me(neighbour), "Ai Đó", "0912000002", mine, "officer", now)
        with pytest.raises(staff.NotAllowed):  # a hamlet officer creates nobody
            hamlet_officer = db.session.get(User, made.user_id)
            staff.create(db.session, hamlet_officer, "Ai Đó", "0912000003", mine, "officer", now)
    auth.login(commune_officer.phone)
    page = client.get("/officer/staff/new").get_data(as_text=True)
    assert f'<option value="{mine}">Khu vực 1 – Phường Vị Thanh</option>' in page


def _normal(body: bytes) -> str:
    """A page as read, without what changes on every request (CSRF tokens, nonces, ids)."""
    text = body.decode("utf-8", "replace")
    text = re.sub(r'(csrf_token"? (?:type="hidden" )?value=")[^"]+', r"\1", text)
    text = re.sub(r'nonce="[^"]+"', "", text)
    text = re.sub(r"\b[0-9a-f]{32}\b", "", text)  # the request's id, on error pages
    return re.sub(r'"csrf_token": "[^"]+"', "", text)


def test_a_hamlet_officer_reads_nothing_of_their_commune_outside_their_hamlet(
    app, client, auth, make_user, full_survey
):
    """The attacker is an officer of one hamlet. Every page and API answer that takes a unit
    or a scope is read twice: before and after the rest of the commune (another hamlet, the
    residents who named none) and a neighbouring commune receive more responses and sign-ups.
    Nothing they read may change; asked for the commune itself, they are refused."""
    with app.app_context():
        mine, other = add("Khu vực 1").code, add("Khu vực 2").code
    for hamlet, n in ((mine, 6), (other, 7), (None, 8)):
        _answer(app, full_survey, VI_THANH, hamlet, n)
    _answer(app, full_survey, NINH_KIEU, None, 9)
    officer = make_user(role=Role.OFFICER, phone="0911000001", unit=mine)
    slug = full_survey
    paths = [
        "/officer/",
        "/overview",
        "/surveys/",
        f"/surveys/{slug}/progress",
        f"/surveys/{slug}/progress?unit={VI_THANH}",
        f"/surveys/{slug}/progress?unit={NINH_KIEU}",
        "/results/",
        f"/results/{slug}",
        f"/results/{slug}?by=unit",
        f"/results/{slug}?by=hamlet",
        f"/results/{slug}?by=channel",
        f"/results/{slug}?by=gioi-tinh",
        f"/results/{slug}?unit={VI_THANH}",
        f"/results/{slug}?unit={mine}",
        f"/results/{slug}/results.csv",
        f"/results/{slug}/results.csv?unit={VI_THANH}",
        f"/results/{slug}/responses.csv",
        f"/api/v1/surveys/{slug}/results",
        f"/api/v1/surveys/{slug}/results?by=unit",
        f"/api/v1/surveys/{slug}/results?by=hamlet",
        f"/api/v1/surveys/{slug}/results?unit={VI_THANH}",
        f"/api/v1/surveys/{slug}/results?unit={mine}",
        "/briefs/",
        f"/briefs/{VI_THANH}.pdf",
        "/results/contests",
        "/officer/staff",
        f"/officer/staff?unit={VI_THANH}",
        f"/officer/hamlets?unit={VI_THANH}",
        "/officer/content/",
    ]
    auth.login(officer.phone)

    def read() -> dict[str, tuple[int, str]]:
        return {p: (r.status_code, _normal(r.data)) for p in paths for r in [client.get(p)]}

    before = read()
    assert before[f"/surveys/{slug}/progress"][0] == 200
    assert _hamlet_rows(before[f"/surveys/{slug}/progress"][1]) == {"Khu vực 1": "6"}
    for path in (
        f"/results/{slug}?unit={VI_THANH}",
        f"/api/v1/surveys/{slug}/results?unit={VI_THANH}",
        f"/results/{slug}/results.csv?unit={VI_THANH}",
        f"/briefs/{VI_THANH}.pdf",
        f"/officer/hamlets?unit={VI_THANH}",
    ):
        assert before[path][0] in (403, 404), path
    # The rest of the commune and a neighbour grow; the officer's hamlet does not.
    _answer(app, full_survey, VI_THANH, None, 10)
    _answer(app, full_survey, VI_THANH, other, 10)
    _answer(app, full_survey, NINH_KIEU, None, 10)
    for n in range(3):
        resident = make_user(phone=f"098700000{n}")
        with app.app_context():
            db.session.get(User, resident.id).hamlet_code = other if n else None
            db.session.commit()
    make_user(phone="0987000009", unit=NINH_KIEU)
    after = read()
    changed = [p for p in paths if before[p] != after[p]]
    assert changed == [], changed


def test_the_demo_gives_two_communes_their_hamlets_once_and_its_responses_name_them(
    app, runner, full_survey
):
    from app.models import Survey, SurveyResponse

    for _time in range(2):
        assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        assert [u.name for u in hamlets.hamlets_of(db.session, 31441)] == [
            "Ấp Phú Hưng",
            "Ấp Thạnh Lợi",
            "Ấp Thạnh Phú",
        ]
        assert len(hamlets.hamlets_of(db.session, VI_THANH)) == 4
    made = runner.invoke(args=["demo", "responses", "--survey", full_survey, "--count", "400"])
    assert made.exit_code == 0, made.output
    with app.app_context():
        named = db.session.execute(
            select(SurveyResponse.unit_code, SurveyResponse.hamlet_code)
            .join(Survey)
            .where(SurveyResponse.hamlet_code.is_not(None))
        ).all()
        parents = {u.code: u.parent_code for u in db.session.scalars(select(Unit))}
    assert named and all(parents[hamlet] == commune for commune, hamlet in named)


def test_the_survey_api_takes_a_hamlet_of_the_commune_and_refuses_another(
    app, client, make_user, full_survey
):
    from app.models import SurveyResponse
    from app.services import surveys as survey_service
    from tests.test_surveys import GOOD, NOW

    with app.app_context():
        mine, theirs = add("Khu vực 1").code, add("Ấp Mỹ Hòa", "Ấp", commune=NINH_KIEU).code
    url = f"/api/v1/surveys/{full_survey}/responses"
    refused = client.post(url, json={"unit": VI_THANH, "hamlet": theirs, "answers": GOOD})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"][0]["field"] == "hamlet"
    taken = client.post(url, json={"unit": VI_THANH, "hamlet": mine, "answers": GOOD})
    assert taken.status_code == 201
    with app.app_context():
        survey_service.settle(db.session, NOW, force=True)
        assert db.session.scalars(select(SurveyResponse.hamlet_code)).all() == [mine]


def test_a_hamlet_officer_follows_what_reaches_their_hamlet_and_counts_its_residents_only(
    app, client, auth, make_user
):
    from tests.conftest import load_content, set_clock
    from tests.test_surveys import FULL, IDENTIFIED, NOW

    set_clock(app, NOW)
    with app.app_context():
        mine, other = add("Khu vực 1").code, add("Khu vực 2").code
    elsewhere = IDENTIFIED.replace("kenh-thong-tin", "chi-ninh-kieu").replace(
        "min_group: 3", f"min_group: 3\naudience: [{NINH_KIEU}]"
    )
    only_other = IDENTIFIED.replace("kenh-thong-tin", "chi-khu-vuc-2").replace(
        "min_group: 3", f"min_group: 3\naudience: [{other}]"
    )
    load_content(app, [("full.yaml", FULL), ("a.yaml", elsewhere), ("b.yaml", only_other)], NOW)
    for phone, hamlet in (("0987000001", mine), ("0987000002", other), ("0987000003", None)):
        person = make_user(phone=phone)
        with app.app_context():
            db.session.get(User, person.id).hamlet_code = hamlet
            db.session.commit()
    officer = make_user(role=Role.OFFICER, phone="0911000001", unit=mine)
    auth.login(officer.phone)
    html = client.get("/officer/").get_data(as_text=True)
    assert "hai-long-chinh-quyen-2026/progress" in html  # the province's survey, for everyone
    assert "chi-ninh-kieu" not in html and "chi-khu-vuc-2" not in html
    table = html.split('id="residents-by-hamlet"', 1)[1].split("</table>", 1)[0]
    assert "Khu vực 1" in table and "Khu vực 2" not in table
    assert re.search(r"Khu vực 1</td><td class=\"text-end\">1<", table)
    assert "Registered residents per commune" not in html and "theo xã/phường" not in html
