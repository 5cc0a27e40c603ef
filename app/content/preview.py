"""What a file will look like once published, as plain data for the preview page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from app.content import schemas
from app.content.checks import BankInfo, answer_indices
from app.content.messages import N_, render
from app.content.store import TRUE_FALSE_CHOICES, local_time, resolved_choices


@dataclass
class QuestionView:
    """A question as a resident sees it (and, for the officer, which choices are right)."""

    key: str
    text: str
    choices: list[str]
    multiple: bool
    right: list[int] = field(default_factory=list)
    explanation: str | None = None
    source: str | None = None
    meta: list[str] = field(default_factory=list)


def bank_view(bank: schemas.Bank) -> list[QuestionView]:
    sources = {s.id: s.title for s in bank.sources}
    topics = {t.id: t.title for t in bank.topics}
    views = []
    for q in bank.questions:
        right = answer_indices(q)
        choices = TRUE_FALSE_CHOICES if q.type == "true_false" else list(q.choices or [])
        meta = [q.difficulty] + ([topics.get(q.topic, q.topic)] if q.topic else [])
        views.append(
            QuestionView(
                q.id,
                q.text,
                choices,
                len(right) > 1,
                right,
                q.explanation,
                sources.get(q.source or "", q.source),
                meta,
            )
        )
    return views


def condition_words(
    show_if: dict[str, list[int]] | None,
    lookup: Callable[[str], tuple[str, str, list[str]] | None],
    lang: str,
    number: Callable[[str], int | None] = lambda key: None,
) -> str | None:
    """What shows a question, said to the resident above it: `{thai-do: [1, 2]}` ->
    'This question shows when you answer “A” or “B” to question 3.' `lookup(key)` gives the
    target question's (type, text, choices), `number(key)` its number where the resident sees
    it (None when it is on another page: the question is then named by its text)."""
    if not show_if:
        return None
    parts = []
    for key, values in show_if.items():
        target = lookup(key)
        if target is None:
            continue
        kind, text, options = target
        names = render(N_(" or "), {}, lang).join(
            f"“{options[v - 1]}”" if kind != "rating" and 0 < v <= len(options) else str(v)
            for v in values
        )
        at = number(key)
        parts.append(
            render(N_("%(values)s to question %(number)s"), {"values": names, "number": at}, lang)
            if at is not None
            else render(
                N_("%(values)s to “%(question)s”"), {"values": names, "question": text}, lang
            )
        )
    joined = render(N_(" and "), {}, lang).join(parts)
    return render(
        N_("This question shows when you answer %(conditions)s."), {"conditions": joined}, lang
    )


def show_if_words(
    question: schemas.SurveyQuestion, survey: schemas.Survey, lang: str
) -> str | None:
    everything = {q.id: q for page in survey.pages for q in page.questions}
    numbers = {key: n for n, key in enumerate(everything, start=1)}  # as the preview counts

    def lookup(key: str) -> tuple[str, str, list[str]] | None:
        target = everything.get(key)
        if target is None:
            return None
        return (
            target.type,
            target.text or target.id,
            resolved_choices(target.choices, target.scale, dict(survey.scales)),
        )

    return condition_words(question.show_if, lookup, lang, numbers.get)


@dataclass
class SurveyQuestionView:
    key: str
    type: str
    text: str | None
    help: str | None
    required: bool
    choices: list[str]
    rows: list[str]
    other: bool
    condition: str | None
    min: float | None = None
    max: float | None = None
    low: str | None = None
    high: str | None = None
    decimal: bool = False


def survey_view(survey: schemas.Survey, lang: str) -> list[dict[str, Any]]:
    pages = []
    for page in survey.pages:
        questions = [
            SurveyQuestionView(
                key=q.id,
                type=q.type,
                text=q.text,
                help=q.help,
                required=q.required,
                choices=resolved_choices(q.choices, q.scale, dict(survey.scales)),
                rows=list(q.rows or []),
                other=bool(q.other),
                condition=show_if_words(q, survey, lang),
                min=q.min,
                max=q.max,
                low=q.low,
                high=q.high,
                decimal=bool(q.decimal),
            )
            for q in page.questions
        ]
        pages.append({"title": page.title, "description": page.description, "questions": questions})
    return pages


def contest_view(
    contest: schemas.Contest, banks: Callable[[str], BankInfo | None]
) -> list[dict[str, Any]]:
    rounds = []
    for item in contest.rounds:
        draws = []
        for draw in item.draw:
            info = banks(draw.bank)
            draws.append(
                {
                    "bank": draw.bank,
                    "count": draw.count,
                    "difficulty": draw.difficulty,
                    "topic": draw.topic,
                    "available": info.available(draw.difficulty, draw.topic) if info else None,
                }
            )
        zone = ZoneInfo(contest.timezone)
        rounds.append(
            {
                "id": item.id,
                "title": item.title or item.id,
                "opens": local_time(item.opens, contest.timezone).astimezone(zone),
                "closes": local_time(item.closes, contest.timezone).astimezone(zone),
                "minutes": round(schemas.duration_seconds(item.time_limit) / 60, 1),
                "attempts": item.attempts,
                "prediction": item.prediction,
                "review": item.review,
                "draws": draws,
                "questions": sum(d.count for d in item.draw),
            }
        )
    return rounds
