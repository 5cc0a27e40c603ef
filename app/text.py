"""Text rules shared by forms, the API and the content loader.

Vietnamese keyboards produce both composed (NFC) and decomposed (NFD) text; everything stored
is NFC. Search ignores diacritics; lists sort in Vietnamese alphabetical order.
"""

from __future__ import annotations

import re
import unicodedata

# Vietnamese alphabet order; f, j, w, z appear in foreign words and go where Latin puts them.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {letter: i for i, letter in enumerate(_ALPHABET)}
# Marks that make a different letter (ă, â, ê, ô, ơ, ư) versus tone marks (secondary order:
# ngang, huyền, hỏi, ngã, sắc, nặng).
_LETTER_MARKS = {"\u0306": "breve", "\u0302": "circumflex", "\u031b": "horn"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_COMPOSE = {
    ("a", "breve"): "ă",
    ("a", "circumflex"): "â",
    ("e", "circumflex"): "ê",
    ("o", "circumflex"): "ô",
    ("o", "horn"): "ơ",
    ("u", "horn"): "ư",
}
_SPACES = re.compile(r"\s+")


def nfc(value: str) -> str:
    """Unicode NFC with outer whitespace trimmed: the one form text is stored in."""
    return unicodedata.normalize("NFC", value).strip()


def has_hidden_characters(value: str) -> bool:
    """Control or format characters (Unicode Cc, Cf: zero-width spaces and joiners, bidi
    overrides…): invisible in a name, they make two look-alike names differ or reorder text."""
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in value)


_WRITTEN_CONTROLS = frozenset("\t\n\r")


def has_stray_controls(value: str) -> bool:
    """Control characters (Unicode Cc) other than tabs and line breaks: nobody types them in
    written text (a free answer, a comment), and PostgreSQL cannot store a NUL at all."""
    return any(unicodedata.category(ch) == "Cc" and ch not in _WRITTEN_CONTROLS for ch in value)


def clean_line(value: str) -> str:
    """NFC, trimmed, inner runs of whitespace folded to one space (names, titles)."""
    return _SPACES.sub(" ", nfc(value))


def fold(value: str) -> str:
    """Lower case without diacritics, for search: 'Phường Vị Thanh' -> 'phuong vi thanh'."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip().lower()


def vietnamese_key(value: str) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """Sort key for Vietnamese order: letters first (ă after a, đ after d…), then tones."""
    letters: list[int] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFC", value).lower():
        parts = unicodedata.normalize("NFD", char)
        base, marks = parts[0], parts[1:]
        letter = base
        tone = 0
        for mark in marks:
            if mark in _LETTER_MARKS:
                letter = _COMPOSE.get((base, _LETTER_MARKS[mark]), base)
            elif mark in _TONES:
                tone = _TONES[mark]
        if letter in _RANK:
            letters.append(100 + _RANK[letter])
        elif "0" <= letter <= "9":  # ASCII only: "²".isdigit() is True, int("²") fails
            letters.append(10 + int(letter))
        elif letter.isspace():
            letters.append(1)
        else:
            letters.append(2)
        tones.append(tone)
    return tuple(letters), tuple(tones), value


def sort_vietnamese(values: list[str]) -> list[str]:
    return sorted(values, key=vietnamese_key)


_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ID_NUMBER = re.compile(r"(?<!\d)\d{12}(?!\d)")


def mask_personal(text: str) -> str:
    """Free text as leaders may read it: e-mail addresses, 12-digit ID numbers and phone
    numbers replaced by a mark."""
    text = _EMAIL.sub("[email]", text)
    text = _ID_NUMBER.sub("[số định danh]", text)
    return _PHONE.sub("[số điện thoại]", text)
