"""`flask content validate PATH…` and `flask content load PATH…`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError, ProgrammingError

from app.content import office
from app.content.convert import FORMATS, convert, detect, slugify, to_bank_yaml
from app.content.messages import KIND_WORDS, N_, render
from app.content.pipeline import Outcome, find_files, load_files, validate_files
from app.content.store import Actor, LoadReport
from app.content.validate import validate_text
from app.extensions import db
from app.models import utcnow

content_cli = AppGroup("content", help="Question banks, contests and surveys (YAML).")
LANG = click.option(
    "--lang", type=click.Choice(["vi", "en"]), default="vi", help="Language of the messages."
)


def _read(paths: tuple[str, ...], lang: str) -> list[tuple[str, bytes]]:
    files = []
    for path in find_files(list(paths)):
        try:
            files.append((str(path), path.read_bytes()))
        except OSError as error:
            raise click.ClickException(
                render(
                    N_("Cannot read %(path)s: %(error)s"),
                    {"path": path, "error": error.strerror},
                    lang,
                )
            ) from None
    if not files:
        raise click.ClickException(render(N_("No YAML files found."), {}, lang))
    return files


def _session_or_none():  # type: ignore[no-untyped-def]
    try:
        db.session.connection()
        return db.session
    except Exception:  # no database configured or reachable: validate alone
        return None


@content_cli.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@LANG
def validate(paths: tuple[str, ...], lang: str) -> None:
    """Check files without storing anything (banks named by contests: same batch, then database)."""
    results = validate_files(_read(paths, lang), _session_or_none())
    bad = 0
    for result in results:
        for line in result.messages(lang):
            click.echo(line)
        bad += not result.ok
    summary = N_("%(good)d of %(total)d files are valid.")
    click.echo(render(summary, {"good": len(results) - bad, "total": len(results)}, lang), err=True)
    if bad:
        raise SystemExit(1)


def describe(report: LoadReport, lang: str) -> str:
    words = {
        "new": N_("%(kind)s %(slug)s: stored as version %(version)d (%(count)d items)."),
        "updated": N_(
            "%(kind)s %(slug)s: version %(version)d — %(added)d new, %(changed)d changed, %(retired)d retired."
        ),
        "unchanged": N_("%(kind)s %(slug)s: unchanged (version %(version)d)."),
    }
    params = report.as_dict() | {
        "kind": KIND_WORDS[report.kind],
        "added": len(report.added),
        "changed": len(report.changed),
        "retired": len(report.retired),
    }
    text = render(words[report.status], params, lang)
    for label, items in (
        (N_("new"), report.added),
        (N_("changed"), report.changed),
        (N_("retired"), report.retired),
    ):
        if items and report.status == "updated":
            text += f"\n    {render(label, {}, lang)}: {', '.join(items)}"
    return text


@content_cli.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@LANG
def load(paths: tuple[str, ...], lang: str) -> None:
    """Validate, then store each valid file (banks first); the command line acts as admin."""
    files = _read(paths, lang)
    actor = Actor(unit_code=current_app.config["PROVINCE_CODE"], is_admin=True)
    lines: list[str] = []

    def show(outcome: Outcome) -> None:
        if outcome.report:
            lines.append(f"{outcome.result.filename}: {describe(outcome.report, lang)}")
        problems = outcome.refused.problems if outcome.refused else outcome.result.problems
        lines.extend(p.format(outcome.result.filename, lang) for p in problems)

    try:
        outcomes = _load(files, actor, show)
    except (OperationalError, ProgrammingError) as error:
        raise click.ClickException(
            render(
                N_("The database is not ready (%(error)s). Run: flask db upgrade"),
                {"error": type(error).__name__},
                lang,
            )
        ) from None
    for line in lines:
        click.echo(line)
    bad = sum(not o.ok for o in outcomes)
    click.echo(
        render(
            N_("%(good)d of %(total)d files are valid."),
            {"good": len(outcomes) - bad, "total": len(outcomes)},
            lang,
        ),
        err=True,
    )
    if bad:
        raise SystemExit(1)


def _load(
    files: list[tuple[str, bytes]], actor: Actor, show: Callable[[Outcome], None]
) -> list[Outcome]:
    if len(files) > 10:
        with click.progressbar(
            length=len(files), label="content", file=click.get_text_stream("stderr")
        ) as bar:
            return load_files(
                db.session, files, actor, utcnow(), lambda o: (show(o), bar.update(1))
            )
    return load_files(db.session, files, actor, utcnow(), show)


@content_cli.command("convert")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), required=True, help="The bank YAML to write."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, *office.KINDS]),
    default=None,
    help="Default: detected (a .docx or .xlsx by its name and content).",
)
@click.option("--bank", "slug", default=None, help="The bank id (default: from the file name).")
@click.option("--title", default=None, help="The bank title (default: the file name).")
@LANG
def convert_command(
    source: str, output: str, fmt: str | None, slug: str | None, title: str | None, lang: str
) -> None:
    """Convert a Word (.docx) or Excel (.xlsx) bank, Aiken, GIFT or a Word-style paste
    (Câu 1. / A. / Đáp án: B) into a bank YAML."""
    path = Path(source)
    raw = path.read_bytes()
    kind = office.kind_of(path.name, raw, fmt or "")
    if kind is not None:
        document, count = _office(raw, kind, source, slug or slugify(path.stem), title, lang)
        failed = False
    else:
        text = raw.decode("utf-8-sig", errors="replace")
        converted = convert(text, fmt or detect(text, path.name))
        for problem in converted.problems:
            click.echo(problem.format(source, lang))
        if not converted.questions:
            raise click.ClickException(render(N_("No question could be converted."), {}, lang))
        document = to_bank_yaml(converted, slug or slugify(path.stem), title or path.stem)
        count, failed = len(converted.questions), bool(converted.problems)
    check = validate_text(document, output)
    Path(output).write_text(document, encoding="utf-8")
    for line in check.messages(lang):
        click.echo(line)
    click.echo(
        render(
            N_("%(count)d questions written to %(path)s."),
            {"count": count, "path": output},
            lang,
        ),
        err=True,
    )
    if failed or not check.ok:
        raise SystemExit(1)


def _office(
    raw: bytes, kind: str, source: str, slug: str, title: str | None, lang: str
) -> tuple[str, int]:
    """A .docx or .xlsx as a bank YAML and its question count; every mistake printed (then
    exit status 1, nothing written)."""
    try:
        read = office.read(raw, kind, slug, title or Path(source).stem)
    except office.Refused as refused:
        raise click.ClickException(refused.problem.text(lang)) from None
    for problem in read.problems:
        click.echo(problem.format(source, lang))
    if read.yaml is None:
        raise click.ClickException(render(N_("No question could be converted."), {}, lang))
    click.echo(read.report(lang), err=True)
    return read.yaml, read.count
