"""Rules across fields that a schema cannot say, run on the document as written (so they
report even when the schema found other mistakes): every problem of a file at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vietnam_provinces import Province, ProvinceCode, Ward, WardCode

from app.content.messages import N_, Problem
from app.content.reader import Located
from app.content.schemas import DATETIME, Bank
from app.models.people import hamlet_code_parts
from app.parse import ID_MAX, int_or_none
from app.text import clean_line

LETTERS = "ABCDEFGH"
TRUE_WORDS = {"true", "đúng", "yes", "có"}
FALSE_WORDS = {"false", "sai", "no", "không"}


@dataclass(frozen=True)
class BankInfo:
    """What a contest needs to know of a bank: its topics and each live question's filters."""

    topics: frozenset[str]
    questions: tuple[tuple[str, str | None], ...]  # (difficulty, topic)

    def available(self, difficulty: list[str] | None, topic: list[str] | None) -> int:
        return sum(
            1
            for level, subject in self.questions
            if (not difficulty or level in difficulty) and (not topic or subject in topic)
        )


def bank_info(bank: Bank) -> BankInfo:
    return BankInfo(
        topics=frozenset(t.id for t in bank.topics),
        questions=tuple((q.difficulty, q.topic) for q in bank.questions),
    )


class _Report:
    def __init__(self, located: Located) -> None:
        self.located = located
        self.problems: list[Problem] = []

    def at(self, path: tuple[Any, ...], message: str, on_key: bool = False, **params: Any) -> None:
        """A problem at the value of `path`, or at its key itself with `on_key`."""
        self.problems.append(Problem(*self.located.at(path, key=on_key), message, params))


def check(kind: str, located: Located, banks: Callable[[str], BankInfo | None]) -> list[Problem]:
    report = _Report(located)
    data = located.data
    if kind == "bank":
        _check_bank(report, data)
    elif kind == "contest":
        _check_contest(report, data, banks)
    else:
        _check_survey(report, data)
    return report.problems


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, item) for i, item in _items(value) if isinstance(item, dict)]


def normalised(text: Any) -> str:
    """How two choices are compared: NFC, trimmed, inner whitespace folded."""
    return clean_line(text) if isinstance(text, str) else repr(text)


def _unique(
    report: _Report,
    base: tuple[Any, ...],
    items: list[tuple[int, Any]],
    field: str | None,
    message: str,
) -> None:
    """Report the second occurrence of any repeated value (of `field` in each item)."""
    seen: set[str] = set()
    for index, item in items:
        value = item.get(field) if field else item
        if not isinstance(value, str):
            continue
        key = normalised(value)
        if key in seen:
            report.at((*base, index, field) if field else (*base, index), message, value=value)
        seen.add(key)


# ------------------------------------------------------------------------------------ banks


def _check_bank(report: _Report, data: dict[str, Any]) -> None:
    topics = {t.get("id") for _i, t in _dicts(data.get("topics"))}
    sources = {s.get("id") for _i, s in _dicts(data.get("sources"))}
    _unique(
        report,
        ("topics",),
        _dicts(data.get("topics")),
        "id",
        N_('The topic id "%(value)s" is used twice.'),
    )
    _unique(
        report,
        ("sources",),
        _dicts(data.get("sources")),
        "id",
        N_('The source id "%(value)s" is used twice.'),
    )
    questions = _dicts(data.get("questions"))
    _unique(
        report,
        ("questions",),
        questions,
        "id",
        N_('The question id "%(value)s" is used twice in this bank.'),
    )
    for index, question in questions:
        path = ("questions", index)
        _check_question(report, path, question)
        topic, source = question.get("topic"), question.get("source")
        if isinstance(topic, str) and topic not in topics:
            report.at(
                (*path, "topic"),
                N_('The topic "%(value)s" is not declared under "topics".'),
                value=topic,
            )
        if isinstance(source, str) and source not in sources:
            report.at(
                (*path, "source"),
                N_('The source "%(value)s" is not declared under "sources".'),
                value=source,
            )


