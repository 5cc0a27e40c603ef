"""Progress pages found and safe (issue 16, point 7): the officers' dashboard links every
survey and round the officer manages to its progress page and nothing outside their unit;
closing asks for confirmation on a second page; extending shows the new closing time before
it is saved; the database decides races (closing twice, extending to an earlier time)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.content.pipeline import load_files
from app.content.store import Actor
from app.errors import DomainError
from app.extensions import db
from app.models import Round, Survey
from app.services import survey_progress
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, csrf_token, load_content, set_clock
from tests.test_surveys import IDENTIFIED

NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
VALID = Path(__file__).parent / "content" / "valid"
BANK = (VALID / "bank-full.yaml").read_text(encoding="utf-8")
CONTEST = (VALID / "contest-full.yaml").read_text(encoding="utf-8")
SLUG = "kenh-thong-tin"
PROGRESS = f"/surveys/{SLUG}/progress"


def commune_survey(slug: str, unit: int) -> str:
    return (
        IDENTIFIED.replace("survey: kenh-thong-tin", f"survey: {slug}")
        .replace("title: Kênh thông tin", f"title: Họp tổ dân phố ({slug})")
        .replace("show_results: true", f"show_results: true\naudience: [{unit}]")
    )


@pytest.fixture
def owned(app):  # type: ignore[no-untyped-def]
    """Surveys owned by the province, by Vị Thanh and by Ninh Kiều; the province's contest."""
    set_clock(app, NOW)
    load_content(app, [("b.yaml", BANK), ("c.yaml", CONTEST), ("id.yaml", IDENTIFIED)], NOW)
    with app.app_context():
        for slug, unit in (("vi-thanh-hop", VI_THANH), ("ninh-kieu-hop", NINH_KIEU)):
            outcome = load_files(
                db.session,
                [(f"{slug}.yaml", commune_survey(slug, unit).encode())],
                Actor(unit_code=unit, is_admin=False),
                NOW,
            )[0]
            assert outcome.ok, outcome.result.messages("en")
        rounds = list(db.session.scalars(select(Round.id)))
    assert rounds
    return app


def closes_at(app, slug: str = SLUG) -> datetime:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(Survey.closes_at).where(Survey.slug == slug))


def links(html: str) -> set[str]:
    return set(re.findall(r'href="(/(?:surveys/[^"/]+/progress|contests/rounds/\d+/live))"', html))


# ------------------------------------------------------------------------------- services


def test_close_survey_closes_once_and_a_second_close_changes_nothing(owned):
    with owned.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        assert survey_progress.close_survey(db.session, survey, NOW) is True
        assert survey.closes_at == NOW
        later = NOW + timedelta(hours=1)
        assert survey_progress.close_survey(db.session, survey, later) is False
        assert survey.closes_at == NOW  # not moved to the second close's time


def test_close_survey_trusts_the_database_not_a_stale_object(owned):
    """Another officer closed it meanwhile: this session's copy still says open."""
    with owned.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        assert survey.closes_at > NOW
        earlier = NOW - timedelta(minutes=5)
        with db.engine.begin() as other:
            other.execute(update(Survey).where(Survey.slug == SLUG).values(closes_at=earlier))
        assert survey_progress.close_survey(db.session, survey, NOW) is False
        assert survey.closes_at == earlier


def test_extension_until_counts_from_the_end_or_from_now_when_closed(owned):
    with owned.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        end = survey.closes_at
        assert survey_progress.extension_until(survey, NOW, "7") == end + timedelta(days=7)
        assert survey_progress.extension_until(survey, NOW, 365) == end + timedelta(days=365)
        after = end + timedelta(days=3)  # closed three days ago: counted from now
        assert survey_progress.extension_until(survey, after, "1") == after + timedelta(days=1)


@pytest.mark.parametrize("days", ["0", "366", "-3", "1e3", "²", "7.5", "", None, "9" * 40])
def test_extension_until_refuses_days_outside_1_to_365(owned, days):
    with owned.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        with pytest.raises(DomainError) as refused:
            survey_progress.extension_until(survey, NOW, days)
        assert refused.value.status == 400
        assert "365" in refused.value.message()


