"""`flask contests …`: jobs for a scheduler and audits of rounds; `flask demo attempts`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import text

from app import clock
from app.extensions import db
from app.models import Round
from app.services import demo_attempts as demo_service
from app.services import ranking, ranking_audit
from app.services.attempts import finalize_expired

contests_cli = AppGroup("contests", help="Contest rounds and attempts.")


def finalize() -> tuple[int, int]:
    """Finish every attempt left open past its deadline and freeze the figure of every round
    that has closed: (attempts finished, rounds frozen). `flask contests finalize` and the
    scheduler (app/jobs/periodic.py) both run it."""
    count = finalize_expired(db.session, clock.now(), clock.grace())
    frozen = ranking.freeze_closed_rounds(db.session, clock.now(), clock.grace())
    if frozen and db.engine.dialect.name == "postgresql":
        # Each freeze rewrote its round's best_attempts: clear the old rows now rather than
        # when autovacuum comes, so that pages far down the ranking read the index alone.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE best_attempts"))
    return count, frozen


@contests_cli.command("finalize")
def contests_finalize() -> None:
    """Finish every attempt left open past its deadline, from its saved answers, and freeze
    the prediction figure of every round that has closed (`flask jobs scheduler` runs it
    every minute)."""
    count, frozen = finalize()
    click.echo(f"{count} attempts finished.")
    click.echo(f"{frozen} rounds finalised (ranking final, prediction figure frozen).")


@contests_cli.command("recheck")
@click.argument("round_id", type=int)
@click.option(
    "--export",
    "export_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="An exported ranking CSV to check against the re-computed ranking too.",
)
@click.pass_context
def contests_recheck(ctx: click.Context, round_id: int, export_path: str | None) -> None:
    """Re-score every attempt of a round from its questions, re-rank, and report any
    difference with the stored scores, figure and ranking (exit status 1 if any)."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"No round {round_id}.")
    exported = None
    if export_path:
        data = Path(export_path).read_bytes()
        click.echo(f"{export_path}: SHA-256 {hashlib.sha256(data).hexdigest()}")
        exported = ranking_audit.read_export_csv(data)
    result = ranking_audit.recheck(db.session, round_, clock.now(), clock.grace(), exported)
    state = "final" if ranking.is_final(round_, clock.now(), clock.grace()) else "provisional"
    figure = "" if result.figure is None else f", {round_.prediction} re-counted {result.figure}"
    click.echo(
        f"Round {round_.id} ({state}): {result.attempts} attempts re-scored, "
        f"{result.people} people re-ranked{figure}."
    )
    for line in result.differences:
        click.echo(f"  DIFFERENCE {line}")
    if result.ok:
        click.echo("No difference.")
    else:
        click.echo(f"{len(result.differences)} differences found.", err=True)
        ctx.exit(1)


@click.command("attempts")
@click.option("--round", "round_id", type=int, default=None, help="The round's id.")
@click.option("--count", type=click.IntRange(1, 900_000), default=1_000, show_default=True)
@click.option("--seed", type=int, default=None, help="For the same people every time.")
@click.option("--remove", is_flag=True, help="Delete every demo person and their attempts.")
@with_appcontext
def demo_attempts(round_id: int | None, count: int, seed: int | None, remove: bool) -> None:
    """DEMO ONLY: synthetic people ("(demo) …", phones 0899xxxxxx) with finished attempts
    at a round, for the ranking's benchmark; --remove deletes exactly them."""
    if remove:
        for round_ in demo_service.frozen_rounds_with_demo(db.session):
            click.echo(
                f"  warning: round {round_.id} froze its figure with demo attempts counted; "
                f"`flask contests recheck {round_.id}` will report it"
            )
        report = demo_service.remove(db.session)
        ranking.invalidate(db.session)
        click.echo(
            f"Removed {report.people} demo people, {report.attempts} attempts, "
            f"{report.questions} answered questions."
        )
        return
    round_ = db.session.get(Round, round_id) if round_id is not None else None
    if round_ is None:
        raise click.ClickException("Give --round ID of an existing round (or --remove).")
    try:
        report = demo_service.create(db.session, round_, count, clock.now(), seed)
    except demo_service.DemoError as error:
        raise click.ClickException(str(error)) from None
    ranking.invalidate(db.session, round_.id)
    click.echo(
        f"DEMO: {report.people} people (named '(demo) …', phones from "
        f"{demo_service.PHONE_FIRST}), {report.attempts} attempts, {report.questions} "
        f"answered questions at round {round_.id}. Remove with `flask demo attempts --remove`."
    )
