"""plotly.js served by the app from the plotly package (no CDN), and what its pages need so
that the strict CSP holds: plotly.js injects <style> elements unless told the styles exist."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import plotly

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def plotly_version() -> str:
    return str(plotly.__version__)


@cache
def plotly_style_ids() -> tuple[str, ...]:
    """Ids of the stylesheets plotly.js injects as <style> elements at load (MapLibre's) unless
    an element with that id exists: chart pages put such elements in their head, so that the
    CSP (no inline style) has nothing to block. Read from the bundle, so upgrades follow."""
    found = re.findall(r'document\.getElementById\("([0-9a-f]{64})"\)', PLOTLY_JS.read_text())
    return tuple(dict.fromkeys(found))


@cache
def plotly_bytes() -> bytes:
    """plotly.js read once per process: served from memory, so a phone that leaves mid-download
    leaves no file open behind it (a streamed file was left unclosed by the server)."""
    return PLOTLY_JS.read_bytes()
