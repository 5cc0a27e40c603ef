"""Validated content into the database, as versions that never rewrite history.

A bank keeps each question's identity by its id: an unchanged question is left alone, a changed
one gets a new version (older versions stay, and whatever refers to them still reads them), a
removed one is retired, never deleted. Every accepted upload is kept in `content_versions` with
what it changed. The caller commits; `load` stores one file all-or-nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.content import schemas
from app.content.checks import BankInfo, answer_indices
from app.content.messages import N_, Problem
from app.content.reader import Located
from app.content.validate import Result
from app.models import (
    Bank,
    ContentVersion,
    Contest,
    Question,
    QuestionVersion,
    Round,
    Survey,
    SurveyDraft,
    SurveyQuestion,
    Unit,
    User,
)
from app.models.content import CURRENT
from app.services import audit, standings
from app.services.policy import audience_outside, is_admin, may_draw_from, within
from app.services.survey_definition import (
    SurveyDef,
    definition,
    grouped,
    index_items,
    resolved_choices,
    responses_exist,
    restamp_groups,
    restamp_index,
    uncommitted,
)

TRUE_FALSE_CHOICES = ["Đúng", "Sai"]


@dataclass(frozen=True)
class Actor:
    """Who loads content: an officer or admin (user_id) acting for a unit; the CLI is admin."""

    unit_code: int
    is_admin: bool
    user_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        """A signed-in officer or admin loading content for their unit."""
        return cls(unit_code=user.unit_code, is_admin=is_admin(user), user_id=user.id)


@dataclass
class LoadReport:
    kind: str
    slug: str
    version: int
    status: str  # new | updated | unchanged
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    count: int = 0  # questions (banks, surveys) or rounds (contests) in the file

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Refused(Exception):
    """Storing would break a rule (scope, or answers already given); `problems` say where."""

    def __init__(self, problems: list[Problem], *, forbidden: bool = False) -> None:
        super().__init__(problems[0].message)
        self.problems = problems
        self.forbidden = forbidden


# Checks of whether a survey already has responses: the survey responses module registers
# one. With none registered, no survey has responses.
def database_banks(session: Session) -> Callable[[str], BankInfo | None]:
    """Bank lookup for validating contests against what is already stored."""

    def lookup(slug: str) -> BankInfo | None:
        bank = session.scalar(select(Bank).where(Bank.slug == slug))
        if bank is None:
            return None
        rows = session.execute(
            select(QuestionVersion.difficulty, QuestionVersion.topic)
            .join(Question, CURRENT)
            .where(Question.bank_id == bank.id, Question.retired_at.is_(None))
        ).all()
        return BankInfo(
            topics=frozenset(t["id"] for t in bank.topics),
            questions=tuple((difficulty, topic) for difficulty, topic in rows),
        )

    return lookup


def load(session: Session, result: Result, actor: Actor, now: datetime, source: str) -> LoadReport:
    """Store one valid file. Raises Refused (nothing stored) when a rule forbids it."""
    assert result.ok and result.located is not None
    if session.get(Unit, actor.unit_code) is None:
        raise Refused(
            [
                Problem(
                    1,
                    1,
                    N_("Unit %(code)s is not loaded: run `flask units load` first."),
                    {"code": actor.unit_code},
                )
            ]
        )
    model = result.model
    if isinstance(model, schemas.Bank):
        report = _store_bank(session, model, actor, now)
    elif isinstance(model, schemas.Contest):
        report = _store_contest(session, model, actor, now)
    else:
        report = _store_survey(session, model, actor, now, result.located)
    if report.status != "unchanged":
        session.add(
            ContentVersion(
                kind=report.kind,
                slug=report.slug,
                version=report.version,
                filename=result.filename[-255:],
                sha256=hashlib.sha256(source.encode("utf-8")).hexdigest(),
                source=source,
                changes=report.as_dict(),
                loaded_by_id=actor.user_id,
                loaded_at=now,
            )
        )
        audit.record(
            session,
            actor.user_id,
            "content.publish" if report.status == "new" else "content.republish",
            f"{report.kind}:{report.slug}",
            actor.unit_code,
            now,
            {"version": report.version},
        )
    session.flush()
    return report


def _check_owner(
    session: Session, owner_unit_code: int, actor: Actor, kind: str, slug: str
) -> None:
    if actor.is_admin:
        return
    owner, acting = session.get(Unit, owner_unit_code), session.get(Unit, actor.unit_code)
    if owner is None or acting is None or not within(owner, acting):
        raise Refused(
            [
                Problem(
                    1,
                    1,
                    N_(
                        '"%(slug)s" belongs to %(owner)s: only its officers, those above them, or an administrator may replace it.'
                    ),
                    {"slug": slug, "owner": owner.name if owner else owner_unit_code},
                )
            ],
            forbidden=True,
        )


def _check_reach(
    session: Session,
    actor: Actor,
    owner_unit_code: int,
    audience: list[int] | None,
    banks: Sequence[str] = (),
    located: Located | None = None,
) -> None:
    """Content reaches only its owner's unit: the audience within it (`all` only from the
    top), and a contest's draws only from banks within it (app/services/policy.py)."""
    if actor.is_admin:
        return
    with session.no_autoflush:  # the new row, half filled, waits for its fields
        problems = _reach_problems(session, owner_unit_code, audience, banks, located)
    if problems:
        raise Refused(problems, forbidden=True)


