"""The one-page brief per commune (PDF, A4, Vietnamese): its figures as the result pages give
them, hidden for a commune the survey hides, and only for staff within scope."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import Survey, Unit, UnitLevel
from app.services import brief as service
from app.services import survey_definition
from app.services import surveys as answering
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH
from tests.test_contest_stats import fixture  # noqa: F401  (a contest with its attempts)
from tests.test_overview import ANSWERS, NOW, hand_index, waves  # noqa: F401

# Two more communes answer wave 2026: one above Vị Thanh (72,5), one below.
HIGH, LOW = [5, 5, 5, 4, 5, 5, 5, 4], [2, 2, 3, 2, 1, 3, 2, 2]


@pytest.fixture
def communes(waves):  # type: ignore[no-untyped-def]  # noqa: F811
    with waves.app_context():
        taken = {VI_THANH, NINH_KIEU, *ANSWERS[2026]}
        others = db.session.scalars(
            select(Unit)
            .where(Unit.level == UnitLevel.COMMUNE, Unit.code.not_in(taken))
            .order_by(Unit.code)
            .limit(2)
        ).all()
        row = db.session.scalar(select(Survey).where(Survey.wave == 2026))
        defn = survey_definition.definition(db.session, row)
        for unit, values in zip(others, (HIGH, LOW), strict=True):
            for v in values:
                answering.submit(
                    db.session, defn, {"thai-do": v, "thoi-gian": v}, NOW, user=None, unit=unit
                )
    return waves


def brief_of(app, code: int):  # type: ignore[no-untyped-def]
    with app.app_context():
        return service.brief(db.session, db.session.get(Unit, code), NOW)


def test_the_brief_has_the_index_its_interval_its_rank_and_the_change(communes):
    data = brief_of(communes, VI_THANH)
    mean, low, high = hand_index(ANSWERS[2026][VI_THANH])
    assert data.survey.slug == "hai-long-2026" and data.n == 10
    assert data.index.value == pytest.approx(mean, abs=1e-4)
    assert data.index.ci95 == pytest.approx((low, high), abs=1e-4)
    # Shown: the high commune, Vị Thanh, the low one (Ninh Kiều 3 and Cái Khế 6 are hidden).
    assert (data.rank.place, data.rank.of) == (2, 3)
    before = hand_index(ANSWERS[2025][VI_THANH])
    assert data.change.difference == pytest.approx(mean - before[0], abs=1e-3)
    assert data.change.real is True
    # Least satisfied first: "Thời gian" and "Thái độ" have the same answers here (7 of 10).
    assert [round(item.satisfied, 4) for item in data.least] == [0.7, 0.7]


def test_a_hidden_commune_gets_a_brief_without_figures(communes):
    data = brief_of(communes, NINH_KIEU)
    assert data.hidden and data.index is None and data.rank is None and data.least == []


def pdf_text(response) -> tuple[str, PdfReader]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def test_the_pdf_reads_in_vietnamese_on_one_a4_page(communes, client, auth, make_user):
    make_user(role="leader", phone="0911111111")
    auth.login("0911111111")
    text, reader = pdf_text(client.get(f"/briefs/{VI_THANH}.pdf"))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    mean, low, high = hand_index(ANSWERS[2026][VI_THANH])
    before = hand_index(ANSWERS[2025][VI_THANH])
    flat = " ".join(text.split())
    assert "Phường Vị Thanh" in flat and "Chỉ số hài lòng" in flat
    assert f"{mean:.1f}".replace(".", ",") in flat  # 72,5
    assert f"{low:.1f}–{high:.1f}".replace(".", ",") in flat
    assert "Xếp thứ 2 trên 3 xã, phường" in flat
    assert f"+{mean - before[0]:.1f}".replace(".", ",") in flat and "thay đổi thật sự" in flat
    assert "70,0%" in flat and "Thời gian giải quyết" in flat
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("DejaVu" in name for name in fonts), fonts


def test_the_pdf_of_a_hidden_commune_says_so_and_shows_nothing(communes, client, auth, make_user):
    make_user(role="leader", phone="0911111111")
    auth.login("0911111111")
    text, _reader = pdf_text(client.get(f"/briefs/{NINH_KIEU}.pdf"))
    flat = " ".join(text.split())
    assert "Phường Ninh Kiều" in flat and "được ẩn" in flat
    mean, *_ = hand_index(ANSWERS[2026][NINH_KIEU])
    assert f"{mean:.1f}".replace(".", ",") not in flat and "phiếu trả lời" not in flat
    assert "Xếp thứ" not in flat


def test_briefs_only_for_staff_within_their_scope(communes, client, auth, make_user):
    assert client.get(f"/briefs/{VI_THANH}.pdf").status_code == 302  # to the sign-in page
    make_user(role="officer", phone="0911111112", unit=VI_THANH)
    auth.login("0911111112")
    assert client.get(f"/briefs/{VI_THANH}.pdf").status_code == 200
    assert client.get(f"/briefs/{NINH_KIEU}.pdf").status_code == 403
    assert client.get("/briefs/99999.pdf").status_code == 404
    assert client.get(f"/briefs/{PROVINCE}.pdf").status_code == 404  # a province: no brief
    assert client.get("/briefs/99999999999.pdf").status_code == 404
    listing = client.get("/briefs/").get_data(as_text=True)
    assert "Phường Vị Thanh" in listing and "Phường Ninh Kiều" not in listing
    auth.logout()
    make_user(phone="0987654321")
    auth.login("0987654321")
    assert client.get(f"/briefs/{VI_THANH}.pdf").status_code == 403
    assert client.get("/briefs/").status_code == 403


def test_the_home_page_links_to_the_briefs(communes, client, auth, make_user):
    make_user(role="leader", phone="0911111113", unit=VI_THANH)
    auth.login("0911111113")
    assert f'href="/briefs/{VI_THANH}.pdf"' in client.get("/").get_data(as_text=True)
    auth.logout()
    make_user(role="leader", phone="0911111114")
    auth.login("0911111114")
    assert 'href="/briefs/"' in client.get("/").get_data(as_text=True)


def test_no_survey_yet_gives_a_brief_that_says_so(app, client, auth, make_user):
    make_user(role="leader", phone="0911111115")
    auth.login("0911111115")
    text, reader = pdf_text(client.get(f"/briefs/{VI_THANH}.pdf"))
    assert "Chưa có khảo sát nào tính chỉ số hài lòng" in " ".join(text.split())
    assert len(reader.pages) == 1


def test_the_brief_survey_is_the_newest_opened_with_an_index(communes):
    with communes.app_context():
        chosen = service.overview.main_survey(db.session, datetime(2026, 12, 10, tzinfo=UTC))
        assert chosen is not None and chosen.slug == "hai-long-2026"
        earlier = service.overview.main_survey(db.session, datetime(2026, 6, 1, tzinfo=UTC))
        assert earlier is not None and earlier.slug == "hai-long-2025"


# ------------------------------------------------------------------------ the contest part


def hand_topics(data, people: list[int]) -> dict[str, tuple[int, float]]:  # type: ignore[no-untyped-def]
    """(answers, share right) per topic over every finished attempt of `people`."""
    from tests.test_contest_stats import TOPIC

    marks = [m for _unit, user, m in data["papers"] if user in people]
    marks += [m for user, m in data["second"] if user in people]
    out = {}
    for topic in set(TOPIC.values()):
        answers = [right for m in marks for key, right in m.items() if TOPIC[key] == topic]
        out[topic] = (len(answers), round(sum(answers) / len(answers), 4))
    return out


def test_the_contest_part_is_the_communes_participation_and_weakest_topics(app, fixture):  # noqa: F811
    from tests.test_contest_stats import START

    with app.app_context():
        part = service.contest_part(db.session, db.session.get(Unit, VI_THANH), START)
    assert part is not None and part.contest.slug == "cuoc-thi-thong-ke"
    assert part.participants == 12 and part.per_1000 == 3.0  # 12 of 4,000 residents
    expected = hand_topics(fixture, fixture["people"][VI_THANH])
    weakest = sorted(expected, key=lambda topic: expected[topic][1])
    assert [t.topic for t in part.topics] == weakest
    assert [(t.n, t.facility) for t in part.topics] == [expected[t] for t in weakest]


def test_a_commune_the_contest_hides_shows_no_contest_figure(app, fixture, client, auth, make_user):  # noqa: F811
    from tests.test_contest_stats import CAI_KHE as SMALL
    from tests.test_contest_stats import START

    with app.app_context():
        part = service.contest_part(db.session, db.session.get(Unit, SMALL), START)
    assert part.participants is None and part.topics == []
    make_user(role="leader", phone="0911111117")
    auth.login("0911111117")
    text, _reader = pdf_text(client.get(f"/briefs/{SMALL}.pdf"))
    flat = " ".join(text.split())
    assert "Cuộc thi thống kê" in flat and "Số liệu cuộc thi của xã, phường này được ẩn" in flat
    assert "người dự thi" not in flat.replace("ít hơn 5 người dự thi", "")


def test_the_pdf_has_the_contest_part(app, fixture, client, auth, make_user):  # noqa: F811
    make_user(role="leader", phone="0911111118")
    auth.login("0911111118")
    text, reader = pdf_text(client.get(f"/briefs/{VI_THANH}.pdf"))
    flat = " ".join(text.split())
    assert len(reader.pages) == 1
    assert "12 người dự thi" in flat and "3 người trên 1.000 dân" in flat
    expected = hand_topics(fixture, fixture["people"][VI_THANH])
    titles = {"luat": "Luật và văn bản", "lich-su": "Lịch sử địa phương"}
    for topic, (n, share) in expected.items():
        shown = f"{share * 100:.1f}%".replace(".", ",")
        assert f"{titles[topic]} {shown} {n}" in flat
