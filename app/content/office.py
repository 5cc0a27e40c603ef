"""Question banks straight from the files officers have: Word (.docx) and Excel (.xlsx).

Word (python-docx). A question starts at "Câu 1.", "Câu 1:" or "1." (typed, or Word's own
list numbering); its choices "A." to "H." follow, one per paragraph, several on one line
separated by tabs, or in a table (a row "A. | text", or a cell per choice). The right answer
is found by any of five conventions, each detected on its own:

- an "Đáp án: B" line (several letters: "Đáp án: A, C");
- a `*` before or after the choice ("B. Hai *");
- the choice highlighted (Word's highlighter, or a shaded run);
- the choice underlined;
- the choice in bold.

A formatting convention counts for a question only when it marks some of its choices but not
all of them (a file whose every choice is bold says nothing). Several conventions in one file
are allowed, even in one question, as long as they agree: a question whose conventions name
different choices, or whose answer cannot be found at all, is reported by its number and its
text, never guessed. The report says which convention gave the answers, and for which
questions when there are several ("12 câu; đáp án lấy từ chữ đậm"). "Giải thích:" starts an
explanation (it may go on over the next paragraphs, until the next question). A mistake's
"line" is the paragraph's number in the document (table cells counted, in reading order).

Excel (openpyxl). The sheet "Câu hỏi" has one row per question under two header rows (what a
person reads, then the column keys: id, text, A…H, answer, difficulty, topic, explanation,
source, type, tags, shuffle); "Ngân hàng" holds the bank's id, title and description, "Chủ
đề" and "Nguồn" its topics and sources. Any published bank downloads as that workbook (written
by app/services/exports.py: a cell starting with = + - @ stays text), so an officer edits it in
Excel and uploads it again for the same bank. Every mistake names its cell: `Câu hỏi!C12: …`.

Both are zip files: before either library opens one, the archive is checked (a real zip, the
part that makes it a Word or Excel file, at most MAX_ENTRIES entries and MAX_UNCOMPRESSED
bytes once unpacked: the libraries read every part, so a zip bomb is refused before it is
inflated). A file that is not what its name says is refused with a clear message.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import yaml

from app.content.convert import (
    _WORD_ANSWER,
    _WORD_CHOICE,
    _WORD_EXPLANATION,
    _WORD_QUESTION,
    ANSWER_PAST_LAST,
    Converted,
    _item,
    _letter_index,
    _problem,
)
from app.content.messages import N_, Problem, Term, render
from app.content.reader import MAX_BYTES
from app.text import clean_line, fold, nfc

KINDS = ("docx", "xlsx")
MAX_UNCOMPRESSED = 40 * 1024 * 1024
MAX_ENTRIES = 2000
MAX_PARAGRAPHS = 20_000
MAX_ROWS = 5_000 + 2  # the most questions a bank may have, under the two header rows
MAX_COLUMNS = 40
EXTENSIONS = {".docx": "docx", ".doc": "docx", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xlsx"}
PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
NOT_THIS_KIND = {
    "docx": N_("This file is not a Word document (.docx). Save it in Word as .docx and try again."),
    "xlsx": N_(
        "This file is not an Excel workbook (.xlsx). Save it in Excel as .xlsx and try again."
    ),
}

DAMAGED = {
    "docx": N_(
        "This Word document is damaged or uses something that cannot be read. Open it in Word, "
        "save it again as .docx (or copy its text into a new document) and try again."
    ),
    "xlsx": N_(
        "This Excel workbook is damaged or uses something that cannot be read. Open it in "
        "Excel, save it again as .xlsx (or copy its cells into the template) and try again."
    ),
}


class Refused(Exception):
    """The file cannot be read at all: `status` is the HTTP answer, `problem` says why."""

    def __init__(self, status: int, message: str, **params: Any) -> None:
        super().__init__(message)
        self.status = status
        self.problem = Problem(1, 1, message, params)


@dataclass(frozen=True)
class CellProblem(Problem):
    """A mistake in a workbook, named by its cell: `Câu hỏi!C12: message`."""

    cell: str = ""

    def text(self, lang: str = "vi") -> str:
        return f"{self.cell}: {render(self.message, self.params, lang)}"

    def format(self, filename: str, lang: str = "vi") -> str:
        return f"{filename}: {self.text(lang)}"


@dataclass
class Result:
    """What a file gave: the bank YAML when every question was understood, the file's text as
    numbered lines (paragraphs, or rows) for the mistakes page, the mistakes, and a summary."""

    kind: str
    lines: list[str]
    problems: list[Problem] = field(default_factory=list)
    yaml: str | None = None
    summary: tuple[str, dict[str, Any]] | None = None
    count: int = 0

    def report(self, lang: str = "vi") -> str:
        if self.summary is None:
            return ""
        message, params = self.summary
        return render(message, params, lang)


# ------------------------------------------------------------------------------ the zip check


def kind_of(filename: str, raw: bytes, chosen: str = "") -> str | None:
    """ "docx" or "xlsx" when the upload is (or claims to be) one, else None: by the name's
    extension, the chosen format, or a zip that holds a Word or Excel part."""
    extension = PurePath(filename.lower()).suffix
    if extension in EXTENSIONS:
        return EXTENSIONS[extension]
    if raw[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            names = set()
        for kind, part in PARTS.items():
            if part in names:
                return kind
    return chosen if chosen in KINDS else None


def check_zip(raw: bytes, kind: str) -> None:
    """Refuse what is not a sound zip of this kind, or would inflate past the limits."""
    if len(raw) > MAX_BYTES:
        raise Refused(413, N_("The file is larger than %(limit)s MiB."), limit=MAX_BYTES // 2**20)
    if raw[:2] == b"\xd0\xcf":  # the old binary .doc / .xls (OLE), not a zip
        raise Refused(415, NOT_THIS_KIND[kind])
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Refused(415, NOT_THIS_KIND[kind]) from None
    if PARTS[kind] not in {e.filename for e in entries}:
        raise Refused(415, NOT_THIS_KIND[kind])
    # zipfile never inflates an entry past its declared size (it stops there and fails the
    # CRC), so the declared sizes bound what the libraries will unpack.
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNCOMPRESSED:
        raise Refused(
            413,
            N_("This file unpacks to more than %(limit)s MiB: it cannot be read."),
            limit=MAX_UNCOMPRESSED // 2**20,
        )


def read(raw: bytes, kind: str, bank: str, title: str) -> Result:
    """A .docx or .xlsx upload as a bank (Refused when the file cannot be read at all)."""
    check_zip(raw, kind)
    return read_docx(raw, bank, title) if kind == "docx" else read_xlsx(raw, bank, title)


# ------------------------------------------------------------------------------------- Word


@dataclass
class Line:
    """One line of a paragraph (a soft line break starts another) with, per character, the
    formatting conventions that mark it."""

    number: int
    text: str
    marks: list[frozenset[str]]
    in_table: bool = False


BOLD, UNDERLINE, HIGHLIGHT, STAR, ANSWER_LINE = "bold", "underline", "highlight", "star", "line"
# Which convention is named in the report when several agree on a question (the explicit first).
PRIORITY = (ANSWER_LINE, STAR, HIGHLIGHT, UNDERLINE, BOLD)
CONVENTION_WORDS = {
    BOLD: Term(N_("bold text")),
    UNDERLINE: Term(N_("underlined text")),
    HIGHLIGHT: Term(N_("highlighted text")),
    STAR: Term(N_("a * beside the choice")),
    ANSWER_LINE: Term(N_('"Đáp án:" lines')),
}
_NUMBERED = re.compile(r"^([0-9]{1,4})\s*[.):]\s*(\S.*)$")
_LETTER_ONLY = re.compile(r"^\*?\s*([A-Ha-h])\s*[.)/:]?\s*\*?$")
_SPLIT_CHOICES = re.compile(r"(?:\t|\s{2,})\s*(?=\*?[B-Hb-h]\s*[.)]\s)")


def _style_flag(style: Any, name: str) -> bool | None:
    while style is not None:
        value = getattr(style.font, name, None)
        if value is not None:
            return bool(value)
        style = style.base_style
    return None


def _run_marks(run: Any, paragraph_style: Any) -> frozenset[str]:
    from docx.enum.text import WD_COLOR_INDEX, WD_UNDERLINE
    from docx.oxml.ns import qn

    marks = set()
    bold = run.bold
    if bold is None:
        bold = _style_flag(run.style, "bold")
    if bold is None:
        bold = _style_flag(paragraph_style, "bold")
    if bold:
        marks.add(BOLD)
    underline = run.underline
    if underline is None:
        underline = _style_flag(run.style, "underline")
    if underline not in (None, False, WD_UNDERLINE.NONE):
        marks.add(UNDERLINE)
    highlight = run.font.highlight_color
    if highlight not in (None, WD_COLOR_INDEX.AUTO):
        marks.add(HIGHLIGHT)
    properties = run._r.rPr
    shading = properties.find(qn("w:shd")) if properties is not None else None
    if shading is not None:
        fill = (shading.get(qn("w:fill")) or "auto").lower()
        if fill not in ("auto", "ffffff", "none"):
            marks.add(HIGHLIGHT)
    return frozenset(marks)


def _numbering(document: Any) -> Callable[[Any], tuple[str, str] | None]:
    """For a paragraph in one of Word's numbered lists: (format, counter text), e.g.
    ("decimal", "3") or ("upperLetter", "B"); None otherwise. Word does not write the number
    into the text, so it is counted here, per list and level, as Word shows it."""
    from docx.oxml.ns import qn

    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return lambda _paragraph: None
    abstract = {a.get(qn("w:abstractNumId")): a for a in root.findall(qn("w:abstractNum"))}
    formats: dict[tuple[str, str], str] = {}
    for num in root.findall(qn("w:num")):
        ref = num.find(qn("w:abstractNumId"))
        definition = abstract.get(ref.get(qn("w:val")) if ref is not None else None)
        if definition is None:
            continue
        for level in definition.findall(qn("w:lvl")):
            fmt = level.find(qn("w:numFmt"))
            if fmt is not None:
                formats[(num.get(qn("w:numId")), level.get(qn("w:ilvl")))] = fmt.get(qn("w:val"))
    counters: dict[tuple[str, str], int] = {}

    def number(paragraph: Any) -> tuple[str, str] | None:
        properties = paragraph._p.pPr
        numbering = properties.numPr if properties is not None else None
        style = paragraph.style
        while (numbering is None or numbering.numId is None) and style is not None:
            style_properties = style.element.pPr  # a list style ("List Number") numbers too
            numbering = style_properties.numPr if style_properties is not None else None
            style = style.base_style
        if numbering is None or numbering.numId is None:
            return None
        key = (str(numbering.numId.val), str(numbering.ilvl.val if numbering.ilvl else 0))
        fmt = formats.get(key)
        if fmt is None:
            return None
        counters[key] = counters.get(key, 0) + 1
        for other in [k for k in counters if k[0] == key[0] and k[1] > key[1]]:
            del counters[other]  # a deeper level restarts under each item
        count = counters[key]
        if fmt in ("upperLetter", "lowerLetter"):
            letter = "ABCDEFGH"[count - 1] if count <= 8 else "?"
            return fmt, letter if fmt == "upperLetter" else letter.lower()
        return fmt, str(count)

    return number


def _paragraph_lines(
    paragraph: Any, number: int, counter: tuple[str, str] | None, in_table: bool
) -> list[Line]:
    from docx.text.hyperlink import Hyperlink

    text: list[str] = []
    marks: list[frozenset[str]] = []
    if counter is not None:
        fmt, value = counter
        prefix = f"{value}. " if fmt in ("decimal", "upperLetter", "lowerLetter") else ""
        text.append(prefix)
        marks.extend([frozenset()] * len(prefix))
    style = paragraph.style
    for item in paragraph.iter_inner_content():
        runs = item.runs if isinstance(item, Hyperlink) else [item]
        for run in runs:
            piece = unicodedata.normalize("NFC", run.text)
            text.append(piece)
            marks.extend([_run_marks(run, style)] * len(piece))
    whole = "".join(text)
    lines, start = [], 0
    for part in whole.split("\n"):
        lines.append(Line(number, part, marks[start : start + len(part)], in_table))
        start += len(part) + 1
    return lines


def _document_lines(document: Any) -> tuple[list[Line], list[str]]:
    """Every paragraph in reading order (table cells row by row), as lines; and the text of
    each paragraph, numbered from 1, for the mistakes page."""
    from docx.table import Table

    numbering = _numbering(document)
    lines: list[Line] = []
    shown: list[str] = []

    def add(paragraph: Any, in_table: bool = False) -> list[Line]:
        if len(shown) >= MAX_PARAGRAPHS:
            raise Refused(
                413,
                N_("This document has more than %(limit)d paragraphs: split it into several."),
                limit=MAX_PARAGRAPHS,
            )
        found = _paragraph_lines(paragraph, len(shown) + 1, numbering(paragraph), in_table)
        shown.append(" / ".join(line.text for line in found))
        return found

    def table(block: Any) -> None:
        for row in block.rows:
            seen: set[int] = set()
            cells = []
            for cell in row.cells:
                if id(cell._tc) not in seen:  # a merged cell is listed once per column
                    seen.add(id(cell._tc))
                    cells.append(cell)
            texts = [[add(p, True) for p in cell.paragraphs] for cell in cells]
            flat = [[line for group in cell for line in group] for cell in texts]
            if (
                len(flat) >= 2
                and len(flat[0]) == 1
                and _LETTER_ONLY.match(flat[0][0].text.strip())
                and flat[1]
            ):
                # "A." | "the choice": one line, the letter's cell before the text's.
                letter, body = flat[0][0], flat[1]
                glue = Line(body[0].number, " ", [frozenset()], True)
                joined = [letter, glue, *body[:1]]
                lines.append(
                    Line(
                        body[0].number,
                        "".join(x.text for x in joined),
                        [m for x in joined for m in x.marks],
                        True,
                    )
                )
                lines.extend(body[1:])
                for rest in flat[2:]:
                    lines.extend(rest)
            else:
                for cell_lines in flat:
                    lines.extend(cell_lines)

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            table(block)
        else:
            lines.extend(add(block))
    return lines, shown


def _split(line: Line) -> list[Line]:
    """'A. Một<TAB>B. Hai<TAB>C. Ba' → three lines (choices side by side)."""
    if not _WORD_CHOICE.match(line.text.strip().lstrip("*").strip()):
        return [line]
    out, start = [], 0
    for match in _SPLIT_CHOICES.finditer(line.text):
        out.append(
            Line(
                line.number,
                line.text[start : match.start()],
                line.marks[start : match.start()],
                line.in_table,
            )
        )
        start = match.end()
    out.append(Line(line.number, line.text[start:], line.marks[start:], line.in_table))
    return out


@dataclass
class _Question:
    number: str
    line: int
    text: list[str]
    choices: list[tuple[str, set[str]]] = field(default_factory=list)
    answer_line: list[int] | None = None
    explanation: list[str] | None = None
    explaining: bool = False


def _choice(line: Line) -> tuple[str, str, set[str]] | None:
    """(letter, text, conventions marking the whole choice) for a choice line."""
    stripped = line.text.strip()
    offset = line.text.index(stripped) if stripped else 0
    star = stripped.startswith("*")
    body = stripped.lstrip("*").lstrip()
    offset += len(stripped) - len(body)
    match = _WORD_CHOICE.match(body)
    if not match:
        return None
    text = match.group(2)
    if text.endswith("*"):
        star, text = True, text.rstrip("*").rstrip()
    begin = offset + match.start(2)
    characters = [
        line.marks[begin + i]
        for i, char in enumerate(text)
        if not char.isspace() and begin + i < len(line.marks)
    ]
    marked = set(frozenset.intersection(*characters)) if characters else set()
    if star:
        marked.add(STAR)
    return match.group(1).upper(), clean_line(text), marked


def _question_start(line: Line) -> tuple[str, str] | None:
    text = line.text.strip().lstrip("\ufeff")
    match = _WORD_QUESTION.match(text) or _NUMBERED.match(text)
    return (match.group(1), match.group(2)) if match else None


def from_lines(lines: list[Line]) -> tuple[Converted, dict[str, list[str]]]:
    """The questions of a document's lines, and which convention gave each answer."""
    out = Converted()
    used: dict[str, list[str]] = {}
    current: _Question | None = None

    def finish() -> None:
        if current is None:
            return
        answers = _answer(current, out)
        if answers is None:
            return
        positions, convention = answers
        item = _item(
            clean_line(" ".join(current.text)),
            [text for text, _marks in current.choices],
            positions,
            clean_line(" ".join(current.explanation)) if current.explanation else None,
        )
        out.questions.append(item | {"_line": current.line})
        used.setdefault(convention, []).append(current.number)

    for whole in lines:
        for line in _split(whole):
            text = line.text.strip()
            if not text:
                continue
            start = _question_start(line)
            choice = _choice(line)
            if start:
                finish()
                current = _Question(start[0], line.number, [start[1]] if start[1] else [])
                continue
            if current is None:
                continue  # a title or heading before the first question
            answer = _WORD_ANSWER.match(text)
            explanation = _WORD_EXPLANATION.match(text) or re.match(
                r"^(?:giải\s*thích|giai\s*thich)\s*[:.\-]?\s*$", text, re.IGNORECASE
            )
            if answer and current.choices:
                current.explaining = False
                _answer_line(current, answer.group(1), line.number, out)
            elif explanation:
                first = explanation.group(1) if explanation.groups() else ""
                current.explanation = [first] if first else []
                current.explaining = True
            elif current.explaining and current.explanation is not None:
                current.explanation.append(text)
            elif choice and current.answer_line is None:
                letter, body, marks = choice
                if _letter_index(letter) != len(current.choices):
                    out.problems.append(
                        _problem(line.number, N_("Choices must be lettered in order: A, B, C…"))
                    )
                current.choices.append((body, marks))
            elif not current.choices:
                current.text.append(text)
            else:
                out.problems.append(
                    _problem(
                        line.number,
                        N_(
                            "This line is not a choice (A. …), an answer (Đáp án: …) or a new question (Câu …)."
                        ),
                    )
                )
    finish()
    return out, used