def _reach_problems(
    session: Session,
    owner_unit_code: int,
    audience: list[int] | None,
    banks: Sequence[str],
    located: Located | None,
) -> list[Problem]:
    owner = session.get(Unit, owner_unit_code)
    if owner is None:
        return []
    problems: list[Problem] = []
    where = located.at(("audience",)) if located is not None else (1, 1)
    outside = audience_outside(session, audience, owner)
    unknown = [code for code in outside if code and session.get(Unit, code) is None]
    if unknown:  # a hamlet's code that no hamlet has (yet): the officers' hamlets page
        problems.append(
            Problem(
                *where,
                N_(
                    "No unit has the code %(codes)s: a hamlet must first be added on the "
                    "Hamlets page of its commune."
                ),
                {"codes": ", ".join(str(c) for c in unknown)},
            )
        )
        outside = [code for code in outside if code not in unknown]
    if outside == [0]:
        problems.append(
            Problem(
                *where,
                N_(
                    '"audience: all" opens this to the whole province; %(owner)s may list only its own units (for example [%(code)d]).'
                ),
                {"owner": owner.name, "code": owner.code},
            )
        )
    elif outside:
        problems.append(
            Problem(
                *where,
                N_(
                    "These units are outside %(owner)s, so they cannot be in the audience: %(codes)s."
                ),
                {"owner": owner.name, "codes": ", ".join(str(c) for c in outside)},
            )
        )
    for slug in dict.fromkeys(banks):
        bank_owner = session.scalar(select(Bank.owner_unit_code).where(Bank.slug == slug))
        if bank_owner is not None and not may_draw_from(session.get(Unit, bank_owner), owner):
            problems.append(
                Problem(
                    1,
                    1,
                    N_(
                        'The bank "%(bank)s" belongs to another unit: a contest of %(owner)s may draw only from banks of %(owner)s or of the units below it.'
                    ),
                    {"bank": slug, "owner": owner.name},
                )
            )
    return problems


