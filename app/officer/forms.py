"""Forms of the staff and audit pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField, SubmitField
from wtforms.validators import DataRequired, Length

from app.forms import Form, NFCStringField, optional_int


class StaffForm(Form):
    name = NFCStringField(
        _l("Full name"),
        validators=[DataRequired(_l("Please enter the full name.")), Length(max=100)],
    )
    phone = NFCStringField(
        _l("Mobile phone number"),
        validators=[DataRequired(_l("Please enter the phone number."))],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    unit = SelectField(_l("Unit"), coerce=optional_int, validate_choice=True)
    role = SelectField(_l("Role"), validate_choice=True)
    submit = SubmitField(_l("Create the account"))


class ImportForm(Form):
    file = FileField(_l("CSV file (name, phone, unit, role)"))
    submit = SubmitField(_l("Import"))


def kind_choices() -> list[tuple[str, str]]:
    """The kinds of hamlet, as stored (Vietnamese names: the official words)."""
    from app.services.hamlets import KINDS

    return [(kind, kind) for kind in KINDS]


class HamletForm(Form):
    name = NFCStringField(
        _l("Name (for example Khu vực 1, Ấp Thạnh Lợi)"),
        validators=[DataRequired(_l("Please enter the name of the hamlet.")), Length(max=100)],
    )
    kind = SelectField(_l("Kind"), choices=kind_choices, validate_choice=True)
    population = NFCStringField(
        _l("Population (optional)"), render_kw={"inputmode": "numeric", "autocomplete": "off"}
    )
    submit = SubmitField(_l("Save"))


class HamletImportForm(Form):
    file = FileField(_l("CSV file (name, kind, population)"))
    submit = SubmitField(_l("Import"))
