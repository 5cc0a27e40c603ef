"""Staff accounts (issue 16, point 4) and the audit trail (point 5): services without a
request, then the pages, the API and the command line."""

from __future__ import annotations

import csv
import io
import os
import re
import threading

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import AuditEvent, Role, Survey, Unit, User, utcnow
from app.services import audit, staff
from app.services import surveys as survey_service
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, csrf_token

OTHER = "mat-khau-rieng-cua-toi-2026"


def _actor(app, user_id: int | None) -> User | None:  # type: ignore[no-untyped-def]
    return db.session.get(User, user_id) if user_id is not None else None


def _csv(lines: list[str], *, bom: bool = True, sep: str = ",") -> bytes:
    body = "\r\n".join(line.replace(",", sep) for line in lines) + "\r\n"
    return (("\ufeff" if bom else "") + body).encode()


def _events(app, action: str | None = None) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        events = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return events


# ------------------------------------------------------------------------ scope (policy)


def test_an_officer_creates_officers_below_their_unit_only(app, make_user):
    province_officer = make_user(role=Role.OFFICER, phone="0911000001", unit=PROVINCE)
    commune_officer = make_user(role=Role.OFFICER, phone="0911000002", unit=VI_THANH)
    now = utcnow()
    with app.app_context():
        me = _actor(app, province_officer.id)
        made = staff.create(db.session, me, "Lê Thị Hoa", "0912000001", VI_THANH, "officer", now)
        assert made.password and made.unit_name
        for unit, role in [(PROVINCE, "officer"), (VI_THANH, "leader"), (VI_THANH, "admin")]:
            with pytest.raises((staff.NotAllowed, staff.StaffError)):
                staff.create(db.session, me, "Ai Đó", "0912000002", unit, role, now)
        below = _actor(app, commune_officer.id)
        for unit in (PROVINCE, NINH_KIEU, VI_THANH):  # above, a neighbour, their own
            with pytest.raises(staff.NotAllowed):
                staff.create(db.session, below, "Ai Đó", "0912000003", unit, "officer", now)
        # …nor disable an account above: the province officer stays enabled.
        with pytest.raises(staff.NotAllowed):
            staff.set_disabled(db.session, below, province_officer.id, True, now)
        assert db.session.scalar(select(func.count()).select_from(User)) == 3
    assert [e.action for e in _events(app)] == ["staff.create"]  # refusals leave no entry


def test_a_duplicate_phone_is_refused_and_leaves_no_entry(app, make_user):
    make_user(phone="0912000001")  # a resident already has it
    with app.app_context():
        with pytest.raises(staff.StaffError) as refused:
            staff.create(
                db.session, None, "Lê Thị Hoa", "0912000001", VI_THANH, "officer", utcnow()
            )
        assert refused.value.field == "phone" and refused.value.conflict
    assert _events(app) == []


# ---------------------------------------------------------------------------- CSV import


def test_each_bad_line_is_reported_by_its_number_and_the_rest_imported(app, make_user):
    make_user(phone="0912000009")
    data = _csv(
        [
            "Họ tên,Số điện thoại,Đơn vị,Vai trò",  # 1: a header, in Vietnamese
            "Lê Thị Hoa,0912000001,31321,officer",  # 2
            "Trần Văn Bình,12345,31321,officer",  # 3: a bad phone
            "Phạm An,0912000003,99999,officer",  # 4: an unknown unit
            "Võ Bé,0912000004,31321,giám đốc",  # 5: an unknown role
            "Hồ Cẩm,0912000001,31321,leader",  # 6: the phone of line 2
            "Đỗ Dung,0912000009,31321,officer",  # 7: a phone with an account
            '"=HYPERLINK(""http://x"")",912000010,Phường Vị Thanh,lãnh đạo',  # 8: data
            "Chỉ tên",  # 9: too few columns
        ],
        sep=";",
    )
    with app.app_context():
        report = staff.import_csv(db.session, None, data, utcnow())
        refused = {line.line: line.message for line in report.refused}
        assert sorted(refused) == [3, 4, 5, 6, 7, 9]
        assert "line 2" in refused[6] or "dòng 2" in refused[6]
        assert [i.line for i in report.issued] == [2, 8]
        formula = db.session.scalar(select(User).where(User.phone == "0912000010"))
        assert formula.name == '=HYPERLINK("http://x")' and formula.role == Role.LEADER
        assert formula.must_change_password and formula.password_hash.startswith("scrypt:")
        assert report.issued[1].password not in (formula.password_hash or "")
    (entry,) = _events(app, "staff.import")
    assert entry.detail["created"] == 2 and entry.detail["refused"] == 6


