"""Tallies of hand-counted paper forms (issue 20, point 2): the rule for importing, checking,
counting and withdrawing them, in one place.

An officer counts paper forms by hand and uploads the counts as CSV — `question,value,count`, a
header line first — with the number of forms counted and the commune (or one of its hamlets)
they came from, chosen on the page. The file is checked line by line and refused whole when
any line is wrong (a tally is one count: half of it would misstate the survey):
- the question must be a question of the survey that can be counted by hand: single, scale,
  rating or multiple choice, not demographic (a tally cannot be crossed with the groups of a
  demographic question: its forms are their own "unknown" group in those breakdowns);
- the value a choice's number (1, 2, …; a rating 0–10) or its exact label; for a multiple-choice
  question a line with an empty value gives the forms that answered it (required);
- the count a whole number from 0 to the forms counted; one line per (question, value);
- a single, scale or rating question's counts add up to at most the forms (one value per form);
  a multiple-choice question's choices each at most the forms that answered it.

Stored as aggregates (app/models/tallies.py), added to the results by the cube
(app/services/cube.py) as channel "paper" and counted by the one suppression decision like any
response; they carry no satisfaction index score (no form's own answers are known). Imports and
withdrawals are audit-logged with the officer; the tally rows hold no officer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, literal_column, select, update
from sqlalchemy.orm import Session

from app.csvread import CsvError, read_rows
from app.models import Survey, SurveyTally, SurveyTallyCount, Unit, UnitLevel, User
from app.parse import int_or_none
from app.services import audit, policy
from app.services.refusals import NotAllowed
from app.services.survey_definition import ANSWERED, QuestionDef, SurveyDef
from app.text import fold

COUNTABLE = {"single", "scale", "rating", "multiple"}
FORMS_MAX = 1_000_000
LINES_MAX = 2000
HEADER = ["question", "value", "count"]
HEADERS = {
    "question": {"question", "cau hoi", "ma cau hoi"},
    "value": {"value", "gia tri", "lua chon"},
    "count": {"count", "so luong", "so phieu"},
}


class TallyError(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    line: int
    ok: bool
    message: str = ""


@dataclass
class Report:
    """What an import did: the tally stored (None when refused), each line's verdict, and a
    message about the whole file or a question (no header, nothing counted, sums too large)."""

    tally: SurveyTally | None = None
    lines: list[Line] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.tally is not None


def in_force(
    session: Session, survey: Survey
) -> list[tuple[SurveyTally, list[tuple[int, int, int | None, int]]]]:
    """The survey's tallies not withdrawn, each with its counts (question id, item, value, n)."""
    tallies = session.scalars(
        select(SurveyTally)
        .where(SurveyTally.survey_id == survey.id, SurveyTally.withdrawn_at.is_(None))
        .order_by(SurveyTally.id)
    ).all()
    if not tallies:
        return []
    counts: dict[int, list[tuple[int, int, int | None, int]]] = {t.id: [] for t in tallies}
    for tally_id, question, item, value, n in session.execute(
        select(
            SurveyTallyCount.tally_id,
            SurveyTallyCount.question_id,
            SurveyTallyCount.item,
            SurveyTallyCount.value,
            SurveyTallyCount.n,
        ).where(SurveyTallyCount.tally_id.in_(list(counts)))
    ):
        counts[tally_id].append((question, item, value, n))
    return [(t, counts[t.id]) for t in tallies]


def stamp(session: Session, survey: Survey) -> tuple[int, int]:
    """What the results depend on of the tallies: how many were imported and how many of them
    withdrawn (both only grow, so any change changes one)."""
    imported, withdrawn = session.execute(
        select(func.count(), func.count(SurveyTally.withdrawn_at)).where(
            SurveyTally.survey_id == survey.id
        )
    ).one()
    return int(imported or 0), int(withdrawn or 0)


def forms_per_unit(session: Session, survey: Survey) -> dict[int, int]:
    """Forms tallied per commune (tallies in force), for counts of responses per commune that
    must agree with the results'."""
    return {
        int(unit): int(n)
        for unit, n in session.execute(
            select(SurveyTally.unit_code, func.sum(SurveyTally.forms))
            .where(SurveyTally.survey_id == survey.id, SurveyTally.withdrawn_at.is_(None))
            .group_by(SurveyTally.unit_code)
        )
    }


def forms_per_hamlet(session: Session, survey: Survey, commune: int) -> dict[int, int]:
    """Forms tallied per hamlet of `commune` (0: tallies naming no hamlet), tallies in force,
    for a hamlet breakdown that must agree with the results'."""
    slot = func.coalesce(SurveyTally.hamlet_code, literal_column("0"))
    return {
        int(hamlet): int(n)
        for hamlet, n in session.execute(
            select(slot, func.sum(SurveyTally.forms))
            .where(
                SurveyTally.survey_id == survey.id,
                SurveyTally.withdrawn_at.is_(None),
                SurveyTally.unit_code == commune,
            )
            .group_by(slot)
        )
    }


