"""Field helpers shared by the web forms: NFC for all text, phone normalisation."""

from __future__ import annotations

from typing import Any

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, PasswordField, StringField, ValidationError
from wtforms.validators import DataRequired, EqualTo, Length

from app.parse import ID_MAX, int_or_none
from app.phones import PhoneError, normalize_phone
from app.text import nfc


def nfc_filter(value: Any) -> Any:
    return nfc(value) if isinstance(value, str) else value


class NFCStringField(StringField):
    """A text field whose value is NFC-normalised and trimmed before any validator runs."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.data = nfc_filter(self.data)


def phone_number(_form: Any, field: Field) -> None:
    """Validator: replace the typed number by its one stored form, or explain the format."""
    try:
        field.data = normalize_phone(field.data or "")
    except PhoneError as error:
        raise ValidationError(str(error)) from None


def optional_int(value: Any) -> int | None:
    """Coerce for selects with an empty "choose…" first option (ASCII digits, app.parse);
    WTForms turns the ValueError into "Not a valid choice"."""
    if value in ("", None):
        return None
    number = int_or_none(value, -ID_MAX, ID_MAX)
    if number is None:
        raise ValueError(value)
    return number


class WholeNumberField(IntegerField):
    """IntegerField that reads ASCII digits only (app.parse): int() would take "١٩٨٥" or "²"."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in ("", None):
            self.data = None
            return
        self.data = int_or_none(valuelist[0], -ID_MAX, ID_MAX)
        if self.data is None:
            raise ValueError(self.gettext("Not a valid integer value."))


class Form(FlaskForm):
    """Base of every form: CSRF from Flask-WTF, WTForms' own messages from our catalogue."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: Any) -> Any:
            return get_translations()


# WTForms' built-in messages that our forms can show; listed so that extraction puts them in
# our catalogue (WTForms ships no Vietnamese).
WTFORMS_MESSAGES = (
    _l("Not a valid integer value."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("This field is required."),
    _l("Invalid input."),
)


def new_password_fields(label: Any, repeat: Any) -> tuple[PasswordField, PasswordField]:
    """A new password and its repetition (sign-up, password change): length checked here,
    the rest of the rule (common passwords, the phone) by app.services.passwords."""
    from app.services.passwords import MAX_LENGTH, MIN_LENGTH

    password = PasswordField(
        label,
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(MIN_LENGTH, MAX_LENGTH, _l("The password must have 10 to 128 characters.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        repeat,
        validators=[EqualTo("password", _l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


def phone_input(label: Any) -> NFCStringField:
    """A mobile number typed by its owner (sign-up, sign-in, a new number), stored form."""
    return NFCStringField(
        label,
        validators=[DataRequired(_l("Please enter your phone number.")), phone_number],
        render_kw={"autocomplete": "tel", "inputmode": "tel", "placeholder": "0912345678"},
    )


def current_password_input(label: Any, message: Any) -> PasswordField:
    return PasswordField(
        label, validators=[DataRequired(message)], render_kw={"autocomplete": "current-password"}
    )
