"""Officers' authoring: upload or paste, see every mistake beside its line, preview as
residents will see it, publish; the list of content in scope, its history, download."""

from __future__ import annotations

from pathlib import PurePath

import yaml
from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import formats
from app.access import roles_required
from app.authoring import bp
from app.authoring.forms import PublishForm, UploadForm
from app.content import listing, office, preview, schemas
from app.content.convert import slugify
from app.content.messages import Problem
from app.content.pipeline import check_text, load_files, lookup_if_database
from app.content.reader import MAX_BYTES, too_large
from app.content.store import Actor, export_bank, export_contest, export_survey
from app.content.validate import problem_count
from app.downloads import named_file
from app.extensions import db
from app.models import utcnow
from app.services import policy
from app.services.exports import XLSX

EDITORS = policy.MANAGERS


_lang = formats.language


def _actor() -> Actor:
    return Actor.of(current_user)


WHOLE_FILE = 300  # a longer file shows the lines around each mistake, not every line
CONTEXT = 3


def _shown_lines(lines: list[str], bad: set[int]) -> list[tuple[int, int, str]]:
    """(first, last, text) rows: a line (first == last) or a run of lines left out (text "")."""
    if len(lines) <= WHOLE_FILE:
        return [(n, n, text) for n, text in enumerate(lines, 1)]
    keep = sorted(
        {n for b in bad for n in range(b - CONTEXT, b + CONTEXT + 1) if 1 <= n <= len(lines)}
    )
    rows: list[tuple[int, int, str]] = []
    previous = 0
    for n in keep:
        if n > previous + 1:
            rows.append((previous + 1, n - 1, ""))
        rows.append((n, n, lines[n - 1]))
        previous = n
    if previous < len(lines):
        rows.append((previous + 1, len(lines), ""))
    return rows


def _problems_page(
    source: str,
    filename: str,
    problems: list[Problem],
    status: int,
    note: str | None = None,
    form: UploadForm | None = None,
):  # type: ignore[no-untyped-def]
    """The file with line numbers, each message beside the line it is about; below, the text
    in an editor (`form`, posted back to `upload`) to correct and check again."""
    lang = _lang()
    by_line: dict[int, list[tuple[int, str]]] = {}
    for problem in problems:
        by_line.setdefault(problem.line, []).append((problem.column, problem.text(lang)))
    lines = source.splitlines() or [""]
    summary = [(p.line, p.column, p.text(lang)) for p in problems]
    if form is not None:
        form.text.data = source
        form.filename.data = filename
    page = render_template(
        "authoring/problems.html",
        rows=_shown_lines(lines, set(by_line)),
        count=problem_count(problems),
        by_line=by_line,
        summary=summary,
        filename=filename,
        note=note,
        form=form,
        editor_rows=min(max(len(lines) + 1, 8), 30),
    )
    return page, status


@bp.get("/")
@roles_required(*EDITORS)
def index() -> str:
    return render_template(
        "authoring/list.html", entries=listing.in_scope(db.session, current_user)
    )


@bp.route("/upload", methods=["GET", "POST"])
@roles_required(*EDITORS)
def upload():  # type: ignore[no-untyped-def]
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template(
            "authoring/upload.html", form=form
        ), 422 if form.is_submitted() else 200
    if form.file.data:
        raw, filename = (
            form.file.data.read(MAX_BYTES + 1),
            PurePath(form.file.data.filename or "upload.yaml").name,
        )
    else:
        # Pasted, or posted back from the mistakes page with the name of the file it came from.
        raw = (form.text.data or "").encode("utf-8")
        filename = PurePath(form.filename.data or "paste.yaml").name or "paste.yaml"
    if not raw.strip():
        form.text.errors.append(_("Choose a file or paste the content."))
        return render_template("authoring/upload.html", form=form), 422
    if len(raw) > MAX_BYTES:
        return _problems_page("", filename, [too_large()], 413)
    kind = office.kind_of(filename, raw, form.format.data) if form.file.data else None
    if kind is None and form.format.data in office.KINDS:
        form.file.errors.append(_("Choose the Word (.docx) or Excel (.xlsx) file."))
        return render_template("authoring/upload.html", form=form), 422
    note = None
    fmt = form.format.data
    if kind is not None:  # a .docx or .xlsx: read into a bank file, then checked like any other
        stem = PurePath(filename).stem
        try:
            read = office.read(raw, kind, form.bank.data or slugify(stem), form.title.data or stem)
        except office.Refused as refused:
            return _problems_page("", filename, [refused.problem], refused.status)
        if read.yaml is None:  # corrected in Word or Excel, and uploaded again
            note = _(
                "These paragraphs or cells could not be read; "
                "correct them in the file and upload it again."
            )
            return _problems_page("\n".join(read.lines), filename, read.problems, 422, note)
        # Read: from here on it is the bank file, and "Check again" checks that file.
        text, filename, fmt = read.yaml, PurePath(filename).with_suffix(".yaml").name, "yaml"
        form.format.data = "yaml"
        note = read.report(_lang())
    else:
        text = raw.decode("utf-8-sig", errors="replace")
    checked = check_text(db.session, text, filename, fmt, form.bank.data, form.title.data)
    if not checked.ok:
        if checked.converted:
            note = _("These lines could not be converted; correct them and check again.")
        return _problems_page(text, filename, checked.problems, 422, note, form)
    result = checked.result
    assert result is not None
    if checked.converted:
        note = _(
            "Converted to the bank file below; you can download it from the list after publishing."
        )
    publish = PublishForm(source=checked.source, filename=result.filename)
    return render_template(
        "authoring/preview.html", result=result, form=publish, note=note, **_preview(result.model)
    )


