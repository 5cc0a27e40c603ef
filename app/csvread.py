"""Reading CSV files people upload — the one reader (exports.py is the one writer).

UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8" writes one); cells separated by
"," or by ";" (Excel with Vietnamese or other European regional settings writes ";"), or tabs.
Every cell is text: one that looks like a spreadsheet formula ("=…", "+…", "@…") is read as
the characters it holds, never evaluated. Each row carries the line of the file it starts on,
so a report can say "line 12".
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

NOT_UTF8 = _l(
    'The file is not UTF-8 text: in Excel choose "Save As" → "CSV UTF-8 (Comma delimited)".'
)
TOO_MANY = _l("The file has more than %(n)d lines: please split it.")


class CsvError(ValueError):
    pass


@dataclass(frozen=True)
class Row:
    line: int
    cells: list[str]


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_rows(data: bytes, max_rows: int = 5000) -> list[Row]:
    """Non-blank rows with the line each starts on; CsvError (a message to show) otherwise."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError(str(NOT_UTF8)) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = next((line for line in text.split("\n") if line.strip()), "")
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(first))
    rows: list[Row] = []
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append(Row(start, [cell.strip() for cell in cells]))
                if len(rows) > max_rows:
                    raise CsvError(str(TOO_MANY % {"n": max_rows}))
            start = reader.line_num + 1
    except csv.Error as error:
        raise CsvError(f"{start}: {error}") from None
    return rows