def _answer_line(current: _Question, value: str, number: int, out: Converted) -> None:
    letters = re.findall(r"\b([A-Ha-h])\b", fold(value).upper().replace("VA", ","))
    if not letters:
        out.problems.append(
            _problem(
                number,
                N_('Cannot read the answer "%(value)s": write a letter, for example "Đáp án: B".'),
                value=value,
            )
        )
        current.answer_line = []
        return
    positions = [_letter_index(letter) for letter in letters]
    if max(positions) >= len(current.choices):
        out.problems.append(
            _problem(number, ANSWER_PAST_LAST, value=value, count=len(current.choices))
        )
        current.answer_line = []
        return
    current.answer_line = positions


def _answer(current: _Question, out: Converted) -> tuple[list[int], str] | None:
    """The right choices and the convention that gave them, or None (a problem reported)."""
    if len(current.choices) < 2:
        out.problems.append(
            _problem(
                current.line,
                N_("Question %(number)s has fewer than two choices (A. …, B. …)."),
                number=current.number,
            )
        )
        return None
    if current.answer_line == []:
        return None  # its answer line was reported already
    found: dict[str, tuple[int, ...]] = {}
    if current.answer_line is not None:
        found[ANSWER_LINE] = tuple(sorted(set(current.answer_line)))
    for convention in (STAR, HIGHLIGHT, UNDERLINE, BOLD):
        marked = tuple(i for i, (_t, marks) in enumerate(current.choices) if convention in marks)
        if 0 < len(marked) < len(current.choices):
            found[convention] = marked
    text = clean_line(" ".join(current.text))
    if not found:
        out.problems.append(
            _problem(
                current.line,
                N_(
                    'Question %(number)s ("%(text)s"): its answer is not marked (bold, underline, highlight, a *, or a "Đáp án: X" line).'
                ),
                number=current.number,
                text=_short(text),
            )
        )
        return None
    if len(set(found.values())) > 1:
        out.problems.append(
            _problem(
                current.line,
                N_(
                    'Question %(number)s ("%(text)s"): the answer marks disagree (%(marks)s); keep one.'
                ),
                number=current.number,
                text=_short(text),
                marks=_Marks(found),
            )
        )
        return None
    convention = next(c for c in PRIORITY if c in found)
    return list(found[convention]), convention


