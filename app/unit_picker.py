"""The commune picker's state, for the one macro that draws it (templates/macros/units.html).

A text field finds a commune/ward by typing, diacritics and case ignored. With JavaScript
(static/js/unit_picker.js) the list follows the typing through `GET /api/v1/units?q=`; without
it, the field's "Find" button sends the search step (`<name>_q`), and the page comes back with
the matches as radio buttons. Both ask `units.search_within`, the one search rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import request

from app.extensions import db
from app.models import Unit
from app.services import units
from app.text import clean_line

QUERY_MAX = 100  # as the API's `q`


@dataclass(frozen=True)
class UnitPicker:
    name: str  # the form field that carries the chosen code
    label: str
    choices: Sequence[Unit]  # every unit one may choose, in Vietnamese order
    selected: str = ""  # the chosen code, as sent
    query: str = ""  # what was typed in the search field
    found: Sequence[Unit] | None = None  # the search step's matches; None: no search asked
    placeholder: str | None = None  # the empty first option of the full list
    required: bool = False
    errors: Sequence[str] = field(default_factory=tuple)
    # The id of a separate GET form the search controls belong to (a POST form whose other
    # fields need not come back, e.g. the anonymous survey's first page); None: the same form.
    search_form: str | None = None

    @property
    def query_name(self) -> str:
        return f"{self.name}_q"

    @property
    def search_name(self) -> str:
        return f"{self.name}_search"


def searched(name: str = "unit") -> bool:
    """Whether this request is the picker's search step (its "Find" button was pressed)."""
    return bool(request.values.get(f"{name}_search"))


def unit_picker(
    choices: Sequence[Unit],
    label: str,
    *,
    name: str = "unit",
    selected: object = None,
    placeholder: str | None = None,
    required: bool = False,
    errors: Sequence[str] = (),
    search_form: str | None = None,
) -> UnitPicker:
    """The picker for this request: what was typed in `<name>_q` searched among `choices`."""
    query = clean_line(request.values.get(f"{name}_q", ""))[:QUERY_MAX]
    if selected is None:
        selected = request.values.get(name, "")
    return UnitPicker(
        name=name,
        label=label,
        choices=choices,
        selected="" if selected is None else str(selected),
        query=query,
        found=units.search_within(db.session, query, choices) if query else None,
        placeholder=placeholder,
        required=required,
        errors=tuple(errors),
        search_form=search_form,
    )
