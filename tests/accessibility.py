"""axe-core on every page the browser tests visit (issue 15: WCAG 2.1 AA, 0 violations).

The `page` fixture (tests/conftest.py) keeps each page as it stands when it has loaded (its DOM,
after its scripts ran when JavaScript is on) and its viewport; when the test ends, each page is
audited in a page of its own: scripts removed (the DOM stays as the resident saw it), the
page's own stylesheets loaded from the test server (<base href>), axe-core evaluated there (the
application's Content-Security-Policy is not in play: it is a copy). axe-core comes from the npm
registry, pinned and checked (scripts/fetch_axe.py, run by `make test`). A page seen before, byte
for byte once its CSRF tokens are blanked and its numbers made alike, at the same width, is
audited once per run. `make test` audits in its SQLite run only (AXE_AUDIT=off for PostgreSQL's):
the pages are the same HTML and CSS whichever database served them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Error as PlaywrightError

from scripts.fetch_axe import DEST, VERSION

AXE = DEST / f"axe-{VERSION}.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
_TOKEN = re.compile(
    r'(name="csrf_token"[^>]*value=")[^"]*(")|(value=")[^"]*("[^>]*name="csrf_token")'
)
_HEAD = re.compile(r"<head\b[^>]*>", re.I)
_DIGITS = re.compile(r"[0-9]+")
_seen: dict[str, list[str]] = {}  # audited pages of this run: digest -> violations


@dataclass(frozen=True)
class Snapshot:
    url: str
    width: int
    height: int
    html: str


def snapshot(page: Any) -> Snapshot | None:
    """The page as it stands (None when it is not an HTML page or is already gone)."""
    try:
        html = page.content()
        size = page.viewport_size or {"width": 1280, "height": 800}
    except PlaywrightError:  # navigating again: the next load is kept instead
        return None
    if not page.url.startswith("http") or "<body" not in html or "</html>" not in html:
        return None  # a blank tab, a browser's own page: not the application's
    return Snapshot(page.url, size["width"], size["height"], html)


def _static(snap: Snapshot) -> str:
    html = _SCRIPT.sub("", snap.html)
    # Colours as they end, not half-way through a transition.
    still = (
        "<style>*,*::before,*::after{transition:none!important;animation:none!important}</style>"
    )
    base = f'<base href="{snap.url}">{still}'
    return _HEAD.sub(lambda m: m.group(0) + base, html, count=1)


def _digest(snap: Snapshot) -> str:
    """Pages that differ only in their CSRF tokens and their numbers (a count, a date, an id,
    "form no. 3 saved") are the same page to axe-core: audited once a run."""
    html = _DIGITS.sub("0", _TOKEN.sub("", snap.html))
    path = _DIGITS.sub("0", re.sub(r"^https?://[^/]+", "", snap.url))
    return hashlib.sha256(f"{snap.width}\n{path}\n{html}".encode()).hexdigest()


def audit(browser: Any, snapshots: list[Snapshot]) -> list[str]:
    """The WCAG 2.1 A/AA violations axe-core finds on each page, one line per element."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make axe-deps`")
    found: list[str] = []
    todo = {}
    for snap in snapshots:
        digest = _digest(snap)
        if digest in _seen:
            found += _seen[digest]
        else:
            todo[digest] = snap
    if not todo:
        return found
    context = browser.new_context(java_script_enabled=True, locale="vi-VN")
    # Stylesheets only (they decide contrast); nothing else leaves the copy, so that closing it
    # never cuts a download off half-way.
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.resource_type == "stylesheet" else route.abort()
        ),
    )
    try:
        page = context.new_page()
        script = AXE.read_text()
        for digest, snap in todo.items():
            page.set_viewport_size({"width": snap.width, "height": snap.height})
            page.set_content(_static(snap), wait_until="load")
            if page.evaluate("typeof axe") == "undefined":  # it outlives set_content's document
                page.evaluate(script)
            violations = page.evaluate(
                """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                    resultTypes: ['violations']}).then(r => r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + n.failureSummary)})))""",
                TAGS,
            )
            lines = [
                f"{snap.url} at {snap.width} px: {v['id']} ({v['impact']}): {v['help']}: {node}"
                for v in violations
                for node in v["nodes"]
            ]
            _seen[digest] = lines
            found += lines
    finally:
        context.close()
    return found


def report(lines: list[str]) -> str:
    return f"axe-core {VERSION}: {len(lines)} WCAG 2.1 AA violation(s)\n" + "\n".join(lines)
