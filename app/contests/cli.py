"""`flask contests …`: jobs for a scheduler and audits of rounds."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app import clock
from app.extensions import db
from app.services.attempts import finalize_expired

contests_cli = AppGroup("contests", help="Contest rounds and attempts.")


@contests_cli.command("finalize")
def contests_finalize() -> None:
    """Finish every attempt left open past its deadline, from its saved answers (for cron)."""
    count = finalize_expired(db.session, clock.now(), clock.grace())
    click.echo(f"{count} attempts finished.")