class _Marks(dict):  # type: ignore[type-arg]
    """The conventions found on one question, shown in the officer's language."""

    def render(self, lang: str) -> str:
        return "; ".join(
            f"{render(CONVENTION_WORDS[c], {}, lang)} → {', '.join('ABCDEFGH'[i] for i in self[c])}"
            for c in PRIORITY
            if c in self
        )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(count: int, used: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
    if len(used) == 1:
        (convention,) = used
        return N_("%(count)d questions; answers taken from %(convention)s."), {
            "count": count,
            "convention": CONVENTION_WORDS[convention],
        }
    return N_("%(count)d questions; answers taken from %(conventions)s."), {
        "count": count,
        "conventions": _Used({c: used[c] for c in PRIORITY if c in used}),
    }


class _Used(dict):  # type: ignore[type-arg]
    def render(self, lang: str) -> str:
        return "; ".join(
            render(
                N_("%(convention)s (questions %(numbers)s)"),
                {"convention": CONVENTION_WORDS[c], "numbers": _ranges(numbers)},
                lang,
            )
            for c, numbers in self.items()
        )


def _ranges(numbers: list[str]) -> str:
    """['1','2','3','5'] → '1–3, 5'."""
    values = [int(n) for n in numbers]
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if i == j else f"{values[i]}–{values[j]}")
        i = j + 1
    return ", ".join(out)


