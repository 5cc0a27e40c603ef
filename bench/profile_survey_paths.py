"""Where a survey response spends its Python, in process, next to the bare route (issue 17).

    .venv/bin/python bench/profile_survey_paths.py            # statements, µs of CPU per request
    .venv/bin/python bench/profile_survey_paths.py --profile form   # and cProfile's top functions

Resets its own database (`civic_bench_survey_prof`, `--database`), fills it with
bench/surveys_bench.py's own setup (the same anonymous survey, `sign_in: optional`, residents
with bearer tokens), then drives the app of bench/bench_app.py through Flask's test client:

- `form`: the web survey's form answered by a person not signed in (a session cookie and CSRF
  token from a first visit, as bench/surveys_bench.py's wrk scenario sends it), 302;
- `page`: the page of questions on a first visit (no cookie), 200;
- `api`: a response through the API with a resident's bearer token, 201;
- `bare`: the bare one-insert route.

Prints the SQL statements of one request of each, then the CPU time of this process per
request (the Python side; PostgreSQL's backends apart), two rounds of 300 interleaved.
Loopback only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import re
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import surveys_bench  # noqa: E402 (after the path)
from harness import reset_database, set_environment  # noqa: E402

SCENARIOS = ("bare", "form", "page", "api")
REQUESTS = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="civic_bench_survey_prof", help="dropped, created")
    parser.add_argument("--profile", choices=SCENARIOS[1:], help="print cProfile's top functions")
    parser.add_argument("--lines", type=int, default=40, help="how many of them")
    parser.add_argument("--sort", default="cumulative", help="with --profile: pstats sort key")
    parser.add_argument(
        "--callees", metavar="REGEX", help="with --profile: what the functions matching it call"
    )
    args = parser.parse_args()
    if not re.fullmatch(r"civic_bench[a-z_]*", args.database):
        parser.error("--database must be civic_bench_SOMETHING (it is dropped)")

    setup = surveys_bench.parse_args(
        ["--skip-results", "--runs", "1", "--pool", "100", "--database", args.database]
    )
    set_environment(args.database, secrets.token_urlsafe(48))
    reset_database(args.database)
    app, fixture = surveys_bench.prepare(setup)
    guests = surveys_bench.web_guests(app, 4)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    rng = random.Random(1)
    client = app.test_client()
    tokens = iter(fixture.warmup)

    def form() -> None:
        cookie, token = guests[rng.randrange(len(guests))]
        client.set_cookie(cookie_name, cookie.split("=", 1)[1])
        body = surveys_bench.form_body(rng, token)
        response = client.post(
            surveys_bench.WEB_PAGE, data=body, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 302, response.status_code

    def page() -> None:
        url = f"{surveys_bench.WEB_PAGE}?unit={surveys_bench.COMMUNE}"
        assert app.test_client().get(url).status_code == 200

    def api() -> None:
        response = client.post(
            f"/api/v1/surveys/{surveys_bench.SUBMIT_SLUG}/responses",
            json=surveys_bench.answer_body(rng),
            headers={"Authorization": f"Bearer {next(tokens)}"},
        )
        assert response.status_code == 201, response.get_data(as_text=True)

    def bare() -> None:
        assert client.post("/bench/bare").status_code == 200

    calls: dict[str, Callable[[], None]] = {"bare": bare, "form": form, "page": page, "api": api}
    for call in calls.values():  # warm-up: caches, prepared statements
        for _ in range(30):
            call()

    from sqlalchemy import event

    from app.extensions import db

    sent: list[str] = []
    with app.app_context():
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_a: sent.append(" ".join(statement.split())[:110]),
        )
    for name in SCENARIOS[1:]:
        sent.clear()
        calls[name]()
        print(f"{name}: {len(sent)} SQL statements")
        for statement in sent:
            print(f"    {statement}")

    for round_ in (1, 2):
        for name in SCENARIOS:
            started = time.process_time()
            for _ in range(REQUESTS):
                calls[name]()
            spent = (time.process_time() - started) / REQUESTS * 1e6
            print(f"round {round_} {name:5} {spent:6.0f} µs of Python CPU per request")

    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(REQUESTS):
            calls[args.profile]()
        profile.disable()
        report = io.StringIO()
        stats = pstats.Stats(profile, stream=report).sort_stats(args.sort)
        if args.callees:
            stats.print_callees(args.callees)
        else:
            stats.print_stats(args.lines)
        print(report.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
