from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from app.forms import Form
from app.services.accounts import PASSWORD_MAX, PASSWORD_MIN


class DeleteAccountForm(Form):
    confirm = BooleanField(
        _l("I understand that my name, phone number and personal details will be erased for good."),
        validators=[DataRequired(_l("Please tick the box to confirm."))],
    )
    submit = SubmitField(_l("Delete my account"))


class PasswordForm(Form):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Please enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        _l("New password (at least 10 characters)"),
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(PASSWORD_MIN, PASSWORD_MAX, _l("The password must have 10 to 128 characters.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[EqualTo("password", _l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change the password"))