def forms_in(session: Session, survey: Survey, scope: Unit | None) -> int:
    """Forms tallied within `scope` (tallies in force)."""
    return sum(
        tally.forms
        for tally, _counts in in_force(session, survey)
        if scope is None or _within(session, tally, scope)
    )


def top_two(
    session: Session, survey: Survey, q: QuestionDef, scope: Unit | None
) -> dict[int, tuple[int, int]]:
    """(hits, n) of the tallies in force within `scope` for `q`, as analytics' trends count
    them: the top two values of a scale, the first choice of a single question (item 0)."""
    if q.type not in ("scale", "single"):
        return {}
    top = len(q.choices) - 1
    hits = n = 0
    for tally, counts in in_force(session, survey):
        if scope is not None and not _within(session, tally, scope):
            continue
        for question, item, value, count in counts:
            if question != q.id or item != 0 or value is None:
                continue
            n += count
            if (q.type == "scale" and value >= top) or (q.type == "single" and value == 1):
                hits += count
    return {0: (hits, n)} if n else {}


def _within(session: Session, tally: SurveyTally, scope: Unit) -> bool:
    if scope.level == UnitLevel.HAMLET:
        return tally.hamlet_code == scope.code
    unit = session.get(Unit, tally.unit_code)
    return unit is not None and policy.within(unit, scope)


def _columns(cells: list[str]) -> dict[str, int] | None:
    folded = [fold(cell) for cell in cells]
    found = {}
    for key, names in HEADERS.items():
        for index, cell in enumerate(folded):
            if cell in names:
                found[key] = index
    return found if len(found) == len(HEADERS) else None


def _value(q: QuestionDef, text: str) -> int | None:
    """The value a cell names: a choice's number or its label; a rating 0–10."""
    if q.type == "rating":
        return int_or_none(text, 0, 10)
    number = int_or_none(text, 1, len(q.choices))
    if number is not None:
        return number
    labels = {fold(label): i for i, label in enumerate(q.choices, start=1)}
    return labels.get(fold(text))


def _choices(q: QuestionDef) -> str:
    if q.type == "rating":
        return "0–10"
    return f"1–{len(q.choices)}"


def check(
    defn: SurveyDef, data: bytes, forms: int
) -> tuple[list[tuple[int, int, int | None, int]], Report]:
    """The counts of a tally file, (question id, item, value, n) as the answers table has them,
    and the report of each line; the counts are empty when anything is wrong."""
    report = Report()
    try:
        rows = read_rows(data, LINES_MAX + 1)
    except CsvError as error:
        report.errors.append(str(error))
        return [], report
    columns = _columns(rows[0].cells) if rows else None
    if columns is None:
        report.errors.append(
            _("The first line must name the columns: %(header)s.", header=",".join(HEADER))
        )
        return [], report
    rows = rows[1:]
    if not rows:
        report.errors.append(_("The file has no counts: one line per question and value."))
        return [], report
    if len(rows) > LINES_MAX:
        report.errors.append(_("At most %(n)d lines in one file: please split it.", n=LINES_MAX))
        return [], report
    by_key = defn.by_key
    seen: dict[tuple[int, int | None], int] = {}
    counted: dict[int, dict[int | None, int]] = {}
    for row in rows:
        cells = [row.cells[columns[k]] if columns[k] < len(row.cells) else "" for k in HEADER]
        key, value_text, count_text = cells
        q = by_key.get(key)
        message = ""
        value: int | None = None
        if q is None:
            message = _('the survey has no question "%(key)s".', key=key)
        elif q.type not in COUNTABLE:
            message = _(
                'question "%(key)s" cannot be counted by hand: only single, scale, rating '
                "and multiple-choice questions can.",
                key=key,
            )
        elif q.demographic:
            message = _(
                'question "%(key)s" describes the person (demographic): hand counts cannot '
                "be crossed with it, so it is not counted.",
                key=key,
            )
        elif value_text == "" and q.type != "multiple":
            message = _('question "%(key)s": the value is missing.', key=key)
        elif value_text != "" and (value := _value(q, value_text)) is None:
            message = _(
                'question "%(key)s" has no choice "%(value)s" (choices %(choices)s).',
                key=key,
                value=value_text,
                choices=_choices(q),
            )
        count = int_or_none(count_text, 0, FORMS_MAX)
        if not message and count is None:
            message = _(
                'the count "%(count)s" is not a whole number of forms (0 or more).',
                count=count_text,
            )
        elif not message and count is not None and count > forms:
            message = _(
                "the count %(count)d is more than the forms counted (%(forms)d).",
                count=count,
                forms=forms,
            )
        elif not message and q is not None and (q.id, value) in seen:
            message = _("the same question and value as line %(line)d.", line=seen[q.id, value])
        if message or q is None or count is None:
            report.lines.append(Line(row.line, False, message))
            continue
        seen[q.id, value] = row.line
        counted.setdefault(q.id, {})[value] = count
        report.lines.append(Line(row.line, True))
    by_id = {q.id: q for q in defn.questions}
    for question_id, values in counted.items():
        q = by_id[question_id]
        choices = {v: n for v, n in values.items() if v is not None}
        if q.type == "multiple":
            answered = values.get(None)
            if answered is None:
                report.errors.append(
                    _(
                        'Question "%(key)s" (multiple choice): add a line with an empty value '
                        "giving how many forms answered it.",
                        key=q.key,
                    )
                )
            elif any(n > answered for n in choices.values()):
                report.errors.append(
                    _(
                        'Question "%(key)s": a choice is counted on more forms than answered '
                        "the question (%(n)d).",
                        key=q.key,
                        n=answered,
                    )
                )
        elif sum(choices.values()) > forms:
            report.errors.append(
                _(
                    'Question "%(key)s": its counts add up to %(sum)d, more than the forms '
                    "counted (%(forms)d); each form has one answer to it.",
                    key=q.key,
                    sum=sum(choices.values()),
                    forms=forms,
                )
            )
    if report.errors or not all(line.ok for line in report.lines):
        return [], report
    out: list[tuple[int, int, int | None, int]] = []
    for question_id, values in counted.items():
        q = by_id[question_id]
        for value, n in sorted(values.items(), key=lambda kv: -1 if kv[0] is None else kv[0]):
            if q.type == "multiple":
                out.append((question_id, ANSWERED if value is None else value, value, n))
            else:
                out.append((question_id, 0, value, n))
    return out, report