def read_docx(raw: bytes, bank: str, title: str) -> Result:
    from docx import Document

    try:
        document = Document(io.BytesIO(raw))
    except Exception:  # python-docx raises many kinds on a damaged package
        raise Refused(415, NOT_THIS_KIND["docx"]) from None
    try:
        lines, shown = _document_lines(document)
    except Refused:
        raise
    except Exception:  # a part python-docx reads only now (a style, a value it does not know)
        raise Refused(422, DAMAGED["docx"]) from None
    converted, used = from_lines(lines)
    result = Result("docx", shown, list(converted.problems), count=len(converted.questions))
    if not converted.questions and not converted.problems:
        result.problems.append(
            _problem(
                1,
                N_(
                    'No question found: start each one with "Câu 1." (or "1."), its choices with "A.", "B."…'
                ),
            )
        )
    if result.problems:
        return result
    from app.content.convert import to_bank_yaml

    result.yaml = to_bank_yaml(converted, bank, title)
    result.summary = _summary(len(converted.questions), used)
    return result


# ------------------------------------------------------------------------------------ Excel

QUESTIONS, BANK, TOPICS, SOURCES = "Câu hỏi", "Ngân hàng", "Chủ đề", "Nguồn"
LETTERS = "ABCDEFGH"
QUESTION_KEYS = (
    "id",
    "text",
    *LETTERS,
    "answer",
    "difficulty",
    "topic",
    "explanation",
    "source",
    "type",
    "tags",
    "shuffle",
)
QUESTION_LABELS = {
    "id": N_("Question id"),
    "text": N_("Question"),
    "answer": N_("Right answer (A, or A, C)"),
    "difficulty": N_("Difficulty (easy, medium, hard)"),
    "topic": N_("Topic (id)"),
    "explanation": N_("Explanation"),
    "source": N_("Source (id)"),
    "type": N_("Type (empty, or true_false)"),
    "tags": N_("Tags (comma-separated)"),
    "shuffle": N_("Shuffle the choices (empty = yes, no)"),
}
BANK_KEYS = ("bank", "title", "description", "language")
DIFFICULTY = {
    "de": "easy",
    "easy": "easy",
    "trung binh": "medium",
    "tb": "medium",
    "medium": "medium",
    "kho": "hard",
    "hard": "hard",
}
NO = {"no", "khong", "false", "0", "sai", "n"}
TRUE_FALSE = {"true_false", "dung sai", "dung/sai", "true/false", "d/s", "ds"}


