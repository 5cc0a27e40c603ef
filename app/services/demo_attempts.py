"""Demo only: synthetic participants with finished attempts at a round, for the ranking's
benchmark and to show the ranking pages with realistic numbers. Clearly marked, removable.

A demo person is named "(demo) Họ Tên" AND has a phone in the reserved range
0899000000–0899999999; `remove` deletes exactly the accounts marked both ways, with their
attempts. Each attempt has a real paper (drawn like a real one, from the round's banks) with
its answers and marks, so that `flask contests recheck` finds it consistent.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.models import (
    AccountOrigin,
    Attempt,
    AttemptDevice,
    AttemptQuestion,
    BestAttempt,
    Certificate,
    Consent,
    Disqualification,
    QuestionVersion,
    Role,
    Round,
    Unit,
    UnitLevel,
    User,
)
from app.models.contests import paper_digest
from app.services import attempts as attempt_service
from app.services import standings

DEMO_MARK = "(demo)"
PHONE_FIRST = "0899000000"
PHONE_LAST = "0899999999"
DEMO_PASSWORD = "demo-mat-khau-2026"  # noqa: S105  (public demo password, as `flask demo`)
BATCH = 2_000
# How long a person takes: each question's reading and answering time is log-normal around
# SECONDS_PER_QUESTION, scaled by the person's own pace (log-normal, PACE_SIGMA), so that a
# paper of 18 questions takes about 4 minutes and nobody reads it in under a minute and a half.
SECONDS_PER_QUESTION = 12.0
QUESTION_SIGMA = 0.5
PACE_SIGMA = 0.25
# Where people come from: a browser of their own (a device id each), one of ADDRESSES_PER_PERSON
# times as many addresses as people (homes and mobile networks; some shared by chance), one of
# the common browsers of AGENTS; accounts made on the days before the round opens.
ADDRESSES_PER_PERSON = 4
AGENTS = [
    f"Mozilla/5.0 (Linux; Android {v}; {m}) Chrome/{c}"
    for v, m, c in (
        ("13", "SM-A145F", "126"),
        ("12", "Redmi 10C", "125"),
        ("14", "SM-A155F", "126"),
        ("11", "vivo 1906", "124"),
        ("13", "OPPO A58", "126"),
        ("10", "Nokia C20", "120"),
        ("14", "Redmi Note 13", "127"),
        ("12", "SM-A035F", "123"),
        ("13", "realme C53", "126"),
    )
] + [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126",
    "Zalo/24 (Android 12)",
]

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Võ", "Phan", "Trương", "Bùi"]
SURNAMES += ["Đặng", "Đỗ", "Ngô", "Hồ", "Dương", "Lâm", "Tô", "Châu", "Thái", "Lý"]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hoàng", "Quốc", "Thu", "Đức", "Kim"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hòa"]
GIVEN += ["Hùng", "Hương", "Khoa", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Nhung"]
GIVEN += ["Phúc", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Trí", "Tuấn", "Vy", "Yến"]


class DemoError(Exception):
    pass


@dataclass
class DemoReport:
    people: int
    attempts: int
    questions: int


def is_demo() -> Any:
    """The SQL condition that marks a demo account: both the name and the phone range."""
    return User.name.like(f"{DEMO_MARK} %") & User.phone.between(PHONE_FIRST, PHONE_LAST)


def _communes(session: Session, round_: Round) -> tuple[list[int], list[float]]:
    audience = round_.contest.audience
    rows = session.execute(
        select(Unit.code, Unit.parent_code, Unit.population).where(Unit.level == UnitLevel.COMMUNE)
    ).all()
    chosen = [
        (code, population)
        for code, parent, population in rows
        if not audience or code in audience or parent in audience
    ]
    if not chosen:
        raise DemoError("No commune or ward may take part in this round: load units first.")
    # Weighted by population where it is known, so that per-1,000 figures look plausible.
    return [c for c, _p in chosen], [float(p or 10_000) for _c, p in chosen]


def create(
    session: Session, round_: Round, count: int, now: datetime, seed: int | None = None
) -> DemoReport:
    """`count` demo people, each with one or two finished attempts at `round_`."""
    end = min(round_.closes_at, now)
    if end <= round_.opens_at:
        raise DemoError("This round has not opened yet: demo attempts need a past to be in.")
    rng = random.Random(seed)
    pools = attempt_service.draw_pools(session, round_)
    counts = [d["count"] for d in round_.draw]
    version_ids = {c.version_id for pool in pools for c in pool}
    answers = dict(
        session.execute(
            select(QuestionVersion.id, QuestionVersion.answer).where(
                QuestionVersion.id.in_(version_ids)
            )
        ).all()
    )
    communes, weights = _communes(session, round_)
    last_phone = session.scalar(
        select(func.max(User.phone)).where(User.phone.between(PHONE_FIRST, PHONE_LAST))
    )
    next_phone = int(last_phone) + 1 if last_phone else int(PHONE_FIRST)
    if next_phone + count - 1 > int(PHONE_LAST):
        raise DemoError("The reserved demo phone range is full: remove the demo attempts first.")
    password_hash = generate_password_hash(DEMO_PASSWORD)
    limit = timedelta(seconds=round_.time_limit_s)
    span = max(0.0, (end - round_.opens_at - limit).total_seconds())
    guess = max(1.0, count * 0.2)
    report = DemoReport(0, 0, 0)
    users_table, attempts_table = User.__table__, Attempt.__table__
    for first in range(0, count, BATCH):
        size = min(BATCH, count - first)
        people = [
            {
                "name": f"{DEMO_MARK} {rng.choice(SURNAMES)} {rng.choice(MIDDLE)} "
                f"{rng.choice(GIVEN)}",
                "phone": f"0{next_phone + first + i:09d}",
                "password_hash": password_hash,
                "role": Role.RESIDENT.value,
                "unit_code": rng.choices(communes, weights)[0],
                "auth_nonce": secrets.token_hex(16),
                "created_at": round_.opens_at - timedelta(seconds=rng.random() * 14 * 86_400),
            }
            for i in range(size)
        ]
        origins = [  # (address, browser, device) of each person
            (
                rng.randrange(count * ADDRESSES_PER_PERSON),
                rng.choice(AGENTS),
                f"{rng.getrandbits(128):032x}",
            )
            for _ in range(size)
        ]
        user_ids = (
            session.execute(
                insert(users_table).returning(users_table.c.id, sort_by_parameter_order=True),
                people,
            )
            .scalars()
            .all()
        )
        session.execute(
            insert(AccountOrigin.__table__),
            [
                {
                    "user_id": user_id,
                    "device": device,
                    "address": _mark("signup", address),
                    "created_at": person["created_at"],
                }
                for user_id, person, (address, _agent, device) in zip(
                    user_ids, people, origins, strict=True
                )
            ],
        )
        attempt_rows: list[dict[str, Any]] = []
        papers: list[list[dict[str, Any]]] = []
        marks: list[dict[str, Any]] = []
        for user_id, person, (address, agent, device) in zip(
            user_ids, people, origins, strict=True
        ):
            skill = rng.betavariate(6, 1.2)
            pace = rng.lognormvariate(0, PACE_SIGMA)
            tries = 2 if round_.attempts >= 2 and rng.random() < 0.3 else 1
            for number in range(1, tries + 1):
                started = round_.opens_at + timedelta(seconds=rng.random() * span)
                deadline = min(started + limit, round_.closes_at)
                longest = int((min(deadline, end) - started).total_seconds() * 1000)
                paper = attempt_service.draw_paper(pools, counts, rng)
                reading = sum(
                    rng.lognormvariate(math.log(SECONDS_PER_QUESTION), QUESTION_SIGMA)
                    for _ in paper
                )
                duration = max(0, min(longest, int(reading * pace * 1000)))
                submitted = started + timedelta(milliseconds=duration)
                questions = []
                for position, item in enumerate(paper, start=1):
                    answer = answers[item.version_id]
                    if rng.random() < skill:
                        selected = sorted(answer)
                    else:
                        wrong = [i for i in range(item.choices) if i not in answer] or [0]
                        selected = [rng.choice(wrong)]
                    order = list(range(item.choices))
                    if item.shuffle:
                        rng.shuffle(order)
                    questions.append(
                        {
                            "position": position,
                            "question_version_id": item.version_id,
                            "choice_order": order,
                            "selected": selected,
                            "seq": 1,
                            "answered_at": submitted,
                            "correct": selected == sorted(answer),
                        }
                    )
                prediction = None
                if round_.prediction != "none":
                    prediction = max(0, int(rng.lognormvariate(math.log(guess), 0.6)))
                attempt_rows.append(
                    {
                        "round_id": round_.id,
                        "user_id": user_id,
                        "number": number,
                        "state": "expired" if submitted >= deadline else "submitted",
                        "started_at": started,
                        "deadline": deadline,
                        "submitted_at": submitted,
                        "duration_ms": duration,
                        "score": sum(q["correct"] for q in questions),
                        "max_score": len(questions),
                        "prediction": prediction,
                        "paper": paper_digest(q["question_version_id"] for q in questions),
                        "unit_code": person["unit_code"],
                    }
                )
                papers.append(questions)
                marks.append({"device": device, "client": _mark(round_.id, address, agent)})
        attempt_ids = (
            session.execute(
                insert(attempts_table).returning(attempts_table.c.id, sort_by_parameter_order=True),
                attempt_rows,
            )
            .scalars()
            .all()
        )
        rows = [
            {"attempt_id": attempt_id, **question}
            for attempt_id, questions in zip(attempt_ids, papers, strict=True)
            for question in questions
        ]
        session.execute(insert(AttemptQuestion.__table__), rows)
        session.execute(
            insert(AttemptDevice.__table__),
            [
                {"attempt_id": attempt_id, **mark}
                for attempt_id, mark in zip(attempt_ids, marks, strict=True)
            ],
        )
        session.commit()
        report.people += size
        report.attempts += len(attempt_rows)
        report.questions += len(rows)
    standings.rebuild(session, round_)  # one pass for the whole load, not one upsert a person
    session.commit()
    return report


def _mark(*parts: object) -> str:
    """A demo address's mark, shaped like app.devices.keyed (never equal to a real one)."""
    joined = "\x1f".join(str(p) for p in ("demo", *parts))
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def remove(session: Session) -> DemoReport:
    """Delete the demo accounts (marked by name and phone range) and everything of theirs."""
    demo_users = select(User.id).where(is_demo())
    demo_attempts = select(Attempt.id).where(Attempt.user_id.in_(demo_users))
    session.execute(
        delete(BestAttempt).where(BestAttempt.user_id.in_(demo_users)),
        execution_options={"synchronize_session": False},
    )
    for table, column in (
        (AttemptDevice, AttemptDevice.attempt_id.in_(demo_attempts)),
        (Certificate, Certificate.user_id.in_(demo_users)),
        (Disqualification, Disqualification.user_id.in_(demo_users)),
        (AccountOrigin, AccountOrigin.user_id.in_(demo_users)),
    ):
        session.execute(
            delete(table).where(column), execution_options={"synchronize_session": False}
        )
    questions = session.execute(
        delete(AttemptQuestion).where(AttemptQuestion.attempt_id.in_(demo_attempts)),
        execution_options={"synchronize_session": False},
    ).rowcount
    attempts = session.execute(
        delete(Attempt).where(Attempt.user_id.in_(demo_users)),
        execution_options={"synchronize_session": False},
    ).rowcount
    session.execute(
        delete(Consent).where(Consent.user_id.in_(demo_users)),
        execution_options={"synchronize_session": False},
    )
    people = session.execute(
        delete(User).where(is_demo()), execution_options={"synchronize_session": False}
    ).rowcount
    session.commit()
    return DemoReport(people, attempts, questions)


def frozen_rounds_with_demo(session: Session) -> list[Round]:
    """Rounds whose figure was frozen while demo attempts counted (to warn before removing)."""
    return list(
        session.scalars(
            select(Round).where(
                Round.frozen_at.is_not(None),
                Round.id.in_(
                    select(Attempt.round_id).where(
                        Attempt.user_id.in_(select(User.id).where(is_demo()))
                    )
                ),
            )
        )
    )