def _apply(row: Any, values: dict[str, Any]) -> bool:
    """Set the row's fields; True when any of them changed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _version_status(created: bool, changed: bool) -> str:
    return "new" if created else "updated" if changed else "unchanged"


# ------------------------------------------------------------------------------------ banks


def question_fields(question: schemas.Question) -> dict[str, Any]:
    is_tf = question.type == "true_false"
    return {
        "type": question.type,
        "text": question.text,
        "choices": TRUE_FALSE_CHOICES if is_tf else list(question.choices or []),
        "answer": answer_indices(question),
        "explanation": question.explanation,
        "topic": question.topic,
        "source": question.source,
        "difficulty": question.difficulty,
        "tags": list(question.tags),
        "shuffle": question.shuffle,
    }


def _store_bank(session: Session, doc: schemas.Bank, actor: Actor, now: datetime) -> LoadReport:
    meta = {
        "title": doc.title,
        "description": doc.description,
        "language": doc.language,
        "topics": [t.model_dump() for t in doc.topics],
        "sources": [s.model_dump(exclude_none=True) for s in doc.sources],
    }
    bank = session.scalar(select(Bank).where(Bank.slug == doc.bank))
    created = bank is None
    if bank is None:
        bank = Bank(slug=doc.bank, owner_unit_code=actor.unit_code, version=0, created_at=now)
        session.add(bank)
    else:
        _check_owner(session, bank.owner_unit_code, actor, "bank", doc.bank)
    meta_changed = _apply(bank, meta)
    session.flush()
    current = {
        question.key: (question, version)
        for question, version in session.execute(
            select(Question, QuestionVersion)
            .join(QuestionVersion, CURRENT)
            .where(Question.bank_id == bank.id)
        )
    }
    report = LoadReport("bank", doc.bank, bank.version, "unchanged", count=len(doc.questions))
    for position, item in enumerate(doc.questions):
        fields = question_fields(item)
        if item.id not in current:
            question = Question(bank_id=bank.id, key=item.id, position=position, version=1)
            question.versions.append(QuestionVersion(version=1, created_at=now, **fields))
            session.add(question)
            report.added.append(item.id)
            continue
        question, version = current[item.id]
        question.position = position
        differs = any(getattr(version, name) != value for name, value in fields.items())
        if differs or question.retired_at is not None:
            question.version += 1
            session.add(
                QuestionVersion(
                    question_id=question.id, version=question.version, created_at=now, **fields
                )
            )
            question.retired_at = None
            report.changed.append(item.id)
    keep = {item.id for item in doc.questions}
    for key, (question, _version) in current.items():
        if key not in keep and question.retired_at is None:
            question.retired_at = now
            report.retired.append(key)
    changed = created or meta_changed or bool(report.added or report.changed or report.retired)
    if changed:
        bank.version += 1
        bank.updated_at = now
    report.version, report.status = bank.version, _version_status(created, changed)
    return report


def export_bank(session: Session, bank: Bank) -> dict[str, Any]:
    """The bank as a file would say it (live questions, current versions), for download."""
    rows = session.execute(
        select(Question, QuestionVersion)
        .join(QuestionVersion, CURRENT)
        .where(Question.bank_id == bank.id, Question.retired_at.is_(None))
        .order_by(Question.position)
    )
    document: dict[str, Any] = {"bank": bank.slug, "title": bank.title}
    _put(document, "description", bank.description)
    if bank.language != "vi":
        document["language"] = bank.language
    _put(document, "topics", bank.topics)
    _put(document, "sources", bank.sources)
    document["questions"] = [_export_question(question.key, version) for question, version in rows]
    return document


def _export_question(key: str, version: QuestionVersion) -> dict[str, Any]:
    item: dict[str, Any] = {"id": key}
    if version.type == "true_false":
        item |= {"type": "true_false", "text": version.text, "answer": version.answer == [0]}
    else:
        letters = [chr(ord("A") + i) for i in version.answer]
        item |= {
            "text": version.text,
            "choices": version.choices,
            "answer": letters[0] if len(letters) == 1 else letters,
        }
    _put(item, "explanation", version.explanation)
    _put(item, "topic", version.topic)
    _put(item, "source", version.source)
    if version.difficulty != "medium":
        item["difficulty"] = version.difficulty
    _put(item, "tags", version.tags)
    if not version.shuffle:
        item["shuffle"] = False
    return item


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, [], {}):
        target[key] = value


# --------------------------------------------------------------------------------- contests


def local_time(text: str, zone: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(zone))


def _round_fields(item: schemas.Round, zone: str, position: int) -> dict[str, Any]:
    return {
        "position": position,
        "title": item.title,
        "opens_at": local_time(item.opens, zone),
        "closes_at": local_time(item.closes, zone),
        "time_limit_s": schemas.duration_seconds(item.time_limit),
        "attempts": item.attempts,
        "draw": [d.model_dump(exclude_none=True) for d in item.draw],
        "prediction": item.prediction,
        "review": item.review,
    }


def _unfreeze(session: Session, round_: Round) -> None:
    """A frozen round whose prediction target or close changed: its figure no longer stands.
    It is counted again at the (new) close, and the ranking goes back to the provisional order
    until then (app.services.ranking freezes again on the first read after the close)."""
    round_.frozen_at = None
    round_.frozen_figure = None
    session.flush()
    standings.rebuild(session, round_)


def _store_contest(
    session: Session, doc: schemas.Contest, actor: Actor, now: datetime
) -> LoadReport:
    contest = session.scalar(select(Contest).where(Contest.slug == doc.contest))
    created = contest is None
    if contest is None:
        contest = Contest(
            slug=doc.contest, owner_unit_code=actor.unit_code, version=0, created_at=now
        )
        session.add(contest)
    else:
        _check_owner(session, contest.owner_unit_code, actor, "contest", doc.contest)
    _check_reach(
        session,
        actor,
        contest.owner_unit_code,
        None if doc.audience == "all" else list(doc.audience),
        [draw.bank for item in doc.rounds for draw in item.draw],
    )
    report = LoadReport("contest", doc.contest, contest.version, "unchanged", count=len(doc.rounds))
    meta = {
        "title": doc.title,
        "description": doc.description,
        "prizes": doc.prizes,
        "certificates": doc.certificates,
        "issuer": doc.issuer,
        "audience": None if doc.audience == "all" else list(doc.audience),
        "timezone": doc.timezone,
        "min_age": doc.eligibility.min_age,
        "verified_phone": doc.eligibility.verified_phone,
    }
    meta_changed = _apply(contest, meta)
    existing = {r.key: r for r in contest.rounds}
    for position, item in enumerate(doc.rounds):
        fields = _round_fields(item, doc.timezone, position)
        row = existing.get(item.id)
        if row is None:
            contest.rounds.append(Round(key=item.id, **fields))
            report.added.append(item.id)
            continue
        decided = (row.prediction, row.closes_at)
        if _apply(row, fields):
            report.changed.append(item.id)
            if row.frozen_at is not None and (row.prediction, row.closes_at) != decided:
                _unfreeze(session, row)
    for key, row in existing.items():
        if key not in {r.id for r in doc.rounds}:
            contest.rounds.remove(row)
            report.retired.append(key)
    changed = created or meta_changed or bool(report.added or report.changed or report.retired)
    if changed:
        contest.version += 1
        contest.updated_at = now
    report.version, report.status = contest.version, _version_status(created, changed)
    return report


def _local_text(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _duration_text(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (
        (f"{hours}h" if hours else "")
        + (f"{minutes}m" if minutes else "")
        + (f"{secs}s" if secs else "")
    )
    return text or "0s"


def export_contest(contest: Contest) -> dict[str, Any]:
    document: dict[str, Any] = {"contest": contest.slug, "title": contest.title}
    _put(document, "description", contest.description)
    _put(document, "prizes", contest.prizes)
    if contest.certificates != "none":
        document["certificates"] = contest.certificates
    _put(document, "issuer", contest.issuer)
    if contest.audience:
        document["audience"] = contest.audience
    if contest.timezone != "Asia/Ho_Chi_Minh":
        document["timezone"] = contest.timezone
    eligibility: dict[str, Any] = {}
    _put(eligibility, "min_age", contest.min_age)
    if contest.verified_phone:
        eligibility["verified_phone"] = True
    if eligibility:
        document["eligibility"] = eligibility
    document["rounds"] = []
    for row in contest.rounds:
        item: dict[str, Any] = {"id": row.key}
        _put(item, "title", row.title)
        item |= {
            "opens": _local_text(row.opens_at, contest.timezone),
            "closes": _local_text(row.closes_at, contest.timezone),
            "time_limit": _duration_text(row.time_limit_s),
        }
        if row.attempts != 1:
            item["attempts"] = row.attempts
        item["draw"] = row.draw
        if row.prediction != "none":
            item["prediction"] = row.prediction
        if row.review != "after_close":
            item["review"] = row.review
        document["rounds"].append(item)
    return document


# ---------------------------------------------------------------------------------- surveys

_SURVEY_QUESTION_FIELDS = (
    "type",
    "text",
    "help",
    "required",
    "show_if",
    "choices",
    "scale",
    "rows",
    "decimal",
    "other",
    "demographic",
    "index",
    "low",
    "high",
)


def _survey_question_fields(
    item: schemas.SurveyQuestion, page: int, position: int
) -> dict[str, Any]:
    fields = {name: getattr(item, name) for name in _SURVEY_QUESTION_FIELDS}
    fields["choices"] = list(item.choices) if item.choices is not None else None
    fields["rows"] = list(item.rows) if item.rows is not None else None
    fields["show_if"] = {k: list(v) for k, v in item.show_if.items()} if item.show_if else None
    return fields | {
        "min_value": item.min,
        "max_value": item.max,
        "page": page,
        "position": position,
    }


def survey_change_problems(survey: Survey, doc: schemas.Survey, located: Located) -> list[Problem]:
    """What a survey that already has responses may not change (survey.md): removing or
    reordering answered choices, changing a question's type, `anonymous` or `sign_in`."""
    problems = []
    for key in ("anonymous", "sign_in"):
        if getattr(survey, key) != getattr(doc, key):
            problems.append(
                Problem(
                    *located.at((key,)),
                    N_('"%(key)s" cannot change: this survey already has responses.'),
                    {"key": key},
                )
            )
    old = {q.key: q for q in survey.questions if q.retired_at is None}
    for p_index, page in enumerate(doc.pages):
        for q_index, item in enumerate(page.questions):
            before = old.get(item.id)
            if before is None:
                continue
            path = ("pages", p_index, "questions", q_index)
            if before.type != item.type:
                problems.append(
                    Problem(
                        *located.at((*path, "type")),
                        N_(
                            'The type of "%(key)s" cannot change: this survey already has responses.'
                        ),
                        {"key": item.id},
                    )
                )
                continue
            for name, was, now_ in (
                (
                    "choices",
                    resolved_choices(before.choices, before.scale, survey.scales),
                    resolved_choices(item.choices, item.scale, doc.scales),
                ),
                ("rows", before.rows or [], list(item.rows or [])),
            ):
                if now_[: len(was)] != was:
                    where = (*path, name) if name == "rows" or item.choices else (*path, "scale")
                    problems.append(
                        Problem(
                            *located.at(where),
                            N_(
                                'The %(what)s of "%(key)s" can only be added at the end: this survey already has responses, so existing ones cannot be removed, reordered or reworded.'
                            ),
                            {"key": item.id, "what": name},
                        )
                    )
    return problems


