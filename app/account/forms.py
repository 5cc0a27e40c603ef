from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange

from app.forms import (
    Form,
    NFCStringField,
    WholeNumberField,
    current_password_input,
    new_password_fields,
    optional_int,
    phone_input,
)


class DeleteAccountForm(Form):
    confirm = BooleanField(
        _l("I understand that my name, phone number and personal details will be erased for good."),
        validators=[DataRequired(_l("Please tick the box to confirm."))],
    )
    submit = SubmitField(_l("Delete my account"))


class PasswordForm(Form):
    current = current_password_input(
        _l("Current password"), _l("Please enter your current password.")
    )
    password, confirm = new_password_fields(
        _l("New password (at least 10 characters)"), _l("Repeat the new password")
    )
    submit = SubmitField(_l("Change the password"))


class SendCodeForm(Form):
    send = SubmitField(_l("Send me a code"))


class CodeForm(Form):
    code = NFCStringField(
        _l("The 6-digit code"),
        validators=[DataRequired(_l("Enter the 6 digits of the code.")), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 6},
    )
    confirm = SubmitField(_l("Verify"))


class PhoneChangeForm(Form):
    phone = phone_input(_l("New mobile phone number"))
    current = current_password_input(
        _l("Current password"), _l("Please enter your current password.")
    )
    submit = SubmitField(_l("Send a code to the new number"))


class BirthYearForm(Form):
    birth_year = WholeNumberField(
        _l("Year of birth"),
        validators=[
            DataRequired(_l("Please enter a year such as 1985.")),
            NumberRange(1900, date.today().year, _l("Please enter a year such as 1985.")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    next = HiddenField()
    submit = SubmitField(_l("Save"))


class HamletForm(Form):
    # Choices: the hamlets of the person's commune (app/account/routes.py).
    hamlet = SelectField(
        _l("Hamlet: ấp, khu vực or tổ dân phố"), coerce=optional_int, validate_choice=False
    )
    submit = SubmitField(_l("Save"))
