"""Every CSV and XLSX download is written here: cells are data, never formulas.

A spreadsheet program runs a cell that starts with "=", "+", "-" or "@" as a formula (and tab
or carriage return can hide such a start): a resident named `=HYPERLINK("http://…","win")`
would put a live link, or worse, in the officers' prize audit. OWASP's rule: such a text cell
is neutralised — in CSV prefixed with an apostrophe (shown by Excel as the text itself), in
XLSX stored as a text cell (never as a formula). Numbers stay numbers. CSV is UTF-8 with a
byte-order mark (so that Excel reads the diacritics) and CRLF line ends; XLSX is written with
fixed document and zip times, so the same rows give the same bytes (a stable SHA-256).

A `Table` (what officers download: survey results, raw responses, the prize audit) has two
header rows: what a person reads first (Vietnamese column names, or the question texts), then
the machine names (question ids, `place`, …) that scripts and `flask contests recheck` key on.
Times are shown on the clock of the survey's or round's time zone.

Which file for what (the choice, and why):
- XLSX is the file for Excel. Every figure is a real number cell with a number format
  (counts "#,##0", proportions "0.0%", seconds "0.000"), and times are real Excel date-times
  (local wall-clock time, "dd/mm/yyyy hh:mm"); Excel shows them in the reader's own regional
  settings ("47,6%" on a Vietnamese Windows), sorts and sums them, whatever those settings are.
- CSV is the file for programs (R, SPSS, Python, the re-check): comma-separated, numbers with a
  decimal point and no thousands separator, UTF-8 with a byte-order mark. Written with ","
  decimals and ";" between cells instead, it would open in one column on every Excel set to
  English and be misread by every program; written as it is, a Vietnamese-settings Excel that
  opens it by double-click would read "13.598" as thirteen thousand. Neither CSV serves both,
  so officers are told (the prize audit page, the README) to open the XLSX in Excel. Times in the
  CSV are text as people write them ("07/12/2026 20:00", in the table's time zone).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app import formats

# A background job hears of the XLSX rows every PROGRESS_ROWS; they are ROWS_SHARE of the work
# (the rest: zipping the workbook).
PROGRESS_ROWS = 2000
ROWS_SHARE = 0.8

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What a column holds → its Excel number format (Excel shows it in the reader's settings).
NUMBER_FORMATS = {
    "text": None,
    "count": "#,##0",
    "number": "General",
    "mean": "0.00",
    "percent": "0.0%",
    "seconds": "0.000",
    "datetime": "dd/mm/yyyy hh:mm",
    "datetime_seconds": "dd/mm/yyyy hh:mm:ss",
    "date": "dd/mm/yyyy",
}


@dataclass(frozen=True)
class Column:
    """One column of an export: its machine name (second header row), what a person reads
    (first header row) and what it holds (`NUMBER_FORMATS`)."""

    key: str
    label: str
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in NUMBER_FORMATS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass
class Table:
    """Rows under two header rows; times (aware datetimes) shown in `timezone`."""

    columns: Sequence[Column]
    rows: list[Sequence[Any]] = field(default_factory=list)
    timezone: str = formats.DEFAULT_TIMEZONE

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.columns]

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return "'" + value if is_formula_like(value) else value


def csv_number(value: float) -> str:
    """A float for programs: decimal point, no thousands separator, at most 6 decimals."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def csv_value(value: Any, kind: str, timezone: str) -> Any:
    """A typed cell of a Table as CSV text (see the module's note)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return formats.when(value, timezone, seconds=kind == "datetime_seconds")
    if isinstance(value, date):
        return formats.day(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return csv_number(value)
    return csv_cell(value)


def csv_bytes(rows: Iterable[Sequence[Any]], header: Sequence[Any] | None = None) -> bytes:
    buffer = io.StringIO()
    # Every field quoted: a spreadsheet set to split on ";" (Vietnamese regional settings)
    # would otherwise start a new cell with "=" inside a text such as 'x;=HYPERLINK(…)'.
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    if header is not None:
        writer.writerow([csv_cell(v) for v in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def table_csv(table: Table) -> bytes:
    kinds = [c.kind for c in table.columns]
    rows = (
        [csv_value(v, kind, table.timezone) for v, kind in zip(row, kinds, strict=True)]
        for row in table.rows
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([csv_cell(v) for v in table.labels])
    writer.writerow([csv_cell(v) for v in table.keys])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(
    rows: Iterable[Sequence[Any]],
    title: str,
    header: Sequence[Any] | None = None,
    *,
    table: Table | None = None,
    progress: Callable[[float], None] | None = None,
) -> bytes:
    """`progress(fraction)`, when given, hears how far the writing is (a background job's
    progress page): the rows are most of it, then the workbook is zipped."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    _sheet(book, title, rows, header, table, progress)
    return _book_bytes(book)


