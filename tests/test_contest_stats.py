"""Round and contest statistics (api.md, "Round statistics"): every figure equal to a value
computed here by hand, with plain Python (statistics), on a small fixture of hand-built
attempts; suppression of small communes with its complement; scope."""

from __future__ import annotations

import csv
import io
import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    Attempt,
    AttemptQuestion,
    BestAttempt,
    Contest,
    Question,
    QuestionVersion,
    Role,
    Round,
    Unit,
    UnitLevel,
    User,
)
from app.models.contests import paper_digest
from app.services import contest_stats, ranking, standings
from app.services.attempts import competing_commune
from tests.conftest import NINH_KIEU, PASSWORD, PROVINCE, VI_THANH, load_content, set_clock

START = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
CAI_KHE = 31120
QUESTIONS = ["q1", "q2", "q3", "q4"]
TOPIC = {"q1": "luat", "q2": "luat", "q3": "lich-su", "q4": "lich-su"}

BANK = """\
bank: ngan-hang-thong-ke
title: Ngân hàng thống kê
topics:
  - id: luat
    title: Luật và văn bản
  - id: lich-su
    title: Lịch sử địa phương
questions:
""" + "".join(
    f"""\
  - id: {key}
    text: Câu hỏi thống kê {key}
    choices: [Một, Hai, Ba, Bốn]
    answer: A
    topic: {TOPIC[key]}
"""
    for key in QUESTIONS
)

CONTEST = """\
contest: cuoc-thi-thong-ke
title: Cuộc thi thống kê
rounds:
  - id: tuan-1
    title: Tuần 1
    opens: 2026-12-01 08:00
    closes: 2026-12-07 20:00
    time_limit: 15m
    attempts: 2
    draw: [{bank: ngan-hang-thong-ke, count: 4}]
  - id: tuan-2
    title: Tuần 2
    opens: 2026-12-01 08:00
    closes: 2026-12-07 20:00
    time_limit: 15m
    attempts: 2
    draw: [{bank: ngan-hang-thong-ke, count: 2}]
"""


