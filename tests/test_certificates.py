"""Certificates (issue 19, point 3): the PDF says who, which round, what score and its code;
the code is checked at /certificates/<code> by anyone (valid, unknown, revoked); a re-download
gives the same code; winners' certificates only once the ranking is final; only the holder
downloads, only officers who manage the contest revoke."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Certificate, Round
from app.services import certificates
from tests.conftest import NINH_KIEU, PROVINCE, csrf_token, load_content
from tests.test_ranking import AFTER, START, add_attempt, bank_yaml, round_yaml

ISSUER = "Ban Tổ chức Cuộc thi — Ban Dân vận Tỉnh ủy"


def contest_yaml(slug: str, mode: str) -> str:
    return (
        f"contest: {slug}\ntitle: Cuộc thi {mode}\ncertificates: {mode}\nissuer: {ISSUER}\n"
        "rounds:\n" + round_yaml("tuan-1", "none")
    )


@pytest.fixture
def rounds(app, clock):  # type: ignore[no-untyped-def]
    load_content(
        app,
        [
            ("b.yaml", bank_yaml()),
            ("p.yaml", contest_yaml("thi-tham-gia", "participants")),
            ("w.yaml", contest_yaml("thi-giai", "winners")),
            ("n.yaml", contest_yaml("thi-khong", "none")),
        ],
        START,
    )
    with app.app_context():
        return {
            r.contest.slug: r.id
            for r in db.session.scalars(select(Round))  # one round per contest
        }


@pytest.fixture
def clock(app):  # type: ignore[no-untyped-def]
    from tests.conftest import set_clock

    return set_clock(app, START + timedelta(days=1))


def pdf_text(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def test_the_contest_file_carries_certificates_and_issuer(app, rounds):
    with app.app_context():
        round_ = db.session.get(Round, rounds["thi-tham-gia"])
        assert round_.contest.certificates == "participants"
        assert round_.contest.issuer == ISSUER
    from app.content.validate import validate_text

    bad = validate_text(contest_yaml("x", "everyone"), "c.yaml")
    assert not bad.ok
    assert any("everyone" in m for m in bad.messages("vi"))


def test_a_participant_downloads_a_pdf_with_name_round_score_and_code(
    app, client, auth, rounds, make_user
):
    me = make_user(phone="0987000001", name="Nguyễn Văn An")
    attempt = add_attempt(app, rounds["thi-tham-gia"], me.id, score=4)
    auth.login("0987000001")
    response = client.get(f"/certificates/attempt/{attempt}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "giay-chung-nhan-" in response.headers["Content-Disposition"]
    text, reader = pdf_text(response.data)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    with app.app_context():
        cert = db.session.scalar(select(Certificate).where(Certificate.attempt_id == attempt))
        code = cert.code
    assert "Nguyễn Văn An" in text and "Vòng tuan-1" in text and "Cuộc thi participants" in text
    assert "4 / 5" in text and ISSUER in text.replace("\n", " ")
    assert certificates.shown(code) in text
    assert f"/certificates/{code}" in text
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{10}", code)  # no 0/O, no 1/I
    # A re-download gives the same code; the API gives the same certificate.
    again = client.get(f"/certificates/attempt/{attempt}.pdf")
    assert certificates.shown(code) in pdf_text(again.data)[0]
    api = client.get(f"/api/v1/attempts/{attempt}/certificate")
    assert api.status_code == 200 and api.mimetype == "application/pdf"
    with app.app_context():
        assert db.session.scalar(select(func.count(Certificate.id))) == 1


def test_concurrent_downloads_issue_one_code(app, rounds, make_user):
    me = make_user(phone="0987000002")
    attempt = add_attempt(app, rounds["thi-tham-gia"], me.id, score=3)

    def issue(_: int) -> str:
        with app.app_context():
            from app.models import Attempt

            row = db.session.get(Attempt, attempt)
            return certificates.issue(db.session, row, START + timedelta(days=1), timedelta(0)).code

    with ThreadPoolExecutor(6) as pool:
        codes = set(pool.map(issue, range(6)))
    assert len(codes) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Certificate.id))) == 1


def test_only_the_holder_downloads_and_only_a_finished_attempt(
    app, client, auth, rounds, make_user
):
    owner = make_user(phone="0987000003")
    other = make_user(phone="0987000004")
    done = add_attempt(app, rounds["thi-tham-gia"], owner.id, score=2)
    auth.login("0987000004")
    assert client.get(f"/certificates/attempt/{done}.pdf").status_code == 404
    assert client.get(f"/api/v1/attempts/{done}/certificate").status_code == 404
    assert client.get("/certificates/attempt/999999.pdf").status_code == 404
    assert client.get(f"/certificates/attempt/{2**31}.pdf").status_code == 404
    running = add_attempt(app, rounds["thi-tham-gia"], other.id, score=0, state="open")
    refused = client.get(f"/api/v1/attempts/{running}/certificate")
    assert refused.status_code == 409
    assert refused.json["error"]["message"] == "Giấy chứng nhận được cấp khi bài thi đã nộp."
    page = client.get(f"/certificates/attempt/{running}.pdf")
    assert page.status_code == 409 and "đã nộp" in page.get_data(as_text=True)
    nothing = add_attempt(app, rounds["thi-khong"], other.id, score=1)
    assert client.get(f"/api/v1/attempts/{nothing}/certificate").status_code == 404
    auth.logout()
    assert client.get(f"/api/v1/attempts/{done}/certificate").status_code == 401


def test_winners_certificates_only_once_the_ranking_is_final(
    app, client, auth, clock, rounds, make_user
):
    r = rounds["thi-giai"]
    best = make_user(phone="0987000005", name="Trần Thị Bích")
    attempt = add_attempt(app, r, best.id, score=5, duration_ms=30_000)
    losers = [make_user(phone=f"09870001{i:02d}") for i in range(10)]
    last = None
    for i, person in enumerate(losers):
        last = add_attempt(app, r, person.id, score=1, duration_ms=60_000 + i)
    auth.login("0987000005")
    early = client.get(f"/api/v1/attempts/{attempt}/certificate")
    assert early.status_code == 409 and "chính thức" in early.json["error"]["message"]
    clock.now = AFTER
    won = client.get(f"/api/v1/attempts/{attempt}/certificate")
    assert won.status_code == 200
    text = pdf_text(won.data)[0]
    assert "Trần Thị Bích" in text and "giải" in text.lower() and "hạng 1" in text.lower()
    auth.logout()
    # The 11th place is no winner.
    client.post("/auth/login", data={})
    auth.login(losers[-1].phone)
    assert client.get(f"/api/v1/attempts/{last}/certificate").status_code == 409


def test_the_verification_page_valid_unknown_and_revoked(app, client, auth, rounds, make_user):
    me = make_user(phone="0987000006", name="Nguyễn Văn An")
    attempt = add_attempt(app, rounds["thi-tham-gia"], me.id, score=4)
    with app.app_context():
        from app.models import Attempt

        cert = certificates.issue(
            db.session, db.session.get(Attempt, attempt), START + timedelta(days=1), timedelta(0)
        )
        code = cert.code
    page = client.get(f"/certificates/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Hợp lệ" in html
    assert "Nguyễn V. A." in html and "Nguyễn Văn An" not in html  # shortened for anyone
    assert "Vòng tuan-1" in html and "4 / 5" in html and "Phường Vị Thanh" in html
    # Typed with a dash and in lower case: the same certificate, at its one address.
    typed = client.get(f"/certificates/{certificates.shown(code).lower()}")
    assert typed.status_code == 301 and typed.headers["Location"].endswith(f"/certificates/{code}")
    unknown = client.get("/certificates/ABCDEFGHJK")
    assert unknown.status_code == 404 and "Không có giấy chứng nhận" in unknown.get_data(
        as_text=True
    )
    assert client.get("/certificates/<script>").status_code == 404
    assert client.get("/certificates/" + "A" * 5000).status_code == 404
    # Nobody but a managing officer may revoke: a resident, an officer of another commune.
    make_user(role="officer", phone="0911000001", unit=NINH_KIEU)
    for phone in ("0987000006", "0911000001"):
        auth.login(phone)
        token = csrf_token(client, "/account/")
        refused = client.post(
            f"/certificates/{code}/revoke", data={"csrf_token": token, "reason": "x"}
        )
        assert refused.status_code == 403
        auth.logout()
    make_user(role="officer", phone="0911000002", unit=PROVINCE)
    auth.login("0911000002")
    token = csrf_token(client, f"/certificates/{code}")
    empty = client.post(f"/certificates/{code}/revoke", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and "lý do" in empty.get_data(as_text=True)
    done = client.post(
        f"/certificates/{code}/revoke", data={"csrf_token": token, "reason": "Gian lận"}
    )
    assert done.status_code == 302
    auth.logout()
    revoked = client.get(f"/certificates/{code}").get_data(as_text=True)
    assert "Đã thu hồi" in revoked and "Gian lận" in revoked and "Hợp lệ" not in revoked
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert actions.count("certificate.revoke") == 1
