"""Rankings and the prize audit: each tie-break rule, best of attempts, provisional and final,
the frozen figure, the unit ranking, the page, the API, the export, the re-check, the
officers' views, the demo data. Hand-built attempts and an injected clock: nothing sleeps."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Attempt, BestAttempt, Role, Round, Unit, User
from app.services import ranking, ranking_audit, standings
from app.services.attempts import competing_commune
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, load_content, set_clock

START = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Vietnam: rounds are open
CLOSE = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # 20:00 in Vietnam
GRACE = timedelta(seconds=10)
AFTER = CLOSE + timedelta(minutes=5)
KEYS = "ABCD"
OTHER_UNIT = 31120  # Phường Cái Khế: population left unknown unless a test sets it


def bank_yaml() -> str:
    lines = ["bank: ngan-hang-xep-hang", "title: Ngân hàng xếp hạng", "questions:"]
    for n in range(1, 21):
        lines += [
            f"  - id: q{n:03d}",
            f"    text: Câu hỏi xếp hạng số {n}",
            f"    choices: [Một {n}, Hai {n}, Ba {n}, Bốn {n}]",
            f"    answer: {KEYS[n % 4]}",
        ]
    return "\n".join(lines) + "\n"


def round_yaml(key: str, prediction: str, attempts: int = 2) -> str:
    return f"""\
  - id: {key}
    title: Vòng {key}
    opens: 2026-12-01 08:00
    closes: 2026-12-07 20:00
    time_limit: 15m
    attempts: {attempts}
    draw: [{{bank: ngan-hang-xep-hang, count: 5}}]
    prediction: {prediction}
    review: after_submit
