"""`flask surveys mix` (the anonymity mixer, scheduled) and `flask surveys reorder`."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import text

from app.extensions import db

surveys_cli = AppGroup("surveys", help="Surveys.")
TABLES = {
    "survey_responses": "pk_survey_responses",
    "survey_answers": "pk_survey_answers",
    "survey_ledger": "pk_survey_ledger",
}


def reorder() -> bool:
    """PostgreSQL keeps rows roughly in the order they were written; CLUSTER rewrites them in
    the order of their keys (random for responses, (survey, account) for the ledger), so that
    not even a bare SELECT shows which response came when. SQLite needs nothing: these tables
    are WITHOUT ROWID, stored in key order from the start. Returns True when it rewrote."""
    if db.engine.dialect.name != "postgresql":
        return False
    with db.engine.begin() as conn:
        for table, index in TABLES.items():
            conn.execute(text(f"CLUSTER {table} USING {index}"))
    return True


@surveys_cli.command("mix")
@click.option("--all", "everything", is_flag=True, help="Move every pending response now.")
@with_appcontext
def mix_command(everything: bool) -> None:
    """Move pending anonymous responses whose batch is due into the results (`flask jobs
    scheduler` runs it every minute; the app also does it after submissions and before
    results are read)."""
    click.echo(f"{mix(everything)} pending responses moved.")


def mix(everything: bool = False) -> int:
    """Move the pending anonymous responses whose batch is due (all with `everything`): the
    number moved. `flask surveys mix` and the scheduler (app/jobs/periodic.py) run it."""
    from app import clock
    from app.services.surveys import settle
    from app.services.upkeep import analyze_grown

    moved = settle(db.session, clock.now(), force=everything)
    db.session.commit()  # settle's last read ends here: nothing it holds keeps rows alive
    if db.engine.dialect.name == "postgresql":
        # The moved rows' sealed versions go at once, not at autovacuum's next round (off on
        # some servers) — also those of the batches that responses moved themselves since the
        # last round: most of them, as a batch moves after the submission that makes it due.
        # Left, they pile up in the queue's index, which every response reads. The emptied
        # pages stay the queue's (its vacuum_truncate is off, migration 0025: cut down to no
        # page, the queue was planned for as an empty table and read whole by every
        # response). It keeps the size of its longest line; to give the space back once it
        # is empty: VACUUM (TRUNCATE true) survey_pending — until a round of this mixer has
        # seen it grow again, responses then read the small queue whole.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM survey_pending"))
        # The moved rows' tables: their foreign-key checks planned afresh once they have grown
        # (app/services/upkeep.py: a check planned on an empty table scans it whole).
        analyze_grown(db.session, ("survey_responses", "survey_answers"))
    return moved


@surveys_cli.command("reorder")
def reorder_command() -> None:
    """Rewrite anonymous-response tables in key order (PostgreSQL; run nightly from cron)."""
    click.echo(
        "Reordered." if reorder() else "Nothing to do: SQLite stores these tables in key order."
    )


@click.command("responses")
@click.option("--survey", "slug", help="The survey id (slug).")
@click.option(
    "--count",
    type=click.IntRange(1, 5_000_000),
    default=500,
    help="How many demo responses the survey should have: only the missing ones are added.",
)
@click.option("--remove", is_flag=True, help="Delete every demo response (of --survey, or all).")
@with_appcontext
def demo_responses(slug: str | None, count: int, remove: bool) -> None:
    """Demo survey responses, marked as demo: `flask demo responses --survey ID --count N`."""
    from app.services import demo_responses as demo
    from app.services.surveys import by_slug

    survey = by_slug(db.session, slug) if slug else None
    if slug and survey is None:
        raise click.ClickException(f"No survey {slug!r}.")
    if remove:
        click.echo(f"{demo.remove(db.session, survey)} demo responses removed.")
        return
    if survey is None:
        raise click.ClickException("Name the survey: --survey ID")
    missing = count - demo.existing(db.session, survey)
    added = demo.generate(db.session, survey, missing) if missing > 0 else 0
    if added and db.engine.dialect.name == "postgresql":
        # Thousands of rows at once: the planner's statistics of the survey tables are refreshed
        # now rather than whenever autovacuum comes (the results' joins pick nested loops over
        # tables they still think empty: 20 s instead of 0.2 s for 3,000 responses).
        from sqlalchemy import text

        db.session.commit()
        db.session.execute(text("ANALYZE survey_responses, survey_answers"))
        db.session.commit()
    click.echo(f"{added} demo responses added to {survey.slug}.")
