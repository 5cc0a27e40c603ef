from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SubmitField
from wtforms.validators import DataRequired

from app.forms import Form, new_password_fields


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
    password, confirm = new_password_fields(
        _l("New password (at least 10 characters)"), _l("Repeat the new password")
    )
    submit = SubmitField(_l("Change the password"))
