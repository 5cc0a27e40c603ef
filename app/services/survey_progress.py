"""How a survey is going, counted in the database: responses per commune against the audience,
completion of identified surveys, and the overall results a `show_results` survey shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, literal_column, select, update
from sqlalchemy.orm import Session

from app.content.messages import N_
from app.errors import DomainError
from app.models import (
    Role,
    Survey,
    SurveyDraft,
    SurveyResponse,
    Unit,
    UnitLevel,
    User,
)
from app.parse import bounded_int
from app.services import analytics, audit, tallies
from app.services.cube import HAMLET
from app.services.policy import in_scope, place_in_scope, within
from app.services.suppression import NOT_STATED, RESPONSES, TableDecision
from app.services.survey_definition import SurveyDef
from app.text import vietnamese_key

# The "no hamlet named" row as SQL text, not a bound parameter: PostgreSQL refuses a GROUP BY
# whose coalesce(…, $2) differs from the selected coalesce(…, $1).
NOT_STATED_SQL = literal_column(str(NOT_STATED))


@dataclass(frozen=True)
class UnitProgress:
    code: int
    name: str
    responses: int | None  # None: hidden (small groups: a commune the results hide)
    residents: int  # registered residents: the audience the app can reach
    population: int | None
    hamlets: int = 0  # the commune's hamlets: a breakdown by hamlet may be asked


def responses_per_unit(session: Session, survey: Survey, scope: Unit | None) -> list[UnitProgress]:
    """Responses per commune within `scope`; a commune that the survey's results hide (fewer
    people than its threshold, or its complement) shows no count."""
    responses = (
        select(SurveyResponse.unit_code, func.count().label("n"))
        .where(SurveyResponse.survey_id == survey.id)
        .group_by(SurveyResponse.unit_code)
        .subquery()
    )
    residents = (
        select(User.unit_code, func.count().label("n"))
        .where(User.role == Role.RESIDENT, User.deleted_at.is_(None))
        .group_by(User.unit_code)
        .subquery()
    )
    stmt = (
        select(
            Unit.code,
            Unit.name,
            func.coalesce(responses.c.n, 0),
            func.coalesce(residents.c.n, 0),
            Unit.population,
        )
        .outerjoin(responses, responses.c.unit_code == Unit.code)
        .outerjoin(residents, residents.c.unit_code == Unit.code)
        .where(Unit.level == UnitLevel.COMMUNE, in_scope(Unit.code, scope))
    )
    decision = analytics.hidden_groups(session, survey)
    hidden, everything = decision.units(), decision.everything()
    hamlets = dict(
        session.execute(
            select(Unit.parent_code, func.count())
            .where(Unit.level == UnitLevel.HAMLET)
            .group_by(Unit.parent_code)
        ).all()
    )
    tallied = tallies.forms_per_unit(session, survey)  # counted as the results count them
    rows = [
        UnitProgress(
            code,
            name,
            None if everything or code in hidden else n + tallied.get(code, 0),
            residents,
            population,
            hamlets.get(code, 0),
        )
        for code, name, n, residents, population in session.execute(stmt)
    ]
    if survey.audience:
        everywhere = scope is not None and scope.code in survey.audience
        rows = [r for r in rows if r.code in survey.audience or everywhere]
    return sorted(rows, key=lambda r: vietnamese_key(r.name))


@dataclass(frozen=True)
class HamletProgress:
    code: int  # NOT_STATED (0): the commune's responses that name no hamlet
    name: str
    kind: str
    responses: int | None  # None: hidden (hamlet_decision)
    residents: int  # registered residents who named this hamlet (or none)
    population: int | None


def _hamlet_counts(session: Session, survey: Survey, commune: Unit) -> dict[int, int]:
    hamlet = func.coalesce(SurveyResponse.hamlet_code, NOT_STATED_SQL)
    stmt = (
        select(hamlet, func.count())
        .where(SurveyResponse.survey_id == survey.id, SurveyResponse.unit_code == commune.code)
        .group_by(hamlet)
    )
    counts = {code: n for code, n in session.execute(stmt).all()}
    # Hand-counted forms count where the results count them, or a hamlet's row and the
    # commune's (which includes them) would give a hidden tally away.
    for code, n in tallies.forms_per_hamlet(session, survey, commune.code).items():
        counts[code] = counts.get(code, 0) + n
    return counts


def hamlet_commune(session: Session, reader: Unit | None, asked: int | None) -> Unit | None:
    """The commune whose hamlet breakdown a progress page shows: a hamlet officer's commune
    (their row only), a commune officer's own, or the commune asked for (`?unit=`) within
    the reader's scope (DomainError 403 outside it); None: no breakdown asked."""
    if reader is not None and reader.level == UnitLevel.HAMLET:
        return session.get(Unit, reader.parent_code)
    if reader is not None and reader.level == UnitLevel.COMMUNE:
        return reader
    if asked is None:
        return None
    unit = session.get(Unit, asked)
    if unit is None or unit.level != UnitLevel.COMMUNE or not within(unit, reader):
        raise DomainError(N_("This commune or ward is outside your unit."), status=403)
    return unit


