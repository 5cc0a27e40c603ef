"""What a background job can make: the prize audit's ranking (CSV/XLSX), a survey's raw
responses (CSV/XLSX), the commune briefs of every commune in a scope (a ZIP of PDFs).

Each kind names who may run it with the same rule its page uses (app/services/policy.py),
checked when the job starts, when it runs and whenever its file is read."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.jobs import JobFailed, Kind, Output, Progress, register
from app.models import Round, Survey, Unit, UnitLevel, User
from app.services import brief as briefs
from app.services import exports, policy, raw_export
from app.services import ranking_audit as audit
from app.services import surveys as surveys_service
from app.services.units import communes

FORMATS = ("csv", "xlsx")


def _int(args: dict[str, Any], name: str) -> int:
    value = args.get(name)
    return value if isinstance(value, int) else -1


# --------------------------------------------------------------------- the prize audit


def _round(session: Session, args: dict[str, Any]) -> Round | None:
    return session.get(Round, _int(args, "round")) if args.get("format") in FORMATS else None


def _ranking_allowed(session: Session, user: User, args: dict[str, Any]) -> bool:
    round_ = _round(session, args)
    if round_ is None or not user.is_active:
        return False
    return policy.may_manage(user, session.get(Unit, round_.contest.owner_unit_code))


def _ranking(session: Session, args: dict[str, Any], progress: Progress) -> Output:
    round_ = _round(session, args)
    if round_ is None:
        raise JobFailed("gone")
    fmt = args["format"]
    made = audit.export_file(session, round_, clock.now(), clock.grace(), fmt, progress)
    return Output(
        made.filename,
        made.mimetype,
        made.data,
        audit_target=f"round:{round_.id}",
        audit_unit=round_.contest.owner_unit_code,
        audit_detail={"format": fmt},
    )


RANKING = register(
    Kind(
        "ranking",
        _l("Prize audit: the ranking"),
        _ranking,
        _ranking_allowed,
        audit_action="export.ranking",
        back=lambda args: url_for("contests.ranking_audit", round_id=args["round"]),
    )
)


# ------------------------------------------------------------------- raw responses


def _survey_and_scope(session: Session, args: dict[str, Any]) -> tuple[Survey | None, Unit | None]:
    if args.get("format") not in FORMATS or not isinstance(args.get("survey"), str):
        return None, None
    survey = surveys_service.by_slug(session, args["survey"])
    return survey, session.get(Unit, _int(args, "unit"))


def _responses_allowed(session: Session, user: User, args: dict[str, Any]) -> bool:
    survey, scope = _survey_and_scope(session, args)
    return survey is not None and policy.may_read(user, scope, policy.MANAGERS)


def _responses(session: Session, args: dict[str, Any], progress: Progress) -> Output:
    survey, scope = _survey_and_scope(session, args)
    if survey is None or scope is None:
        raise JobFailed("gone")
    try:
        table = raw_export.rows(session, survey, scope)
    except raw_export.NotAllowed:
        raise JobFailed("withheld") from None
    progress(0.3)
    fmt = args["format"]
    body, mimetype = exports.encode(
        table,
        fmt,
        f"{survey.slug}-phieu-tra-loi",
        progress=lambda fraction: progress(0.3 + 0.7 * fraction),
    )
    return Output(
        f"{survey.slug}-phieu-tra-loi.{fmt}",
        mimetype,
        body,
        audit_target=f"survey:{survey.slug}",
        audit_unit=survey.owner_unit_code,
        audit_detail={"format": fmt, "rows": len(table.rows), "unit": scope.code},
    )


RESPONSES = register(
    Kind(
        "responses",
        _l("Raw survey responses"),
        _responses,
        _responses_allowed,
        audit_action="export.responses",
        back=lambda args: url_for("dashboards.survey_results", slug=args["survey"]),
    )
)


# ------------------------------------------------------------------------- briefs


def _briefs_allowed(session: Session, user: User, args: dict[str, Any]) -> bool:
    return policy.may_read(user, session.get(Unit, _int(args, "unit")))


def _briefs(session: Session, args: dict[str, Any], progress: Progress) -> Output:
    scope = session.get(Unit, _int(args, "unit"))
    if scope is None:
        raise JobFailed("gone")
    shown = [u for u in communes(session) if u.code == scope.code or policy.within(u, scope)]
    now, grace = clock.now(), clock.grace()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, unit in enumerate(shown):
            data = briefs.brief(session, unit, now, grace=grace)
            pdf = briefs.pdf(render_template("briefs/brief.html", brief=data))
            entry = zipfile.ZipInfo(f"tom-tat-{unit.code}.pdf", date_time=exports.FIXED_TIME)
            archive.writestr(entry, pdf, zipfile.ZIP_DEFLATED)
            progress((i + 1) / max(1, len(shown)))
    label = "tinh" if scope.level == UnitLevel.PROVINCE else str(scope.code)
    return Output(f"tom-tat-{label}.zip", "application/zip", out.getvalue())


BRIEFS = register(
    Kind(
        "briefs",
        _l("One-page briefs of every commune/ward (ZIP of PDFs)"),
        _briefs,
        _briefs_allowed,
        back=lambda args: url_for("briefs.index"),
    )
)
