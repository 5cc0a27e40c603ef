"""Officers' page for tallies of hand-counted paper forms: import one (the counts as CSV, the
forms counted, the commune or hamlet), see the survey's tallies within their scope, withdraw
one. The rule lives in app/services/tallies.py."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import SelectField, SubmitField
from wtforms.validators import DataRequired, NumberRange

from app import clock
from app.access import roles_required
from app.dashboards import bp
from app.extensions import db
from app.forms import Form, WholeNumberField, optional_int
from app.models import Survey, SurveyTally, Unit, UnitLevel, User
from app.services import policy, tallies
from app.services import surveys as surveys_service
from app.services.survey_definition import definition
from app.text import vietnamese_key


class TallyForm(Form):
    unit = SelectField(
        _l("Commune, ward or hamlet the forms came from"), coerce=optional_int, validate_choice=True
    )
    forms = WholeNumberField(
        _l("Forms counted"),
        validators=[
            DataRequired(_l("Please enter how many forms were counted.")),
            NumberRange(1, tallies.FORMS_MAX),
        ],
        render_kw={"inputmode": "numeric"},
    )
    file = FileField(_l("CSV file (question, value, count)"))
    submit = SubmitField(_l("Import the counts"))


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _places(user: User) -> list[Unit]:
    """The communes and hamlets within the officer's scope, each commune before its hamlets."""
    scope = policy.scope_of(user)
    units = db.session.scalars(
        select(Unit).where(Unit.level.in_([UnitLevel.COMMUNE, UnitLevel.HAMLET]))
    ).all()
    found = [u for u in units if policy.within(u, scope)]
    communes = sorted(
        (u for u in found if u.level == UnitLevel.COMMUNE), key=lambda u: vietnamese_key(u.name)
    )
    out: list[Unit] = []
    for commune in communes:
        out.append(commune)
        out += sorted(
            (u for u in found if u.parent_code == commune.code),
            key=lambda u: vietnamese_key(u.name),
        )
    out += [u for u in found if u.level == UnitLevel.HAMLET and u not in out]  # a hamlet's officer
    return out


def _page(survey: Survey, form: TallyForm, report: Any = None, status: int = 200) -> Any:
    rows = tallies.listed(db.session, survey, policy.scope_of(_me()))
    countable = [
        q
        for q in definition(db.session, survey).questions
        if q.type in tallies.COUNTABLE and not q.demographic
    ]
    page = render_template(
        "dashboards/tallies.html",
        survey=survey,
        form=form,
        report=report,
        tallies=rows,
        countable=countable,
    )
    return page, status


@bp.route("/<slug>/tallies", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def survey_tallies(slug: str) -> Any:
    survey = surveys_service.by_slug(db.session, slug) or abort(404)
    form = TallyForm()
    places = _places(_me())
    form.unit.choices = [("", _("Choose…"))] + [
        (u.code, u.name if u.level == UnitLevel.COMMUNE else f"— {u.name}") for u in places
    ]
    if not form.validate_on_submit():
        return _page(survey, form, status=422 if form.is_submitted() else 200)
    unit = db.session.get(Unit, form.unit.data) if form.unit.data else None
    if unit is None:
        form.unit.errors = [_("Choose the commune or ward (or its hamlet) the forms came from.")]
        return _page(survey, form, status=422)
    upload = form.file.data
    if not upload or not upload.filename:
        form.file.errors = [_("Please choose a CSV file.")]
        return _page(survey, form, status=422)
    try:
        report = tallies.import_tally(
            db.session,
            definition(db.session, survey),
            _me(),
            unit,
            upload.read(),
            form.forms.data,
            clock.now(),
        )
    except tallies.NotAllowed:
        abort(403)
    except tallies.TallyError as error:
        form.unit.errors = [str(error)]
        return _page(survey, form, status=422)
    if not report.ok:
        return _page(survey, form, report, status=422)
    flash(_("%(n)d hand-counted forms added to the results.", n=form.forms.data), "success")
    return redirect(url_for("dashboards.survey_tallies", slug=slug))


@bp.post("/<slug>/tallies/<int:tally_id>/withdraw")
@roles_required(*policy.MANAGERS)
def withdraw_tally(slug: str, tally_id: int) -> WerkzeugResponse:
    survey = surveys_service.by_slug(db.session, slug) or abort(404)
    tally = db.session.get(SurveyTally, tally_id)
    if tally is None or tally.survey_id != survey.id:
        abort(404)
    try:
        tallies.withdraw(db.session, tally, _me(), clock.now())
    except tallies.NotAllowed:
        abort(403)
    flash(_("The tally was withdrawn: its forms no longer count."), "success")
    return redirect(url_for("dashboards.survey_tallies", slug=slug))