def test_extend_survey_saves_the_time_shown_and_never_shortens(owned):
    with owned.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        end = survey.closes_at
        longer = survey_progress.extension_until(survey, NOW, "10")
        shorter = end + timedelta(days=2)  # previewed earlier, confirmed after the longer one
        assert survey_progress.extend_survey(db.session, survey, NOW, longer.isoformat())
        assert survey.closes_at == longer
        assert not survey_progress.extend_survey(db.session, survey, NOW, shorter.isoformat())
        assert survey.closes_at == longer


@pytest.mark.parametrize(
    "until",
    [
        None,
        "",
        "ngày mai",
        "2027-01-05T10:00:00",  # no time zone
        "2026-12-09T10:00:00+00:00",  # in the past
        "2029-01-01T00:00:00+00:00",  # more than 365 days past the end
        "x" * 100,
    ],
)
def test_extend_survey_refuses_a_time_that_is_not_a_valid_new_end(owned, until):
    before = closes_at(owned)
    with owned.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        with pytest.raises(DomainError) as refused:
            survey_progress.extend_survey(db.session, survey, NOW, until)
        assert refused.value.status == 400
    assert closes_at(owned) == before


# ---------------------------------------------------------------------------------- pages


def test_the_dashboard_links_every_managed_survey_and_round_and_nothing_else(
    owned, client, auth, make_user
):
    with owned.app_context():
        rounds = db.session.scalars(select(Round.id))
        round_links = {f"/contests/rounds/{rid}/live" for rid in rounds}
        surveys = {f"/surveys/{s}/progress" for s in db.session.scalars(select(Survey.slug))}
    cases = [
        (PROVINCE, "0911000003", surveys | round_links),
        (VI_THANH, "0911000001", {"/surveys/vi-thanh-hop/progress"}),
        (NINH_KIEU, "0911000002", {"/surveys/ninh-kieu-hop/progress"}),
    ]
    for unit, phone, expected in cases:
        make_user(role="officer", phone=phone, unit=unit)
        auth.login(phone)
        dashboard = client.get("/officer/")
        assert dashboard.status_code == 200
        assert links(dashboard.get_data(as_text=True)) == expected, unit
        for link in expected:
            assert client.get(link).status_code == 200, link
        auth.logout()
    make_user(role="admin", phone="0911000009", unit=PROVINCE)
    auth.login("0911000009")
    assert links(client.get("/officer/").get_data(as_text=True)) == surveys | round_links


def test_closing_from_the_progress_page_asks_first_and_changes_nothing(
    owned, client, auth, make_user
):
    make_user(role="officer", phone="0911000003", unit=PROVINCE)
    auth.login("0911000003")
    before = closes_at(owned)
    token = csrf_token(client, PROGRESS)
    asked = client.post(PROGRESS, data={"csrf_token": token, "action": "close"})
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "Đóng khảo sát?" in page and f'action="/surveys/{SLUG}/close"' in page
    assert closes_at(owned) == before  # asking is not closing
    # Confirmed: closed now; the page says so.
    token = csrf_token(client, f"/surveys/{SLUG}/close")
    done = client.post(f"/surveys/{SLUG}/close", data={"csrf_token": token}, follow_redirects=True)
    assert done.status_code == 200 and "Đã đóng khảo sát." in done.get_data(as_text=True)
    assert closes_at(owned) == NOW
    # A second confirmation (a double click, a second tab) is a no-op.
    again = client.post(f"/surveys/{SLUG}/close", data={"csrf_token": token}, follow_redirects=True)
    assert "Khảo sát đã đóng từ trước." in again.get_data(as_text=True)
    assert closes_at(owned) == NOW


def test_the_close_without_its_form_token_does_nothing(owned, client, auth, make_user):
    make_user(role="officer", phone="0911000003", unit=PROVINCE)
    auth.login("0911000003")
    before = closes_at(owned)
    assert client.post(f"/surveys/{SLUG}/close").status_code in (400, 403)
    assert client.post(PROGRESS, data={"action": "close"}).status_code in (400, 403)
    assert closes_at(owned) == before


