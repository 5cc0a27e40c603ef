"""Staff accounts (officers, admins) and the audit trail (admins). The rules live in
app/services/staff.py, app/services/audit.py and app/services/policy.py."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as WerkzeugResponse

from app import clock
from app.access import roles_required
from app.content.messages import N_
from app.downloads import named_file
from app.errors import DomainError
from app.extensions import db
from app.models import Role, Unit, User
from app.officer import bp
from app.officer.forms import ImportForm, StaffForm
from app.parse import ID_MAX, PAGE_MAX, optional_int
from app.services import audit, exports, policy, staff
from app.text import vietnamese_key


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _units_for(user: User) -> list[Unit]:
    """The units the user may create accounts in (policy), in Vietnamese order."""
    from sqlalchemy import select

    units = db.session.scalars(
        select(Unit).where(policy.in_scope(Unit.code, policy.scope_of(user)))
    )
    allowed = [u for u in units if policy.may_manage_account(user, Role.OFFICER, u)]
    province = [u for u in allowed if u.parent_code is None]
    return province + sorted(
        (u for u in allowed if u.parent_code), key=lambda u: vietnamese_key(u.name)
    )


def _unit_label(unit: Unit) -> str:
    """A hamlet with its commune ("Khu vực 1 – Phường Vị Thanh"): many share a name."""
    if unit.level != "hamlet":
        return unit.name
    commune = db.session.get(Unit, unit.parent_code)
    return f"{unit.name} – {commune.name}" if commune else unit.name


def _roles_for(user: User) -> list[tuple[str, str]]:
    roles = [(Role.OFFICER.value, _("officer"))]
    if policy.is_admin(user):
        roles.append((Role.LEADER.value, _("leader")))
    return roles


@bp.get("/staff")
@roles_required(*policy.MANAGERS)
def staff_list() -> str:
    me = _me()
    unit = optional_int(request.args.get("unit"), 1, ID_MAX, "unit")
    role = request.args.get("role") or None
    if role not in (None, *[r.value for r in policy.STAFF]):
        abort(400, _("Unknown role."))
    page = optional_int(request.args.get("page"), 1, PAGE_MAX, "page") or 1
    result = staff.staff_list(db.session, me, unit, role, page)
    return render_template(
        "officer/staff.html",
        result=result,
        units=_filter_units(me),
        unit=unit,
        role=role,
        form=FlaskForm(),
        may_manage=lambda person: policy.may_manage_account(me, person.role, person.unit),
    )


def _filter_units(user: User) -> list[Unit]:
    from sqlalchemy import select

    units = db.session.scalars(
        select(Unit).where(policy.in_scope(Unit.code, policy.scope_of(user)))
    )
    return sorted(units, key=lambda u: (u.parent_code is not None, vietnamese_key(u.name)))


@bp.route("/staff/new", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def staff_new() -> str | tuple[str, int]:
    me = _me()
    form = StaffForm()
    form.unit.choices = [("", _("— Choose the unit —"))] + [
        (u.code, _unit_label(u)) for u in _units_for(me)
    ]
    form.role.choices = _roles_for(me)
    if form.validate_on_submit():
        try:
            issued = staff.create(
                db.session,
                me,
                form.name.data or "",
                form.phone.data or "",
                form.unit.data or 0,
                form.role.data or "",
                clock.now(),
            )
        except staff.StaffError as error:
            field = getattr(form, error.field, form.phone)
            field.errors = [*field.errors, error.message]
            return render_template(
                "officer/staff_new.html", form=form
            ), 409 if error.conflict else 422
        except staff.NotAllowed as refused:
            abort(403, str(refused))
        return render_template("officer/staff_issued.html", issued=[issued], report=None)
    status = 422 if form.is_submitted() else 200
    return render_template("officer/staff_new.html", form=form), status


@bp.route("/staff/import", methods=["GET", "POST"])
@roles_required(*policy.MANAGERS)
def staff_import() -> str | tuple[str, int]:
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not upload.filename:
            form.file.errors = [_("Please choose a CSV file.")]
            return render_template("officer/staff_import.html", form=form), 422
        report = staff.import_csv(db.session, _me(), upload.read(), clock.now())
        if report.error:
            form.file.errors = [report.error]
            return render_template("officer/staff_import.html", form=form), 422
        return render_template("officer/staff_issued.html", issued=report.issued, report=report)
    status = 422 if form.is_submitted() else 200
    return render_template("officer/staff_import.html", form=form), status


@bp.post("/staff/<int:user_id>/<any(disable, enable, reset):action>")
@roles_required(*policy.MANAGERS)
def staff_action(user_id: int, action: str) -> str | WerkzeugResponse:
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        if action == "reset":
            issued = staff.reset_password(db.session, _me(), user_id, clock.now())
            return render_template("officer/staff_issued.html", issued=[issued], report=None)
        user = staff.set_disabled(db.session, _me(), user_id, action == "disable", clock.now())
    except staff.NotAllowed:
        abort(403)
    flash(
        _("The account of %(name)s is disabled.", name=user.name)
        if action == "disable"
        else _("The account of %(name)s is enabled again.", name=user.name),
        "success",
    )
    return redirect(url_for(".staff_list"))


# ---------------------------------------------------------------------------------- audit


def _date(name: str) -> date | None:
    value = request.args.get(name) or ""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(
            N_("%(field)s: give the date as YYYY-MM-DD."), {"field": name}, 400, name
        ) from None


def _audit_filters() -> audit.Filters:
    action = request.args.get("action") or None
    if action is not None and action not in audit.ACTIONS:
        abort(400, _("Unknown action."))
    return audit.Filters(
        action=action,
        unit_code=optional_int(request.args.get("unit"), 1, ID_MAX, "unit"),
        actor_id=optional_int(request.args.get("who"), 1, ID_MAX, "who"),
        since=_date("since"),
        until=_date("until"),
    )


@bp.get("/audit")
@roles_required(Role.ADMIN)
def audit_page() -> str:
    filters = _audit_filters()
    page = optional_int(request.args.get("page"), 1, PAGE_MAX, "page") or 1
    result = audit.entries(db.session, filters, page)
    return render_template(
        "officer/audit.html",
        result=result,
        filters=filters,
        actions=audit.ACTIONS,
        units=_filter_units(_me()),
        detail_text=audit.detail_text,
        args={k: v for k, v in request.args.items() if k != "page" and v},
    )


@bp.get("/audit.csv")
@roles_required(Role.ADMIN)
def audit_csv() -> Response:
    body, mimetype = exports.encode(audit.table(db.session, _audit_filters()), "csv")
    return named_file(body, mimetype, "nhat-ky-thao-tac.csv")