def _label(key: str, lang: str) -> str:
    if key in LETTERS:
        return render(N_("Choice %(letter)s"), {"letter": key}, lang)
    return render(QUESTION_LABELS[key], {}, lang)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M") if value.time() else value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return nfc(str(value)).strip()


def bank_workbook(document: dict[str, Any], lang: str = "vi") -> bytes:
    """A bank (as `export_bank` gives it) as the workbook officers edit in Excel."""
    from app.services.exports import Column, Table, xlsx_book

    questions = Table([Column(key, _label(key, lang)) for key in QUESTION_KEYS])
    for item in document.get("questions", []):
        choices = list(item.get("choices") or [])
        answer = item.get("answer")
        if item.get("type") == "true_false":
            answer_text = render(N_("True") if answer else N_("False"), {}, lang)
        else:
            answer_text = ", ".join(answer) if isinstance(answer, list) else str(answer)
        shuffle = item.get("shuffle", True)
        questions.rows.append(
            [
                item.get("id"),
                item.get("text"),
                *(choices + [None] * (len(LETTERS) - len(choices))),
                answer_text,
                item.get("difficulty", "medium"),
                item.get("topic"),
                item.get("explanation"),
                item.get("source"),
                item.get("type") if item.get("type") == "true_false" else None,
                ", ".join(item.get("tags") or []) or None,
                None if shuffle else "no",
            ]
        )
    bank = Table(
        [
            Column("key", render(N_("Field"), {}, lang)),
            Column("value", render(N_("Value"), {}, lang)),
        ]
    )
    for key in BANK_KEYS:
        bank.rows.append([key, document.get(key, "vi" if key == "language" else None)])
    topics = Table([Column("id", "id"), Column("title", render(N_("Title"), {}, lang))])
    topics.rows.extend([t.get("id"), t.get("title")] for t in document.get("topics") or [])
    sources = Table(
        [Column("id", "id"), Column("title", render(N_("Title"), {}, lang)), Column("url", "url")]
    )
    sources.rows.extend(
        [s.get("id"), s.get("title"), s.get("url")] for s in document.get("sources") or []
    )
    return xlsx_book([(QUESTIONS, questions), (BANK, bank), (TOPICS, topics), (SOURCES, sources)])


