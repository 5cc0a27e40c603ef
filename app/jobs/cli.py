"""`flask jobs worker` (runs the exports queued on Redis), `flask jobs scheduler` (the
periodic work), `flask jobs cleanup`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app import clock
from app.extensions import db

jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop.")
def worker_command(burst: bool) -> None:
    """Run the exports queued on Redis (REDIS_URL, queue JOBS_QUEUE): each job in a process
    of its own (RQ's work horse), so that a large export's memory goes back when it ends."""
    from rq import Worker

    from app.jobs import queue, redis_connection

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    connection = redis_connection(app)
    if connection is None:
        raise click.ClickException(
            "REDIS_URL is not set: jobs run inside the web process, no worker is needed."
        )
    # The work horse is a fork of this process: it must inherit no database connection.
    db.session.remove()
    db.engine.dispose()
    Worker([queue(app)], connection=connection).work(burst=burst, with_scheduler=False)


@jobs_cli.command("scheduler")
@click.option("--once", is_flag=True, help="Run every periodic task once, then stop.")
def scheduler_command(once: bool) -> None:
    """Run the periodic work: the mixer's flush and `contests finalize` every minute, the
    clean-up of job files past their day every ten minutes (one scheduler per deployment)."""
    from app.jobs import periodic

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        for task in periodic.TASKS:
            click.echo(f"{task.name}: {periodic.run_task(app, task)}")
        return
    periodic.serve(app)


@jobs_cli.command("cleanup")
def cleanup_command() -> None:
    """Delete job files past their day now (the scheduler does it every ten minutes)."""
    from app.jobs import cleanup

    deleted, failed = cleanup(db.session, clock.now())
    click.echo(f"{deleted} job files deleted, {failed} lost jobs marked failed.")
