from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms import (
    Form,
    NFCStringField,
    WholeNumberField,
    current_password_input,
    new_password_fields,
    optional_int,
    phone_input,
)
from app.services.accounts import NAME_MAX


def gender_choices() -> list[tuple[str, str]]:
    return [
        ("", _l("Prefer not to say")),
        ("female", _l("Female")),
        ("male", _l("Male")),
        ("other", _l("Other")),
    ]


class RegisterForm(Form):
    name = NFCStringField(
        _l("Full name"),
        validators=[DataRequired(_l("Please enter your full name.")), Length(max=NAME_MAX)],
        render_kw={"autocomplete": "name"},
    )
    phone = phone_input(_l("Mobile phone number"))
    unit = SelectField(
        _l("Commune / ward where you live"),
        coerce=optional_int,
        validators=[DataRequired(_l("Please choose your commune or ward from the list."))],
        validate_choice=True,
    )
    # Choices: the chosen commune's hamlets (app/auth/routes.py); checked by the service.
    hamlet = SelectField(
        _l("Hamlet: ấp, khu vực or tổ dân phố (optional)"),
        coerce=optional_int,
        validate_choice=False,
    )
    password, confirm = new_password_fields(
        _l("Password (at least 10 characters)"), _l("Repeat the password")
    )
    birth_year = WholeNumberField(
        _l("Year of birth (optional)"),
        validators=[
            Optional(),
            NumberRange(1900, date.today().year, _l("Please enter a year such as 1985.")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    gender = SelectField(
        _l("Gender (optional)"), choices=gender_choices, default="", validate_choice=True
    )
    consent = BooleanField(
        _l("I have read and agree to the purpose above."),
        validators=[DataRequired(_l("You must agree to the purpose of data use to sign up."))],
    )
    submit = SubmitField(_l("Sign up"))


class LoginForm(Form):
    phone = phone_input(_l("Mobile phone number"))
    password = current_password_input(_l("Password"), _l("Please enter your password."))
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class LogoutForm(Form):
    submit = SubmitField(_l("Sign out"))