def hamlet_decision(session: Session, survey: Survey, commune: Unit) -> TableDecision:
    """What the hamlet breakdown of `commune` hides for `survey`, keyed by hamlet code
    (`NOT_STATED` for the responses naming none): the survey's one suppression decision
    (analytics.hidden_groups, its hamlet table: suppression.decide_hamlets), the same as the
    results' `?by=hamlet` — two decisions over the same people would let the figures one
    shows work out what the other hides. A hidden commune hides every hamlet."""
    decision = analytics.hidden_groups(session, survey)
    if decision.everything() or commune.code in decision.units():
        return TableDecision(everything=True)
    table = decision.tables.get((HAMLET, RESPONSES), TableDecision())
    if table.everything:
        return TableDecision(everything=True)
    return TableDecision(rows=frozenset(slot for c, slot in table.cells if c == commune.code))


def responses_per_hamlet(
    session: Session, survey: Survey, commune: Unit, scope: Unit | None
) -> list[HamletProgress]:
    """Responses per hamlet of `commune` (and those naming none, `NOT_STATED`), with the
    residents registered there; each hidden as `hamlet_decision` says. A hamlet officer
    (`scope` a hamlet) reads their hamlet's row only."""
    hamlets = session.scalars(
        select(Unit).where(Unit.parent_code == commune.code, Unit.level == UnitLevel.HAMLET)
    ).all()
    if not hamlets:
        return []
    decision = hamlet_decision(session, survey, commune)
    counts = _hamlet_counts(session, survey, commune)
    named = func.coalesce(User.hamlet_code, NOT_STATED_SQL)
    residents = dict(
        session.execute(
            select(named, func.count())
            .where(
                User.role == Role.RESIDENT,
                User.deleted_at.is_(None),
                User.unit_code == commune.code,
            )
            .group_by(named)
        ).all()
    )
    rows = [
        HamletProgress(
            h.code,
            h.name,
            h.division_type,
            None if decision.hides(h.code) else counts.get(h.code, 0),
            residents.get(h.code, 0),
            h.population,
        )
        for h in sorted(hamlets, key=lambda u: vietnamese_key(u.name))
    ]
    if scope is not None and scope.level == UnitLevel.HAMLET:
        return [r for r in rows if r.code == scope.code]
    rows.append(
        HamletProgress(
            NOT_STATED,
            gettext("No hamlet named"),
            "",
            None if decision.hides(NOT_STATED) else counts.get(NOT_STATED, 0),
            residents.get(NOT_STATED, 0),
            None,
        )
    )
    return rows


def completion(session: Session, survey: Survey, scope: Unit | None) -> dict[str, int] | None:
    """Identified surveys: people within `scope` who started (a draft) and who submitted;
    None when the scope is a commune whose figures the results withhold, or a hamlet that its
    commune's hamlet breakdown hides."""
    if analytics.withheld(session, survey, scope):
        return None
    if scope is not None and scope.level == UnitLevel.HAMLET:
        commune = session.get(Unit, scope.parent_code)
        if commune is None or hamlet_decision(session, survey, commune).hides(scope.code):
            return None
    submitted = (
        session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(
                SurveyResponse.survey_id == survey.id,
                place_in_scope(SurveyResponse.unit_code, SurveyResponse.hamlet_code, scope),
            )
        )
        or 0
    )
    drafts = (
        session.scalar(
            select(func.count())
            .select_from(SurveyDraft)
            .join(User, User.id == SurveyDraft.user_id)
            .where(
                SurveyDraft.survey_id == survey.id,
                place_in_scope(User.unit_code, User.hamlet_code, scope),
            )
        )
        or 0
    )
    submitted += tallies.forms_in(session, survey, scope)  # as the results count them
    return {"started": submitted + drafts, "submitted": submitted}