# The template: a small bank whose two questions come from the sample bank dan-chu-co-so
# (quizzes/banks/dan-chu-co-so.yaml, cited there), so that the template itself uploads.
TEMPLATE: dict[str, Any] = {
    "bank": "ngan-hang-moi",
    "title": "Tên ngân hàng câu hỏi",
    "topics": [{"id": "luat", "title": "Luật và văn bản về dân chủ ở cơ sở"}],
    "sources": [
        {
            "id": "qcdc-2023",
            "title": "Những nhiệm vụ trọng tâm trong việc thực hiện Quy chế dân chủ ở cơ sở "
            "trên địa bàn tỉnh năm 2023",
        }
    ],
    "questions": [
        {
            "id": "q001",
            "text": "Nhiệm vụ trọng tâm năm 2023 về thực hiện Quy chế dân chủ ở cơ sở yêu cầu "
            "tập trung tuyên truyền, phổ biến đến người dân những nội dung nào của Luật dân chủ "
            "cơ sở?",
            "choices": [
                "Dân biết, dân bàn, dân làm, dân kiểm tra",
                "Dân nghe, dân hiểu, dân làm, dân theo",
                "Dân biết, dân hỏi, dân góp, dân hưởng",
                "Dân bàn, dân quyết, dân làm, dân báo cáo",
            ],
            "answer": "A",
            "topic": "luat",
            "source": "qcdc-2023",
            "difficulty": "easy",
        },
        {
            "id": "q002",
            "text": "“Luật dân chủ cơ sở” mới ban hành có hiệu lực vào năm nào?",
            "choices": ["Năm 2021", "Năm 2022", "Năm 2023", "Năm 2024"],
            "answer": "C",
            "topic": "luat",
            "source": "qcdc-2023",
            "difficulty": "easy",
        },
    ],
}


def template_workbook(lang: str = "vi") -> bytes:
    return bank_workbook(TEMPLATE, lang)


@dataclass
class _Sheet:
    title: str
    rows: list[tuple[int, list[Any], list[str]]]  # (row number, values, data types)


def _rows(sheet: Any, title: str) -> _Sheet:
    rows = []
    for number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
        if number > MAX_ROWS:
            raise Refused(
                413,
                N_("The sheet %(sheet)s has more than %(limit)d rows."),
                sheet=title,
                limit=MAX_ROWS,
            )
        values = [getattr(cell, "value", None) for cell in row]
        types = [getattr(cell, "data_type", "n") for cell in row]
        if any(v not in (None, "") for v in values):
            rows.append((number, values, types))
    return _Sheet(title, rows)