def _preview(model: schemas.Document) -> dict[str, object]:
    if isinstance(model, schemas.Bank):
        return {"kind": "bank", "questions": preview.bank_view(model)}
    if isinstance(model, schemas.Survey):
        return {"kind": "survey", "pages": preview.survey_view(model, _lang())}
    banks = lookup_if_database(db.session)
    return {"kind": "contest", "rounds": preview.contest_view(model, banks or (lambda _slug: None))}


@bp.post("/publish")
@roles_required(*EDITORS)
def publish():  # type: ignore[no-untyped-def]
    form = PublishForm()
    if not form.validate_on_submit() or not form.source.data:
        abort(400)
    filename = PurePath(form.filename.data or "upload.yaml").name
    source = form.source.data
    outcome = load_files(db.session, [(filename, source.encode("utf-8"))], _actor(), utcnow())[0]
    if outcome.refused is not None:
        status = 403 if outcome.refused.forbidden else 409
        return _problems_page(
            source, filename, outcome.refused.problems, status, form=_editor(source, filename)
        )
    if not outcome.result.ok:
        return _problems_page(
            source, filename, outcome.result.problems, 422, form=_editor(source, filename)
        )
    report = outcome.report
    assert report is not None
    if report.status == "unchanged":
        flash(
            _(
                "Nothing changed: %(slug)s stays at version %(version)d.",
                slug=report.slug,
                version=report.version,
            ),
            "info",
        )
    else:
        flash(
            _("Published %(slug)s, version %(version)d.", slug=report.slug, version=report.version),
            "success",
        )
    return redirect(url_for(".history", kind=report.kind, slug=report.slug))


def _editor(source: str, filename: str) -> UploadForm:
    """The check-again form for a YAML file that came back from Publish."""
    return UploadForm(formdata=None, text=source, filename=filename, format="yaml")


@bp.get("/<kind>/<slug>")
@roles_required(*EDITORS)
def history(kind: str, slug: str) -> str:
    row = listing.find(db.session, current_user, kind, slug) or abort(404)
    versions = listing.history(db.session, kind, slug)
    return render_template("authoring/history.html", kind=kind, row=row, versions=versions)


def _bank_locked(slug: str):  # type: ignore[no-untyped-def]
    """The refusal page while a round drawing from the bank is open, else None."""
    open_rounds = listing.open_rounds_drawing_from(db.session, slug, utcnow())
    if not open_rounds:
        return None
    message = _(
        "This bank cannot be downloaded while a round that draws from it is open "
        "(%(rounds)s): its answers would leak.",
        rounds=", ".join(f"{r.contest.title} – {r.title or r.key}" for r in open_rounds),
    )
    return render_template("errors/error.html", status=409, message=message), 409


def _xlsx(body: bytes, name: str) -> Response:
    return named_file(body, XLSX, f"{name}.xlsx")


@bp.get("/bank-template.xlsx")
@roles_required(*EDITORS)
def bank_template() -> Response:
    """The Excel template: one row per question, and the bank's own sheets."""
    return _xlsx(office.template_workbook(_lang()), "ngan-hang-cau-hoi")


@bp.get("/bank/<slug>.xlsx")
@roles_required(*EDITORS)
def download_xlsx(slug: str):  # type: ignore[no-untyped-def]
    """A published bank as the template's workbook: edit it in Excel, upload it again."""
    row = listing.find(db.session, current_user, "bank", slug) or abort(404)
    locked = _bank_locked(slug)
    if locked is not None:
        return locked
    return _xlsx(office.bank_workbook(export_bank(db.session, row), _lang()), slug)


@bp.get("/<kind>/<slug>.yaml")
@roles_required(*EDITORS)
def download(kind: str, slug: str):  # type: ignore[no-untyped-def]
    row = listing.find(db.session, current_user, kind, slug) or abort(404)
    if kind == "bank":
        locked = _bank_locked(slug)
        if locked is not None:
            return locked
        document = export_bank(db.session, row)
    else:
        document = export_contest(row) if kind == "contest" else export_survey(row)
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    return named_file(body, "application/yaml", f"{slug}.yaml")