def xlsx_book(sheets: Sequence[tuple[str, Table]]) -> bytes:
    """Several Tables in one workbook, one sheet each (a question bank: its questions, the
    bank's own fields, its topics, its sources), written like `xlsx_bytes`."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, table in sheets:
        _sheet(book, title, [], None, table)
    return _book_bytes(book)


def _sheet(
    book: Any,
    title: str,
    rows: Iterable[Sequence[Any]],
    header: Sequence[Any] | None,
    table: Table | None,
    progress: Callable[[float], None] | None = None,
) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(title=title[:31] or "sheet")
    kinds = [c.kind for c in table.columns] if table is not None else []
    timezone = table.timezone if table is not None else formats.DEFAULT_TIMEZONE

    def cells(row: Sequence[Any], font: Any = None) -> list[Any]:
        out = []
        for i, value in enumerate(row):
            kind = kinds[i] if font is None and i < len(kinds) else "text"
            if isinstance(value, datetime):
                value = formats.wall_clock(value, timezone)
            number_format = NUMBER_FORMATS[kind]
            formula_like = is_formula_like(value)
            if not formula_like and font is None and number_format is None:
                out.append(value)
                continue
            cell = WriteOnlyCell(sheet, value=value)
            if formula_like:
                cell.data_type = "s"  # stored as text: never a formula
            if font is not None:
                cell.font = font
            elif number_format and isinstance(value, int | float | date):
                cell.number_format = number_format
            out.append(cell)
        return out

    if table is not None:
        for i, column in enumerate(table.columns, start=1):
            width = max(10, min(48, len(column.label) + 2))
            sheet.column_dimensions[get_column_letter(i)].width = width
        sheet.freeze_panes = "A3"
        sheet.append(cells(table.labels, Font(bold=True)))
        sheet.append(cells(table.keys, Font(italic=True, color="666666")))
        rows = table.rows
    elif header is not None:
        sheet.append(cells(header))
    total = len(rows) if progress is not None and isinstance(rows, Sized) else 0
    for i, row in enumerate(rows):
        sheet.append(cells(row))
        if total and i % PROGRESS_ROWS == 0:
            progress(ROWS_SHARE * i / total)  # type: ignore[misc]
    if progress is not None:
        progress(ROWS_SHARE)


def _book_bytes(book: Any) -> bytes:
    from openpyxl.writer.excel import ExcelWriter

    book.properties.creator = "civic-quiz"
    book.properties.created = book.properties.modified = datetime(2000, 1, 1)
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).write_data()
    fixed = io.BytesIO()
    with (
        zipfile.ZipFile(raw) as source,
        zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return fixed.getvalue()


def encode(
    rows: Table | Iterable[Sequence[Any]],
    fmt: str,
    title: str = "",
    header: Sequence[Any] | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[bytes, str]:
    """A Table (or plain rows) as a "csv" or "xlsx" file: (bytes, media type). ValueError for
    another format."""
    if fmt == "csv":
        return (table_csv(rows) if isinstance(rows, Table) else csv_bytes(rows, header)), "text/csv"
    if fmt == "xlsx":
        if isinstance(rows, Table):
            return xlsx_bytes([], title, table=rows, progress=progress), XLSX
        return xlsx_bytes(rows, title, header, progress=progress), XLSX
    raise ValueError(f"unknown export format {fmt!r}")
