"""Demo survey responses (marked `demo`, removable at once), plausible enough for the charts:
each commune has its own mood, people's answers follow it with noise, skip logic is honoured."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from app.models import Survey, SurveyAnswer, SurveyResponse, Unit, UnitLevel
from app.services.survey_definition import (
    QuestionDef,
    SurveyDef,
    definition,
    stored_figures,
)
from app.services.surveys import _values, visible_keys

TEXTS = [
    "Thủ tục còn chậm, phải đi lại nhiều lần.",
    "Cán bộ tận tình, hướng dẫn rõ ràng.",
    "Mong niêm yết công khai lịch tiếp công dân.",
    "Nên nhắn tin qua Zalo khi hồ sơ có kết quả.",
]


def _answer(q: QuestionDef, mood: float, rng: random.Random) -> Any:
    k = len(q.choices)
    if q.type == "scale":
        return min(k, max(1, round(rng.gauss(1 + mood * (k - 1), 0.9))))
    if q.type == "grid":
        return {
            str(r): min(k, max(1, round(rng.gauss(1 + mood * (k - 1), 1.0))))
            for r in range(1, len(q.rows) + 1)
        }
    if q.type == "single":
        return rng.randint(1, k)
    if q.type == "multiple":
        limit = int(q.max or k)
        return sorted(rng.sample(range(1, k + 1), rng.randint(1, min(limit, k, 3))))
    if q.type == "rating":
        return min(10, max(0, round(rng.gauss(mood * 10, 2))))
    if q.type == "number":
        low, high = q.min if q.min is not None else 0, q.max if q.max is not None else 20
        return min(high, max(low, round(abs(rng.gauss(3, 3)))))
    return rng.choice(TEXTS) if rng.random() < 0.3 else None


def generate(
    session: Session, survey: Survey, count: int, seed: int = 2026, batch: int = 5000
) -> int:
    rng = random.Random(seed)
    defn: SurveyDef = definition(session, survey)
    units = session.scalars(select(Unit.code).where(Unit.level == UnitLevel.COMMUNE)).all()
    if survey.audience:
        units = [u for u in units if u in survey.audience] or units
    # The hamlet each response names (issue 20): its own random stream, so that the figures
    # drawn above stay those of the same seed; some name none.
    places = random.Random(seed + 1)
    hamlets: dict[int, list[int | None]] = {}
    for code, commune in session.execute(
        select(Unit.code, Unit.parent_code).where(Unit.level == UnitLevel.HAMLET)
    ):
        hamlets.setdefault(commune, [None]).append(code)
    mood = {u: rng.uniform(0.35, 0.85) for u in units}
    weights = [rng.uniform(0.2, 3.0) for _u in units]
    days = max(
        1, (min(survey.closes_at, datetime.now(survey.closes_at.tzinfo)) - survey.opens_at).days
    )
    made = 0
    while made < count:
        responses, answers = [], []
        for _ in range(min(batch, count - made)):
            unit = rng.choices(units, weights)[0]
            values: dict[str, Any] = {}
            for q in defn.questions:
                value = _answer(q, mood[unit], rng)
                if value is not None:
                    values[q.key] = value
            shown = visible_keys(defn, values)
            values = {key: value for key, value in values.items() if key in shown}
            rid = uuid.uuid4()
            responses.append(
                {
                    "id": rid,
                    "survey_id": survey.id,
                    "unit_code": unit,
                    "hamlet_code": places.choice(hamlets[unit]) if unit in hamlets else None,
                    "signed_in": True,
                    "user_id": None,
                    "submitted_on": (survey.opens_at + timedelta(days=rng.randrange(days))).date(),
                    "demo": True,
                    **stored_figures(defn, values),
                }
            )
            for key, value in values.items():  # skip logic: a hidden question has no answer
                q = defn.by_key[key]
                for item, v, n, t in _values(q, value):
                    answers.append(
                        {
                            "response_id": rid,
                            "question_id": q.id,
                            "item": item,
                            "value": v,
                            "number": n,
                            "text": t,
                        }
                    )
        # Core inserts: one batch each (ORM bulk inserts split the rows wherever their None
        # columns differ).
        session.execute(insert(SurveyResponse.__table__), responses)
        session.execute(insert(SurveyAnswer.__table__), answers)
        session.commit()
        made += len(responses)
    return made


def existing(session: Session, survey: Survey) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.survey_id == survey.id, SurveyResponse.demo.is_(True))
        )
        or 0
    )


def remove(session: Session, survey: Survey | None = None) -> int:
    demo = select(SurveyResponse.id).where(SurveyResponse.demo.is_(True))
    if survey is not None:
        demo = demo.where(SurveyResponse.survey_id == survey.id)
    session.execute(delete(SurveyAnswer).where(SurveyAnswer.response_id.in_(demo)))
    removed = session.execute(
        delete(SurveyResponse).where(SurveyResponse.id.in_(select(demo.subquery().c.id)))
    ).rowcount
    session.commit()
    return removed
