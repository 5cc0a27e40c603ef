from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SubmitField
from wtforms.validators import DataRequired

from app.forms import Form


class DeleteAccountForm(Form):
    confirm = BooleanField(
        _l("I understand that my name, phone number and personal details will be erased for good."),
        validators=[DataRequired(_l("Please tick the box to confirm."))],
    )
    submit = SubmitField(_l("Delete my account"))