def _check_question(report: _Report, path: tuple[Any, ...], question: dict[str, Any]) -> None:
    kind = question.get("type", "choice")
    choices = question.get("choices")
    answer = question.get("answer")
    answers = [(None, answer)] if isinstance(answer, str) else list(_items(answer))
    if kind == "true_false":
        if "choices" in question:
            report.at(
                (*path, "choices"),
                N_(
                    "A true/false question has no choices: remove them (they are always Đúng / Sai)."
                ),
                on_key=True,
            )
        for position, value in answers:
            where = (*path, "answer") if position is None else (*path, "answer", position)
            if not isinstance(value, str) or value.lower() not in TRUE_WORDS | FALSE_WORDS:
                report.at(
                    where,
                    N_('The answer of a true/false question is true or false, not "%(value)s".'),
                    value=value,
                )
        if len(answers) > 1:
            report.at((*path, "answer"), N_("A true/false question has one answer: true or false."))
        return
    if kind != "choice":
        return  # the schema reports the unknown type
    if choices is None:
        report.at(path, N_('A multiple-choice question needs "choices" (2 to 8).'))
        return
    _unique(
        report,
        (*path, "choices"),
        _items(choices),
        None,
        N_('The choice "%(value)s" is written twice.'),
    )
    count = len(choices) if isinstance(choices, list) else 0
    for position, value in answers:
        where = (*path, "answer") if position is None else (*path, "answer", position)
        if not isinstance(value, str) or len(value) != 1 or value.upper() not in LETTERS:
            report.at(where, N_('The answer "%(value)s" is not a letter from A to H.'), value=value)
        elif LETTERS.index(value.upper()) >= count and count:
            report.at(
                where,
                N_(
                    'The answer "%(value)s" does not exist: the question has only %(count)d choices (A–%(last)s).'
                ),
                value=value,
                count=count,
                last=LETTERS[count - 1],
            )
    letters = [v.upper() for _p, v in answers if isinstance(v, str)]
    if len(set(letters)) != len(letters):
        report.at((*path, "answer"), N_("The same answer letter is written twice."))


# --------------------------------------------------------------------------------- contests


def _when(value: Any, zone: ZoneInfo | None) -> datetime | None:
    if not isinstance(value, str) or not DATETIME.match(value) or zone is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    except ValueError:
        return None


def _zone(report: _Report, data: dict[str, Any]) -> ZoneInfo | None:
    name = data.get("timezone", "Asia/Ho_Chi_Minh")
    if not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        report.at(
            ("timezone",),
            N_('Unknown time zone "%(value)s" (for example Asia/Ho_Chi_Minh).'),
            value=name,
        )
        return None


def _check_dates(
    report: _Report, path: tuple[Any, ...], item: dict[str, Any], zone: ZoneInfo | None
) -> None:
    for key in ("opens", "closes"):
        value = item.get(key)
        if isinstance(value, str) and DATETIME.match(value) and zone and _when(value, zone) is None:
            report.at(
                (*path, key),
                N_('The date "%(value)s" does not exist in the calendar.'),
                value=value,
            )
    opens, closes = _when(item.get("opens"), zone), _when(item.get("closes"), zone)
    if opens and closes and closes <= opens:
        report.at(
            (*path, "closes"),
            N_('"closes" (%(closes)s) must be later than "opens" (%(opens)s).'),
            opens=item["opens"],
            closes=item["closes"],
        )


def unit_exists(code: int) -> bool:
    for kind, lookup in ((ProvinceCode, Province.from_code), (WardCode, Ward.from_code)):
        try:
            lookup(kind(code))  # type: ignore[operator]
            return True
        except ValueError:
            continue
    return False


def _check_audience(report: _Report, data: dict[str, Any]) -> None:
    """Codes of the official list, or of a hamlet (its commune's code × 1000 + n: whether that
    hamlet exists is the store's check, made against the database)."""
    for index, code in _items(data.get("audience")):
        number = int_or_none(code, 1, ID_MAX) if isinstance(code, str) else None
        if number is None or unit_exists(number):
            continue
        parts = hamlet_code_parts(number)
        if parts is None or not unit_exists(parts[0]):
            report.at(
                ("audience", index),
                N_(
                    "Unit code %(value)s is neither in the official list of provinces and "
                    "communes nor the code of a hamlet (its commune's code × 1000 + its number)."
                ),
                value=code,
            )


