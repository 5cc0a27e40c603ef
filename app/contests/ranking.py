"""Ranking pages of rounds (people and units), exports for the prize audit, the winners list,
the officers' live view of a round. The order itself lives in app.services.ranking."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app import clock, formats
from app.access import STAFF, roles_required
from app.contests import bp
from app.contests.texts import flag_label, flag_reason, prediction_question
from app.downloads import named_file
from app.extensions import db
from app.jobs.routes import start as start_job
from app.models import Round, Unit
from app.parse import ID_MAX, PAGE_MAX, bounded_int, optional_int
from app.services import audit as audit_trail
from app.services import exports, policy, suspicious
from app.services import ranking as service
from app.services import ranking_audit as audit
from app.services.attempts import round_state
from app.services.exports import Column, Table
from app.services.units import communes

AUDITORS = policy.MANAGERS
WINNERS_MAX = 200


def _round_or_404(round_id: int) -> Round:
    return db.session.get(Round, round_id) or abort(404)


def _owner_scope_or_403(round_: Round) -> None:
    """Officers audit the rounds of contests their unit (or a unit below it) owns."""
    if not policy.may_manage(current_user, db.session.get(Unit, round_.contest.owner_unit_code)):
        abort(403)


def _page_arg() -> int:
    return optional_int(request.args.get("page"), 1, PAGE_MAX, "page") or 1


def _unit_arg() -> int | None:
    return optional_int(request.args.get("unit"), 1, ID_MAX, "unit")


# ------------------------------------------------------------------------------ residents


@bp.get("/rounds/<int:round_id>/ranking")
def ranking_page(round_id: int) -> Response | str:
    round_ = _round_or_404(round_id)
    unit, page = _unit_arg(), _page_arg()
    user_id = current_user.id if current_user.is_authenticated else None
    size = service.PAGE_SIZE
    board = service.board(
        db.session,
        round_,
        clock.now(),
        clock.grace(),
        unit=unit,
        offset=(page - 1) * size,
        limit=size,
        user_id=user_id,
    )
    if request.args.get("mine") and board.mine_page and board.mine_page != page:
        return redirect(
            url_for(".ranking_page", round_id=round_.id, unit=unit, page=board.mine_page) + "#me"
        )
    return render_template(
        "contests/ranking.html",
        round=round_,
        contest=round_.contest,
        board=board,
        page=page,
        unit=unit,
        communes=communes(db.session),
        state=round_state(round_, clock.now()),
        prediction=prediction_question(round_.prediction),
    )


@bp.get("/rounds/<int:round_id>/ranking/units")
def ranking_units(round_id: int) -> str:
    round_ = _round_or_404(round_id)
    return render_template(
        "contests/ranking_units.html",
        round=round_,
        contest=round_.contest,
        units=service.unit_ranking(db.session, round_, clock.now(), clock.grace()),
    )


# -------------------------------------------------------------------------------- officers


@bp.get("/rounds/<int:round_id>/ranking/audit")
@roles_required(*AUDITORS)
def ranking_audit(round_id: int) -> str:
    round_ = _round_or_404(round_id)
    _owner_scope_or_403(round_)
    now, grace = clock.now(), clock.grace()
    csv_file = audit.export_file(db.session, round_, now, grace, "csv")
    result = service.ranking(db.session, round_, now, grace)
    return render_template(
        "contests/ranking_audit.html",
        round=round_,
        contest=round_.contest,
        result=result,
        csv_file=csv_file,
        xlsx_file=audit.cached_export(db.session, round_, now, grace, "xlsx"),
        prediction=prediction_question(round_.prediction),
    )


@bp.get("/rounds/<int:round_id>/ranking.<any(csv, xlsx):fmt>")
@roles_required(*AUDITORS)
def ranking_export(round_id: int, fmt: str) -> Response:
    round_ = _round_or_404(round_id)
    _owner_scope_or_403(round_)
    exported = audit.export_file(db.session, round_, clock.now(), clock.grace(), fmt)
    audit_trail.record(
        db.session,
        current_user,
        "export.ranking",
        f"round:{round_.id}",
        round_.contest.owner_unit_code,
        clock.now(),
        {"format": fmt},
    )
    db.session.commit()
    response = named_file(exported.data, exported.mimetype, exported.filename)
    response.headers["X-Content-SHA256"] = exported.sha256
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/rounds/<int:round_id>/ranking.<any(csv, xlsx):fmt>/job")
@roles_required(*AUDITORS)
def ranking_export_job(round_id: int, fmt: str) -> Response:
    """The export as a background job (a province-wide XLSX takes seconds): its progress page."""
    round_ = _round_or_404(round_id)
    _owner_scope_or_403(round_)
    return start_job("ranking", {"round": round_.id, "format": fmt})


@bp.get("/rounds/<int:round_id>/winners")
@roles_required(*AUDITORS)
def ranking_winners(round_id: int) -> str:
    round_ = _round_or_404(round_id)
    _owner_scope_or_403(round_)
    top = optional_int(request.args.get("top"), 1, WINNERS_MAX, "top") or 10
    top_units = optional_int(request.args.get("units"), 0, WINNERS_MAX, "units")
    top_units = 3 if top_units is None else top_units
    now, grace = clock.now(), clock.grace()
    chosen = service.winners(db.session, round_, now, grace, top, top_units)
    return render_template(
        "contests/ranking_winners.html",
        round=round_,
        contest=round_.contest,
        winners=chosen,
        top=top,
        top_units=top_units,
        # Communes with participants but no population figure: outside the collective prize.
        unknown=service.unit_ranking(db.session, round_, now, grace).unknown if top_units else [],
    )


# ------------------------------------------------------------------- suspicious entries

SUSPICIOUS_COLUMNS = (
    Column("user_id", "Mã tài khoản", "number"),
    Column("name", "Họ tên (rút gọn)", "text"),
    Column("phone", "Số điện thoại (che bớt)", "text"),
    Column("unit", "Xã, phường", "text"),
    Column("attempts", "Số lượt thi", "count"),
    Column("best_score", "Điểm cao nhất", "count"),
    Column("kinds", "Dấu hiệu", "text"),
    Column("reasons", "Lý do và số liệu", "text"),
    Column("disqualified", "Đã loại", "text"),
    Column("disqualified_reason", "Lý do loại", "text"),
)


def _suspicious_rows(found: suspicious.Report) -> list[tuple[Any, ...]]:
    return [
        (
            e.user_id,
            service.short_name(e.name) or audit.DELETED_IN_FILES,
            e.phone,
            e.unit_name,
            e.attempts,
            e.best_score,
            ", ".join(f.kind for f in e.flags),
            " | ".join(flag_reason(f) for f in e.flags),
            audit.YES if e.disqualified else "",
            e.disqualified.reason if e.disqualified else "",
        )
        for e in found.entries
    ]


@bp.get("/rounds/<int:round_id>/suspicious")
@roles_required(*AUDITORS)
def suspicious_page(round_id: int) -> str:
    round_ = _round_or_404(round_id)
    _owner_scope_or_403(round_)
    found = suspicious.report(db.session, round_, clock.now())
    return render_template(
        "contests/suspicious.html",
        round=round_,
        contest=round_.contest,
        report=found,
        form=FlaskForm(),
        flag_reason=flag_reason,
        flag_label=flag_label,
        short_name=service.short_name,
        thresholds=suspicious,
    )


@bp.get("/rounds/<int:round_id>/suspicious.csv")
@roles_required(*AUDITORS)
def suspicious_csv(round_id: int) -> Response:
    round_ = _round_or_404(round_id)
    _owner_scope_or_403(round_)
    now = clock.now()
    found = suspicious.report(db.session, round_, now)
    table = Table(SUSPICIOUS_COLUMNS, _suspicious_rows(found), round_.contest.timezone)
    data, mimetype = exports.encode(table, "csv")
    audit_trail.record(
        db.session,
        current_user,
        "export.suspicious",
        f"round:{round_.id}",
        round_.contest.owner_unit_code,
        now,
        {"rows": len(found.entries)},
    )
    db.session.commit()
    name = f"bai-thi-dang-ngo-{round_.contest.slug}-{round_.key}.csv"
    response = named_file(data, mimetype, name)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/rounds/<int:round_id>/disqualify")
@roles_required(*AUDITORS)
def disqualify(round_id: int) -> Response | tuple[str, int]:
    round_ = _round_or_404(round_id)
    _owner_scope_or_403(round_)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    user_id = bounded_int(request.form.get("user"), 1, ID_MAX, "user")
    try:
        suspicious.disqualify(
            db.session,
            round_,
            user_id,
            current_user,
            request.form.get("reason", ""),
            clock.now(),
            clock.grace(),
        )
    except suspicious.DisqualifyError as error:
        db.session.rollback()
        back = url_for(".suspicious_page", round_id=round_.id)
        return render_template(
            "errors/error.html", status=error.status, message=_(error.message), back=back
        ), error.status
    service.invalidate(db.session, round_.id)
    flash(_("The entry was disqualified: it no longer counts in the ranking."), "success")
    return redirect(url_for(".suspicious_page", round_id=round_.id))


def score_chart(live: service.Live) -> dict[str, Any]:
    """The best-score distribution as a plotly figure, as JSON-ready data for the page."""
    figure = go.Figure(
        go.Bar(
            x=[score for score, _n in live.distribution],
            y=[people for _s, people in live.distribution],
            marker_color="#0b5ed7",
            hovertemplate=_("%(score)s correct: %(people)s people", score="%{x}", people="%{y}")
            + "<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis_title=_("Best score (correct answers)"),
        yaxis_title=_("People"),
        margin={"l": 48, "r": 8, "t": 8, "b": 48},
        height=280,
        bargap=0.1,
        xaxis={"dtick": 1},
        font={"family": "system-ui, sans-serif"},
        separators=formats.separators(),
    )
    data: dict[str, Any] = json.loads(figure.to_json())
    return data


@bp.get("/rounds/<int:round_id>/live")
@roles_required(*STAFF)
def round_live(round_id: int) -> str:
    round_ = _round_or_404(round_id)
    reader = policy.scope_of(current_user)
    live = service.live(db.session, round_, reader, clock.now(), clock.grace())
    return render_template(
        "contests/round_live.html",
        round=round_,
        contest=round_.contest,
        live=live,
        chart=score_chart(live),
        scope=current_user.unit,
        state=round_state(round_, clock.now()),
        may_audit=current_user.role in AUDITORS,
    )
