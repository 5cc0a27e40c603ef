"""Numbers from outside — forms, query strings, paths, JSON bodies — read once, here.

Only ASCII digits count: `"²".isdigit()` and `int("١٢")` accept what no person typed as a
number, and 5,000 digits or 10**400 overflow the database or `float`. Every reader bounds its
value, and a refusal is a `DomainError` naming the field (400; the API's JSON bodies: 422).

    days = bounded_int(request.form.get("days"), 1, 365, "days")
    unit: Id | None = None  # in a pydantic request model
    @bp.get("/rounds/<int:round_id>")  # the app's `int` converter stops at ID_MAX: 404 beyond
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError
from werkzeug.routing import IntegerConverter

from app.content.messages import N_
from app.errors import DomainError

ID_MAX = 2**31 - 1  # ids and codes are 32-bit integers in the database
SEQ_MAX = ID_MAX
PREDICTION_MAX = 10_000_000
PAGE_MAX = 100_000
OFFSET_MAX = 10_000_000
NUMBER_MAX = 10**12  # survey `number` answers, before each question's own min and max

_INT = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:[.,][0-9]{1,9})?")
_WHITESPACE = " \t\r\n"
WHOLE_NUMBER = N_("%(field)s: please enter a whole number from %(lo)s to %(hi)s.")


def int_or_none(value: Any, lo: int, hi: int) -> int | None:
    """`value` as an integer in lo..hi, or None: ASCII digits with a `-` when lo < 0, an int,
    or a float without decimals; no `+`, exponent, `_`, Unicode digit or space inside."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        return value if lo <= value <= hi else None
    if not isinstance(value, str):
        return None
    text = value.strip(_WHITESPACE)
    if not _INT.fullmatch(text) or (text.startswith("-") and lo >= 0):
        return None
    negative = text.startswith("-")
    digits = text.lstrip("-").lstrip("0") or "0"
    if len(digits) > len(str(max(abs(lo), abs(hi)))):
        return None  # too long to be in range: never handed to int()
    number = -int(digits) if negative else int(digits)
    return number if lo <= number <= hi else None


def bounded_int(
    value: Any,
    lo: int,
    hi: int,
    field: str,
    *,
    label: str | None = None,
    message: str = WHOLE_NUMBER,
    status: int = 400,
) -> int:
    """`value` as an integer in lo..hi, or a DomainError naming `field` (shown to people as
    `label`, the form's own words, when given)."""
    number = int_or_none(value, lo, hi)
    if number is None:
        params = {"field": label or field, "lo": lo, "hi": hi}
        raise DomainError(message, params, status, field)
    return number


def optional_int(
    value: Any,
    lo: int,
    hi: int,
    field: str,
    *,
    label: str | None = None,
    message: str = WHOLE_NUMBER,
) -> int | None:
    """None when the field is absent or empty, else as `bounded_int`."""
    if value is None or (isinstance(value, str) and not value.strip(_WHITESPACE)):
        return None
    return bounded_int(value, lo, hi, field, label=label, message=message)


def decimal_number(value: Any, limit: int = NUMBER_MAX) -> float | None:
    """A survey's number: "12,5" or "12.5" (the comma is the Vietnamese decimal mark), an int
    or a finite float, at most `limit` either way; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) <= limit else None
    if isinstance(value, float):
        return value if math.isfinite(value) and abs(value) <= limit else None
    if not isinstance(value, str):
        return None
    text = value.strip(_WHITESPACE)
    if not _DECIMAL.fullmatch(text):
        return None
    number = float(text.replace(",", "."))
    return number if abs(number) <= limit else None


# ------------------------------------------------------------------------------ pydantic


def _strict_int(lo: int, hi: int) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError("int_type", "not a whole number")
        if isinstance(value, str):
            number = int_or_none(value, -(10**18), 10**18)
            if number is None:
                raise PydanticCustomError("int_parsing", "not a whole number")
            return number
        if isinstance(value, int) and not lo <= value <= hi:
            raise PydanticCustomError("out_of_range", "out of range")  # 10**400 included
        return value

    return BeforeValidator(check)


def Bounded(lo: int, hi: int) -> Any:
    """An int field of a pydantic request model: ASCII digits only when sent as text, lo..hi
    (documented as minimum and maximum in the OpenAPI document)."""
    return Annotated[int, Field(ge=lo, le=hi), _strict_int(lo, hi)]


Id = Bounded(1, ID_MAX)
Seq = Bounded(0, SEQ_MAX)
Prediction = Bounded(0, PREDICTION_MAX)
Offset = Bounded(0, OFFSET_MAX)


# ------------------------------------------------------------------------------ URLs


class IdConverter(IntegerConverter):
    """The app's `int` converter: ASCII digits, at most ID_MAX (else no route matches: 404,
    where Werkzeug's would hand a 20-digit id to the database)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)