def _people(app, unit: int, n: int, start: int) -> list[int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        made = [
            User(name="Người Thử", phone=f"097{start + i:07d}", password_hash="-", unit_code=unit)
            for i in range(n)
        ]
        db.session.add_all(made)
        db.session.commit()
        return [u.id for u in made]


def _attempt(app, round_id: int, user_id: int, marks: dict[str, bool], state: str = "submitted"):  # type: ignore[no-untyped-def]
    """A finished attempt given the questions of `marks`, each right or wrong as said."""
    with app.app_context():
        versions = dict(
            db.session.execute(
                select(Question.key, QuestionVersion.id).join(
                    QuestionVersion, QuestionVersion.question_id == Question.id
                )
            ).all()
        )
        number = 1 + len(
            db.session.scalars(
                select(Attempt.id).where(Attempt.round_id == round_id, Attempt.user_id == user_id)
            ).all()
        )
        attempt = Attempt(
            round_id=round_id,
            user_id=user_id,
            number=number,
            state=state,
            started_at=START,
            deadline=START + timedelta(minutes=15),
            submitted_at=START + timedelta(minutes=5),
            duration_ms=300_000 - number,
            score=sum(marks.values()),
            max_score=len(marks),
            paper=paper_digest(versions[key] for key in marks),
            unit_code=competing_commune(db.session, round_id, db.session.get(User, user_id)),
        )
        attempt.questions = [
            AttemptQuestion(
                position=i,
                question_version_id=versions[key],
                choice_order=[0, 1, 2, 3],
                selected=[0] if right else [1],
                correct=right,
            )
            for i, (key, right) in enumerate(marks.items(), start=1)
        ]
        db.session.add(attempt)
        db.session.flush()
        standings.record(db.session, attempt.id, standings.figure_of(attempt.round))
        db.session.commit()


@pytest.fixture
def fixture(app):  # type: ignore[no-untyped-def]
    """Round 1 (all four questions for everyone): Vị Thanh 12 people, a fourth commune 7,
    Ninh Kiều 6, Cái Khế 2; in Vị Thanh the first person tries twice and one attempt is
    left open (not counted). Round 2: two of the four questions, pairs that differ."""
    set_clock(app, START)
    load_content(app, [("b.yaml", BANK), ("c.yaml", CONTEST)], START)
    with app.app_context():
        rounds = {r.key: r.id for r in db.session.scalars(select(Round))}
        fourth = db.session.scalar(
            select(Unit.code)
            .where(
                Unit.level == UnitLevel.COMMUNE,
                Unit.code.not_in([VI_THANH, NINH_KIEU, CAI_KHE]),
            )
            .order_by(Unit.code)
        )
        db.session.execute(update(Unit).where(Unit.code == VI_THANH).values(population=4000))
        db.session.commit()
    rng = random.Random(14)
    people = {
        VI_THANH: _people(app, VI_THANH, 12, 0),
        fourth: _people(app, fourth, 7, 100),
        NINH_KIEU: _people(app, NINH_KIEU, 6, 200),
        CAI_KHE: _people(app, CAI_KHE, 2, 300),
    }
    ease = {"q1": 0.9, "q2": 0.6, "q3": 0.5, "q4": 0.25}
    papers: list[tuple[int, int, dict[str, bool]]] = []  # (unit, user, marks) of round 1
    for unit, ids in people.items():
        for user in ids:
            # Ability makes the questions correlate, as in real papers.
            ability = rng.random()
            marks = {k: rng.random() < (ease[k] + ability) / 2 for k in QUESTIONS}
            papers.append((unit, user, marks))
    first = people[VI_THANH][0]
    papers.append((VI_THANH, first, {"q1": True, "q2": True, "q3": True, "q4": True}))
    for _unit, user, marks in papers:
        _attempt(app, rounds["tuan-1"], user, marks)
    _attempt(app, rounds["tuan-1"], people[VI_THANH][1], {"q1": False}, state="open")
    pairs = [("q1", "q2"), ("q3", "q4"), ("q1", "q3"), ("q2", "q4"), ("q1", "q4"), ("q2", "q3")]
    second = []
    for i, user in enumerate(people[VI_THANH] + people[fourth]):
        marks = {k: rng.random() < ease[k] for k in pairs[i % len(pairs)]}
        second.append((user, marks))
        _attempt(app, rounds["tuan-2"], user, marks)
    return {
        "rounds": rounds,
        "people": people,
        "papers": papers,
        "second": second,
        "fourth": fourth,
    }


def stats_of(app, round_id: int, **kwargs):  # type: ignore[no-untyped-def]
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        for key in ("scope", "unit"):
            if isinstance(kwargs.get(key), int):
                kwargs[key] = db.session.get(Unit, kwargs[key])
        return contest_stats.round_stats(db.session, round_, now=START, **kwargs)


# --------------------------------------------------------------- hand computations (plain)


def hand_items(papers: list[dict[str, bool]]) -> dict[str, dict[str, object]]:
    out = {}
    for key in QUESTIONS:
        given = [p for p in papers if key in p]
        x = [int(p[key]) for p in given]
        rest = [sum(p.values()) - int(p[key]) for p in given]
        facility = round(sum(x) / len(x), 4)
        disc = None
        if len(x) >= 10 and len(set(x)) > 1 and len(set(rest)) > 1:
            disc = round(statistics.correlation(x, rest), 4)
        out[key] = {"n": len(x), "facility": facility, "discrimination": disc}
    return out


def hand_alpha(papers: list[dict[str, bool]]) -> float:
    k = len(QUESTIONS)
    items = sum(statistics.pvariance([int(p[q]) for p in papers]) for q in QUESTIONS)
    total = statistics.pvariance([sum(p.values()) for p in papers])
    return round(k / (k - 1) * (1 - items / total), 4)


# --------------------------------------------------------------------------------- tests


def test_round_figures_equal_hand_computed_values(app, fixture):
    papers = [marks for _u, _p, marks in fixture["papers"]]
    stats = stats_of(app, fixture["rounds"]["tuan-1"])
    assert stats.participants == 12 + 7 + 6 + 2
    assert stats.attempts == len(papers) == 28  # the open attempt does not count
    items = hand_items(papers)
    got = {q.question: q for q in stats.questions}
    assert set(got) == set(QUESTIONS)
    for key, want in items.items():
        assert (got[key].n, got[key].facility, got[key].discrimination) == (
            want["n"],
            want["facility"],
            want["discrimination"],
        ), key
        assert got[key].bank == "ngan-hang-thong-ke" and got[key].topic == TOPIC[key]
        assert got[key].text == f"Câu hỏi thống kê {key}"
    for topic in ("luat", "lich-su"):
        marks = [p[k] for p in papers for k in QUESTIONS if TOPIC[k] == topic]
        row = next(t for t in stats.topics if t.topic == topic)
        assert (row.n, row.facility) == (len(marks), round(sum(marks) / len(marks), 4))
    assert row.title == "Lịch sử địa phương"
    assert stats.alpha == hand_alpha(papers)
    assert (stats.alpha_attempts, stats.alpha_questions) == (28, 4)


def test_scores_count_each_person_s_best_attempt(app, fixture):
    best: dict[int, int] = {}
    for _unit, user, marks in fixture["papers"]:
        best[user] = max(best.get(user, 0), sum(marks.values()))
    stats = stats_of(app, fixture["rounds"]["tuan-1"])
    want = sorted({s: list(best.values()).count(s) for s in set(best.values())}.items())
    assert [(s.score, s.people) for s in stats.scores] == want
    assert sum(s.people for s in stats.scores) == 27
    assert stats.max_score == 4


def test_small_communes_are_hidden_with_their_complement(app, fixture):
    stats = stats_of(app, fixture["rounds"]["tuan-1"])
    units = {u.code: u for u in stats.units}
    # Cái Khế (2 < 5) is hidden; alone, it would be the total less the others: Ninh Kiều (6),
    # the next smallest, is hidden with it.
    assert units[CAI_KHE].suppressed and units[CAI_KHE].participants is None
    assert units[NINH_KIEU].suppressed and units[NINH_KIEU].participants is None
    assert units[VI_THANH].participants == 12 and units[VI_THANH].per_1000 == 3.0
    assert units[fixture["fourth"]].participants == 7 and units[fixture["fourth"]].per_1000 is None
    assert stats.covered == 4 and stats.communes > 4
    assert len(stats.units_without_participants) == stats.communes - 4
    assert VI_THANH not in stats.units_without_participants
    # The heat map holds the shown communes only.
    assert {c.unit for c in stats.heat} == {VI_THANH, fixture["fourth"]}
    vt = [p for u, _p, p in fixture["papers"] if u == VI_THANH]
    cell = next(c for c in stats.heat if c.unit == VI_THANH and c.topic == "luat")
    marks = [p[k] for p in vt for k in ("q1", "q2")]
    assert (cell.n, cell.facility) == (len(marks), round(sum(marks) / len(marks), 4))
    # Asking for a hidden commune withholds every figure.
    hidden = stats_of(app, fixture["rounds"]["tuan-1"], unit=CAI_KHE)
    assert hidden.suppressed and hidden.participants is None and hidden.questions == []


def test_a_commune_s_view_counts_its_people_only(app, fixture):
    papers = [p for u, _p, p in fixture["papers"] if u == VI_THANH]
    stats = stats_of(app, fixture["rounds"]["tuan-1"], unit=VI_THANH)
    assert (stats.participants, stats.attempts) == (12, 13)
    assert [u.code for u in stats.units] == [VI_THANH] and stats.communes == 1
    items = hand_items(papers)
    got = {q.question: q for q in stats.questions}
    for key, want in items.items():
        assert (got[key].n, got[key].facility, got[key].discrimination) == (
            want["n"],
            want["facility"],
            want["discrimination"],
        )
    assert stats.alpha == hand_alpha(papers)


def test_alpha_is_null_when_no_set_of_questions_is_shared_by_ten(app, fixture):
    stats = stats_of(app, fixture["rounds"]["tuan-2"])
    assert stats.alpha is None and stats.alpha_attempts == 0
    papers = [marks for _u, marks in fixture["second"]]
    got = {q.question: q for q in stats.questions}
    for key, want in hand_items(papers).items():
        assert (got[key].n, got[key].facility, got[key].discrimination) == (
            want["n"],
            want["facility"],
            want["discrimination"],
        )
    assert any(q.n < 10 and q.discrimination is None for q in stats.questions)
    assert stats.participants == 19


def test_the_whole_round_below_the_threshold_hides_every_figure(app, fixture):
    stats = stats_of(app, fixture["rounds"]["tuan-1"], threshold=30)
    assert stats.suppressed and stats.participants == 27
    assert stats.units == [] and stats.units_without_participants == []
    assert stats.questions == [] and stats.scores == [] and stats.alpha is None


def test_a_unit_outside_the_scope_is_refused(app, fixture):
    with pytest.raises(contest_stats.OutsideScope):
        stats_of(app, fixture["rounds"]["tuan-1"], scope=VI_THANH, unit=NINH_KIEU)
    stats = stats_of(app, fixture["rounds"]["tuan-1"], scope=PROVINCE, unit=VI_THANH)
    assert stats.participants == 12


def test_the_contest_counts_people_once_and_hides_the_union(app, fixture):
    with app.app_context():
        contest = db.session.scalar(select(Contest))
        stats = contest_stats.contest_stats(db.session, contest, now=START)
    assert stats.participants == 27  # everyone of round 2 took part in round 1
    assert stats.attempts == 28 + 19
    assert [(r.participants, r.attempts, r.covered) for r in stats.rounds] == [
        (27, 28, 4),
        (19, 19, 2),
    ]
    hidden = {u.code for u in stats.units if u.suppressed}
    assert hidden == {CAI_KHE, NINH_KIEU}
    papers = [p for _u, _p, p in fixture["papers"]] + [m for _u, m in fixture["second"]]
    got = {q.question: q for q in stats.questions}
    for key, want in hand_items(papers).items():
        assert (got[key].n, got[key].facility) == (want["n"], want["facility"])


def test_hardest_questions_lowest_facility_first(app, fixture):
    stats = stats_of(app, fixture["rounds"]["tuan-1"])
    items = hand_items([p for _u, _p, p in fixture["papers"]])
    want = sorted(QUESTIONS, key=lambda k: (items[k]["facility"], k))
    assert [q.question for q in contest_stats.hardest(stats)] == want


# ---------------------------------------------------------------------------------- the API


def bearer(client, make_user, role: Role, unit: int, phone: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_user(role=role, unit=unit, phone=phone)
    token = client.post("/api/v1/auth/token", json={"phone": phone, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


def test_the_endpoint_answers_the_hand_computed_figures(app, client, make_user, fixture):
    headers = bearer(client, make_user, Role.LEADER, PROVINCE, "0911000001")
    r = fixture["rounds"]["tuan-1"]
    body = client.get(f"/api/v1/rounds/{r}/stats", headers=headers).get_json()
    papers = [p for _u, _p, p in fixture["papers"]]
    assert (body["round"], body["final"], body["participants"], body["attempts"]) == (
        r,
        False,
        27,
        28,
    )
    items = hand_items(papers)
    for q in body["questions"]:
        want = items[q["question"]]
        assert (q["n"], q["facility"], q["discrimination"]) == (
            want["n"],
            want["facility"],
            want["discrimination"],
        )
        assert set(q) >= {"question", "bank", "topic", "n", "facility", "discrimination"}
    assert body["alpha"] == hand_alpha(papers)
    units = {u["code"]: u for u in body["units"]}
    assert units[VI_THANH]["participants"] == 12 and units[VI_THANH]["per_1000"] == 3.0
    assert units[CAI_KHE] == {
        "code": CAI_KHE,
        "name": units[CAI_KHE]["name"],
        "participants": None,
        "population": None,
        "per_1000": None,
        "suppressed": True,
    }
    assert len(body["units_without_participants"]) == body["communes"] - 4
    assert {t["topic"] for t in body["topics"]} == {"luat", "lich-su"}
    assert sum(s["people"] for s in body["scores"]) == 27
    narrowed = client.get(f"/api/v1/rounds/{r}/stats?unit={VI_THANH}", headers=headers)
    assert narrowed.get_json()["participants"] == 12


def test_who_may_read_the_stats(app, client, make_user, fixture):
    r = fixture["rounds"]["tuan-1"]
    url = f"/api/v1/rounds/{r}/stats"
    assert client.get(url).status_code == 401
    resident = bearer(client, make_user, Role.RESIDENT, VI_THANH, "0911000002")
    assert client.get(url, headers=resident).status_code == 403
    officer = bearer(client, make_user, Role.OFFICER, VI_THANH, "0911000003")
    own = client.get(url, headers=officer)
    assert own.status_code == 200 and own.get_json()["participants"] == 12  # their commune
    outside = client.get(f"{url}?unit={NINH_KIEU}", headers=officer)
    assert outside.status_code == 403 and outside.get_json()["error"]["code"] == "forbidden"
    admin = bearer(client, make_user, Role.ADMIN, PROVINCE, "0911000004")
    assert client.get(url, headers=admin).get_json()["participants"] == 27
    assert client.get("/api/v1/rounds/999999/stats", headers=admin).status_code == 404
    assert client.get(f"{url}?unit=1", headers=admin).status_code == 404
    bad = client.get(f"{url}?unit=abc", headers=admin)
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "unit"


def test_the_openapi_document_describes_the_stats(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/rounds/{round_id}/stats"]["get"]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])
    schema = document["components"]["schemas"]["RoundStats"]
    assert {"participants", "units", "questions", "topics", "alpha"} <= set(schema["properties"])


# -------------------------------------------------------------------------------- the pages


def sign_in(auth, make_user, role: Role, unit: int, phone: str) -> None:  # type: ignore[no-untyped-def]
    make_user(role=role, unit=unit, phone=phone)
    assert auth.login(phone).status_code == 302


def test_the_round_page_shows_the_tables_in_vietnamese(app, client, auth, make_user, fixture):
    sign_in(auth, make_user, Role.LEADER, PROVINCE, "0911000011")
    r = fixture["rounds"]["tuan-1"]
    page = client.get(f"/results/rounds/{r}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    stats = stats_of(app, r)
    # Coverage, in words, and the heat map's table (works without JavaScript).
    assert f"{stats.covered}/{stats.communes}" in html and "xã, phường có người dự thi" in html
    assert 'id="heat"' in html and 'data-figure="fig-heat"' in html
    # The hardest question first, with its words and a Vietnamese percentage.
    first = contest_stats.hardest(stats)[0]
    assert f"Câu hỏi thống kê {first.question}" in html
    assert f"{first.facility * 100:.1f}%".replace(".", ",") in html
    # Small communes hidden, with no figure of theirs.
    assert html.count("ẩn: ít hơn 5 người") >= 2
    assert "Không có chủ đề" not in html and "Luật và văn bản" in html
    assert len(page.data) < 300_000


def test_the_contest_page_lists_each_round_s_coverage(app, client, auth, make_user, fixture):
    sign_in(auth, make_user, Role.OFFICER, PROVINCE, "0911000012")
    with app.app_context():
        contest = db.session.scalar(select(Contest))
        communes = contest_stats.round_stats(
            db.session, db.session.get(Round, fixture["rounds"]["tuan-1"]), now=START
        ).communes
    html = client.get(f"/results/contests/{contest.id}").get_data(as_text=True)
    assert f"4/{communes}" in html and f"2/{communes}" in html
    assert client.get("/results/contests").status_code == 200
    assert "Cuộc thi thống kê" in client.get("/results/contests").get_data(as_text=True)


def test_pages_refuse_outsiders_and_bad_input(app, client, auth, make_user, fixture):
    r = fixture["rounds"]["tuan-1"]
    assert client.get(f"/results/rounds/{r}").status_code == 302  # to the sign-in page
    sign_in(auth, make_user, Role.RESIDENT, VI_THANH, "0911000013")
    assert client.get(f"/results/rounds/{r}").status_code == 403
    auth.logout()
    sign_in(auth, make_user, Role.LEADER, VI_THANH, "0911000014")
    own = client.get(f"/results/rounds/{r}").get_data(as_text=True)
    assert "1/1" in own  # a commune's leader: their commune only
    assert client.get(f"/results/rounds/{r}?unit={NINH_KIEU}").status_code == 403
    assert client.get(f"/results/rounds/{r}/units.csv?unit={NINH_KIEU}").status_code == 403
    assert client.get("/results/rounds/999999").status_code == 404
    bad = client.get(f"/results/rounds/{r}?unit=abc")
    assert bad.status_code == 400 and "mã" in bad.get_data(as_text=True)
    assert client.get(f"/results/rounds/{r}/units.pdf").status_code == 404
    assert client.get(f"/results/rounds/{r}/secrets.csv").status_code == 404


def test_each_table_downloads_as_csv_and_xlsx(app, client, auth, make_user, fixture):
    sign_in(auth, make_user, Role.LEADER, PROVINCE, "0911000015")
    r = fixture["rounds"]["tuan-1"]
    units = client.get(f"/results/rounds/{r}/units.csv")
    assert units.status_code == 200 and units.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(units.data.decode("utf-8-sig"))))
    assert rows[0] == ["Mã", "Xã/phường", "Người tham gia", "Trên 1.000 dân"]
    by_code = {int(row[0]): row for row in rows[1:]}
    assert by_code[VI_THANH][2:] == ["12", "3.0"]
    assert by_code[CAI_KHE][2] == by_code[NINH_KIEU][2] == "ẩn: ít hơn 5 người"
    questions = client.get(f"/results/rounds/{r}/questions.xlsx")
    book = load_workbook(io.BytesIO(questions.data))
    sheet = list(book.active.iter_rows(values_only=True))
    assert len(sheet) == 1 + 4 and sheet[1][0] == "ngan-hang-thong-ke"
    for table in ("heat", "topics", "scores"):
        assert client.get(f"/results/rounds/{r}/{table}.csv").status_code == 200
    with app.app_context():
        contest = db.session.scalar(select(Contest))
    rounds = client.get(f"/results/contests/{contest.id}/rounds.csv").data.decode("utf-8-sig")
    assert "Tuần 1" in rounds and "Tuần 2" in rounds


def test_topics_are_per_bank(app, fixture):
    other = (
        "bank: ngan-hang-hai\ntitle: Ngân hàng hai\ntopics:\n  - id: luat\n    title: Luật khác\n"
        "questions:\n  - id: p1\n    text: Câu hỏi p1\n    choices: [Một, Hai]\n    answer: A\n"
        "    topic: luat\n"
    )
    load_content(app, [("b2.yaml", other)], START)
    user = fixture["people"][VI_THANH][0]
    _attempt(app, fixture["rounds"]["tuan-2"], user, {"p1": True, "q1": False})
    stats = stats_of(app, fixture["rounds"]["tuan-2"])
    laws = {(t.bank, t.title): (t.n, t.correct) for t in stats.topics if t.topic == "luat"}
    assert laws[("ngan-hang-hai", "Luật khác")] == (1, 1)
    assert laws[("ngan-hang-thong-ke", "Luật và văn bản")][0] > 1


def test_a_round_without_attempts_shows_zeros_not_an_error(app, client, auth, make_user):
    set_clock(app, START)
    load_content(app, [("b.yaml", BANK), ("c.yaml", CONTEST)], START)
    with app.app_context():
        r = db.session.scalar(select(Round.id).where(Round.key == "tuan-1"))
    sign_in(auth, make_user, Role.LEADER, PROVINCE, "0911000016")
    page = client.get(f"/results/rounds/{r}")
    assert page.status_code == 200 and "0/" in page.get_data(as_text=True)
    body = client.get(f"/api/v1/rounds/{r}/stats").get_json()
    assert (body["participants"], body["attempts"], body["alpha"]) == (0, 0, None)
    assert body["questions"] == [] and body["units"] == []
    assert len(body["units_without_participants"]) == body["communes"]
    assert client.get(f"/results/rounds/{r}/heat.xlsx").status_code == 200


def test_an_attempt_names_its_set_of_questions_whatever_their_order(app):  # type: ignore[no-untyped-def]
    """Alpha finds the attempts given one set by `Attempt.paper`: the drawn attempt must store
    the digest of exactly the questions it holds, and the digest must not depend on order."""
    assert paper_digest([3, 1, 2]) == paper_digest([1, 2, 3]) != paper_digest([1, 2, 4])
    assert paper_digest([1, 23]) != paper_digest([12, 3])  # not a concatenation of digits
    set_clock(app, START)
    load_content(app, [("b.yaml", BANK), ("c.yaml", CONTEST)], START)
    (user_id,) = _people(app, VI_THANH, 1, 500)
    with app.app_context():
        from app.services import attempts

        round_ = db.session.scalar(select(Round).where(Round.key == "tuan-2"))
        user = db.session.get(User, user_id)
        attempt, _new = attempts.start(
            db.session, round_, user, START + timedelta(days=1), timedelta(0), random.Random(3)
        )
        given = [q.question_version_id for q in attempt.questions]
        assert len(given) == 2 and attempt.paper == paper_digest(given)


def test_the_migration_names_the_sets_of_attempts_stored_before(tmp_path):  # type: ignore[no-untyped-def]
    """0011 fills `attempts.paper` for the attempts already stored (SQL on PostgreSQL, Python
    on SQLite): the same digest as paper_digest, so alpha keeps finding them."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from app.config import TestingConfig
    from app.services.units import load_units
    from tests.conftest import fresh_database_url

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url("paper", tmp_path))
    with app.app_context():
        upgrade()
        load_units(db.session, PROVINCE)
    set_clock(app, START)
    load_content(app, [("b.yaml", BANK), ("c.yaml", CONTEST)], START)
    with app.app_context():
        rounds = {r.key: r.id for r in db.session.scalars(select(Round))}
    people = _people(app, VI_THANH, 12, 600)
    for i, user in enumerate(people):
        _attempt(app, rounds["tuan-1"], user, {k: (i + j) % 3 > 0 for j, k in enumerate(QUESTIONS)})
        _attempt(app, rounds["tuan-2"], user, {"q1": i % 2 == 0, QUESTIONS[1 + i % 3]: True})
    with app.app_context():
        before = dict(db.session.execute(select(Attempt.id, Attempt.paper)).all())
        assert len(before) == 24 and None not in before.values()
        alpha = contest_stats.round_stats(db.session, db.session.get(Round, rounds["tuan-1"])).alpha
        assert alpha is not None
        db.session.remove()
        downgrade(revision="0010")
        upgrade()
        assert dict(db.session.execute(select(Attempt.id, Attempt.paper)).all()) == before
        again = contest_stats.round_stats(db.session, db.session.get(Round, rounds["tuan-1"]))
        assert again.alpha == alpha
        db.session.remove()
        db.engine.dispose()


def test_alpha_is_over_the_largest_shared_set_only(app):  # type: ignore[no-untyped-def]
    """Twelve attempts given q1 and q2, three given q3 and q4, one given q1 and q3: alpha is
    the hand-computed alpha of the twelve (k = 2), never mixed with the others' answers."""
    set_clock(app, START)
    load_content(app, [("b.yaml", BANK), ("c.yaml", CONTEST)], START)
    with app.app_context():
        round_id = db.session.scalar(select(Round.id).where(Round.key == "tuan-2"))
    people = _people(app, NINH_KIEU, 16, 700)
    rng = random.Random(11)
    shared = []
    for user in people[:12]:
        ability = rng.random()
        marks = {"q1": rng.random() < ability, "q2": rng.random() < (ability + 0.3) / 1.3}
        shared.append(marks)
        _attempt(app, round_id, user, marks)
    for i, user in enumerate(people[12:15]):
        _attempt(app, round_id, user, {"q3": i > 0, "q4": i > 1})
    _attempt(app, round_id, people[15], {"q1": True, "q3": False})
    stats = stats_of(app, round_id)
    k = 2
    items = sum(statistics.pvariance([int(p[q]) for p in shared]) for q in ("q1", "q2"))
    total = statistics.pvariance([sum(p.values()) for p in shared])
    assert stats.alpha == round(k / (k - 1) * (1 - items / total), 4)
    assert (stats.alpha_attempts, stats.alpha_questions) == (12, 2)


# ------------------------------------------- the commune an attempt counts in (Attempt.unit_code)


def _move(app, user_ids: list[int], unit: int) -> None:  # type: ignore[no-untyped-def]
    """People change the commune of their account (they moved house)."""
    with app.app_context():
        db.session.execute(update(User).where(User.id.in_(user_ids)).values(unit_code=unit))
        db.session.commit()


def _views(app, rounds: dict[str, int]) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Everything a reader can see per commune, in every view: each round's and the contest's
    statistics (the whole province and each commune's own view), the ranking by unit, the live
    view's counts and the ranking of each commune's people."""
    grace = timedelta(0)
    out: dict[str, object] = {}
    with app.app_context():
        contest = db.session.scalar(select(Contest))
        communes = [
            VI_THANH,
            NINH_KIEU,
            CAI_KHE,
            *db.session.scalars(select(BestAttempt.unit_code).distinct()),
        ]
        out["contest"] = contest_stats.contest_stats(db.session, contest, now=START).model_dump()
        for code in sorted(set(communes)):
            unit = db.session.get(Unit, code)
            out[f"contest@{code}"] = contest_stats.contest_stats(
                db.session, contest, unit=unit, now=START
            ).model_dump()
        for key, round_id in rounds.items():
            round_ = db.session.get(Round, round_id)
            out[key] = contest_stats.round_stats(db.session, round_, now=START).model_dump()
            for code in sorted(set(communes)):
                unit = db.session.get(Unit, code)
                out[f"{key}@{code}"] = contest_stats.round_stats(
                    db.session, round_, unit=unit, now=START
                ).model_dump()
                board = ranking.board(db.session, round_, START, grace, unit=code)
                out[f"{key}/board@{code}"] = (
                    board.total,
                    [(r.standing.attempt_id, r.standing.place, r.unit_code) for r in board.rows],
                )
            units = ranking._unit_ranking(db.session, round_, False)
            out[f"{key}/units"] = [(u.code, u.participants, u.score_sum) for u in units.ranked] + [
                (u.code, u.participants, u.score_sum) for u in units.unknown
            ]
            live = ranking.live(db.session, round_, None, START, grace)
            out[f"{key}/live"] = [(u.code, u.people, u.entries) for u in live.units]
    return out


def test_an_attempt_counts_in_the_commune_its_person_first_took_part_from(app, fixture):
    """The rule (attempts.competing_commune): a new attempt counts in the commune of the
    person's earlier attempts at the round, else in their account's commune now. A resident
    of Vị Thanh who moves to Ninh Kiều between two attempts of one round still counts in Vị
    Thanh for that round, and in Ninh Kiều at the next round."""
    from app.services import attempts as attempt_service

    (user_id,) = _people(app, VI_THANH, 1, 900)
    with app.app_context():
        round_1 = db.session.get(Round, fixture["rounds"]["tuan-1"])
        round_2 = db.session.get(Round, fixture["rounds"]["tuan-2"])
        user = db.session.get(User, user_id)
        first, created = attempt_service.start(
            db.session, round_1, user, START, timedelta(0), random.Random(1)
        )
        assert created and first.unit_code == VI_THANH
        attempt_service.finish(db.session, first, START + timedelta(minutes=1), timedelta(0))
        user.unit_code = NINH_KIEU
        db.session.commit()
        second, created = attempt_service.start(
            db.session, round_1, user, START + timedelta(minutes=2), timedelta(0), random.Random(2)
        )
        assert created and second.number == 2 and second.unit_code == VI_THANH
        attempt_service.finish(db.session, second, START + timedelta(minutes=3), timedelta(0))
        best = db.session.get(BestAttempt, (round_1.id, user_id))
        assert best is not None and best.unit_code == VI_THANH
        other, created = attempt_service.start(
            db.session, round_2, user, START + timedelta(minutes=4), timedelta(0), random.Random(3)
        )
        assert created and other.unit_code == NINH_KIEU


def test_a_move_between_two_readings_reveals_nobody(app, fixture):
    """An attacker reads every view, waits for one resident of Vị Thanh to move to the fourth
    commune, and reads them again: had the views followed the account's commune, Vị Thanh's
    heat-map cells before less after would be that one person's answers (and the fourth
    commune's after less before the same). Every view counts an attempt in the commune it was
    made from, so nothing changes at all. (Failed before: the views joined `users`.)"""
    before = _views(app, fixture["rounds"])
    mover = fixture["people"][VI_THANH][3]
    _move(app, [mover], fixture["fourth"])
    after = _views(app, fixture["rounds"])
    assert [k for k in before if before[k] != after[k]] == []


def _people_per_cell(app, round_ids: list[int]) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """Distinct people behind the figures of each commune (from the finished attempts)."""
    with app.app_context():
        rows = db.session.execute(
            select(Attempt.unit_code, Attempt.user_id)
            .where(Attempt.round_id.in_(round_ids), Attempt.state.in_(("submitted", "expired")))
            .distinct()
        ).all()
    out: dict[int, int] = {}
    for code, _user in rows:
        out[code] = out.get(code, 0) + 1
    return out


def test_a_person_who_moved_between_rounds_is_never_a_group_of_their_own(app, fixture):
    """A resident of Ninh Kiều takes round 1 there, moves to Cái Khế (two people at round 1,
    none at round 2) and takes round 2 there: one person in Cái Khế at round 2. In every view
    (each round, the contest, each commune's own) every commune shown has the threshold or
    more people behind its figures, a commune hidden is never alone (its count would be the
    total less the others), a commune below the threshold answers `suppressed` to ?unit=,
    and the ranking by unit, the live view and the statistics count the same people in the
    same communes."""
    rounds = fixture["rounds"]
    mover = fixture["people"][NINH_KIEU][0]
    _move(app, [mover], CAI_KHE)
    _attempt(app, rounds["tuan-2"], mover, {"q1": True, "q3": False})
    with app.app_context():
        assert db.session.get(BestAttempt, (rounds["tuan-1"], mover)).unit_code == NINH_KIEU
        assert db.session.get(BestAttempt, (rounds["tuan-2"], mover)).unit_code == CAI_KHE
        contest = db.session.scalar(select(Contest))
        views = {
            "tuan-1": ([rounds["tuan-1"]], stats_of(app, rounds["tuan-1"])),
            "tuan-2": ([rounds["tuan-2"]], stats_of(app, rounds["tuan-2"])),
            "contest": (
                [rounds["tuan-1"], rounds["tuan-2"]],
                contest_stats.contest_stats(db.session, contest, now=START),
            ),
        }
    threshold = contest_stats.DEFAULT_THRESHOLD
    for name, (ids, stats) in views.items():
        behind = _people_per_cell(app, ids)
        shown = {u.code for u in stats.units if not u.suppressed}
        hidden = {u.code for u in stats.units if u.suppressed}
        assert all(behind[c] >= threshold for c in shown), name
        assert {c for c, n in behind.items() if n < threshold} <= hidden, name
        assert len(hidden) != 1, name
        assert {c.unit for c in stats.heat} <= shown, name
        assert all(u.participants == behind[u.code] for u in stats.units if not u.suppressed)
        for code in hidden:
            with app.app_context():
                unit = db.session.get(Unit, code)
                if name == "contest":
                    narrowed = contest_stats.contest_stats(
                        db.session, contest, unit=unit, now=START
                    )
                else:
                    narrowed = stats_of(app, ids[0], unit=code)
            assert narrowed.suppressed and narrowed.questions == [], (name, code)
    # Cái Khế: 1 person at round 2, 3 over the contest (2 + the mover): hidden in both.
    assert CAI_KHE in {u.code for u in views["tuan-2"][1].units if u.suppressed}
    # The contest counts the mover once, although two communes count them.
    assert views["contest"][1].participants == 27
    with app.app_context():
        for key in ("tuan-1", "tuan-2"):
            round_ = db.session.get(Round, rounds[key])
            units = ranking._unit_ranking(db.session, round_, False)
            ranked = {u.code: u.participants for u in [*units.ranked, *units.unknown]}
            live = ranking.live(db.session, round_, None, START, timedelta(0))
            assert (
                ranked
                == {u.code: u.people for u in live.units}
                == _people_per_cell(app, [rounds[key]])
            )
            board = ranking.board(db.session, round_, START, timedelta(0), unit=CAI_KHE)
            assert (mover in {r.standing.user_id for r in board.rows}) == (key == "tuan-2")


def test_the_migration_gives_the_attempts_stored_before_their_person_s_commune(tmp_path):  # type: ignore[no-untyped-def]
    """0013 fills `attempts.unit_code` from the account's commune (the only one known for the
    attempts stored before) and `best_attempts.unit_code` from its attempt: the statistics
    read the same afterwards."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from app.config import TestingConfig
    from app.services.units import load_units
    from tests.conftest import fresh_database_url

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url("unit", tmp_path))
    with app.app_context():
        upgrade()
        load_units(db.session, PROVINCE)
    set_clock(app, START)
    load_content(app, [("b.yaml", BANK), ("c.yaml", CONTEST)], START)
    with app.app_context():
        rounds = {r.key: r.id for r in db.session.scalars(select(Round))}
    people = _people(app, VI_THANH, 6, 700) + _people(app, NINH_KIEU, 6, 710)
    for i, user in enumerate(people):
        _attempt(app, rounds["tuan-1"], user, {k: (i + j) % 3 > 0 for j, k in enumerate(QUESTIONS)})
    with app.app_context():
        round_ = db.session.get(Round, rounds["tuan-1"])
        before = contest_stats.round_stats(db.session, round_, now=START).model_dump()
        assert {u["code"]: u["participants"] for u in before["units"]} == {
            VI_THANH: 6,
            NINH_KIEU: 6,
        }
        db.session.remove()
        downgrade(revision="0012")
        upgrade()
        pairs = db.session.execute(
            select(Attempt.unit_code, User.unit_code).join(User, User.id == Attempt.user_id)
        ).all()
        assert len(pairs) == 12 and all(a == u for a, u in pairs)
        best = db.session.execute(
            select(BestAttempt.unit_code, Attempt.unit_code).join(
                Attempt, Attempt.id == BestAttempt.attempt_id
            )
        ).all()
        assert len(best) == 12 and all(b == a for b, a in best)
        round_ = db.session.get(Round, rounds["tuan-1"])
        assert contest_stats.round_stats(db.session, round_, now=START).model_dump() == before
        db.session.remove()
        db.engine.dispose()


def test_the_contest_reads_each_round_s_participation_once(app, fixture):
    """The contest's view needs each round's participants per commune twice (its suppression
    decision, each round's line): one statement reads them for every round, one more the
    contest's distinct people; the lines do not read them again. (Failed before: 2 + 2 × the
    rounds statements, each round read twice.)"""
    from sqlalchemy import event

    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_a):  # type: ignore[no-untyped-def]
        flat = " ".join(statement.lower().split())
        if "from best_attempts" in flat and "group by" in flat and "unit_code" in flat:
            seen.append(flat)

    with app.app_context():
        contest = db.session.scalar(select(Contest))
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            stats = contest_stats.contest_stats(db.session, contest, now=START)
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
    assert [(r.participants, r.covered) for r in stats.rounds] == [(27, 4), (19, 2)]
    assert len(seen) == 2, seen
