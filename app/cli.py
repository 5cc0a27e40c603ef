"""Command line: `flask units load`, `flask users create`, `flask demo`, `flask backup`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.content.cli import content_cli
from app.contests.cli import contests_cli, demo_attempts
from app.extensions import db
from app.models import Role, Unit, User, utcnow
from app.phones import PhoneError, normalize_phone
from app.services.accounts import AccountError, NewAccount, create_account
from app.services.units import UnitsError, load_units, shipped_population_csv
from app.surveys.cli import demo_responses, surveys_cli
from app.text import fold

units_cli = AppGroup("units", help="Administrative units.")
users_cli = AppGroup("users", help="Accounts.")

DEMO_PASSWORD = "demo-mat-khau-2026"
DEMO_ACCOUNTS = [
    # role, phone, name, unit (None: the province)
    (Role.ADMIN, "0900000001", "Quản trị viên (demo)", None),
    (Role.OFFICER, "0900000002", "Cán bộ tuyên giáo (demo)", None),
    (Role.LEADER, "0900000003", "Lãnh đạo tỉnh (demo)", None),
    (Role.RESIDENT, "0900000004", "Nguyễn Văn An (demo)", 31321),  # Phường Vị Thanh
]


@units_cli.command("load")
@click.option("--province", type=int, default=None, help="Province code (default: PROVINCE_CODE).")
@click.option(
    "--population",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CSV of code,population (default: UNITS_POPULATION_CSV, else the file shipped in "
    "app/data/population-<province>.csv, if any).",
)
def units_load(province: int | None, population: str | None) -> None:
    """Load the province and its communes/wards from vietnam-provinces (idempotent)."""
    code = province or current_app.config["PROVINCE_CODE"]
    source = population or current_app.config["UNITS_POPULATION_CSV"]
    if source is None and (shipped := shipped_population_csv(code)) is not None:
        source = str(shipped)
    try:
        report = load_units(db.session, code, source)
    except (UnitsError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"{report.province}: {report.added} added, {report.updated} updated, "
        f"{report.populations} populations set."
    )
    if source is None:
        click.echo(
            "No population file: the rates per 1,000 residents and the collective prizes stay "
            "empty. Add figures with: flask units load --population FILE.csv (code,population)."
        )


@users_cli.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--unit", "unit_code", type=int, required=True, help="Unit code (province or commune)."
)
@click.option("--phone", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_create(role: str, unit_code: int, phone: str, name: str, password: str) -> None:
    """Create an account of any role (officers and leaders are scoped to --unit)."""
    try:
        user = _create(Role(role), unit_code, phone, name, password)
    except (PhoneError, AccountError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role} #{user.id} {user.phone} in {user.unit.name}.")


@users_cli.command("import")
@click.argument("csv_file", type=click.File("rb"))
@click.option(
    "--passwords",
    "passwords_out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the one-time passwords to this CSV file (created, readable by you only) "
    "instead of standard output.",
)
def users_import(csv_file: click.utils.LazyFile, passwords_out: str | None) -> None:
    """Create officer and leader accounts from a CSV file (name, phone, unit, role), each with
    a one-time password to be changed at first sign-in. Every line is reported."""
    import os

    from app.services import staff
    from app.services.exports import csv_bytes

    report = staff.import_csv(db.session, None, csv_file.read(), utcnow())
    if report.error:
        raise click.ClickException(report.error)
    for line in report.lines:
        click.echo(f"{'ok' if line.ok else 'REFUSED'} line {line.line}: {line.message}")
    header = ["line", "user_id", "name", "phone", "unit", "role", "one_time_password"]
    rows = [
        [i.line, i.user_id, i.name, i.phone, i.unit_name, i.role, i.password] for i in report.issued
    ]
    if passwords_out:
        fd = os.open(passwords_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(csv_bytes(rows, header))
        click.echo(f"One-time passwords written to {passwords_out}.")
    elif rows:
        click.echo("One-time passwords (shown once; each must be changed at first sign-in):")
        click.echo(csv_bytes(rows, header).decode("utf-8-sig"), nl=False)
    click.echo(f"{len(report.issued)} created, {len(report.refused)} refused.")
    if report.refused:
        raise SystemExit(1)


def _create(role: Role, unit_code: int, phone: str, name: str, password: str) -> User:
    new = NewAccount(
        name=name, phone=normalize_phone(phone), password=password, unit_code=unit_code, role=role
    )
    # Staff accounts are created by an administrator, not by the person: no consent record.
    return create_account(db.session, new, utcnow(), consent=role == Role.RESIDENT)


@click.group("demo", cls=AppGroup, invoke_without_command=True)
@click.pass_context
@with_appcontext
def demo(ctx: click.Context) -> None:
    """Demo data. Alone: one demo account per role (kept if present), credentials printed.

    Later capabilities add subcommands (demo content, attempts, responses), each marked as demo.
    """
    if ctx.invoked_subcommand is not None:
        return
    province = current_app.config["PROVINCE_CODE"]
    _demo_hamlets()
    for role, phone, name, unit in DEMO_ACCOUNTS:
        if db.session.scalar(db.select(User).where(User.phone == phone)) is None:
            _create(role, unit or province, phone, name, DEMO_PASSWORD)
        click.echo(f"  {role.value:<9} phone {phone}  password {DEMO_PASSWORD}")


# Hamlets of two demo communes (issue 20), added through the officers' service when missing.
DEMO_HAMLETS = {
    31321: [  # Phường Vị Thanh: khu vực
        ("Khu vực 1", "Khu vực", 2150),
        ("Khu vực 2", "Khu vực", 1870),
        ("Khu vực 3", "Khu vực", 2420),
        ("Khu vực 4", "Khu vực", None),
    ],
    31441: [  # Xã Vị Thủy: ấp
        ("Ấp Thạnh Lợi", "Ấp", 1640),
        ("Ấp Thạnh Phú", "Ấp", 1320),
        ("Ấp Phú Hưng", "Ấp", None),
    ],
}


def _demo_hamlets() -> None:
    from app.services import hamlets

    for commune, listed in DEMO_HAMLETS.items():
        if db.session.get(Unit, commune) is None:
            continue  # another province's deployment
        known = {u.search_name for u in hamlets.hamlets_of(db.session, commune)}
        for name, kind, population in listed:
            if fold(name) not in known:
                hamlets.create(db.session, None, commune, name, kind, population, utcnow())
    click.echo(f"  hamlets of the demo communes {', '.join(map(str, DEMO_HAMLETS))}")


@demo.command("content")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def demo_content(paths: tuple[str, ...]) -> None:
    """Load quizzes/ and surveys/; contests and surveys not open now are moved by whole
    weeks so that the first round is open (demo only: the files keep their dates)."""
    from pathlib import Path

    from app.content.demo import shift_dates, shift_needed
    from app.content.pipeline import find_files, load_files
    from app.content.store import Actor
    from app.content.validate import validate_many

    root = Path(current_app.root_path).parent
    names = list(paths) or [str(root / "quizzes"), str(root / "surveys")]
    now = utcnow()
    files = [(str(p), p.read_text(encoding="utf-8-sig")) for p in find_files(names)]
    checked = validate_many(files)
    for index, ((name, text), check) in enumerate(zip(files, checked, strict=True)):
        if check.ok and check.kind in ("contest", "survey"):
            shift = shift_needed(check.model, now)
            if shift:
                files[index] = (name, shift_dates(text, shift))
                click.echo(
                    f"  demo: {check.slug} moved by {shift.days} days so that it is open now"
                )
    actor = Actor(unit_code=current_app.config["PROVINCE_CODE"], is_admin=True)
    bad = 0
    encoded = [(name, text.encode("utf-8")) for name, text in files]
    for outcome in load_files(db.session, encoded, actor, now):
        problems = outcome.refused.problems if outcome.refused else outcome.result.problems
        for problem in problems:
            click.echo(problem.format(outcome.result.filename, "en"))
        if outcome.report:
            report = outcome.report
            click.echo(f"  {report.kind} {report.slug}: version {report.version} ({report.status})")
        bad += not outcome.ok
    if bad:
        raise click.ClickException(f"{bad} content files did not load")


demo.add_command(demo_attempts)  # `flask demo attempts`, in app/contests/cli.py


demo.add_command(demo_responses)


@click.command("backup")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of the backups (default: BACKUP_DIR, else instance/backups).",
)
@click.option(
    "--keep",
    type=int,
    default=None,
    help="How many backups to keep, the newest (default: BACKUP_KEEP, else 14).",
)
@with_appcontext
def backup(directory: str | None, keep: int | None) -> None:
    """Back up the database (pg_dump custom format, or SQLite's backup API) into a file named
    with the UTC time, then delete all but the newest --keep backups of the folder."""
    from pathlib import Path

    from app.services.backups import BackupError, make_backup

    config = current_app.config
    try:
        made = make_backup(
            config["SQLALCHEMY_DATABASE_URI"],
            Path(directory or config["BACKUP_DIR"]),
            config["BACKUP_KEEP"] if keep is None else keep,
            utcnow(),
            pg_dump=config["BACKUP_PG_DUMP"],
        )
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(made.describe())


def init_app(app: Flask) -> None:
    app.cli.add_command(backup)
    app.cli.add_command(units_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo)
    app.cli.add_command(content_cli)
    app.cli.add_command(contests_cli)
    app.cli.add_command(surveys_cli)
