"""Issue 15: what a resident's phone downloads on a cold cache, compressed, with every
stylesheet, script and icon the page links to: the quiz question page (an attempt in
progress), the survey page, sign-up and the leaders' results page. Fails when a page grows past
its budget. Figures for docs/benchmarks.md ("Issue 15 — page weight"):

    .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/test_page_weight.py
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.content.pipeline import find_files, load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Attempt, Round
from tests.conftest import PROVINCE, csrf_token, load_content, set_clock
from tests.test_attempts import CONTEST, START, bank_yaml

ROOT = Path(__file__).resolve().parent.parent
KB = 1000
# Budgets in bytes transferred (headers and bodies), with gzip, the worse of the two encodings.
BUDGETS = {"quiz": 50 * KB, "survey": 50 * KB, "sign-up": 50 * KB, "results": 600 * KB}
SURVEY = "hai-long-chinh-quyen-2026"
FIGURES: dict[str, dict[str, tuple[int, int, int]]] = {}


def transferred(response) -> int:  # type: ignore[no-untyped-def]
    """Bytes on the wire for one response: its status line, headers and (encoded) body."""
    head = len("HTTP/1.1 200 OK\r\n\r\n")
    head += sum(len(k) + len(v) + 4 for k, v in response.headers.items())
    return head + len(response.data)


def weigh(client, path: str, encoding: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(page bytes, subresource bytes, uncompressed total) of `path` on a cold cache."""
    ask = {"Accept-Encoding": encoding}
    page = client.get(path, headers=ask)
    assert page.status_code == 200, path
    assert page.headers.get("Content-Encoding") == encoding, path
    plain = client.get(path)
    html = plain.get_data(as_text=True)
    links = re.findall(r'<link rel="(?:stylesheet|icon)"[^>]* href="([^"]+)"', html)
    links += re.findall(r'<script src="([^"]+)"', html)
    # plotly.js, fetched by charts.js once a chart comes near the screen: counted all the same.
    links += re.findall(r'data-plotly="([^"]+)"', html)
    assert any("bootstrap" in link for link in links), links
    own, rest, raw = transferred(page), 0, len(plain.data)
    for link in dict.fromkeys(links):
        response = client.get(link, headers=ask)
        assert response.status_code == 200, link
        rest += transferred(response)
        raw += len(client.get(link).data)
    return own, rest, raw


def record(client, name: str, path: str) -> None:  # type: ignore[no-untyped-def]
    FIGURES[name] = {enc: weigh(client, path, enc) for enc in ("br", "gzip")}
    own, rest, _raw = FIGURES[name]["gzip"]
    assert own + rest < BUDGETS[name], (name, FIGURES[name])


@pytest.fixture
def world(app, make_user):  # type: ignore[no-untyped-def]
    """The sample surveys and a contest with an open round, as on a demo server."""
    moment = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        files = [(str(p), p.read_bytes()) for p in find_files([str(ROOT / "surveys")])]
        actor = Actor(unit_code=PROVINCE, is_admin=True)
        assert all(outcome.ok for outcome in load_files(db.session, files, actor, moment))
    make_user(phone="0933444555")
    make_user(role="leader", phone="0911111111")
    return app


def test_pages_stay_within_their_budget(world, client, auth, runner, capsys):
    record(client, "sign-up", "/auth/register")
    auth.login("0933444555")
    with world.app_context():
        round_id = db.session.scalar(select(Round.id).order_by(Round.id))
    token = csrf_token(client, f"/contests/rounds/{round_id}")
    started = client.post(f"/contests/rounds/{round_id}/start", data={"csrf_token": token})
    assert started.status_code == 302
    with world.app_context():
        attempt = db.session.scalar(select(Attempt.id))
    record(client, "quiz", f"/contests/attempts/{attempt}")
    world.config["CLOCK"] = lambda: datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    record(client, "survey", f"/surveys/{SURVEY}/page/1")
    auth.logout()
    demo = ["demo", "responses", "--survey", SURVEY, "--count", "600"]
    assert runner.invoke(args=demo).exit_code == 0
    auth.login("0911111111")
    record(client, "results", f"/results/{SURVEY}")
    with capsys.disabled():
        print(
            "\n| page | brotli: page + files = total | gzip: page + files = total | "
            "uncompressed | budget |"
        )
        print("|---|---:|---:|---:|---:|")
        for name, by in FIGURES.items():
            cells = [f"{a:,} + {b:,} = **{a + b:,}**" for a, b, _ in by.values()]
            print(f"| {name} | {cells[0]} | {cells[1]} | {by['gzip'][2]:,} | {BUDGETS[name]:,} |")
