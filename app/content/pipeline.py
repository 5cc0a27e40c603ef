"""Validate a batch of files together, then store each valid one all-or-nothing.

The command line and the API both come through here, so they accept and refuse the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.content.checks import BankInfo
from app.content.convert import convert, problems_in_source, slugify, to_bank_yaml
from app.content.messages import KIND_WORDS, N_, Problem
from app.content.store import Actor, LoadReport, Refused, database_banks, load
from app.content.validate import Result, validate_many
from app.models import Attempt, Contest, Round

ORDER = {"bank": 0, "contest": 1, "survey": 1}


@dataclass
class Outcome:
    result: Result
    report: LoadReport | None = None
    refused: Refused | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok and self.refused is None


def find_files(paths: list[str]) -> list[Path]:
    """YAML files named, and those under folders named, in a stable order."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file()
            )
        else:
            found.append(path)
    return found


def lookup_if_database(session: Session | None) -> Callable[[str], BankInfo | None] | None:
    """Banks from the database when there is one; validating works without."""
    if session is None:
        return None
    stored = database_banks(session)

    def lookup(slug: str) -> BankInfo | None:
        try:
            return stored(slug)
        except SQLAlchemyError:
            session.rollback()
            return None

    return lookup


@dataclass
class Checked:
    """An officer's text checked: either every problem, on the lines of the text as written
    (an Aiken, GIFT or Word-style paste is not replaced by its YAML), or the valid result."""

    result: Result | None
    problems: list[Problem]
    converted: bool = False
    source: str = ""  # the file validated (the bank YAML written from a converted text)

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok


def check_text(
    session: Session | None,
    text: str,
    filename: str,
    fmt: str = "yaml",
    bank: str | None = None,
    title: str | None = None,
) -> Checked:
    """Validate pasted or uploaded text in format `fmt`; converted formats become a bank file
    named after `filename` (or `bank`/`title`) first."""
    if fmt == "yaml":
        result = validate_files([(filename, text.encode("utf-8"))], session)[0]
        return Checked(result, result.problems, source=text)
    converted = convert(text, fmt)
    if converted.problems or not converted.questions:
        return Checked(None, converted.problems or [Problem(1, 1, NO_QUESTION)], True)
    stem = PurePath(filename).stem
    document = to_bank_yaml(converted, bank or slugify(stem), title or stem)
    name = PurePath(filename).with_suffix(".yaml").name
    result = validate_files([(name, document.encode("utf-8"))], session)[0]
    if result.ok:
        return Checked(result, [], True, document)
    located = result.located
    starts = [
        located.values.get(("questions", i), (0, 0))[0] if located else 0
        for i in range(len(converted.questions))
    ]
    return Checked(None, problems_in_source(converted, result.problems, starts), True)


NO_QUESTION = N_("No question was found in this text: check the format chosen above it.")


def validate_files(files: list[tuple[str, bytes]], session: Session | None) -> list[Result]:
    return validate_many(files, lookup_if_database(session))


def _keeps_rounds_with_attempts(session: Session, result: Result) -> None:
    """A contest file may retire a round nobody has started; one with attempts stays (its
    attempts, scores and ranking are people's records): Refused, nothing changed."""
    if result.kind != "contest" or result.model is None:
        return
    kept = {item.id for item in result.model.rounds}
    started = session.scalars(
        select(Round.key)
        .join(Contest, Contest.id == Round.contest_id)
        .where(Contest.slug == result.model.contest, Round.key.not_in(kept))
        .where(select(Attempt.id).where(Attempt.round_id == Round.id).exists())
        .order_by(Round.position)
    ).all()
    if started:
        line, column = result.located.at(("rounds",), key=True) if result.located else (1, 1)
        raise Refused(
            [
                Problem(
                    line,
                    column,
                    N_(
                        'The round "%(round)s" already has attempts, so it cannot be removed: keep it in the file (you may change its close).'
                    ),
                    {"round": key},
                )
                for key in started
            ]
        )


def load_files(
    session: Session,
    files: list[tuple[str, bytes]],
    actor: Actor,
    now: datetime,
    progress: Callable[[Outcome], None] | None = None,
    expect_kind: str | None = None,
) -> list[Outcome]:
    """Validate all, then store valid files banks first, each in its own transaction.
    With `expect_kind`, a file of another kind is refused (the API's /banks takes banks)."""
    results = validate_files(files, session)
    for result in results:
        if expect_kind and result.kind and result.kind != expect_kind:
            result.problems.insert(
                0,
                Problem(
                    1,
                    1,
                    N_("This is a %(kind)s file, but a %(expected)s was expected here."),
                    {"kind": KIND_WORDS[result.kind], "expected": KIND_WORDS[expect_kind]},
                ),
            )
            result.model = None
    outcomes = [Outcome(result) for result in results]
    for outcome in sorted(outcomes, key=lambda o: ORDER.get(o.result.kind or "", 2)):
        if outcome.result.ok:
            source = dict(files)[outcome.result.filename].decode("utf-8-sig")
            try:
                _keeps_rounds_with_attempts(session, outcome.result)
                with session.begin_nested():
                    outcome.report = load(session, outcome.result, actor, now, source)
                session.commit()
            except Refused as refused:
                session.rollback()
                outcome.refused = refused
        if progress:
            progress(outcome)
    return outcomes