def _check_contest(
    report: _Report, data: dict[str, Any], banks: Callable[[str], BankInfo | None]
) -> None:
    zone = _zone(report, data)
    _check_audience(report, data)
    rounds = _dicts(data.get("rounds"))
    _unique(
        report,
        ("rounds",),
        rounds,
        "id",
        N_('The round id "%(value)s" is used twice in this contest.'),
    )
    for index, round_ in rounds:
        path = ("rounds", index)
        _check_dates(report, path, round_, zone)
        asked: dict[str, int] = {}
        for position, draw in _dicts(round_.get("draw")):
            where = (*path, "draw", position)
            slug = draw.get("bank")
            if not isinstance(slug, str):
                continue
            info = banks(slug)
            if info is None:
                report.at(
                    (*where, "bank"),
                    N_(
                        'The bank "%(value)s" is not known: load it first, or validate it together with this contest.'
                    ),
                    value=slug,
                )
                continue
            topics = draw.get("topic")
            topics = (
                [topics]
                if isinstance(topics, str)
                else topics
                if isinstance(topics, list)
                else None
            )
            for t_index, topic in _items(topics):
                if isinstance(topic, str) and topic not in info.topics:
                    report.at(
                        (*where, "topic")
                        if isinstance(draw.get("topic"), str)
                        else (*where, "topic", t_index),
                        N_('The bank "%(bank)s" has no topic "%(value)s".'),
                        bank=slug,
                        value=topic,
                    )
            levels = draw.get("difficulty")
            levels = (
                [levels]
                if isinstance(levels, str)
                else levels
                if isinstance(levels, list)
                else None
            )
            count = draw.get("count")
            wanted = int_or_none(count, 0, ID_MAX) if isinstance(count, str) else None
            if wanted is not None:
                available = info.available(levels, topics)
                if wanted > available:
                    report.at(
                        (*where, "count"),
                        N_(
                            'This draw asks for %(count)s questions but the bank "%(bank)s" has only %(available)d that match.'
                        ),
                        count=count,
                        bank=slug,
                        available=available,
                    )
                asked[slug] = asked.get(slug, 0) + wanted
                if asked[slug] > len(info.questions) and wanted <= available:
                    report.at(
                        (*where, "count"),
                        N_(
                            'This round asks for %(count)d questions from the bank "%(bank)s" in all, but it has only %(available)d.'
                        ),
                        count=asked[slug],
                        bank=slug,
                        available=len(info.questions),
                    )


# ---------------------------------------------------------------------------------- surveys

# Which optional keys each question type may carry.
ALLOWED_ON = {
    "choices": {"single", "multiple", "scale", "grid"},
    "scale": {"scale", "grid"},
    "rows": {"grid"},
    "max": {"multiple", "number"},
    "min": {"number"},
    "decimal": {"number"},
    "other": {"single", "multiple"},
    "demographic": {"single"},
    "index": {"scale", "grid"},
    "low": {"rating"},
    "high": {"rating"},
}
SHOW_IF_TYPES = {"single", "multiple", "scale", "rating"}


def answer_range(question: dict[str, Any], scales: dict[str, Any]) -> tuple[int, int] | None:
    """The possible values of a question that show_if may test, as (low, high)."""
    kind = question.get("type")
    if kind == "rating":
        return 0, 10
    if kind in {"single", "multiple", "scale"}:
        options = question.get("choices")
        if options is None and kind == "scale":
            options = scales.get(question.get("scale"))
        if isinstance(options, list) and options:
            return 1, len(options)
    return None


def _number(value: Any) -> float | None:
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _check_survey(report: _Report, data: dict[str, Any]) -> None:
    zone = _zone(report, data)
    _check_dates(report, (), data, zone)
    _check_audience(report, data)
    scales = data.get("scales") if isinstance(data.get("scales"), dict) else {}
    for name, values in scales.items():
        _unique(
            report,
            ("scales", name),
            _items(values),
            None,
            N_('The choice "%(value)s" is written twice.'),
        )
    if data.get("series") is not None and data.get("wave") is None:
        report.at(("series",), N_('A survey in a "series" needs a "wave" number to be compared.'))
    earlier: dict[str, dict[str, Any]] = {}
    everywhere = {
        q.get("id")
        for _p, page in _dicts(data.get("pages"))
        for _i, q in _dicts(page.get("questions"))
    }
    seen: set[str] = set()
    for p_index, page in _dicts(data.get("pages")):
        for q_index, question in _dicts(page.get("questions")):
            path = ("pages", p_index, "questions", q_index)
            qid = question.get("id")
            if isinstance(qid, str):
                if qid in seen:
                    report.at(
                        (*path, "id"),
                        N_('The question id "%(value)s" is used twice in this survey.'),
                        value=qid,
                    )
                seen.add(qid)
            _check_survey_question(report, path, question, scales)
            _check_show_if(report, path, question, earlier, everywhere, scales)
            if isinstance(qid, str) and qid not in earlier:
                earlier[qid] = question