def _column(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.lines: list[str] = []
        self.where: dict[str, int] = {}  # a sheet row ("Câu hỏi!12") → its line on the page
        self.bad: set[str] = set()  # cells already reported

    def show(self, sheet: _Sheet) -> None:
        for number, values, _types in sheet.rows:
            self.where[f"{sheet.title}!{number}"] = len(self.lines) + 1
            cells = " | ".join(_cell_text(v) for v in values).rstrip(" |")
            self.lines.append(f"{sheet.title}!{number}: {cells}")

    def problem(self, sheet: str, row: int, column: int, message: str, **params: Any) -> None:
        cell = f"{sheet}!{_column(column)}{row}"
        if cell in self.bad:
            return  # one message a cell: the first says what to do
        self.bad.add(cell)
        line = self.where.get(f"{sheet}!{row}", 1)
        self.problems.append(CellProblem(line, column + 1, message, params, cell=cell))

    def text(self, sheet: _Sheet, row: int, values: list[Any], types: list[str], i: int) -> str:
        if i >= len(values):
            return ""
        if types[i] == "f":
            self.problem(
                sheet.title,
                row,
                i,
                N_("This cell holds a formula; type the text itself (a leading ' keeps = + - @)."),
            )
            return ""
        return _cell_text(values[i])


def _header(sheet: _Sheet, reader: _Reader, lang: str) -> tuple[int, dict[str, int]] | None:
    """The header row (the keys row of the template, or a row of its labels) and each key's
    column."""
    known = {key.lower(): key for key in QUESTION_KEYS}
    for language in ("vi", "en"):
        known |= {fold(_label(key, language)): key for key in QUESTION_KEYS}
    found: tuple[int, dict[str, int]] | None = None
    for number, values, _types in sheet.rows[:2]:
        columns: dict[str, int] = {}
        for i, value in enumerate(values):
            text = _cell_text(value)
            key = known.get(text.lower()) or known.get(fold(text))
            if key and key not in columns:
                columns[key] = i
        if "text" in columns and "answer" in columns:
            found = (number, columns)  # the template's keys row follows its labels: the later
    if found is not None:
        return found
    first = sheet.rows[0][0] if sheet.rows else 1
    reader.problem(
        sheet.title,
        first,
        0,
        N_(
            'No header row with the columns "text" and "answer": start from the template (the link on the upload page).'
        ),
    )
    return None


def read_xlsx(raw: bytes, bank: str, title: str, lang: str = "vi") -> Result:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a damaged package
        raise Refused(415, NOT_THIS_KIND["xlsx"]) from None
    try:
        names = book.sheetnames
        main = QUESTIONS if QUESTIONS in names else names[0]
        sheets = {main: _rows(book[main], main)}
        for name in (BANK, TOPICS, SOURCES):
            if name in names and name != main:
                sheets[name] = _rows(book[name], name)
    except Refused:
        raise
    except Exception:  # read-only sheets are parsed only now, as their rows are read
        raise Refused(422, DAMAGED["xlsx"]) from None
    finally:
        book.close()
    reader = _Reader()
    for sheet in sheets.values():
        reader.show(sheet)
    document, places = _document(sheets, main, reader, bank, title, lang)
    result = Result("xlsx", reader.lines, reader.problems, count=len(document["questions"]))
    if not document["questions"]:
        if not result.problems:
            reader.problem(main, 1, 0, N_("No question found under the header rows."))
        return result
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    from app.content.validate import validate_text

    # Checked even when some rows were refused above: every mistake of the file at once.
    for problem in validate_text(text, "bank.yaml").problems:
        sheet, row, column = _place_of(text, problem.line, places, main)
        reader.problem(sheet, row, column, problem.message, **problem.params)
    if result.problems:
        result.problems.sort(key=lambda problem: (problem.line, problem.column))
        return result
    result.yaml = text
    result.summary = (
        N_("%(count)d questions read from the sheet %(sheet)s."),
        {"count": len(document["questions"]), "sheet": main},
    )
    return result


@dataclass
class _Places:
    """Where each part of the document came from: (sheet, row, column index)."""

    bank: dict[str, tuple[int, int]] = field(default_factory=dict)
    topics: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    questions: list[tuple[int, dict[str, int]]] = field(default_factory=list)


def _document(
    sheets: dict[str, _Sheet], main: str, reader: _Reader, bank: str, title: str, lang: str
) -> tuple[dict[str, Any], _Places]:
    places = _Places()
    document: dict[str, Any] = {"bank": bank, "title": title}
    if BANK in sheets:
        sheet = sheets[BANK]
        for number, values, types in sheet.rows:
            key = _cell_text(values[0]).lower() if values else ""
            if key in BANK_KEYS:
                value = reader.text(sheet, number, values, types, 1)
                if value:
                    document[key] = value
                    places.bank[key] = (number, 1)
    for name, target, rows in (
        (TOPICS, "topics", places.topics),
        (SOURCES, "sources", places.sources),
    ):
        if name not in sheets:
            continue
        sheet = sheets[name]
        keys = ("id", "title", "url") if target == "sources" else ("id", "title")
        entries = []
        for number, values, types in sheet.rows:
            cells = [reader.text(sheet, number, values, types, i) for i in range(len(keys))]
            if cells[0].lower() == "id":
                continue  # a header row
            entries.append({k: v for k, v in zip(keys, cells, strict=True) if v})
            rows.append(number)
        if entries:
            document[target] = entries
    document["questions"] = []
    sheet = sheets[main]
    header = _header(sheet, reader, lang)
    if header is None:
        return document, places
    header_row, columns = header
    for number, values, types in sheet.rows:
        if number <= header_row:
            continue
        cells = {key: reader.text(sheet, number, values, types, i) for key, i in columns.items()}
        item = _question(cells, columns, sheet.title, number, len(document["questions"]), reader)
        if item is not None:
            document["questions"].append(item)
            places.questions.append((number, columns))
    return document, places


def _letters(answer: str) -> str:
    """'A và C' → 'A , C' (upper case, the Vietnamese "and" out of the way)."""
    return re.sub(r"\bVA\b", ",", fold(answer).upper())


def _question(
    cells: dict[str, str],
    columns: dict[str, int],
    sheet: str,
    row: int,
    index: int,
    reader: _Reader,
) -> dict[str, Any] | None:
    def at(key: str) -> int:
        return columns.get(key, columns["text"])

    item: dict[str, Any] = {"id": cells.get("id") or f"q{index + 1:03d}"}
    if not cells.get("text"):
        reader.problem(sheet, row, at("text"), N_("The question text is empty."))
    true_false = fold(cells.get("type", "")) in TRUE_FALSE
    answer = cells.get("answer", "")
    if true_false:
        item["type"] = "true_false"
        item["text"] = cells.get("text", "")
        folded = fold(answer)
        if folded in ("dung", "true", "d", "t", "yes", "co"):
            item["answer"] = True
        elif folded in ("sai", "false", "s", "f", "no", "khong"):
            item["answer"] = False
        else:
            reader.problem(
                sheet, row, at("answer"), N_('Write "Đúng" or "Sai" for a true/false question.')
            )
            item["answer"] = True  # reported above; kept so that its other cells are checked
    else:
        choices = [cells.get(letter, "") for letter in LETTERS]
        last = max((i for i, c in enumerate(choices) if c), default=-1)
        for i in range(last):
            if not choices[i]:
                reader.problem(
                    sheet,
                    row,
                    at(LETTERS[i]),
                    N_("Choice %(letter)s is empty while a later choice is filled."),
                    letter=LETTERS[i],
                )
        choices = [c for c in choices[: last + 1] if c]
        letters = sorted(set(re.findall(r"(?<![A-Z])([A-H])(?![A-Z])", _letters(answer))))
        if not answer:
            message, params = N_("The right answer is empty: write its letter (A to H)."), {}
        elif not letters:
            message = N_(
                'Cannot read the answer "%(value)s": write a letter, for example "Đáp án: B".'
            )
            params = {"value": answer}
        elif max(_letter_index(x) for x in letters) >= len(choices):
            message, params = ANSWER_PAST_LAST, {"value": answer, "count": len(choices)}
        else:
            message, params = "", {}
        if message:
            reader.problem(sheet, row, at("answer"), message, **params)
            letters = ["A"]  # reported; the row is kept so that its other cells are checked
        item |= {
            "text": cells.get("text", ""),
            "choices": choices,
            "answer": letters[0] if len(letters) == 1 else letters,
        }
    difficulty = cells.get("difficulty", "")
    if difficulty:
        item["difficulty"] = DIFFICULTY.get(fold(difficulty), difficulty)
    for key in ("explanation", "topic", "source"):
        if cells.get(key):
            item[key] = cells[key]
    if cells.get("tags"):
        item["tags"] = [t.strip() for t in cells["tags"].split(",") if t.strip()]
    if cells.get("shuffle") and fold(cells["shuffle"]) in NO:
        item["shuffle"] = False
    return item


_KEY = re.compile(r"^(\s*)(-\s+)?([a-z_]+):")


def _place_of(text: str, line: int, places: _Places, main: str) -> tuple[str, int, int]:
    """The cell a line of the generated YAML came from (its sheet, row, column index)."""
    lines = text.splitlines()
    section, index, key, choice = "", -1, "", -1
    for raw in lines[: max(line, 1)]:
        top = re.match(r"^([a-z_]+):", raw)
        if top:
            section, index, key, choice = top.group(1), -1, top.group(1), -1
            continue
        match = _KEY.match(raw)
        if raw.lstrip().startswith("- ") and (match is None or match.group(2)):
            indent = len(raw) - len(raw.lstrip())
            if indent == 0:  # a new item of the section's list
                index, choice = index + 1, -1
            elif key == "choices":
                choice += 1
        if match:
            key = match.group(3)
    if section == "questions" and 0 <= index < len(places.questions):
        row, columns = places.questions[index]
        if key == "choices":
            return main, row, columns.get(LETTERS[max(choice, 0)], columns["text"])
        return main, row, columns.get(key, columns.get("id", 0))
    if section in ("topics", "sources"):
        rows = places.topics if section == "topics" else places.sources
        sheet = TOPICS if section == "topics" else SOURCES
        if 0 <= index < len(rows):
            column = {"id": 0, "title": 1, "url": 2}.get(key, 0)
            return sheet, rows[index], column
    if section in places.bank:
        row, column = places.bank[section]
        return BANK, row, column
    return main, 1, 0
