"""Leaders' and officers' survey results: charts with their tables, exports, raw responses."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import clock
from app.access import STAFF, roles_required
from app.content.messages import N_
from app.dashboards import bp
from app.dashboards.views import page_parts
from app.db_read import read_session
from app.downloads import named_file
from app.extensions import db
from app.jobs.routes import start as start_job
from app.models import Survey, Unit
from app.parse import ID_MAX, optional_int
from app.services import analytics, audit, exports, policy, raw_export, result_exports
from app.services import surveys as surveys_service
from app.services.policy import within
from app.services.survey_definition import definition
from app.unit_picker import searched, unit_picker


def _survey(slug: str) -> Survey:
    return surveys_service.by_slug(db.session, slug) or abort(404)


def _scope() -> Unit:
    """The unit asked for (`?unit=`), which must lie within the reader's own."""
    code = optional_int(
        request.args.get("unit"),
        1,
        ID_MAX,
        "unit",
        message=N_("Choose a commune or ward by its code (digits only)."),
    )
    if code is None:
        return current_user.unit
    unit = db.session.get(Unit, code)
    if unit is None:
        abort(404)
    if not within(unit, policy.scope_of(current_user)):
        abort(403)
    return unit


def _breakdown() -> str | None:
    """`?by=`; the commune picker's search step (no JavaScript) stays on the communes' page."""
    return "unit" if searched() else (request.args.get("by") or None)


def _results(survey: Survey, scope: Unit, overall: bool = False) -> dict[str, Any]:
    by = _breakdown()
    try:
        return analytics.results(
            read_session(),
            survey,
            now=clock.now(),
            by=by,
            scope=scope,
            labels={"all": _("All"), "none": _("No answer")},
            overall=overall,
        )
    except analytics.UnknownBreakdown:
        abort(
            400,
            _(analytics.BREAKDOWNS),
        )


@bp.get("/")
@roles_required(*STAFF)
def index() -> str:
    surveys = analytics.responses_in_scope(
        read_session(), policy.scope_of(current_user), clock.now()
    )
    return render_template("dashboards/index.html", surveys=surveys)


@bp.get("/<slug>")
@roles_required(*STAFF)
def survey_results(slug: str) -> str:
    """One survey's results in the reader's scope. By commune, the page holds the communes'
    index ranking and a commune picker only: each commune's tables are its own page
    (`?unit=CODE`), so that no breakdown weighs more than a phone can take."""
    survey = _survey(slug)
    scope = _scope()
    now = clock.now()
    by = _breakdown() or "all"
    result = _results(survey, scope, overall=True)
    defn = definition(db.session, survey)
    parts = page_parts(
        read_session(),
        survey,
        defn,
        result,
        by=by,
        scope=scope,
        now=now,
        index_title=_("Satisfaction index (0–100)"),
        language=str(get_locale()),
    )
    picker = None
    if parts.get("communes"):
        codes = [code for code, _name in parts["communes"]]
        found = {u.code: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(codes)))}
        picker = unit_picker(
            [found[code] for code in codes if code in found],  # in the ranking's name order
            _("See one commune or ward in full"),
            selected="",
        )
    return render_template(
        "dashboards/survey.html",
        survey=survey,
        scope=scope,
        result=result,
        unit_picker=picker,
        **parts,
        breakdowns=[q for q in defn.questions if q.demographic],
        by=by,
        can_export_raw=current_user.role in policy.MANAGERS,
    )


def _send(rows: exports.Table, name: str, fmt: str) -> Response:
    body, mimetype = exports.encode(rows, fmt, name)  # cells are data, never formulas
    return named_file(body, mimetype, f"{name}.{fmt}")


@bp.get("/<slug>/results.<fmt>")
@roles_required(*STAFF)
def export(slug: str, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    survey = _survey(slug)
    try:
        table = result_exports.table(
            read_session(), survey, _scope(), by=request.args.get("by") or None
        )
    except analytics.UnknownBreakdown:
        abort(
            400,
            _(analytics.BREAKDOWNS),
        )
    return _send(table, f"{slug}-ket-qua", fmt)


@bp.get("/<slug>/responses.<fmt>")
@roles_required(*policy.MANAGERS)
def raw(slug: str, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    survey = _survey(slug)
    scope = _scope()
    try:
        rows = raw_export.rows(read_session(), survey, scope)
    except raw_export.NotAllowed:
        abort(403)
    audit.record(
        db.session,
        current_user,
        "export.responses",
        f"survey:{slug}",
        survey.owner_unit_code,
        clock.now(),
        {"format": fmt, "rows": len(rows.rows)},
    )
    db.session.commit()
    return _send(rows, f"{slug}-phieu-tra-loi", fmt)


@bp.post("/<slug>/responses.<any(csv, xlsx):fmt>/job")
@roles_required(*policy.MANAGERS)
def raw_job(slug: str, fmt: str) -> Response:
    """The raw responses as a background job: its progress page."""
    survey = _survey(slug)
    scope = _scope()
    try:
        raw_export.check(db.session, survey, scope)
    except raw_export.NotAllowed:
        abort(403)
    return start_job("responses", {"survey": survey.slug, "unit": scope.code, "format": fmt})
