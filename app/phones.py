"""Vietnamese mobile numbers: accepted in the forms people type, stored as 0XXXXXXXXX."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

# Mobile prefixes in use since the 2018 renumbering: 03, 05, 07, 08 and 09.
_MOBILE = re.compile(r"^0[35789][0-9]{8}$")  # ASCII digits only: "\d" also takes "١" or "²"
_SEPARATORS = re.compile(r"[\s.\-()]")

PHONE_HINT = _l("Invalid phone number: enter 10 digits starting with 0 (for example 0912345678).")


class PhoneError(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """'+84 912 345 678', '84912345678', '0912.345.678' -> '0912345678'; PhoneError otherwise.
    Full-width digits (a phone keyboard's) are read as digits (NFKC); other scripts' digits
    are refused, so one number has exactly one stored form."""
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise PhoneError(str(PHONE_HINT))
    return digits


def mask_phone(phone: str) -> str:
    """'0912345678' -> '0912***678': enough to recognise, not enough to call."""
    return f"{phone[:4]}***{phone[-3:]}" if len(phone) >= 7 else "***"


def normalize_sheet_phone(raw: str) -> str:
    """A phone from a spreadsheet cell: as `normalize_phone`, and a mobile number whose
    leading 0 the spreadsheet dropped (it took "0912345678" for the number 912345678) is
    read with it."""
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    if re.fullmatch(r"[35789][0-9]{8}", digits):
        digits = "0" + digits
    return normalize_phone(digits)