def _restamp(session: Session, survey: Survey, before: SurveyDef) -> None:
    """The stored responses' figures that the survey's new definition computes differently:
    their index scores (what the index counts changed), their demographic groups (which
    questions `survey_responses.groups` holds changed), in the load's transaction."""
    session.flush()
    with uncommitted():  # not kept: this load may yet fail to commit
        after = definition(session, survey)
        if index_items(after) != index_items(before):
            restamp_index(session, survey)
        if [q.id for q in grouped(after)] != [q.id for q in grouped(before)]:
            restamp_groups(session, survey)


def _store_survey(
    session: Session, doc: schemas.Survey, actor: Actor, now: datetime, located: Located
) -> LoadReport:
    # Locked: a response being stored reads `anonymous` FOR SHARE, so it either commits
    # before the check below sees it, or waits and then reads the new flag.
    survey = session.scalar(select(Survey).where(Survey.slug == doc.survey).with_for_update())
    created = survey is None
    before: SurveyDef | None = None  # the definition its stored responses were figured by
    if survey is None:
        survey = Survey(slug=doc.survey, owner_unit_code=actor.unit_code, version=0, created_at=now)
        session.add(survey)
    else:
        _check_owner(session, survey.owner_unit_code, actor, "survey", doc.survey)
        if responses_exist(session, survey):
            problems = survey_change_problems(survey, doc, located)
            if problems:
                raise Refused(problems)
            session.flush()
            before = definition(session, survey)
    _check_reach(
        session,
        actor,
        survey.owner_unit_code,
        None if doc.audience == "all" else list(doc.audience),
        located=located,
    )
    count = sum(len(p.questions) for p in doc.pages)
    report = LoadReport("survey", doc.survey, survey.version, "unchanged", count=count)
    meta = {
        "title": doc.title,
        "description": doc.description,
        "anonymous": doc.anonymous,
        "opens_at": local_time(doc.opens, doc.timezone),
        "closes_at": local_time(doc.closes, doc.timezone),
        "timezone": doc.timezone,
        "audience": None if doc.audience == "all" else list(doc.audience),
        "min_group": doc.min_group,
        "sign_in": doc.sign_in,
        "show_results": doc.show_results,
        "wave": doc.wave,
        "series": doc.series,
        "scales": {k: list(v) for k, v in doc.scales.items()},
        "pages": [
            {
                "title": p.title,
                "description": p.description,
                "questions": [q.id for q in p.questions],
            }
            for p in doc.pages
        ],
    }
    if not created and doc.anonymous and not survey.anonymous:
        # Made anonymous (only possible before any response): drafts kept with the account
        # would link what a person is answering to them, so they go (docs/anonymity.md). The
        # survey's row is locked first: a draft being saved (which reads the flag FOR SHARE)
        # either commits before this delete sees it, or waits and then finds it anonymous.
        session.execute(select(Survey.id).where(Survey.id == survey.id).with_for_update())
        session.execute(delete(SurveyDraft).where(SurveyDraft.survey_id == survey.id))
    meta_changed = _apply(survey, meta) or created
    existing = {q.key: q for q in survey.questions}
    position = 0
    seen = set()
    for page_index, page in enumerate(doc.pages):
        for item in page.questions:
            fields = _survey_question_fields(item, page_index, position)
            position += 1
            seen.add(item.id)
            row = existing.get(item.id)
            if row is None:
                survey.questions.append(SurveyQuestion(key=item.id, **fields))
                report.added.append(item.id)
            elif _apply(row, fields | {"retired_at": None}):
                report.changed.append(item.id)
    for key, row in existing.items():
        if key not in seen and row.retired_at is None:
            row.retired_at = now  # kept: answers given to it stay readable
            report.retired.append(key)
    changed = meta_changed or bool(report.added or report.changed or report.retired)
    if changed:
        survey.version += 1
        survey.updated_at = now
        if before is not None:
            _restamp(session, survey, before)
    report.version, report.status = survey.version, _version_status(created, changed)
    return report


