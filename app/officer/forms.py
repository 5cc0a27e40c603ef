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