def test_the_reader_gives_each_row_the_line_it_starts_on():
    from app.csvread import read_rows

    data = b'a,b\n\n"two\nlines",x\n=1+1,@SUM(A1)\n'  # no BOM, a blank line, a quoted break
    rows = read_rows(data)
    assert [(r.line, r.cells) for r in rows] == [
        (1, ["a", "b"]),
        (3, ["two\nlines", "x"]),
        (5, ["=1+1", "@SUM(A1)"]),  # formula-looking cells are data
    ]
    assert [r.cells for r in read_rows(b"x;y\tz\n")] == [["x", "y\tz"]]


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfeL\x00", "a,b\n".encode("utf-16"), b"", b"\n\n"],
    ids=["utf16-bom", "utf16", "empty", "blank"],
)
def test_an_unreadable_file_is_one_clear_message(app, data):
    with app.app_context():
        report = staff.import_csv(db.session, None, data, utcnow())
    assert report.error and not report.issued and _events(app) == []


def test_two_imports_of_the_same_phone_at_once_make_one_account(app):
    barrier = threading.Barrier(2)
    reports: list[staff.ImportReport] = []

    def run(name: str) -> None:
        with app.app_context():
            barrier.wait()
            data = _csv([f"{name},0912000001,31321,officer"])
            reports.append(staff.import_csv(db.session, None, data, utcnow()))
            db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in ("Một", "Hai")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert sorted(len(r.issued) for r in reports) == [0, 1]
    assert sorted(len(r.refused) for r in reports) == [0, 1]


# ------------------------------------------------------------- first sign-in, disabling


def _issue(app, phone: str = "0912000001", unit: int = VI_THANH) -> staff.Issued:  # type: ignore[no-untyped-def]
    with app.app_context():
        return staff.create(db.session, None, "Lê Thị Hoa", phone, unit, "officer", utcnow())