def export_survey(survey: Survey) -> dict[str, Any]:
    document: dict[str, Any] = {"survey": survey.slug, "title": survey.title}
    _put(document, "description", survey.description)
    document["anonymous"] = survey.anonymous
    document["opens"] = _local_text(survey.opens_at, survey.timezone)
    document["closes"] = _local_text(survey.closes_at, survey.timezone)
    if survey.timezone != "Asia/Ho_Chi_Minh":
        document["timezone"] = survey.timezone
    if survey.audience:
        document["audience"] = survey.audience
    _put(document, "min_group", survey.min_group)
    if survey.sign_in != "required":
        document["sign_in"] = survey.sign_in
    if survey.show_results:
        document["show_results"] = True
    _put(document, "wave", survey.wave)
    _put(document, "series", survey.series)
    _put(document, "scales", survey.scales)
    questions = {q.key: q for q in survey.questions if q.retired_at is None}
    document["pages"] = []
    for page in survey.pages:
        out: dict[str, Any] = {"title": page["title"]}
        _put(out, "description", page.get("description"))
        out["questions"] = [_export_survey_question(questions[key]) for key in page["questions"]]
        document["pages"].append(out)
    return document


def _export_survey_question(row: SurveyQuestion) -> dict[str, Any]:
    item: dict[str, Any] = {"id": row.key, "type": row.type}
    for name in ("text", "help", "show_if", "choices", "scale", "rows", "low", "high"):
        _put(item, name, getattr(row, name))
    if not row.required:
        item["required"] = False
    for name, value in (("min", row.min_value), ("max", row.max_value)):
        if value is not None:
            item[name] = int(value) if float(value).is_integer() else value
    for name in ("decimal", "other", "demographic", "index"):
        if getattr(row, name) is not None:
            item[name] = getattr(row, name)
    return item