"""


CONTEST = (
    "contest: cuoc-thi-xep-hang\ntitle: Cuộc thi xếp hạng\nrounds:\n"
    + round_yaml("full", "full_scores")
    + round_yaml("entries", "entries")
    + round_yaml("people", "participants")
    + round_yaml("plain", "none")
)


@pytest.fixture
def clock(app):  # type: ignore[no-untyped-def]
    return set_clock(app, START)


@pytest.fixture
def rounds(app, clock):  # type: ignore[no-untyped-def]
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        return {r.key: r.id for r in db.session.scalars(select(Round))}


def add_attempt(  # type: ignore[no-untyped-def]
    app,
    round_id: int,
    user_id: int,
    *,
    score: int,
    duration_ms: int = 60_000,
    submitted: datetime | None = None,
    prediction: int | None = None,
    state: str = "submitted",
    max_score: int = 5,
) -> int:
    """A finished attempt with exactly the figures a test needs (no paper)."""
    with app.app_context():
        number = 1 + (
            db.session.scalar(
                select(func.count(Attempt.id)).where(
                    Attempt.round_id == round_id, Attempt.user_id == user_id
                )
            )
            or 0
        )
        submitted_at = submitted or START + timedelta(milliseconds=duration_ms)
        attempt = Attempt(
            round_id=round_id,
            user_id=user_id,
            number=number,
            state=state,
            started_at=submitted_at - timedelta(milliseconds=duration_ms),
            deadline=submitted_at if state == "expired" else submitted_at + timedelta(minutes=1),
            submitted_at=None if state == "open" else submitted_at,
            duration_ms=None if state == "open" else duration_ms,
            score=None if state == "open" else score,
            max_score=max_score,
            prediction=prediction,
            unit_code=competing_commune(db.session, round_id, db.session.get(User, user_id)),
        )
        db.session.add(attempt)
        db.session.flush()
        if state != "open":  # what a submit does (app.services.attempts.finish)
            standings.record(db.session, attempt.id, standings.figure_of(attempt.round))
        db.session.commit()
        return attempt.id


def order(app, round_id: int, now: datetime) -> list[int]:  # type: ignore[no-untyped-def]
    """The attempt ids of the ranking, first place first."""
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        return [s.attempt_id for s in ranking.ranking(db.session, round_, now, GRACE).standings]


def people(app, n: int, unit: int = VI_THANH, name: str = "Nguyễn Văn An") -> list[User]:  # type: ignore[no-untyped-def]
    """`n` residents of `unit` who never sign in (no password hashing: the suite stays fast)."""
    with app.app_context():
        made = [
            User(
                name=name, phone=f"09123{unit % 100:02d}{i:03d}", password_hash="-", unit_code=unit
            )
            for i in range(n)
        ]
        db.session.add_all(made)
        db.session.commit()
        for user in made:
            db.session.refresh(user)
            db.session.expunge(user)
    return made


# ------------------------------------------------------------------------ names and the order


def test_names_are_shortened():
    assert ranking.short_name("Nguyễn Văn An") == "Nguyễn V. A."
    assert ranking.short_name("Trần Thị Ánh Tuyết") == "Trần T. Á. T."
    assert ranking.short_name("An") == "An"
    assert ranking.short_name("(demo) Lê đức Hòa") == "(demo) Lê Đ. H."
    assert ranking.short_name(None) is None and ranking.short_name("  ") is None


def test_more_correct_answers_rank_first(app, rounds, make_user):
    slow, fast = people(app, 2)
    better = add_attempt(app, rounds["plain"], slow.id, score=4, duration_ms=600_000)
    worse = add_attempt(app, rounds["plain"], fast.id, score=3, duration_ms=10_000)
    assert order(app, rounds["plain"], START + timedelta(hours=1)) == [better, worse]
    assert order(app, rounds["plain"], AFTER) == [better, worse]


def test_prediction_distance_counts_only_after_the_close(app, clock, rounds, make_user):
    close_guess, far_guess, no_guess, other = people(app, 4)
    r = rounds["entries"]  # the figure will be 4 entries
    near = add_attempt(app, r, close_guess.id, score=5, duration_ms=300_000, prediction=4)
    far = add_attempt(app, r, far_guess.id, score=5, duration_ms=100_000, prediction=40)
    # Finished at its deadline without a prediction: ranks after those who gave one.
    none = add_attempt(app, r, no_guess.id, score=5, duration_ms=50_000, state="expired")
    low = add_attempt(app, r, other.id, score=2, duration_ms=1_000, prediction=4)
    open_order = [none, far, near, low]  # provisional: score, then time
    assert order(app, r, START + timedelta(hours=1)) == open_order
    assert order(app, r, CLOSE + timedelta(seconds=5)) == open_order  # within the grace
    assert order(app, r, AFTER) == [near, far, none, low]
    with app.app_context():
        assert db.session.get(Round, r).frozen_figure == 4


def test_shorter_duration_breaks_a_tie_of_scores(app, rounds, make_user):
    a, b = people(app, 2)
    slower = add_attempt(app, rounds["plain"], a.id, score=5, duration_ms=61_001, submitted=START)
    faster = add_attempt(
        app, rounds["plain"], b.id, score=5, duration_ms=61_000, submitted=START + timedelta(1)
    )
    assert order(app, rounds["plain"], START + timedelta(days=2)) == [faster, slower]


def test_earlier_submission_breaks_a_tie_of_scores_and_times(app, rounds, make_user):
    a, b = people(app, 2)
    later = add_attempt(
        app, rounds["plain"], a.id, score=5, submitted=START + timedelta(microseconds=1)
    )
    earlier = add_attempt(app, rounds["plain"], b.id, score=5, submitted=START)
    assert order(app, rounds["plain"], START + timedelta(hours=1)) == [earlier, later]


def test_the_attempt_id_is_the_stable_final_key(app, rounds, make_user):
    a, b, c = people(app, 3)
    ids = [add_attempt(app, rounds["plain"], u.id, score=5, submitted=START) for u in (c, a, b)]
    assert order(app, rounds["plain"], START + timedelta(hours=1)) == sorted(ids)
    assert order(app, rounds["plain"], AFTER) == sorted(ids)  # the same inputs, the same order


def test_each_person_is_ranked_once_by_their_best_attempt(app, rounds, make_user):
    one, two = people(app, 2)
    r = rounds["full"]
    add_attempt(app, r, one.id, score=3, duration_ms=10_000, prediction=1)
    best = add_attempt(app, r, one.id, score=4, duration_ms=500_000, prediction=1)
    slow = add_attempt(app, r, two.id, score=4, duration_ms=90_000, prediction=1)
    fast = add_attempt(app, r, two.id, score=4, duration_ms=80_000, prediction=1)
    assert order(app, r, START + timedelta(hours=1)) == [fast, best]
    # Once final, the prediction picks a person's best attempt too.
    add_attempt(app, r, one.id, score=4, duration_ms=900_000, prediction=0)
    with app.app_context():
        assert db.session.get(Round, r).frozen_figure is None
    final = order(app, r, AFTER)
    with app.app_context():
        assert db.session.get(Round, r).frozen_figure == 0  # nobody had 5 of 5
        closest = db.session.scalar(
            select(Attempt.id).where(Attempt.user_id == one.id, Attempt.prediction == 0)
        )
    assert final == [closest, fast] and slow not in final and best not in final


# ------------------------------------------------------------------ provisional, final, figure


def test_provisional_until_the_close_then_final_and_frozen_once(
    app, client, clock, rounds, make_user
):
    a, b = people(app, 2)
    r = rounds["entries"]
    add_attempt(app, r, a.id, score=5, prediction=1)
    url = f"/api/v1/rounds/{r}/leaderboard"
    assert client.get(url).get_json()["final"] is False
    clock.now = CLOSE + timedelta(seconds=9)
    assert client.get(url).get_json()["final"] is False  # late answers may still arrive
    clock.now = AFTER
    body = client.get(url).get_json()
    assert body["final"] is True and body["figure"] == 1
    assert body["entries"][0]["distance"] == 0
    with app.app_context():
        stored = db.session.get(Round, r)
        frozen_at = stored.frozen_at
        assert (stored.frozen_figure, frozen_at) == (1, AFTER)
    # The figure is kept, whatever is found later.
    add_attempt(app, r, b.id, score=5, prediction=2)
    clock.now = AFTER + timedelta(days=1)
    body = client.get(url).get_json()
    assert body["figure"] == 1 and len(body["entries"]) == 2
    with app.app_context():
        assert db.session.get(Round, r).frozen_at == frozen_at


@pytest.mark.parametrize(("key", "expected"), [("full", 2), ("entries", 4), ("people", 3)], ids=str)
def test_the_frozen_figure_of_each_target(app, runner, clock, rounds, make_user, key, expected):
    one, two, three = people(app, 3)
    r = rounds[key]
    add_attempt(app, r, one.id, score=5, prediction=1)  # full score…
    add_attempt(app, r, one.id, score=2, prediction=1)  # …the best of two attempts
    add_attempt(app, r, two.id, score=5, prediction=1)
    add_attempt(app, r, three.id, score=3, prediction=1)
    clock.now = AFTER
    result = runner.invoke(args=["contests", "finalize"])
    assert result.exit_code == 0 and "rounds finalised" in result.output
    with app.app_context():
        stored = db.session.get(Round, r)
        assert (stored.frozen_figure, stored.frozen_at) == (expected, AFTER)
        plain = db.session.get(Round, rounds["plain"])
        assert plain.frozen_at == AFTER and plain.frozen_figure is None  # final, no figure


def test_freezing_finishes_the_attempts_still_open_first(app, client, clock, rounds, make_user):
    a, b = people(app, 2)
    r = rounds["entries"]
    add_attempt(app, r, a.id, score=5, prediction=3)
    add_attempt(app, r, b.id, score=0, state="open", submitted=CLOSE)  # in progress at the close
    clock.now = AFTER
    assert client.get(f"/api/v1/rounds/{r}/leaderboard").get_json()["figure"] == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Attempt.state == "open")) == 0


def test_the_cache_follows_each_submit(app, client, clock, rounds, make_user):
    from tests.test_attempts import bearer

    make_user(phone="0987654321")
    headers = bearer(client, "0987654321")
    url = f"/api/v1/rounds/{rounds['plain']}/leaderboard"
    assert client.get(url).get_json()["entries"] == []
    attempt = client.post(f"/api/v1/rounds/{rounds['plain']}/attempts", headers=headers).get_json()
    assert client.get(url).get_json()["entries"] == []  # in progress: not ranked
    clock.now = START + timedelta(seconds=42)
    client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers, json={})
    entries = client.get(url).get_json()["entries"]
    assert [(e["rank"], e["name"], e["duration_s"]) for e in entries] == [(1, "Nguyễn V. T.", 42.0)]


# ---------------------------------------------------------------------------- unit ranking


def set_population(app, populations: dict[int, int | None]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        for code, population in populations.items():
            db.session.execute(update(Unit).where(Unit.code == code).values(population=population))
        db.session.commit()


def test_units_rank_by_participants_per_thousand_then_mean_score(app, client, rounds, make_user):
    r = rounds["plain"]
    for user, score in zip(people(app, 2, VI_THANH), (5, 1), strict=True):
        add_attempt(app, r, user.id, score=score)  # 2 people / 1,000 = 2.0, mean 3
    for user in people(app, 1, NINH_KIEU):
        add_attempt(app, r, user.id, score=1)  # 1 / 200 = 5.0 per 1,000
    for user in people(app, 4, OTHER_UNIT):
        add_attempt(app, r, user.id, score=2)  # 4 / 2,000 = 2.0, mean 2: after Vị Thanh
    set_population(app, {VI_THANH: 1000, NINH_KIEU: 200, OTHER_UNIT: 2000})
    body = client.get(f"/api/v1/rounds/{r}/units").get_json()
    assert [(u["rank"], u["code"], u["per_thousand"], u["mean_score"]) for u in body["units"]] == [
        (1, NINH_KIEU, 5.0, 1.0),
        (2, VI_THANH, 2.0, 3.0),
        (3, OTHER_UNIT, 2.0, 2.0),
    ]
    assert body["population_unknown"] == [] and body["final"] is False


def test_units_without_population_are_ranked_apart_by_participants(app, client, rounds, make_user):
    r = rounds["plain"]
    for user in people(app, 1, VI_THANH):
        add_attempt(app, r, user.id, score=5)
    for user in people(app, 3, NINH_KIEU):
        add_attempt(app, r, user.id, score=1)
    for user in people(app, 2, OTHER_UNIT):
        add_attempt(app, r, user.id, score=1)
    set_population(app, {VI_THANH: 500})
    body = client.get(f"/api/v1/rounds/{r}/units").get_json()
    assert [(u["code"], u["per_thousand"]) for u in body["units"]] == [(VI_THANH, 2.0)]
    assert [(u["rank"], u["code"], u["participants"]) for u in body["population_unknown"]] == [
        (1, NINH_KIEU, 3),
        (2, OTHER_UNIT, 2),
    ]
    page = client.get(f"/contests/rounds/{r}/ranking/units").get_data(as_text=True)
    assert 'id="units-ranked"' in page and 'id="units-unknown"' in page


# ------------------------------------------------------------------------- the page and API


@pytest.fixture
def crowd(app, rounds, make_user):  # type: ignore[no-untyped-def]
    """70 people at the round without a prediction; the resident 0987654321 is 64th."""
    r = rounds["plain"]
    me = make_user(phone="0987654321", name="Võ Thị Mai", unit=NINH_KIEU)
    others = people(app, 69, VI_THANH, "Lê Văn Bình")
    for place, user in enumerate([*others[:63], me, *others[63:]], start=1):
        add_attempt(app, r, user.id, score=5, duration_ms=10_000 + place)
    return {"round": r, "me": me}


def table_rows(page: str) -> list[tuple[str, ...]]:
    """(place, name, unit, score, time) of each row of the ranking table."""
    rows = re.findall(
        r'<th scope="row"[^>]*>(.*?)</th>\s*<td[^>]*>\s*(.*?)(?:\s*<span class="badge[^<]*</span>)?'
        r"\s*<br><span[^>]*>(.*?)</span>.*?</td>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>",
        page,
        re.S,
    )
    return [tuple(cell.strip() for cell in row) for row in rows]


def test_the_page_shows_short_names_and_my_row_beyond_the_first_page(app, client, auth, crowd):
    auth.login("0987654321")
    url = f"/contests/rounds/{crowd['round']}/ranking?lang=en"
    page = client.get(url).get_data(as_text=True)
    rows = table_rows(page)
    assert len(rows) == 51  # the first 50, then my own row
    assert rows[0] == ("1", "Lê V. B.", "Phường Vị Thanh", "5/5", "10.001")
    assert rows[-1][:3] == ("64", "Võ T. M.", "Phường Ninh Kiều")
    assert page.count('id="me"') == 1 and "Provisional" in page
    assert "Your position: 64 of 70 people" in page
    jump = client.get(url + "&mine=1")
    assert jump.status_code == 302 and jump.headers["Location"].endswith("page=2#me")
    second = client.get(jump.headers["Location"]).get_data(as_text=True)
    assert len(table_rows(second)) == 20 and second.count('id="me"') == 1
    mine = client.get(f"/contests/rounds/{crowd['round']}/ranking?unit={NINH_KIEU}").get_data(
        as_text=True
    )
    assert [r[0] for r in table_rows(mine)] == ["64"]  # the province-wide place


def test_the_page_without_signing_in_and_for_a_deleted_account(app, client, crowd):
    with app.app_context():
        db.session.execute(
            update(User)
            .where(User.id == crowd["me"].id)
            .values(name=None, phone=None, deleted_at=START)
        )
        db.session.commit()
    page = client.get(f"/contests/rounds/{crowd['round']}/ranking?page=2&lang=en").get_data(
        as_text=True
    )
    assert 'id="me"' not in page
    assert table_rows(page)[13][:2] == ("64", "(deleted account)")


def test_the_leaderboard_api(app, client, crowd, rounds):
    base = f"/api/v1/rounds/{crowd['round']}/leaderboard"
    body = client.get(base + "?limit=3").get_json()
    assert body["final"] is False and body["total"] == 70 and len(body["entries"]) == 3
    assert body["entries"][0] == {
        "rank": 1,
        "name": "Lê V. B.",
        "unit": VI_THANH,
        "unit_name": "Phường Vị Thanh",
        "phone_verified": False,
        "score": 5,
        "max_score": 5,
        "prediction": None,
        "distance": None,
        "duration_s": 10.001,
        "submitted_at": body["entries"][0]["submitted_at"],
    }
    only = client.get(base + f"?unit={NINH_KIEU}").get_json()
    assert [(e["rank"], e["name"]) for e in only["entries"]] == [(64, "Võ T. M.")]
    assert client.get(base + "?limit=0").status_code == 400  # a query string: 400 (issue 13)
    assert client.get(base + "?limit=abc").status_code == 400
    assert client.get("/api/v1/rounds/999999/leaderboard").status_code == 404
    assert client.get("/api/v1/rounds/999999/units").status_code == 404
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/rounds/{round_id}/leaderboard" in paths
    assert "/api/v1/rounds/{round_id}/units" in paths


# ------------------------------------------------------------------- export, audit, winners


def officer(make_user, auth, unit: int = PROVINCE, role: Role = Role.OFFICER) -> None:  # type: ignore[no-untyped-def]
    make_user(role=role, phone="0911111111", unit=unit, name="Cán Bộ Một")
    auth.login("0911111111")


def test_the_export_equals_the_page_and_its_hash_is_shown(
    app, client, auth, clock, make_user, crowd
):
    clock.now = AFTER
    page = client.get(f"/contests/rounds/{crowd['round']}/ranking?lang=en").get_data(as_text=True)
    shown = table_rows(page)
    officer(make_user, auth)
    exported = client.get(f"/contests/rounds/{crowd['round']}/ranking.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    data = exported.get_data()
    assert exported.headers["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0][:3] == ["Hạng", "Mã lượt thi", "Họ tên"]  # what an officer reads
    assert lines[0][11] == "Thời gian làm bài (giây)"
    assert lines[1] == list(ranking_audit.EXPORT_COLUMNS)  # what a script keys on
    rows = ranking_audit.read_export_csv(data)
    assert len(rows) == 70
    as_page = [
        (
            r["place"],
            r["name"],
            r["unit"],
            f"{r['score']}/{r['max_score']}",
            f"{float(r['duration_s']):.3f}",
        )
        for r in rows[:50]
    ]
    assert as_page == shown
    assert rows[63]["phone"] == "0987***321" and rows[63]["name"] == "Võ T. M."
    assert {r["final"] for r in rows} == {"có"}
    assert rows[0]["duration_s"] == "10.001"  # a decimal point: the CSV is for programs
    # Local time in the contest's zone (Asia/Ho_Chi_Minh), and the exact instant in UTC.
    assert re.fullmatch(r"\d\d/\d\d/2026 \d\d:\d\d:\d\d", rows[0]["submitted_at"])
    utc = datetime.fromisoformat(rows[0]["submitted_at_utc"])
    assert rows[0]["submitted_at"] == (utc + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M:%S")
    audit = client.get(f"/contests/rounds/{crowd['round']}/ranking/audit").get_data(as_text=True)
    assert hashlib.sha256(data).hexdigest() in audit
    xlsx = client.get(f"/contests/rounds/{crowd['round']}/ranking.xlsx")
    again = client.get(f"/contests/rounds/{crowd['round']}/ranking.xlsx")
    assert xlsx.get_data() == again.get_data()  # stable bytes, so a stable hash
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    table = list(sheet.iter_rows())
    assert [c.value for c in table[0]] == lines[0]
    assert [c.value for c in table[1]] == list(ranking_audit.EXPORT_COLUMNS)
    assert len(table) == 72
    first = dict(zip(ranking_audit.EXPORT_COLUMNS, table[2], strict=True))
    # Numbers are number cells, times real date-times, each with a number format for Excel.
    assert first["place"].value == 1 and first["place"].number_format == "#,##0"
    assert first["duration_s"].value == 10.001 and first["duration_s"].number_format == "0.000"
    assert first["score"].data_type == "n" and first["max_score"].value == 5
    assert first["submitted_at"].value == (utc + timedelta(hours=7)).replace(tzinfo=None)
    assert first["submitted_at"].number_format == "dd/mm/yyyy hh:mm:ss"
    assert [c.value for c in table[2]][:3] == [1, int(rows[0]["attempt_id"]), rows[0]["name"]]
    audit = client.get(f"/contests/rounds/{crowd['round']}/ranking/audit").get_data(as_text=True)
    assert hashlib.sha256(xlsx.get_data()).hexdigest() in audit


def test_officer_views_are_for_officers_only(app, client, auth, make_user, crowd):
    r = crowd["round"]
    audit_urls = [
        f"/contests/rounds/{r}/ranking/audit",
        f"/contests/rounds/{r}/ranking.csv",
        f"/contests/rounds/{r}/ranking.xlsx",
        f"/contests/rounds/{r}/winners",
    ]
    live = f"/contests/rounds/{r}/live"
    for url in [*audit_urls, live]:
        assert client.get(url).status_code == 302  # to the sign-in page
    auth.login("0987654321")  # a resident
    for url in [*audit_urls, live]:
        assert client.get(url).status_code == 403
    auth.logout()
    make_user(role=Role.LEADER, phone="0922222222", unit=PROVINCE)
    auth.login("0922222222")
    assert [client.get(url).status_code for url in audit_urls] == [403] * 4
    assert client.get(live).status_code == 200
    auth.logout()
    make_user(role=Role.OFFICER, phone="0933333333", unit=VI_THANH)  # not the contest's owner
    auth.login("0933333333")
    assert [client.get(url).status_code for url in audit_urls] == [403] * 4
    auth.logout()
    officer(make_user, auth)
    assert [client.get(url).status_code for url in audit_urls] == [200] * 4


def test_the_winners_list_has_the_contacts_the_committee_needs(app, client, auth, make_user, crowd):
    set_population(app, {VI_THANH: 10_000, NINH_KIEU: 50})
    officer(make_user, auth)
    page = client.get(f"/contests/rounds/{crowd['round']}/winners?top=64&units=2&lang=en").get_data(
        as_text=True
    )
    assert "Võ Thị Mai" in page and "0987654321" in page and "provisional" in page
    assert page.count('<th scope="row"') == 64
    units = re.search(r"<h2[^>]*>Collective prizes</h2>\s*<ol>(.*?)</ol>", page, re.S)
    assert units and units.group(1).index("Ninh Kiều") < units.group(1).index("Vị Thanh")


def test_the_live_view(app, client, auth, clock, rounds, make_user):
    r = rounds["plain"]
    for user, score in zip(people(app, 3, VI_THANH), (5, 4, 4), strict=True):
        add_attempt(app, r, user.id, score=score)
    (busy,) = people(app, 1, NINH_KIEU)
    add_attempt(app, r, busy.id, score=0, state="open", submitted=START + timedelta(minutes=5))
    officer(make_user, auth)
    clock.now = START + timedelta(minutes=2)
    response = client.get(f"/contests/rounds/{r}/live?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    totals = re.findall(r'<div class="fs-4">(\d+)</div>', page)
    assert totals[:3] == ["3", "3", "1"]  # people, entries, in progress
    units = re.search(r'id="live-units">(.*?)</table>', page, re.S).group(1)
    assert units.index("Vị Thanh") < units.index("Ninh Kiều")
    empty = re.search(r'id="live-empty">(.*?)</ul>', page, re.S).group(1)
    assert "<li>Phường Vị Thanh</li>" not in empty and "<li>Phường Ninh Kiều</li>" not in empty
    assert empty.count("<li>") == 101
    chart = re.search(
        r'<script type="application/json" id="score-chart-data">(.*?)</script>', page, re.S
    )
    import json

    figure = json.loads(chart.group(1))
    assert figure["data"][0]["type"] == "bar"
    assert figure["data"][0]["y"] == [0, 0, 0, 0, 2, 1]
    # No inline script: every script is a file or a JSON data block (CSP script-src 'self').
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag
    plotly_js = re.search(r'<script src="([^"]*plotly[^"]*)"', page).group(1)
    asset = client.get(plotly_js)
    assert asset.status_code == 200 and "max-age=31536000" in asset.headers["Cache-Control"]
    asset.close()
    assert client.get("/contests/assets/plotly-0.0.0.min.js").status_code == 404


def test_a_commune_officer_sees_only_the_live_figures_of_their_commune(
    app, client, auth, clock, rounds, make_user
):
    r = rounds["plain"]
    for user, score in zip(people(app, 3, VI_THANH), (5, 4, 4), strict=True):
        add_attempt(app, r, user.id, score=score)
    for user in people(app, 2, NINH_KIEU):
        add_attempt(app, r, user.id, score=1)
    officer(make_user, auth, unit=NINH_KIEU)
    clock.now = START + timedelta(minutes=2)
    page = client.get(f"/contests/rounds/{r}/live?lang=en").get_data(as_text=True)
    totals = re.findall(r'<div class="fs-4">(\d+)</div>', page)
    assert totals[:2] == ["2", "2"]  # people, entries: Ninh Kiều's only
    assert "Vị Thanh" not in page
    import json

    chart = re.search(
        r'<script type="application/json" id="score-chart-data">(.*?)</script>', page, re.S
    )
    # The best-score distribution of Ninh Kiều's two people, not the whole round's five.
    assert json.loads(chart.group(1))["data"][0]["y"] == [0, 2, 0, 0, 0, 0]


# ------------------------------------------------------------------------ re-check and demo


def test_recheck_finds_nothing_then_catches_a_tampered_attempt(
    app, runner, clock, rounds, make_user, tmp_path
):
    r = rounds["full"]
    clock.now = START + timedelta(days=1)
    made = runner.invoke(
        args=["demo", "attempts", "--round", str(r), "--count", "25", "--seed", "7"]
    )
    assert made.exit_code == 0, made.output
    clock.now = AFTER
    clean = runner.invoke(args=["contests", "recheck", str(r)])
    assert clean.exit_code == 0, clean.output
    assert "No difference" in clean.output and "25 people re-ranked" in clean.output
    export = tmp_path / "ranking.csv"
    with app.app_context():
        round_ = db.session.get(Round, r)
        export.write_bytes(ranking_audit.export_file(db.session, round_, AFTER, GRACE, "csv").data)
    assert (
        runner.invoke(args=["contests", "recheck", str(r), "--export", str(export)]).exit_code == 0
    )
    with app.app_context():
        last = db.session.scalar(
            select(Attempt.id).where(Attempt.round_id == r).order_by(Attempt.score).limit(1)
        )
        db.session.execute(
            update(Attempt).where(Attempt.id == last).values(score=Attempt.score + 5)
        )
        db.session.commit()
    tampered = runner.invoke(args=["contests", "recheck", str(r)])
    assert tampered.exit_code == 1
    assert f"attempt {last}: stored score" in tampered.output
    # The ranking reads the scores recorded at each submit, not the edited attempt...
    assert "the ranking has attempt" not in tampered.output
    with app.app_context():  # ...and an edit of what it reads is caught as well.
        lowest = db.session.scalar(
            select(BestAttempt.attempt_id)
            .where(BestAttempt.round_id == r)
            .order_by(BestAttempt.score)
            .limit(1)
        )
        db.session.execute(
            update(BestAttempt).where(BestAttempt.attempt_id == lowest).values(score=99)
        )
        db.session.commit()
    moved = runner.invoke(args=["contests", "recheck", str(r)])
    assert moved.exit_code == 1
    assert f"place 1: the ranking has attempt {lowest} (score 99" in moved.output
    against_file = runner.invoke(args=["contests", "recheck", str(r), "--export", str(export)])
    assert against_file.exit_code == 1 and "SHA-256" in against_file.output


def test_recheck_catches_a_changed_time_and_a_changed_figure(app, runner, clock, rounds):
    r = rounds["entries"]
    clock.now = START + timedelta(days=1)
    runner.invoke(args=["demo", "attempts", "--round", str(r), "--count", "5", "--seed", "3"])
    clock.now = AFTER
    with app.app_context():
        some = db.session.scalar(select(Attempt.id).where(Attempt.round_id == r).limit(1))
        db.session.execute(
            update(Attempt).where(Attempt.id == some).values(duration_ms=Attempt.duration_ms - 1)
        )
        db.session.commit()
        ranking.freeze(db.session, db.session.get(Round, r), AFTER, GRACE)
        db.session.execute(
            update(Round).where(Round.id == r).values(frozen_figure=Round.frozen_figure + 1)
        )
        db.session.commit()
    result = runner.invoke(args=["contests", "recheck", str(r)])
    assert result.exit_code == 1
    assert f"attempt {some}: stored duration" in result.output
    assert "frozen figure" in result.output


def test_demo_attempts_are_marked_and_removed_exactly(app, runner, clock, rounds, make_user):
    real = make_user(phone="0987654321", name="(demo) Người Thật")  # a real phone: kept
    clock.now = START + timedelta(days=1)
    made = runner.invoke(args=["demo", "attempts", "--round", str(rounds["full"]), "--count", "12"])
    assert made.exit_code == 0 and "DEMO: 12 people" in made.output
    with app.app_context():
        demo = db.session.scalars(select(User).where(User.id != real.id)).all()
        assert len(demo) == 12
        assert all(u.name.startswith("(demo) ") and u.phone.startswith("0899") for u in demo)
        assert db.session.scalar(select(func.count(Attempt.id))) >= 12
    removed = runner.invoke(args=["demo", "attempts", "--remove"])
    assert removed.exit_code == 0 and "Removed 12 demo people" in removed.output
    with app.app_context():
        assert [u.id for u in db.session.scalars(select(User))] == [real.id]
        assert db.session.scalar(select(func.count(Attempt.id))) == 0
    refused = runner.invoke(args=["demo", "attempts", "--round", "999999"])
    assert refused.exit_code != 0


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://evil.example/?x","win")', "+1+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"],
)
def test_a_resident_s_name_is_data_in_every_export(
    app, client, auth, clock, make_user, rounds, name
):
    """A name that a spreadsheet would run as a formula is neutralised (OWASP)."""
    from openpyxl import load_workbook

    me = make_user(phone="0987654321", name=name, unit=NINH_KIEU)
    add_attempt(app, rounds["plain"], me.id, score=5, duration_ms=10_000)
    clock.now = AFTER
    officer(make_user, auth)
    data = client.get(f"/contests/rounds/{rounds['plain']}/ranking.csv").get_data()
    (row,) = ranking_audit.read_export_csv(data)
    assert row["name"].startswith("'") and row["name"][1:2] in "=+@-"
    xlsx = client.get(f"/contests/rounds/{rounds['plain']}/ranking.xlsx").get_data()
    sheet = load_workbook(io.BytesIO(xlsx)).active
    cells = [c for line in sheet.iter_rows(min_row=2) for c in line if isinstance(c.value, str)]
    assert cells and all(c.data_type != "f" for c in cells)
    assert any(c.value.startswith(name.split()[0][:3]) for c in cells)