def _login(client, phone: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/auth/login")
    return client.post(
        "/auth/login", data={"phone": phone, "password": password, "csrf_token": token}
    )


def test_the_one_time_password_must_be_changed_first_pages_and_api(app, client):
    issued = _issue(app)
    api = app.test_client()
    refused = api.post(
        "/api/v1/auth/token", json={"phone": issued.phone, "password": issued.password}
    )
    assert refused.status_code == 403  # no token until the password is the person's own
    answer = _login(client, issued.phone, issued.password)
    assert answer.status_code == 302 and answer.location.endswith("/account/password")
    for path in ("/", "/officer/", "/account/", "/surveys/", "/officer/staff"):
        page = client.get(path)
        assert page.status_code == 302 and page.location.endswith("/account/password"), path
    assert client.get("/api/v1/me").status_code == 403
    token = csrf_token(client, "/account/password")
    changed = client.post(
        "/account/password",
        data={"current": issued.password, "password": OTHER, "confirm": OTHER, "csrf_token": token},
    )
    assert changed.status_code == 302
    assert client.get("/officer/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    ok = api.post("/api/v1/auth/token", json={"phone": issued.phone, "password": OTHER})
    assert ok.status_code == 200


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(app, client):
    issued = _issue(app)
    with app.app_context():
        user = db.session.get(User, issued.user_id)
        user.must_change_password = False
        db.session.commit()
    api = app.test_client()
    token = api.post(
        "/api/v1/auth/token", json={"phone": issued.phone, "password": issued.password}
    ).get_json()["token"]
    assert _login(client, issued.phone, issued.password).status_code == 302
    assert client.get("/officer/").status_code == 200
    with app.app_context():
        staff.set_disabled(db.session, None, issued.user_id, True, utcnow())
    assert client.get("/officer/").status_code == 302  # the session ended: to the sign-in page
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=headers).status_code == 401
    assert _login(app.test_client(), issued.phone, issued.password).status_code == 401
    with app.app_context():
        staff.set_disabled(db.session, None, issued.user_id, False, utcnow())
    assert _login(app.test_client(), issued.phone, issued.password).status_code == 302
    assert [e.action for e in _events(app)] == ["staff.create", "staff.disable", "staff.enable"]


# ------------------------------------------------------------------------------ the pages


def test_the_staff_pages_create_import_list_and_disable(app, client, auth, make_user):
    make_user(role=Role.ADMIN, phone="0911000001")
    auth.login("0911000001")
    form = csrf_token(client, "/officer/staff/new")
    made = client.post(
        "/officer/staff/new",
        data={
            "name": "Lê Thị Hoa",
            "phone": "0912 000 001",
            "unit": VI_THANH,
            "role": "leader",
            "csrf_token": form,
        },
    )
    assert made.status_code == 200 and "0912000001" in made.get_data(as_text=True)
    assert made.headers["Cache-Control"] == "no-store"  # the one-time password page
    again = client.post(
        "/officer/staff/new",
        data={
            "name": "Lê Thị Hoa",
            "phone": "0912000001",
            "unit": VI_THANH,
            "role": "leader",
            "csrf_token": form,
        },
    )
    assert again.status_code == 409
    upload = client.post(
        "/officer/staff/import",
        data={
            "csrf_token": csrf_token(client, "/officer/staff/import"),
            "file": (
                io.BytesIO(_csv(["An,0912000002,31321,officer", "Bình,0912000001,31321,officer"])),
                "a.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    page = upload.get_data(as_text=True)
    assert upload.status_code == 200
    assert "dòng 2: số điện thoại đã có tài khoản" in page
    listed = client.get(f"/officer/staff?unit={VI_THANH}&role=leader").get_data(as_text=True)
    assert "0912000001" in listed and "0912000002" not in listed
    with app.app_context():
        leader = db.session.scalar(select(User).where(User.phone == "0912000001"))
    disabled = client.post(
        f"/officer/staff/{leader.id}/disable",
        data={"csrf_token": csrf_token(client, "/officer/staff")},
    )
    assert disabled.status_code == 302
    actions = [e.action for e in _events(app)]
    assert actions == ["staff.create", "staff.import", "staff.disable"]
    audit_page = client.get("/officer/audit?action=staff.import").get_data(as_text=True)
    assert "Nhập tài khoản cán bộ" in audit_page or "staff.import" in audit_page
    exported = client.get("/officer/audit.csv?action=staff.import")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert exported.status_code == 200 and len(rows) == 3 and rows[2][3] == "staff.import"


def test_the_audit_pages_are_for_admins_and_filters_are_checked(app, client, auth, make_user):
    make_user(role=Role.OFFICER, phone="0911000001")
    auth.login("0911000001")
    assert client.get("/officer/audit").status_code == 403
    assert client.get("/officer/audit.csv").status_code == 403
    assert client.get("/officer/staff").status_code == 200
    auth.logout()
    make_user(role=Role.ADMIN, phone="0911000002")
    auth.login("0911000002")
    for query in ("since=2026-13-01", "who=abc", "unit=²", "action=nope", "page=-1"):
        assert client.get(f"/officer/audit?{query}").status_code == 400, query
    assert client.get("/officer/audit?since=2026-01-01&until=2026-12-31&unit=92").status_code == 200


def test_the_command_line_imports_and_writes_the_passwords_to_a_private_file(app, runner, tmp_path):
    source = tmp_path / "staff.csv"
    source.write_bytes(_csv(["An,0912000002,31321,officer", "Bình,bad,31321,officer"]))
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--passwords", str(out)])
    assert result.exit_code == 1, result.output  # one line refused
    assert "REFUSED line 2" in result.output and "1 created, 1 refused" in result.output
    assert os.stat(out).st_mode & 0o777 == 0o600
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[1][3] == "0912000002" and len(rows[1][6]) == 14
    assert rows[1][6] not in result.output  # the password went to the file only
    (entry,) = _events(app, "staff.import")
    assert entry.actor_id is None


# --------------------------------------------------------------------------- the audit trail


def test_audit_record_refuses_personal_keys_and_unknown_actions(app):
    with app.app_context():
        with pytest.raises(audit.AuditError):
            audit.record(db.session, None, "staff.create", "user:1", None, utcnow(), {"phone": "x"})
        with pytest.raises(audit.AuditError):
            audit.record(db.session, None, "staff.nothing", "user:1", None, utcnow())


def test_publishing_closing_extending_and_exports_are_recorded_without_resident_data(
    app, client, auth, make_user
):
    from tests.test_surveys import IDENTIFIED, NOW, load_content, set_clock

    set_clock(app, NOW)
    load_content(app, [("id.yaml", IDENTIFIED)], NOW)
    load_content(app, [("id.yaml", IDENTIFIED.replace("Kênh thông tin", "Kênh tin"))], NOW)
    resident = make_user(phone="0987654301", name="Nguyễn Thị Riêng Tư")
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == "kenh-thong-tin"))
        from app.services import survey_definition

        defn = survey_definition.definition(db.session, survey)
        answers, problems = survey_service.clean_answers(
            defn, {"hop": 1, "phat-bieu": 2, "ly-do": "Bí mật của tôi", "kenh": [1]}
        )
        assert not problems
        survey_service.submit(
            db.session,
            defn,
            answers,
            NOW,
            user=db.session.merge(resident),
            unit=db.session.get(Unit, VI_THANH),
        )
    make_user(role=Role.OFFICER, phone="0911111111")
    auth.login("0911111111")
    assert client.get("/results/kenh-thong-tin/responses.csv").status_code == 200
    url = "/surveys/kenh-thong-tin/progress"
    # Extending: the progress page shows the new closing time; the confirmation saves it.
    shown = client.post(
        url, data={"csrf_token": csrf_token(client, url), "action": "extend", "days": "3"}
    ).get_data(as_text=True)
    until = re.search(r'name="until" value="([^"]+)"', shown).group(1)  # type: ignore[union-attr]
    token = csrf_token(client, url)
    extended = client.post(
        "/surveys/kenh-thong-tin/extend", data={"csrf_token": token, "until": until}
    )
    assert extended.status_code == 302
    closed = client.post("/surveys/kenh-thong-tin/close", data={"csrf_token": token})
    assert closed.status_code == 302
    again = client.post("/surveys/kenh-thong-tin/close", data={"csrf_token": token})
    assert again.status_code == 302  # closed already: nothing changed, nothing recorded
    actions = [e.action for e in _events(app)]
    assert actions[-3:] == ["export.responses", "survey.extend", "survey.close"]
    assert "content.publish" in actions and "content.republish" in actions
    # The attack: read the whole table as text after a resident-data export.
    with app.app_context():
        dump = " ".join(
            str(value)
            for row in db.session.execute(text("SELECT * FROM audit_events")).all()
            for value in row
        )
    for secret in ("Nguyễn Thị Riêng Tư", "0987654301", "987654301", "Bí mật của tôi"):
        assert secret not in dump
    assert "survey:kenh-thong-tin" in dump


def test_a_ranking_export_is_recorded(app, client, auth, make_user):
    from tests.test_ranking import CONTEST, START, bank_yaml, load_content, set_clock

    set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        from app.models import Round

        round_id = db.session.scalar(select(Round.id))
    make_user(role=Role.OFFICER, phone="0911111111")
    auth.login("0911111111")
    assert client.get(f"/contests/rounds/{round_id}/ranking.csv").status_code == 200
    (entry,) = _events(app, "export.ranking")
    assert entry.target == f"round:{round_id}" and entry.unit_code == PROVINCE


def test_a_failed_publish_leaves_no_entry(app, make_user):
    from app.content.pipeline import load_files
    from app.content.store import Actor
    from tests.test_surveys import IDENTIFIED, NOW

    commune = make_user(role=Role.OFFICER, phone="0911000003", unit=VI_THANH)
    load_content_as = Actor(unit_code=VI_THANH, is_admin=False, user_id=commune.id)
    with app.app_context():
        # A commune officer may not publish for the whole province: refused, nothing stored.
        outcomes = load_files(db.session, [("id.yaml", IDENTIFIED.encode())], load_content_as, NOW)
        assert not outcomes[0].ok
    assert _events(app) == []


def test_five_hundred_accounts_through_the_page_with_a_report_and_an_audit_entry(
    app, client, auth, make_user
):
    """The issue's figure, through the page (the suite's cheap hashes; the production cost
    is bench/staff_import_bench.py's)."""
    from bench.staff_import_bench import csv_file

    make_user(role=Role.ADMIN, phone="0811000001")
    auth.login("0811000001")
    upload = client.post(
        "/officer/staff/import",
        data={
            "csrf_token": csrf_token(client, "/officer/staff/import"),
            "file": (io.BytesIO(csv_file(500, 0)), "500.csv"),
        },
        content_type="multipart/form-data",
    )
    page = upload.get_data(as_text=True)
    assert upload.status_code == 200
    assert "Đã tạo 500 tài khoản, 0 dòng bị từ chối." in page
    assert page.count('class="app-otp"') == 500 and "dòng 501: đã tạo tài khoản" in page
    (entry,) = _events(app, "staff.import")
    assert entry.detail["created"] == 500 and len(entry.detail["user_ids"]) == 500
    listed = client.get("/officer/audit").get_data(as_text=True)
    assert "Nhập tài khoản cán bộ" in listed and "created: 500" in listed


def test_a_long_list_shows_a_short_row_of_page_links(app):
    """macros/pages.html (the staff list and the audit trail): 300 pages give the first and
    last three and two each side of the current one, each keeping the list's filters."""
    from types import SimpleNamespace

    with app.test_request_context():
        pager = app.jinja_env.get_template("macros/pages.html").module.pager  # type: ignore[attr-defined]
        html = str(
            pager(SimpleNamespace(page=150, pages=300), "officer.staff_list", {"role": "officer"})
        )
    pages = [int(p) for p in re.findall(r"page=(\d+)", html)]
    assert pages == [1, 2, 3, 148, 149, 150, 151, 152, 298, 299, 300]
    assert html.count("role=officer") == 11 and 'aria-current="page">150<' in html
