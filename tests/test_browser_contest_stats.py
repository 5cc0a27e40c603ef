"""A leader reads a round's and a contest's analytics in real Chromium at 360 px and 1280 px:
no error, no JavaScript error under the CSP, the heat map drawn, nothing wider than the
screen; screenshots in docs/screenshots/contest-*.png.

Data: the sample contest in quizzes/, 900 people in 24 communes, whose chance of a right
answer depends on the question's difficulty, the topic and the commune (so the heat map has
something to show).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from tests.conftest import CHROMIUM, PROVINCE, draw_every_chart, fits_the_screen, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
LOADED = datetime(2026, 11, 20, tzinfo=UTC)
EASE = {"easy": 0.85, "medium": 0.7, "hard": 0.45}


@pytest.fixture
def contest(app, make_user):  # type: ignore[no-untyped-def]
    from app.content.pipeline import find_files
    from app.extensions import db
    from app.models import Attempt, AttemptQuestion, Contest, QuestionVersion, Unit, UnitLevel, User
    from app.services import attempts as attempt_service
    from app.services import standings
    from tests.conftest import load_content, set_clock

    root = Path(__file__).resolve().parent.parent / "quizzes"
    files = [(str(p), p.read_text(encoding="utf-8")) for p in find_files([str(root)])]
    rng = random.Random(2026)
    load_content(app, files, LOADED)
    with app.app_context():
        contest = db.session.scalar(select(Contest))
        rounds = contest.rounds[:2]
        set_clock(app, rounds[1].closes_at + timedelta(hours=1))
        communes = db.session.scalars(
            select(Unit.code).where(Unit.level == UnitLevel.COMMUNE).order_by(Unit.code)
        ).all()[:24]
        for i, code in enumerate(communes):
            db.session.get(Unit, code).population = 3000 + 750 * i
        db.session.commit()
        meta = {
            v.id: (v.difficulty, v.topic, v.answer)
            for v in db.session.scalars(select(QuestionVersion))
        }
        topic_bias = {t: rng.uniform(-0.2, 0.1) for _d, t, _a in meta.values()}
        people = [
            {
                "name": f"Người {i}",
                "phone": f"0966{i:06d}",
                "password_hash": "-",
                "role": "resident",
                "unit_code": communes[min(int(rng.paretovariate(1.2)) - 1, 23)],
                "auth_nonce": f"{i:032d}",
            }
            for i in range(900)
        ]
        user_ids = db.session.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True), people
        ).scalars()
        users = list(zip(user_ids, [p["unit_code"] for p in people], strict=True))
        commune_bias = {c: rng.uniform(-0.15, 0.15) for c in communes}
        for round_index, round_ in enumerate(rounds):
            pools = attempt_service.draw_pools(db.session, round_)
            counts = [d["count"] for d in round_.draw]
            for user_id, unit in users[: 900 - 300 * round_index]:
                skill = rng.uniform(-0.15, 0.15)
                paper = attempt_service.draw_paper(pools, counts, rng)
                marks = []
                for item in paper:
                    difficulty, topic, _answer = meta[item.version_id]
                    chance = EASE[difficulty] + topic_bias[topic] + commune_bias[unit] + skill
                    marks.append((item.version_id, rng.random() < chance))
                started = round_.opens_at + timedelta(hours=1 + rng.random() * 100)
                attempt = Attempt(
                    round_id=round_.id,
                    user_id=user_id,
                    number=1,
                    state="submitted",
                    started_at=started,
                    deadline=started + timedelta(seconds=round_.time_limit_s),
                    submitted_at=started + timedelta(minutes=8),
                    duration_ms=480_000 + rng.randint(0, 60_000),
                    score=sum(right for _v, right in marks),
                    max_score=len(marks),
                    unit_code=unit,
                )
                attempt.questions = [
                    AttemptQuestion(
                        position=p,
                        question_version_id=v,
                        choice_order=[0, 1, 2, 3],
                        selected=[0],
                        correct=right,
                    )
                    for p, (v, right) in enumerate(marks, start=1)
                ]
                db.session.add(attempt)
                db.session.flush()
                standings.record(db.session, attempt.id, None)
        db.session.commit()
        return {"contest": contest.id, "round": rounds[0].id}


def test_a_leader_reads_the_contest_analytics_on_a_phone_and_a_desktop(  # type: ignore[no-untyped-def]
    app, page, contest, make_user
):
    from app.models import Role

    make_user(role=Role.LEADER, unit=PROVINCE, phone="0912000001")
    sign_in(page, "0912000001")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((360, 740), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(f"{page.base}/results/rounds/{contest['round']}")
        assert response is not None and response.status == 200
        assert len(response.body()) < 300_000
        # plotly drew the heat map shown at this width (with its figures in the cells or not)
        draw_every_chart(page)
        assert fits_the_screen(page)
        assert "xã, phường có người dự thi" in page.locator("#coverage").inner_text()
        page.screenshot(path=str(SHOTS / f"contest-round-{width}.png"))
        page.locator("#heat").screenshot(path=str(SHOTS / f"contest-heat-{width}.png"))
        page.locator("#hardest").screenshot(path=str(SHOTS / f"contest-hardest-{width}.png"))
        response = page.goto(f"{page.base}/results/contests/{contest['contest']}")
        assert response is not None and response.status == 200
        draw_every_chart(page)
        assert fits_the_screen(page)
        page.screenshot(path=str(SHOTS / f"contest-all-rounds-{width}.png"))
        if width > 360:
            page.locator("#scores").screenshot(path=str(SHOTS / "contest-scores-1280.png"))
            page.locator("#units").screenshot(path=str(SHOTS / "contest-units-1280.png"))
    assert page.problems == []
