"""What a password must be (OWASP ASVS 5.0 L2, 6.2): long enough, not a common one, not the
phone number. One home for the rule: sign-up (pages, API, command line) and password change.

Messages are msgids; callers translate them (`gettext`), so the rule needs no request.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

MIN_LENGTH = 10
MAX_LENGTH = 128
LIST = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
# Common in Vietnam and absent from the English-language list.
VIETNAMESE = {
    "matkhau",
    "matkhau123",
    "matkhau1234",
    "matkhaumoi",
    "matkhaucuatoi",
    "anhyeuem",
    "anhyeuem123",
    "emyeuanh",
    "emyeuanh123",
    "yeuem123456",
    "vietnam123",
    "vietnam1234",
    "hanoi12345",
    "saigon12345",
    "cantho12345",
    "123456789a",
    "a123456789",
    "0123456789",
    "9876543210",
    "1234567890",
    "qwertyuiop",
}
_DIGITS = re.compile(r"[^0-9]")

TOO_SHORT = _l("The password must have at least %(n)d characters.", n=MIN_LENGTH)
TOO_LONG = _l("The password must have at most %(n)d characters.", n=MAX_LENGTH)
COMMON = _l("This password is too common and easy to guess: please choose another.")
PHONE = _l("The password must not contain your phone number.")
REPEATED = _l("The password must not be one character repeated.")


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(LIST, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip()) | VIETNAMESE


def problem(password: str, phone: str | None = None) -> str | None:
    """What is wrong with `password` for the account of `phone`, or None."""
    text = unicodedata.normalize("NFC", password)
    if len(text) < MIN_LENGTH:
        return str(TOO_SHORT)
    if len(text) > MAX_LENGTH:
        return str(TOO_LONG)
    if len(set(text)) == 1:
        return str(REPEATED)
    folded = text.strip().lower()
    if folded in common_passwords() or folded.replace(" ", "") in common_passwords():
        return str(COMMON)
    if phone:
        digits = _DIGITS.sub("", text)
        national = phone[1:] if phone.startswith("0") else phone
        if national and national in digits:
            return str(PHONE)
    return None