def overall_results(session: Session, defn: SurveyDef) -> dict[str, Any]:
    """Counts per value of every choice question, over everyone (never broken down): the
    results' own figures (analytics.results), so that the same groups stay hidden."""
    survey = defn.survey
    result = analytics.results(session, survey)
    threshold = result["threshold"]
    shown = {
        item["id"]: item["groups"][0]
        for item in result["questions"]
        if item["groups"] and not item["groups"][0].get("suppressed")
    }
    if result.get("suppressed") or not shown:
        return {"threshold": threshold, "suppressed": True, "questions": []}
    questions = []
    for q in defn.questions:
        group = shown.get(q.key)
        if q.type not in {"single", "multiple", "scale", "rating"} or group is None:
            continue
        values = range(0, 11) if q.type == "rating" else range(1, len(q.choices) + 1)
        labels = {v: (str(v) if q.type == "rating" else q.choices[v - 1]) for v in values}
        answered = group["n"]  # people, so ticks of a `multiple` may add past 100%
        counts = group["counts"]
        questions.append(
            {
                "key": q.key,
                "text": q.text,
                "rows": [
                    (
                        labels[v],
                        counts.get(str(v), 0),
                        round(counts.get(str(v), 0) / answered * 100) if answered else 0,
                    )
                    for v in values
                ],
            }
        )
    return {"n": result["n"], "threshold": threshold, "suppressed": False, "questions": questions}


# ------------------------------------------------------------------- closing and extending

EXTEND_DAYS_MIN, EXTEND_DAYS_MAX = 1, 365


def extension_until(survey: Survey, now: datetime, days: Any) -> datetime:
    """When the survey would close if extended by `days` (1..365, as typed: a DomainError in
    the officer's words otherwise): that many days after its closing time, or after now when
    it has already closed. Nothing is saved: the officer sees it before confirming."""
    counted = bounded_int(
        days, EXTEND_DAYS_MIN, EXTEND_DAYS_MAX, "days", label=gettext("Extend by (days)")
    )
    return max(survey.closes_at, now) + timedelta(days=counted)


def close_survey(
    session: Session, survey: Survey, now: datetime, actor: User | None = None
) -> bool:
    """Close the survey now. The database decides: one conditional UPDATE that only moves a
    closing time still ahead, so closing a closed survey (twice, or two officers at once) is a
    no-op. True when this call closed it; then the audit trail records it in the same
    transaction (actor None: the command line). Commits."""
    closed = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.closes_at > now)
        .values(closes_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed:
        audit.record(
            session, actor, "survey.close", f"survey:{survey.slug}", survey.owner_unit_code, now
        )
    session.commit()
    session.refresh(survey)
    return bool(closed)


def extend_survey(
    session: Session, survey: Survey, now: datetime, until: Any, actor: User | None = None
) -> bool:
    """Move the closing time to `until`, the time the officer was shown (`extension_until`),
    sent back as ISO 8601. Refused (DomainError, 400) when it is not a time, lies in the past
    or further than 365 days past the survey's current end. Never shortens: the UPDATE only
    applies while the stored closing time is earlier, so when two officers extend at once the
    later time wins and the earlier one changes nothing. True when this call moved it. Commits.
    """
    moment = _moment(until)
    base = max(survey.closes_at, now)
    if moment is None or moment <= now or moment > base + timedelta(days=EXTEND_DAYS_MAX):
        raise DomainError(N_("The new closing time is not valid. Please choose it again."))
    moved = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.closes_at < moment)
        .values(closes_at=moment)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved:  # recorded with the change, in its transaction
        audit.record(
            session,
            actor,
            "survey.extend",
            f"survey:{survey.slug}",
            survey.owner_unit_code,
            now,
            {"until": moment.isoformat()},
        )
    session.commit()
    session.refresh(survey)
    return bool(moved)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)
