"""Vendor plotly.js's cartesian bundle (bar, heatmap, scatter/lines: every chart the app draws;
1.4 MB against the full bundle's 4.8 MB) into app/static/vendor/, from the npm registry.

`make vendor-plotly` runs it. The version and both SHA-256 sums (the package tarball and the
file) are pinned here: a mismatch stops with an error and writes nothing. The file is committed,
so a clean clone needs neither npm nor the network; tests/test_assets.py checks it against the
pinned sum, and app/plotly_assets.py serves it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when a test loads this file
from npm_vendor import unpack_checked

PACKAGE = "plotly.js-cartesian-dist-min"
VERSION = "3.7.0"
TARBALL_SHA256 = "6dade12afbb84a02c8568143dc6d6abeec85d086cc5502716d89229981622b88"
FILE = "plotly-cartesian.min.js"
FILE_SHA256 = "7c593b9eda0e74a1d07335cf89cbf7a55ffc114909980c3729af835453bdb02a"
VENDOR = Path(__file__).resolve().parent.parent / "app" / "static" / "vendor"
TARGET = VENDOR / f"plotly-cartesian-{VERSION}.min.js"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        files = {FILE: FILE_SHA256, "LICENSE": ""}
        folder = unpack_checked(PACKAGE, VERSION, TARBALL_SHA256, files, tmp)
        if folder is None:
            return 1
        VENDOR.mkdir(parents=True, exist_ok=True)
        for old in VENDOR.glob("plotly-cartesian-*.min.js"):
            old.unlink()
        shutil.copyfile(folder / FILE, TARGET)
        shutil.copyfile(folder / "LICENSE", VENDOR / "plotly-LICENSE.txt")
    print(f"{TARGET.name}: {PACKAGE}@{VERSION}, sha256 {FILE_SHA256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
