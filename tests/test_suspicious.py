"""Suspicious entries before prizes (issue 19, point 4): planted cases (a shared device through
the real sign-up and start routes, a copied answer sequence in 40 s, a burst of sign-ups) are
each found with their figures; 1,000 ordinary demo entries give no flag; disqualification
(officers within scope, a reason, audit-logged) shifts the ranking, changes the export and
`flask contests recheck` agrees."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AccountOrigin,
    Attempt,
    AttemptDevice,
    AttemptQuestion,
    AuditEvent,
    BestAttempt,
    Round,
    User,
)
from app.services import demo_attempts, ranking, ranking_audit, standings, suspicious
from app.services.attempts import competing_commune
from tests.conftest import NINH_KIEU, PASSWORD, PROVINCE, VI_THANH, csrf_token, set_clock
from tests.test_auth import register_form

ROOT = Path(__file__).resolve().parent.parent
OPEN = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday of week 1 (tuan-1), 10:00 local
AFTER = datetime(2026, 11, 29, 13, 10, tzinfo=UTC)  # after the close (20:00 local) and grace
GRACE = timedelta(seconds=10)


@pytest.fixture
def week(app):  # type: ignore[no-untyped-def]
    return open_week(app)


def open_week(app):  # type: ignore[no-untyped-def]
    """The sample contest (18 questions a paper from three real banks), week 1 open."""
    from app.content.pipeline import find_files, load_files
    from app.content.store import Actor

    clock = set_clock(app, OPEN)
    with app.app_context():
        files = [(str(p), p.read_bytes()) for p in find_files([str(ROOT / "quizzes")])]
        outcomes = load_files(db.session, files, Actor(unit_code=PROVINCE, is_admin=True), OPEN)
        assert all(o.ok for o in outcomes)
        round_id = db.session.scalar(select(Round.id).where(Round.key == "tuan-1"))
    return clock, round_id


def demo(app, round_id: int, count: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        demo_attempts.create(db.session, round_, count, OPEN, seed=seed)


def report(app, round_id: int) -> suspicious.Report:  # type: ignore[no-untyped-def]
    with app.app_context():
        return suspicious.report(db.session, db.session.get(Round, round_id), OPEN)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_thousand_ordinary_demo_entries_raise_no_flag(app, week, seed):
    _clock, r = week
    demo(app, r, 1000, seed)
    found = report(app, r)
    assert found.attempts >= 1000
    assert found.entries == [], [(e.user_id, e.flags) for e in found.entries]
    # Not vacuous: the demo entries have devices, addresses and sign-up origins to compare.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AttemptDevice)) >= 1000
        assert db.session.scalar(select(func.count()).select_from(AccountOrigin)) == 1000


def new_resident(app, phone: str, name: str = "Lê Văn Gian") -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = User(name=name, phone=phone, password_hash="-", unit_code=VI_THANH)
        db.session.add(user)
        db.session.commit()
        return user.id


def copy_attempt(app, source_id: int, user_id: int, seconds: float) -> int:  # type: ignore[no-untyped-def]
    """A finished attempt of `user_id` with the same questions (in reverse order, choices shown
    in another order) and the same answers as `source_id`, in `seconds`."""
    with app.app_context():
        source = db.session.get(Attempt, source_id)
        submitted = OPEN + timedelta(hours=5)
        copy = Attempt(
            round_id=source.round_id,
            user_id=user_id,
            number=1,
            state="submitted",
            started_at=submitted - timedelta(seconds=seconds),
            deadline=submitted + timedelta(minutes=10),
            submitted_at=submitted,
            duration_ms=int(seconds * 1000),
            score=source.score,
            max_score=source.max_score,
            paper=source.paper,
            unit_code=competing_commune(db.session, source.round_id, db.session.get(User, user_id)),
        )
        questions = list(reversed(source.questions))
        for position, q in enumerate(questions, start=1):
            copy.questions.append(
                AttemptQuestion(
                    position=position,
                    question_version_id=q.question_version_id,
                    choice_order=list(reversed(q.choice_order)),
                    selected=q.selected,
                    seq=1,
                    answered_at=submitted,
                    correct=q.correct,
                )
            )
        db.session.add(copy)
        db.session.flush()
        standings.record(db.session, copy.id)
        db.session.commit()
        return copy.id


def test_planted_cases_are_each_found_with_their_figures(app, client, week):
    _clock, r = week
    demo(app, r, 300, 5)
    # 1. Two accounts signed up and started in one browser (the device cookie), via the routes.
    starters = []
    for phone, name in (("0912345001", "Phạm Văn Một"), ("0912345002", "Phạm Văn Hai")):
        assert register_form(client, phone=phone, name=name).status_code == 302
        token = csrf_token(client, f"/contests/rounds/{r}")
        started = client.post(f"/contests/rounds/{r}/start", data={"csrf_token": token})
        assert started.status_code == 302
        client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/account/")})
        with app.app_context():
            starters.append(db.session.scalar(select(User.id).where(User.phone == phone)))
    with app.app_context():  # the device id and a keyed hash, never the raw address
        origin = db.session.get(AccountOrigin, starters[0])
        assert origin.device and len(origin.address) == 32 and "127.0.0.1" not in origin.address
        marks = db.session.scalars(select(AttemptDevice)).all()
        ours = [m for m in marks if m.device == origin.device]
        assert len(ours) == 2 and len({m.client for m in ours}) == 1
        # the two attempts finish, as they would at their deadline
        for attempt in db.session.scalars(select(Attempt).where(Attempt.user_id.in_(starters))):
            from app.services import attempts as attempt_service

            attempt_service.finish(db.session, attempt, OPEN + timedelta(minutes=4), GRACE, 5)
    # 2. A copied answer sequence in 40 s (of a perfect or any ordinary paper).
    with app.app_context():
        source = db.session.scalar(
            select(Attempt.id)
            .where(Attempt.round_id == r, Attempt.state.in_(("submitted", "expired")))
            .order_by(Attempt.score.desc(), Attempt.id)
            .limit(1)
        )
    copier = new_resident(app, "0912345003", "Đỗ Văn Chép")
    copy_attempt(app, source, copier, 40)
    # 3. A burst: six accounts from one address in five minutes; one of them enters.
    burst = [new_resident(app, f"091234510{i}", "Võ Văn Loạt") for i in range(6)]
    with app.app_context():
        mark = hashlib.sha256(b"one address").hexdigest()[:32]
        for i, uid in enumerate(burst):
            db.session.add(
                AccountOrigin(
                    user_id=uid,
                    device=f"{i:032x}",
                    address=mark,
                    created_at=OPEN - timedelta(hours=1) + timedelta(minutes=i),
                )
            )
        db.session.commit()
    entrant = copy_attempt(app, source, burst[0], 600)  # a normal time: only the burst flags it
    found = report(app, r)
    by_user: dict[int, dict[str, list[suspicious.Flag]]] = {}
    for e in found.entries:
        for f in e.flags:
            by_user.setdefault(e.user_id, {}).setdefault(f.kind, []).append(f)
    for uid in starters:
        (device,) = by_user[uid]["device"]
        assert device.figures["accounts"] == 2 and set(device.others) == set(starters) - {uid}
        assert "client" not in by_user[uid]  # the same pair is not counted twice
    owner = report_owner(app, source)
    (copied,) = [f for f in by_user[copier]["copy"] if owner in f.others]
    assert copied.figures["seconds"] == 40 and copied.figures["common"] == 18
    assert copied.figures["same"] == 18 and copied.figures["other_seconds"] > 60
    assert [f.others for f in by_user[owner]["copy"]] == [(copier,)]  # the copier's source
    (burst_flag,) = by_user[burst[0]]["burst"]
    assert burst_flag.figures == {"accounts": 6, "minutes": 5.0}
    assert set(burst_flag.others) == set(burst[1:])
    assert entrant and all(uid not in by_user for uid in burst[1:])  # no entry: not listed
    # Nobody else: the 300 ordinary entries stay unflagged.
    assert set(by_user) == {*starters, copier, owner, burst[0]}, set(by_user)


def report_owner(app, attempt_id: int) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(Attempt, attempt_id).user_id


def test_a_perfect_score_far_faster_than_the_round_is_flagged(app, week):
    _clock, r = week
    demo(app, r, 300, 9)
    with app.app_context():
        perfect = db.session.scalar(
            select(Attempt.id).where(Attempt.round_id == r, Attempt.score == Attempt.max_score)
        )
    assert perfect is not None
    fast = new_resident(app, "0912345200", "Ngô Văn Nhanh")
    copy_attempt(app, perfect, fast, 45)
    found = report(app, r)
    flags = {f.kind: f for e in found.entries if e.user_id == fast for f in e.flags}
    assert flags["fast"].figures["seconds"] == 45
    assert flags["fast"].figures["p1_seconds"] > 45


# ---------------------------------------------------------------------- disqualification


def officer_login(client, make_user, phone: str, unit: int) -> None:  # type: ignore[no-untyped-def]
    make_user(role="officer", phone=phone, unit=unit)
    client.post(
        "/auth/login",
        data={
            "phone": phone,
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/auth/login"),
        },
    )


def test_disqualification_shifts_the_ranking_export_and_recheck(
    app, client, runner, make_user, week, tmp_path
):
    clock, r = week
    demo(app, r, 40, 11)
    clock.now = AFTER
    with app.app_context():
        round_ = db.session.get(Round, r)
        before = ranking.ranking(db.session, round_, AFTER, GRACE).standings
        leader = before[0].user_id
        export_before = ranking_audit.export_file(db.session, round_, AFTER, GRACE, "csv")
    page = f"/contests/rounds/{r}/suspicious"
    # A resident, an officer of another commune, nobody: refused.
    assert client.get(page).status_code == 302
    officer_login(client, make_user, "0911000010", NINH_KIEU)
    assert client.get(page).status_code == 403
    token = csrf_token(client, "/account/")
    form = {"csrf_token": token, "user": str(leader), "reason": "Gian lận"}
    assert client.post(f"/contests/rounds/{r}/disqualify", data=form).status_code == 403
    client.post("/auth/logout", data={"csrf_token": token})
    officer_login(client, make_user, "0911000011", PROVINCE)
    html = client.get(page).get_data(as_text=True)
    assert "Bài thi đáng ngờ" in html and "Không có bài dự thi nào" in html
    token = csrf_token(client, page)
    base = {"csrf_token": token}
    empty = client.post(f"/contests/rounds/{r}/disqualify", data={**base, "user": str(leader)})
    assert empty.status_code == 422 and "lý do" in empty.get_data(as_text=True)
    guessed = client.post(
        f"/contests/rounds/{r}/disqualify", data={**base, "user": "999999", "reason": "x"}
    )
    assert guessed.status_code == 404
    bad = client.post(
        f"/contests/rounds/{r}/disqualify", data={**base, "user": "1e9", "reason": "x"}
    )
    assert bad.status_code == 400
    done = client.post(
        f"/contests/rounds/{r}/disqualify",
        data={**base, "user": str(leader), "reason": "Dùng nhiều số điện thoại"},
    )
    assert done.status_code == 302
    again = client.post(
        f"/contests/rounds/{r}/disqualify", data={**base, "user": str(leader), "reason": "lần 2"}
    )
    assert again.status_code == 409
    with app.app_context():
        round_ = db.session.get(Round, r)
        after = ranking.ranking(db.session, round_, AFTER, GRACE).standings
        assert [s.user_id for s in after] == [s.user_id for s in before[1:]]
        assert after[0].place == 1
        export_after = ranking_audit.export_file(db.session, round_, AFTER, GRACE, "csv")
        assert export_after.sha256 != export_before.sha256
        rows = ranking_audit.read_export_csv(export_after.data)
        assert str(before[0].attempt_id) not in {row["attempt_id"] for row in rows}
        assert len(rows) == len(before) - 1
        # A rebuild of the standings (as at the close) keeps the person out.
        standings.rebuild(db.session, round_)
        db.session.commit()
        assert (
            db.session.scalar(
                select(func.count()).where(BestAttempt.round_id == r, BestAttempt.user_id == leader)
            )
            == 0
        )
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "entry.disqualify"))
        assert event.target == f"round:{r}" and event.detail["user_id"] == leader
    csv_file = tmp_path / "r.csv"
    csv_file.write_bytes(export_after.data)
    checked = runner.invoke(args=["contests", "recheck", str(r), "--export", str(csv_file)])
    assert checked.exit_code == 0, checked.output
    html = client.get(page).get_data(as_text=True)
    assert "Đã loại" in html and "Dùng nhiều số điện thoại" in html
    exported = client.get(f"/contests/rounds/{r}/suspicious.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "Dùng nhiều số điện thoại" in exported.get_data(as_text=True)