def import_tally(
    session: Session,
    defn: SurveyDef,
    officer: User,
    unit: Unit,
    data: bytes,
    forms: int,
    now: datetime,
) -> Report:
    """Check and store one tally of `forms` forms from `unit` (a commune, or a hamlet of one),
    within the officer's scope (NotAllowed otherwise); audit-logged. Commits when stored;
    a refused file stores nothing."""
    survey = defn.survey
    if unit.level not in (UnitLevel.COMMUNE, UnitLevel.HAMLET):
        raise TallyError(_("Choose the commune or ward (or its hamlet) the forms came from."))
    if not policy.within(unit, policy.scope_of(officer)):
        raise NotAllowed
    if not 1 <= forms <= FORMS_MAX:
        raise TallyError(_("The number of forms counted must be from 1 to %(n)d.", n=FORMS_MAX))
    commune = unit if unit.level == UnitLevel.COMMUNE else session.get(Unit, unit.parent_code)
    assert commune is not None
    if not policy.in_audience(survey.audience, commune):
        raise TallyError(_("This survey is not open to that commune or ward."))
    counts, report = check(defn, data, forms)
    if not counts:
        return report
    tally = SurveyTally(
        survey_id=survey.id,
        unit_code=commune.code,
        hamlet_code=unit.code if unit.level == UnitLevel.HAMLET else None,
        forms=forms,
        created_at=now,
    )
    session.add(tally)
    session.flush()
    session.add_all(
        SurveyTallyCount(tally_id=tally.id, question_id=q, item=item, value=value, n=n)
        for q, item, value, n in counts
    )
    audit.record(
        session,
        officer,
        "survey.tally",
        f"survey:{survey.slug}",
        unit.code,
        now,
        {"tally": tally.id, "forms": forms, "lines": len(counts)},
    )
    session.commit()
    report.tally = tally
    return report


def withdraw(session: Session, tally: SurveyTally, officer: User, now: datetime) -> bool:
    """Withdraw a tally (it counts no more); False when it already was. Audit-logged."""
    place = session.get(Unit, tally.hamlet_code or tally.unit_code)
    if place is None or not policy.within(place, policy.scope_of(officer)):
        raise NotAllowed
    changed = session.execute(
        update(SurveyTally)
        .where(SurveyTally.id == tally.id, SurveyTally.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    ).rowcount
    if changed:
        survey = session.get(Survey, tally.survey_id)
        audit.record(
            session,
            officer,
            "survey.tally_withdraw",
            f"survey:{survey.slug if survey else tally.survey_id}",
            place.code,
            now,
            {"tally": tally.id, "forms": tally.forms},
        )
    session.commit()
    return bool(changed)


def listed(session: Session, survey: Survey, scope: Unit | None) -> list[dict[str, Any]]:
    """The survey's tallies within `scope`, newest first, for the officers' page."""
    names = dict(session.execute(select(Unit.code, Unit.name)).all())
    out = []
    for tally in session.scalars(
        select(SurveyTally)
        .where(SurveyTally.survey_id == survey.id)
        .order_by(SurveyTally.id.desc())
    ):
        if scope is not None and not _within(session, tally, scope):
            continue
        out.append(
            {
                "tally": tally,
                "place": names.get(tally.hamlet_code or tally.unit_code, ""),
                "commune": names.get(tally.unit_code, ""),
            }
        )
    return out
