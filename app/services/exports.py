"""Every CSV and XLSX download is written here: cells are data, never formulas.

A spreadsheet program runs a cell that starts with "=", "+", "-" or "@" as a formula (and tab
or carriage return can hide such a start): a resident named `=HYPERLINK("http://…","win")`
would put a live link, or worse, in the officers' prize audit. OWASP's rule: such a text cell
is neutralised — in CSV prefixed with an apostrophe (shown by Excel as the text itself), in
XLSX stored as a text cell (never as a formula). Numbers stay numbers. CSV is UTF-8 with a
byte-order mark (so that Excel reads the diacritics) and CRLF line ends; XLSX is written with
fixed document and zip times, so the same rows give the same bytes (a stable SHA-256).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return "'" + value if is_formula_like(value) else value


def csv_bytes(rows: Iterable[Sequence[Any]], header: Sequence[Any] | None = None) -> bytes:
    buffer = io.StringIO()
    # Every field quoted: a spreadsheet set to split on ";" (Vietnamese regional settings)
    # would otherwise start a new cell with "=" inside a text such as 'x;=HYPERLINK(…)'.
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    if header is not None:
        writer.writerow([csv_cell(v) for v in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(
    rows: Iterable[Sequence[Any]], title: str, header: Sequence[Any] | None = None
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook(write_only=True)
    book.properties.creator = "civic-quiz"
    book.properties.created = book.properties.modified = datetime(2000, 1, 1)
    sheet = book.create_sheet(title=title[:31] or "sheet")

    def cells(row: Sequence[Any]) -> list[Any]:
        out = []
        for value in row:
            if is_formula_like(value):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # stored as text: never a formula
                out.append(cell)
            else:
                out.append(value)
        return out

    if header is not None:
        sheet.append(cells(header))
    for row in rows:
        sheet.append(cells(row))
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
    rows: Iterable[Sequence[Any]], fmt: str, title: str = "", header: Sequence[Any] | None = None
) -> tuple[bytes, str]:
    """Rows as a "csv" or "xlsx" file: (bytes, media type). ValueError for another format."""
    if fmt == "csv":
        return csv_bytes(rows, header), "text/csv"
    if fmt == "xlsx":
        return xlsx_bytes(rows, title, header), XLSX
    raise ValueError(f"unknown export format {fmt!r}")
