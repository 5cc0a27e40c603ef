"""Leaders' and officers' contest analytics: per round and per contest, which questions and
topics residents get wrong, per commune (app.services.contest_stats), with a table under each
chart and each table as CSV/XLSX.

Pages (endpoint names in brackets):
- /results/contests                      [dashboards.contests]        the contests, with links
- /results/contests/<id>                 [dashboards.contest_stats]   every round together
- /results/rounds/<id>                   [dashboards.round_stats]     one round
- /results/contests/<id>/<table>.<fmt>   [dashboards.contest_table]   a table as csv | xlsx
- /results/rounds/<id>/<table>.<fmt>     [dashboards.round_table]     a table as csv | xlsx
`?unit=CODE` narrows each of them to a commune within the reader's scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import clock, formats
from app.access import STAFF, roles_required
from app.content.messages import N_
from app.dashboards import bp
from app.db_read import read_session
from app.downloads import named_file
from app.extensions import db
from app.models import Contest, Round, Unit, UnitLevel
from app.parse import ID_MAX, optional_int
from app.services import contest_charts, exports, policy
from app.services import contest_stats as service
from app.services.policy import in_scope
from app.text import vietnamese_key
from app.unit_picker import unit_picker

TABLES = ("heat", "questions", "topics", "units", "scores", "rounds")


def _unit() -> Unit | None:
    """The unit asked for (`?unit=`); its scope is checked by the service."""
    code = optional_int(
        request.args.get("unit"),
        1,
        ID_MAX,
        "unit",
        message=N_("Choose a commune or ward by its code (digits only)."),
    )
    if code is None:
        return None
    return db.session.get(Unit, code) or abort(404)


def _stats(build: Callable[..., service.Stats], target: Any) -> service.Stats:
    try:
        return build(
            read_session(),
            target,
            scope=policy.scope_of(current_user),
            unit=_unit(),
            now=clock.now(),
            grace=clock.grace(),
        )
    except service.OutsideScope:
        abort(403)


def _round(round_id: int) -> Round:
    return db.session.get(Round, round_id) or abort(404)


def _contest(contest_id: int) -> Contest:
    return db.session.get(Contest, contest_id) or abort(404)


def _names(stats: service.Stats) -> dict[int, str]:
    return {u.code: u.name for u in stats.units}


def _topic_label(topic: str | None, title: str | None) -> str:
    return title or topic or _("No topic")


def heat_table(stats: service.Stats) -> tuple[list[str], list[tuple[str, list[Any]]]]:
    """Topics (columns) × shown communes (rows): each cell a TopicUnitCell or None."""
    topics = [((t.bank, t.topic), _topic_label(t.topic, t.title)) for t in stats.topics]
    cells = {((c.bank, c.topic), c.unit): c for c in stats.heat}
    names = _names(stats)
    rows = [
        (names[u.code], [cells.get((key, u.code)) for key, _label in topics])
        for u in stats.units
        if not u.suppressed
    ]
    return [label for _key, label in topics], rows


def heat_chart(stats: service.Stats, *, labelled: bool = True) -> dict[str, Any] | None:
    """The heat map; its columns are numbered (topic titles are long: the page lists them)."""
    columns, rows = heat_table(stats)
    if not rows or not columns:
        return None
    values = [[c.facility if c else None for c in cells] for _name, cells in rows]
    texts = [[formats.percent(c.facility) if c else "" for c in cells] for _name, cells in rows]
    numbers = [str(i) for i in range(1, len(columns) + 1)]
    names = [name for name, _c in rows]
    return contest_charts.heatmap(names, numbers, values, texts, labelled=labelled)


def scores_chart(stats: service.Stats) -> dict[str, Any] | None:
    if not stats.scores:
        return None
    return contest_charts.bars(
        [str(s.score) for s in stats.scores], [s.people for s in stats.scores], " " + _("people")
    )


def _hidden_text(stats: service.Stats) -> str:
    return _("hidden: fewer than %(n)d", n=stats.threshold)


def export_rows(stats: service.Stats, table: str) -> tuple[list[str], list[list[Any]]]:
    """One table of the page as rows for a download (numbers as numbers, shares 0..1)."""
    if table == "heat":
        columns, rows = heat_table(stats)
        header = [_("Commune / ward"), *columns]
        return header, [[name, *[c.facility if c else None for c in cells]] for name, cells in rows]
    if table == "questions":
        header = [
            _("Bank"),
            _("Question"),
            _("Topic"),
            _("Question text"),
            _("Attempts"),
            _("Right"),
            _("Share right"),
            _("Discrimination"),
        ]
        return header, [
            [
                q.bank,
                q.question,
                _topic_label(q.topic, q.topic_title),
                q.text,
                q.n,
                q.correct,
                q.facility,
                q.discrimination,
            ]
            for q in stats.questions
        ]
    if table == "topics":
        header = [_("Bank"), _("Topic"), _("Answers"), _("Right"), _("Share right")]
        return header, [
            [t.bank, _topic_label(t.topic, t.title), t.n, t.correct, t.facility]
            for t in stats.topics
        ]
    if table == "units":
        header = [_("Code"), _("Commune / ward"), _("Participants"), _("Per 1,000 residents")]
        rows = [
            [u.code, u.name, _hidden_text(stats), None]
            if u.suppressed
            else [u.code, u.name, u.participants, u.per_1000]
            for u in stats.units
        ]
        return header, rows
    if table == "scores":
        return [_("Score"), _("People")], [[s.score, s.people] for s in stats.scores]
    if table == "rounds" and isinstance(stats, service.ContestStats):
        header = [_("Round"), _("Participants"), _("Attempts"), _("Communes/wards covered")]
        return header, [[r.title, r.participants, r.attempts, r.covered] for r in stats.rounds]
    abort(404)


def _check(table: str, fmt: str) -> None:
    if fmt not in ("csv", "xlsx") or table not in TABLES:
        abort(404)


def _send(stats: service.Stats, table: str, fmt: str, name: str) -> Response:
    header, rows = export_rows(stats, table)
    if stats.suppressed:
        rows = []
    body, mimetype = exports.encode(rows, fmt, name, header)  # cells are data, never formulas
    return named_file(body, mimetype, f"{name}-{table}.{fmt}")


def _communes_in_scope() -> list[Unit]:
    """The communes/wards the reader may narrow to (for the unit chooser)."""
    scope = policy.scope_of(current_user)
    stmt = select(Unit).where(Unit.level == UnitLevel.COMMUNE, in_scope(Unit.code, scope))
    return sorted(db.session.scalars(stmt).all(), key=lambda u: vietnamese_key(u.name))


def _unit_names(codes: list[int]) -> list[str]:
    if not codes:
        return []
    names = db.session.scalars(select(Unit.name).where(Unit.code.in_(codes))).all()
    return sorted(names, key=vietnamese_key)


def _page(template: str, stats: service.Stats, **context: Any) -> str:
    columns, rows = heat_table(stats)
    return render_template(
        template,
        stats=stats,
        hardest=service.hardest(stats),
        heat_columns=columns,
        heat_rows=rows,
        charts={
            "heat": heat_chart(stats),
            "heat_small": heat_chart(stats, labelled=False),
            "scores": scores_chart(stats),
        },
        unit_picker=unit_picker(
            _communes_in_scope(),
            _("Commune / ward"),
            selected=request.args.get("unit") or "",
            placeholder=_("All within my scope"),
        ),
        without=_unit_names(stats.units_without_participants),
        unit=request.args.get("unit") or "",
        **context,
    )


@bp.get("/contests")
@roles_required(*STAFF)
def contests() -> str:
    items = db.session.scalars(select(Contest).order_by(Contest.created_at.desc())).all()
    return render_template("dashboards/contest_index.html", contests=items)


@bp.get("/contests/<int:contest_id>")
@roles_required(*STAFF)
def contest_stats(contest_id: int) -> str:
    contest = _contest(contest_id)
    stats = _stats(service.contest_stats, contest)
    return _page("dashboards/contest_stats.html", stats, contest=contest)


@bp.get("/rounds/<int:round_id>")
@roles_required(*STAFF)
def round_stats(round_id: int) -> str:
    round_ = _round(round_id)
    stats = _stats(service.round_stats, round_)
    return _page("dashboards/round_stats.html", stats, round_=round_, contest=round_.contest)


@bp.get("/contests/<int:contest_id>/<table>.<fmt>")
@roles_required(*STAFF)
def contest_table(contest_id: int, table: str, fmt: str) -> Response:
    _check(table, fmt)
    contest = _contest(contest_id)
    return _send(_stats(service.contest_stats, contest), table, fmt, f"{contest.slug}-thong-ke")


@bp.get("/rounds/<int:round_id>/<table>.<fmt>")
@roles_required(*STAFF)
def round_table(round_id: int, table: str, fmt: str) -> Response:
    _check(table, fmt)
    round_ = _round(round_id)
    name = f"{round_.contest.slug}-{round_.key}-thong-ke"
    return _send(_stats(service.round_stats, round_), table, fmt, name)
