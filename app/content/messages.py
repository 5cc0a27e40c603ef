"""Messages about content files, in the officer's language.

Message texts are English msgids marked with `N_` for extraction; `render` translates them
with the app's catalogue (no Flask needed, so `flask content validate` works anywhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def N_(message: str) -> str:
    return message


@dataclass(frozen=True)
class Problem:
    """One mistake in a file, where it is, and what to do about it."""

    line: int
    column: int
    message: str  # an English msgid with %(name)s placeholders
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def text(self, lang: str = "vi") -> str:
        return render(self.message, self.params, lang)

    def format(self, filename: str, lang: str = "vi") -> str:
        return f"{filename}:{self.line}:{self.column}: {self.text(lang)}"


@cache
def _translations(lang: str) -> NullTranslations:
    if lang == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [lang])


class Term(str):
    """A parameter that is itself a word to translate (the kind of a file, say)."""


KIND_WORDS = {
    "bank": Term(N_("bank")),
    "contest": Term(N_("contest")),
    "survey": Term(N_("survey")),
}


def _value(value: Any, catalogue: NullTranslations, lang: str) -> Any:
    if isinstance(value, Term):
        return catalogue.gettext(value)
    if hasattr(value, "render"):  # a phrase built of several terms (app/content/office.py)
        return value.render(lang)
    return value


def render(message: str, params: dict[str, Any], lang: str = "vi") -> str:
    catalogue = _translations(lang)
    translated = catalogue.gettext(message)
    if not params:
        return translated
    values = {k: _value(v, catalogue, lang) for k, v in params.items()}
    return translated % values
