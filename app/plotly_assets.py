"""plotly.js for the chart pages: the cartesian bundle (bar, heatmap, scatter) vendored into
app/static/vendor/ by scripts/vendor_plotly.py (the one home of its version and SHA-256), and
what its pages need so that the strict CSP holds: plotly.js injects <style> elements unless
told the styles exist."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"


@cache
def plotly_js() -> Path:
    """The vendored bundle: exactly one `plotly-cartesian-<version>.min.js`."""
    (found,) = sorted(VENDOR.glob("plotly-cartesian-*.min.js"))
    return found


def plotly_version() -> str:
    return plotly_js().name.removeprefix("plotly-cartesian-").removesuffix(".min.js")


@cache
def plotly_style_ids() -> tuple[str, ...]:
    """Ids of the stylesheets plotly.js injects as <style> elements at load (MapLibre's) unless
    an element with that id exists: chart pages put such elements in their head, so that the
    CSP (no inline style) has nothing to block. Read from the bundle, so upgrades follow."""
    found = re.findall(r'document\.getElementById\("([0-9a-f]{64})"\)', plotly_js().read_text())
    return tuple(dict.fromkeys(found))
