"""Turn the formats officers already have into a bank YAML that validates.

- Aiken (Moodle): question, choices `A.` / `A)`, then `ANSWER: B`.
- GIFT (Moodle): multiple choice with one (`=`) or several right answers (`~%50%`), and
  true/false (`{T}`, `{FALSE}`). Other GIFT question kinds are reported, with their line.
- "Word-style" paste: `Câu 1. …`, `A. …`, `Đáp án: B` (the form most officers have).

Each converter returns the questions it understood and the problems it met, each with the
line of the source; `to_bank_yaml` writes them as a bank file.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import yaml

from app.content.messages import N_, Problem
from app.text import clean_line, fold, nfc

FORMATS = ("aiken", "gift", "word")
ANSWER_PAST_LAST = N_(
    'The answer "%(value)s" does not exist: the question has only %(count)d choices.'
)


@dataclass
class Converted:
    questions: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _problem(line: int, message: str, **params: Any) -> Problem:
    return Problem(line, 1, message, params)


def _letter_index(letter: str) -> int:
    return tuple("ABCDEFGH").index(letter.upper())  # one letter, matched whole


def _item(
    text: str, choices: list[str], answers: list[int], explanation: str | None = None
) -> dict[str, Any]:
    letters = ["ABCDEFGH"[i] for i in sorted(set(answers))]
    item: dict[str, Any] = {
        "text": text,
        "choices": choices,
        "answer": letters[0] if len(letters) == 1 else letters,
    }
    if explanation:
        item["explanation"] = explanation
    return item


# ------------------------------------------------------------------------------------ Aiken

_AIKEN_CHOICE = re.compile(r"^([A-Ha-h])[.)]\s+(.*\S)\s*$")
_AIKEN_ANSWER = re.compile(r"^ANSWER\s*:\s*([A-Ha-h])\s*$", re.IGNORECASE)


def from_aiken(text: str) -> Converted:
    out = Converted()
    question: list[str] = []
    choices: list[str] = []
    start = 0
    for number, raw in enumerate(nfc_lines(text), start=1):
        line = raw.strip()
        if not line:
            continue
        answer = _AIKEN_ANSWER.match(line)
        choice = _AIKEN_CHOICE.match(line)
        if answer:
            if not question or len(choices) < 2:
                out.problems.append(
                    _problem(
                        number,
                        N_("An answer line without a question and at least two choices above it."),
                    )
                )
            elif _letter_index(answer.group(1)) >= len(choices):
                out.problems.append(
                    _problem(
                        number,
                        ANSWER_PAST_LAST,
                        value=answer.group(1),
                        count=len(choices),
                    )
                )
            else:
                out.questions.append(
                    _item(" ".join(question), choices, [_letter_index(answer.group(1))])
                    | {"_line": start}
                )
            question, choices = [], []
        elif choice and question:
            if _letter_index(choice.group(1)) != len(choices):
                out.problems.append(
                    _problem(number, N_("Choices must be lettered in order: A, B, C…"))
                )
            choices.append(clean_line(choice.group(2)))
        else:
            if choices:  # text after choices, before an ANSWER line
                out.problems.append(_problem(start, N_('This question has no "ANSWER: X" line.')))
                question, choices = [], []
            if not question:
                start = number
            question.append(line)
    if question:
        out.problems.append(_problem(start, N_('This question has no "ANSWER: X" line.')))
    return out


# ------------------------------------------------------------------------------------- GIFT

_GIFT_ESCAPES = {
    "\\:": ":",
    "\\=": "=",
    "\\~": "~",
    "\\#": "#",
    "\\{": "{",
    "\\}": "}",
    "\\n": "\n",
}


def _gift_unescape(text: str) -> str:
    for escaped, plain in _GIFT_ESCAPES.items():
        text = text.replace(escaped, plain)
    return clean_line(re.sub(r"\[(?:html|moodle|plain|markdown)\]", "", text))


def _split_unescaped(text: str, marks: str) -> list[tuple[str, str]]:
    """'=a ~b ~%50%c' -> [('=', 'a '), ('~', 'b '), ('~', '%50%c')] (escaped marks kept)."""
    parts: list[tuple[str, str]] = []
    current, mark, i = [], "", 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if char in marks:
            if mark or "".join(current).strip():
                parts.append((mark, "".join(current)))
            mark, current = char, []
        else:
            current.append(char)
        i += 1
    parts.append((mark, "".join(current)))
    return parts


def _gift_blocks(text: str) -> list[tuple[int, str]]:
    """Questions separated by blank lines, comments (//) dropped, with their first line."""
    blocks: list[tuple[int, str]] = []
    lines: list[str] = []
    start = 0
    for number, raw in enumerate([*nfc_lines(text), ""], start=1):
        line = raw.rstrip()
        if line.lstrip().startswith("//"):
            continue
        if line.strip():
            if not lines:
                start = number
            lines.append(line)
        elif lines:
            blocks.append((start, "\n".join(lines)))
            lines = []
    return blocks


def from_gift(text: str) -> Converted:
    out = Converted()
    for line, block in _gift_blocks(text):
        if block.startswith("$CATEGORY"):
            continue
        body = re.sub(r"^::(?:[^:]|\\:)*::", "", block).strip()
        opening = _unescaped_index(body, "{")
        closing = _unescaped_index(body, "}", opening + 1) if opening >= 0 else -1
        if opening < 0 or closing < 0:
            out.problems.append(_problem(line, N_("Not a GIFT question: no answers in { }.")))
            continue
        stem, answers, after = (
            body[:opening],
            body[opening + 1 : closing],
            body[closing + 1 :].strip(),
        )
        question = _gift_unescape(stem)
        if after:
            out.problems.append(
                _problem(
                    line,
                    N_(
                        "Unsupported GIFT question (missing word: text after the answers). Only multiple choice and true/false are converted."
                    ),
                )
            )
            continue
        kind = answers.strip()
        if not kind:
            out.problems.append(
                _problem(
                    line,
                    N_(
                        "Unsupported GIFT question (essay). Only multiple choice and true/false are converted."
                    ),
                )
            )
            continue
        if kind.startswith("#"):
            out.problems.append(
                _problem(
                    line,
                    N_(
                        "Unsupported GIFT question (numerical). Only multiple choice and true/false are converted."
                    ),
                )
            )
            continue
        true_false = re.fullmatch(r"(T|F|TRUE|FALSE)\s*(#.*)?", kind, re.IGNORECASE | re.DOTALL)
        if true_false:
            item = {
                "type": "true_false",
                "text": question,
                "answer": true_false.group(1).upper().startswith("T"),
            }
            out.questions.append(item | {"_line": line})
            continue
        converted = _gift_choices(kind, line, out)
        if converted is not None:
            choices, right = converted
            out.questions.append(_item(question, choices, right) | {"_line": line})
    return out


def _gift_choices(answers: str, line: int, out: Converted) -> tuple[list[str], list[int]] | None:
    choices: list[str] = []
    right: list[int] = []
    for mark, raw in _split_unescaped(answers, "=~"):
        if not mark:
            continue
        value = raw.split("#")[0] if "#" in raw.replace("\\#", "") else raw
        value = _unescaped_head(raw)
        weight = re.match(r"^\s*%(-?[0-9]+(?:\.[0-9]+)?)%", value)
        if weight:
            value = value[weight.end() :]
        if "->" in value:
            out.problems.append(
                _problem(
                    line,
                    N_(
                        "Unsupported GIFT question (matching). Only multiple choice and true/false are converted."
                    ),
                )
            )
            return None
        if mark == "=" or (weight and float(weight.group(1)) > 0):
            right.append(len(choices))
        choices.append(_gift_unescape(value))
    if not any(mark == "~" for mark, _raw in _split_unescaped(answers, "=~")):
        out.problems.append(
            _problem(
                line,
                N_(
                    "Unsupported GIFT question (short answer). Only multiple choice and true/false are converted."
                ),
            )
        )
        return None
    if not right:
        out.problems.append(
            _problem(
                line,
                N_("No right answer marked (= before a choice, or a positive percentage weight)."),
            )
        )
        return None
    if not 2 <= len(choices) <= 8:
        out.problems.append(
            _problem(
                line,
                N_("A question needs 2 to 8 choices; this one has %(count)d."),
                count=len(choices),
            )
        )
        return None
    return choices, right


def _unescaped_index(text: str, char: str, start: int = 0) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == char:
            return i
        i += 1
    return -1


def _unescaped_head(raw: str) -> str:
    """A choice's text without its feedback (`#…`)."""
    cut = _unescaped_index(raw, "#")
    return raw if cut < 0 else raw[:cut]


# ------------------------------------------------------------------------------- Word-style

_WORD_QUESTION = re.compile(
    r"^(?:câu(?:\s+hỏi)?|cau(?:\s+hoi)?)\s*([0-9]+)\s*[.:)/-]?\s*(.*)$", re.IGNORECASE
)
_WORD_CHOICE = re.compile(r"^([A-Ha-h])\s*[.)/:]\s+(.*\S)\s*$")
_WORD_ANSWER = re.compile(
    r"^(?:đáp\s*án(?:\s*đúng)?|dap\s*an(?:\s*dung)?|đa)\s*[:.\-]?\s*(.+)$", re.IGNORECASE
)
_WORD_EXPLANATION = re.compile(r"^(?:giải\s*thích|giai\s*thich)\s*[:.\-]\s*(.+)$", re.IGNORECASE)


def from_word(text: str) -> Converted:
    out = Converted()
    current: dict[str, Any] | None = None

    def finish() -> None:
        if current is None:
            return
        line = current["_line"]
        if len(current["choices"]) < 2:
            out.problems.append(
                _problem(
                    line,
                    N_("Question %(number)s has fewer than two choices (A. …, B. …)."),
                    number=current["number"],
                )
            )
        elif current["answer"] is None:
            out.problems.append(
                _problem(
                    line,
                    N_('Question %(number)s has no "Đáp án: X" line.'),
                    number=current["number"],
                )
            )
        else:
            out.questions.append(
                _item(
                    " ".join(current["text"]),
                    current["choices"],
                    current["answer"],
                    current["explanation"],
                )
                | {"_line": line}
            )

    for number, raw in enumerate(nfc_lines(text), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        question = _WORD_QUESTION.match(line)
        if question:
            finish()
            current = {
                "number": question.group(1),
                "text": [question.group(2)] if question.group(2) else [],
                "choices": [],
                "answer": None,
                "explanation": None,
                "_line": number,
            }
            continue
        if current is None:
            continue  # a heading before the first question
        answer = _WORD_ANSWER.match(line)
        explanation = _WORD_EXPLANATION.match(line)
        choice = _WORD_CHOICE.match(line)
        if answer:
            letters = re.findall(
                r"\b([A-Ha-h])\b", fold(answer.group(1)).upper().replace("VA", ",")
            )
            if not letters:
                out.problems.append(
                    _problem(
                        number,
                        N_(
                            'Cannot read the answer "%(value)s": write a letter, for example "Đáp án: B".'
                        ),
                        value=answer.group(1),
                    )
                )
                continue
            positions = [_letter_index(letter) for letter in letters]
            if max(positions) >= len(current["choices"]):
                out.problems.append(
                    _problem(
                        number,
                        ANSWER_PAST_LAST,
                        value=answer.group(1),
                        count=len(current["choices"]),
                    )
                )
                continue
            current["answer"] = positions
        elif explanation:
            current["explanation"] = clean_line(explanation.group(1))
        elif choice and current["answer"] is None:
            current["choices"].append(clean_line(choice.group(2)))
        elif not current["choices"]:
            current["text"].append(line)  # the question continues on the next line
        else:
            out.problems.append(
                _problem(
                    number,
                    N_(
                        "This line is not a choice (A. …), an answer (Đáp án: …) or a new question (Câu …)."
                    ),
                )
            )
    finish()
    return out


# ------------------------------------------------------------------------------------ output


def nfc_lines(text: str) -> list[str]:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")


def detect(text: str, filename: str = "") -> str:
    if filename.lower().endswith(".gift") or re.search(
        r"\{\s*[=~]|\{\s*(?:T|F|TRUE|FALSE)\s*\}", text
    ):
        return "gift"
    if re.search(r"^\s*(?:câu|cau)\s*[0-9]+", text, re.IGNORECASE | re.MULTILINE):
        return "word"
    return "aiken"


def convert(text: str, fmt: str) -> Converted:
    return {"aiken": from_aiken, "gift": from_gift, "word": from_word}[fmt](nfc(text))


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:64]
    return slug if len(slug) >= 3 else f"bank-{slug}".strip("-")


def to_bank_yaml(converted: Converted, bank: str, title: str) -> str:
    questions = []
    for number, item in enumerate(converted.questions, start=1):
        clean = {key: value for key, value in item.items() if not key.startswith("_")}
        questions.append({"id": f"q{number:03d}"} | clean)
    document = {"bank": bank, "title": title, "questions": questions}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def problems_in_source(
    converted: Converted, problems: list[Problem], question_lines: list[int]
) -> list[Problem]:
    """Problems found in the bank file written from `converted` (whose question i starts on
    `question_lines[i]`), moved to the line of the source where that question starts, so the
    officer corrects the text as written; problems before the first question go to line 1."""
    moved = []
    for problem in problems:
        index = bisect_right(question_lines, problem.line) - 1
        line = converted.questions[index]["_line"] if index >= 0 else 1
        moved.append(Problem(line, 1, problem.message, problem.params))
    return moved
