"""The hamlets of a commune (ấp, khu vực, tổ dân phố): listed, added, renamed, deleted and
imported from CSV by the commune's officers (and those above, and admins). The rules live in
app/services/hamlets.py and app/services/policy.py."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app import clock
from app.access import roles_required
from app.extensions import db
from app.models import Unit, User
from app.officer import bp
from app.officer.forms import HamletForm, HamletImportForm
from app.parse import ID_MAX, optional_int
from app.services import hamlets, policy


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _commune(code: int | None) -> Unit:
    try:
        return hamlets.commune_for(db.session, _me(), code)
    except hamlets.NotAllowed:
        abort(403)


def _page(
    commune: Unit | None,
    communes: list[Unit],
    form: HamletForm | None = None,
    upload: HamletImportForm | None = None,
    report: hamlets.ImportReport | None = None,
) -> str:
    return render_template(
        "officer/hamlets.html",
        commune=commune,
        communes=communes,
        listed=hamlets.hamlets_of(db.session, commune.code) if commune else [],
        form=form or HamletForm(formdata=None),
        upload=upload or HamletImportForm(formdata=None),
        report=report,
        actions=FlaskForm(),
    )


@bp.get("/hamlets")
@roles_required(*policy.MANAGERS)
def hamlets_page() -> str:
    communes = hamlets.managed_communes(db.session, _me())
    code = optional_int(request.args.get("unit"), 1, ID_MAX, "unit")
    if code is None and len(communes) == 1:
        code = communes[0].code
    commune = _commune(code) if code is not None else None
    return _page(commune, communes)


@bp.post("/hamlets/<int:commune_code>/new")
@roles_required(*policy.MANAGERS)
def hamlet_new(commune_code: int) -> Response | tuple[str, int]:
    commune = _commune(commune_code)
    communes = hamlets.managed_communes(db.session, _me())
    form = HamletForm()
    if form.validate_on_submit():
        try:
            unit = hamlets.create(
                db.session,
                _me(),
                commune.code,
                form.name.data or "",
                form.kind.data or "",
                form.population.data,
                clock.now(),
            )
        except hamlets.HamletError as error:
            target = getattr(form, error.field, form.name)
            target.errors = [*target.errors, error.message]
            return _page(commune, communes, form), 409 if error.conflict else 422
        flash(_("%(name)s added.", name=unit.name), "success")
        return redirect(url_for(".hamlets_page", unit=commune.code))
    return _page(commune, communes, form), 422


@bp.route("/hamlets/edit/<int:code>", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def hamlet_edit(code: int) -> Response | str | tuple[str, int]:
    unit = db.session.get(Unit, code)
    if unit is None or unit.level != "hamlet":
        abort(404)
    commune = _commune(unit.parent_code)
    form = HamletForm(
        data={"name": unit.name, "kind": unit.division_type, "population": unit.population or ""}
    )
    if form.validate_on_submit():
        try:
            hamlets.update(
                db.session,
                _me(),
                code,
                form.name.data or "",
                form.kind.data or "",
                form.population.data,
                clock.now(),
            )
        except hamlets.HamletError as error:
            target = getattr(form, error.field, form.name)
            target.errors = [*target.errors, error.message]
            return render_template(
                "officer/hamlet_edit.html", form=form, unit=unit, commune=commune
            ), 409 if error.conflict else 422
        flash(_("%(name)s saved.", name=form.name.data), "success")
        return redirect(url_for(".hamlets_page", unit=commune.code))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "officer/hamlet_edit.html", form=form, unit=unit, commune=commune
    ), status


@bp.post("/hamlets/delete/<int:code>")
@roles_required(*policy.MANAGERS)
def hamlet_delete(code: int) -> Response:
    if not FlaskForm().validate_on_submit():
        abort(400)
    unit = db.session.get(Unit, code)
    if unit is None or unit.level != "hamlet":
        abort(404)
    commune_code = unit.parent_code
    try:
        deleted = hamlets.delete(db.session, _me(), code, clock.now())
    except hamlets.NotAllowed:
        abort(403)
    except hamlets.HamletError as error:
        flash(error.message, "danger")
    else:
        flash(_("%(name)s deleted.", name=deleted.name), "success")
    return redirect(url_for(".hamlets_page", unit=commune_code))


@bp.post("/hamlets/<int:commune_code>/import")
@roles_required(*policy.MANAGERS)
def hamlet_import(commune_code: int) -> str | tuple[str, int]:
    commune = _commune(commune_code)
    communes = hamlets.managed_communes(db.session, _me())
    upload = HamletImportForm()
    if not upload.validate_on_submit():
        return _page(commune, communes, upload=upload), 422
    file = upload.file.data
    if not file or not file.filename:
        upload.file.errors = [_("Please choose a CSV file.")]
        return _page(commune, communes, upload=upload), 422
    report = hamlets.import_csv(db.session, _me(), commune.code, file.read(), clock.now())
    if report.error:
        upload.file.errors = [report.error]
        return _page(commune, communes, upload=upload), 422
    return _page(commune, communes, report=report)
