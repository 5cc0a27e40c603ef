"""The mixer inside the app: between scheduled runs of `flask surveys mix`, any request checks
(at most every MIX_CHECK of the app's clock, per process) whether a survey's pending anonymous
responses are due, and moves them. So a lone response reaches the results within
SURVEY_MIX_WAIT_SECONDS plus MIX_CHECK even where nothing is scheduled."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app, request

from app import clock
from app.errors import database_unavailable
from app.extensions import db
from app.services import mixer
from app.services.surveys import settle

MIX_CHECK = timedelta(seconds=30)
# A load balancer's poll and a Prometheus scrape do no work and wait on nothing.
QUIET = frozenset({"main.health", "metrics"})
log = logging.getLogger(__name__)


def _settle_due() -> None:
    if request.endpoint in QUIET:
        return
    now = clock.now()
    last = current_app.extensions.get("survey_mix_checked")
    if last is not None and now - last < MIX_CHECK:
        return
    current_app.extensions["survey_mix_checked"] = now
    try:
        settle(db.session, now)
    except Exception as error:  # the request goes on; the next check or the command moves them
        db.session.rollback()
        if database_unavailable(error):  # the request itself will say so (a 503), or recover
            log.warning("the survey mixer did not run: database unavailable")
        else:
            log.exception("the survey mixer failed; pending responses stay pending")


def init_app(app: Flask) -> None:
    mixer.settings(app.config)  # a setting that cannot work stops the start, not a response
    app.before_request(_settle_due)