def test_extending_shows_the_new_closing_time_before_saving_it(owned, client, auth, make_user):
    make_user(role="officer", phone="0911000003", unit=PROVINCE)
    auth.login("0911000003")
    before = closes_at(owned)  # 31/12/2026 23:59 in Vietnam
    token = csrf_token(client, PROGRESS)
    shown = client.post(PROGRESS, data={"csrf_token": token, "action": "extend", "days": "7"})
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "Khảo sát sẽ đóng lúc 07/01/2027 23:59." in page
    assert closes_at(owned) == before  # shown, not saved
    until = re.search(r'name="until" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    saved = client.post(
        f"/surveys/{SLUG}/extend",
        data={"csrf_token": token, "until": until},
        follow_redirects=True,
    )
    assert "Khảo sát nay kết thúc vào 07/01/2027 23:59" in saved.get_data(as_text=True)
    assert closes_at(owned) == before + timedelta(days=7)


def test_a_tampered_extension_is_refused_in_vietnamese(owned, client, auth, make_user):
    make_user(role="officer", phone="0911000003", unit=PROVINCE)
    auth.login("0911000003")
    before = closes_at(owned)
    token = csrf_token(client, PROGRESS)
    for until in ("2030-01-01T00:00:00+00:00", "hôm nay", ""):
        refused = client.post(f"/surveys/{SLUG}/extend", data={"csrf_token": token, "until": until})
        assert refused.status_code == 400
        assert "Thời điểm đóng mới không hợp lệ" in refused.get_data(as_text=True)
    assert closes_at(owned) == before


def test_officers_manage_only_the_surveys_of_their_unit(owned, client, auth, make_user):
    make_user(role="officer", phone="0911000001", unit=VI_THANH)
    make_user(role="leader", phone="0911000004", unit=PROVINCE)
    before = closes_at(owned)
    auth.login("0911000001")
    page = client.get(PROGRESS).get_data(as_text=True)
    assert 'id="manage-survey"' not in page  # the province's survey: read, not managed
    own = "/surveys/vi-thanh-hop/progress"
    assert 'id="manage-survey"' in client.get(own).get_data(as_text=True)
    token = csrf_token(client, own)
    for path, data in (
        (PROGRESS, {"action": "close"}),
        (PROGRESS, {"action": "extend", "days": "7"}),
        (f"/surveys/{SLUG}/close", {}),
        (f"/surveys/{SLUG}/extend", {"until": (before + timedelta(days=1)).isoformat()}),
    ):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert client.get(f"/surveys/{SLUG}/close").status_code == 403
    auth.logout()
    auth.login("0911000004")  # a leader reads figures and manages nothing
    assert 'id="manage-survey"' not in client.get(PROGRESS).get_data(as_text=True)
    assert client.get(f"/surveys/{SLUG}/close").status_code == 403
    assert closes_at(owned) == before


def test_a_closed_survey_offers_no_close_button_and_can_be_extended_from_now(
    owned, client, auth, make_user
):
    make_user(role="officer", phone="0911000003", unit=PROVINCE)
    auth.login("0911000003")
    with owned.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        survey_progress.close_survey(db.session, survey, NOW)
    page = client.get(PROGRESS).get_data(as_text=True)
    assert 'value="close"' not in page and 'value="extend"' in page
    token = csrf_token(client, PROGRESS)
    shown = client.post(PROGRESS, data={"csrf_token": token, "action": "extend", "days": "1"})
    # NOW is 10:00 on 10/12/2026 in Vietnam: one day from now.
    assert "Khảo sát sẽ đóng lúc 11/12/2026 10:00." in shown.get_data(as_text=True)


def test_officers_extending_and_closing_at_once_leave_the_latest_end_or_one_close(owned):
    """Six officers confirm at the same moment, each with the page they were shown: three
    extensions to different times and three closes. Whatever the order, the extensions
    never shorten each other, and at most one close changes anything."""
    with owned.app_context():
        end = closes_at(owned)
    untils = [end + timedelta(days=d) for d in (3, 9, 5)]

    def extend(until: datetime) -> bool:
        with owned.app_context():
            survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
            done = survey_progress.extend_survey(db.session, survey, NOW, until.isoformat())
            db.session.remove()
            return done

    with ThreadPoolExecutor(3) as pool:
        moved = list(pool.map(extend, untils))
    assert closes_at(owned) == end + timedelta(days=9)
    assert moved[1] is True  # the longest always applies; the others only if they came first

    def close(_: int) -> bool:
        with owned.app_context():
            survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
            done = survey_progress.close_survey(db.session, survey, NOW)
            db.session.remove()
            return done

    with ThreadPoolExecutor(3) as pool:
        closed = list(pool.map(close, range(3)))
    assert closed.count(True) == 1 and closes_at(owned) == NOW