def _check_survey_question(
    report: _Report, path: tuple[Any, ...], question: dict[str, Any], scales: dict[str, Any]
) -> None:
    kind = question.get("type")
    if not isinstance(kind, str):
        return
    for key, types in ALLOWED_ON.items():
        if key in question and kind not in types:
            report.at(
                (*path, key),
                N_('"%(key)s" cannot be used on a %(type)s question (only on: %(allowed)s).'),
                on_key=True,
                key=key,
                type=kind,
                allowed=", ".join(sorted(types)),
            )
    if kind != "grid" and question.get("text") is None:
        report.at(path, N_('"%(key)s" is required here.'), key="text")
    scale = question.get("scale")
    if isinstance(scale, str) and scale not in scales:
        report.at(
            (*path, "scale"),
            N_('The scale "%(value)s" is not declared under "scales".'),
            value=scale,
        )
    if kind in {"single", "multiple"} and "choices" not in question:
        report.at(path, N_('A %(type)s question needs "choices".'), type=kind)
    if kind in {"scale", "grid"} and ("scale" in question) == ("choices" in question):
        report.at(
            path,
            N_(
                'A %(type)s question needs either "scale" (a name under "scales") or its own "choices", not both.'
            ),
            type=kind,
        )
    if kind == "grid" and "rows" not in question:
        report.at(path, N_('A grid question needs "rows" (2 or more statements).'))
    for key in ("choices", "rows"):
        _unique(
            report,
            (*path, key),
            _items(question.get(key)),
            None,
            N_('The choice "%(value)s" is written twice.'),
        )
    low, high = _number(question.get("min")), _number(question.get("max"))
    if kind == "number":
        if low is not None and high is not None and low > high:
            report.at((*path, "max"), N_('"max" must not be smaller than "min".'))
        decimal = str(question.get("decimal", "false")).lower() in {"true", "yes", "on", "1"}
        for key, number in (("min", low), ("max", high)):
            if number is not None and not decimal and not number.is_integer():
                report.at(
                    (*path, key),
                    N_('Whole numbers only, unless the question says "decimal: true".'),
                )
    if kind == "multiple" and high is not None:
        options = question.get("choices")
        limit = (len(options) if isinstance(options, list) else 0) + (
            1 if str(question.get("other", "")).lower() == "true" else 0
        )
        if not high.is_integer() or high < 1 or (limit and high > limit):
            report.at(
                (*path, "max"),
                N_(
                    '"max" is how many choices a person may tick: a whole number from 1 to %(limit)d.'
                ),
                limit=limit or 1,
            )


def _check_show_if(
    report: _Report,
    path: tuple[Any, ...],
    question: dict[str, Any],
    earlier: dict[str, dict[str, Any]],
    everywhere: set[Any],
    scales: dict[str, Any],
) -> None:
    conditions = question.get("show_if")
    if not isinstance(conditions, dict):
        return
    for key, values in conditions.items():
        where = (*path, "show_if", key)
        if key not in earlier:
            if key in everywhere:
                report.at(
                    where,
                    N_(
                        'show_if names "%(value)s", which does not come before this question: a question can only depend on earlier ones.'
                    ),
                    on_key=True,
                    value=key,
                )
            else:
                report.at(
                    where,
                    N_('show_if names "%(value)s", which is not a question of this survey.'),
                    on_key=True,
                    value=key,
                )
            continue
        target = earlier[key]
        if target.get("type") not in SHOW_IF_TYPES:
            report.at(
                where,
                N_(
                    'show_if can only depend on single, multiple, scale or rating questions; "%(value)s" is a %(type)s question.'
                ),
                on_key=True,
                value=key,
                type=target.get("type"),
            )
            continue
        bounds = answer_range(target, scales)
        items = [(None, values)] if isinstance(values, str) else _items(values)
        for position, value in items:
            spot = where if position is None else (*where, position)
            number = _number(value)
            if (
                bounds
                and number is not None
                and number.is_integer()
                and not bounds[0] <= number <= bounds[1]
            ):
                report.at(
                    spot,
                    N_(
                        '%(value)s is not a possible answer of "%(key)s" (possible: %(low)d to %(high)d).'
                    ),
                    value=value,
                    key=key,
                    low=bounds[0],
                    high=bounds[1],
                )


def as_bool(value: Any) -> bool:
    return isinstance(value, str) and value.lower() in TRUE_WORDS


def answer_indices(question: Any) -> list[int]:
    """The correct choices of a validated question, as 0-based positions."""
    if question.type == "true_false":
        return [0] if question.answer[0].lower() in TRUE_WORDS else [1]
    return sorted({LETTERS.index(letter.upper()) for letter in question.answer})
