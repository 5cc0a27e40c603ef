from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional, Regexp

from app.content.reader import MAX_BYTES
from app.content.schemas import SLUG
from app.forms import Form


def format_choices() -> list[tuple[str, str]]:
    return [
        ("yaml", _l("YAML (bank, contest or survey)")),
        ("docx", _l("Word (.docx)")),
        ("xlsx", _l("Excel (.xlsx)")),
        ("word", _l("Word-style paste (Câu 1. / A. / Đáp án: B)")),
        ("aiken", _l("Aiken")),
        ("gift", _l("GIFT (Moodle)")),
    ]


class UploadForm(Form):
    file = FileField(_l("File"))
    text = TextAreaField(
        _l("…or paste the content here"),
        validators=[Optional(), Length(max=MAX_BYTES)],
        render_kw={"rows": 12, "spellcheck": "false"},
    )
    format = SelectField(_l("Format"), choices=format_choices, default="yaml")
    bank = StringField(
        _l("Bank id, for converted questions (for example dan-chu-co-so)"),
        validators=[
            Optional(),
            Regexp(SLUG, message=_l("3 to 64 lower-case letters, digits and hyphens.")),
        ],
    )
    title = StringField(
        _l("Bank title, for converted questions"), validators=[Optional(), Length(max=500)]
    )
    filename = HiddenField(validators=[Optional(), Length(max=255)])
    submit = SubmitField(_l("Check"))


class PublishForm(Form):
    source = HiddenField()
    filename = HiddenField()
    submit = SubmitField(_l("Publish"))
