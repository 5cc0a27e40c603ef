"""Vendor plotly.js's cartesian bundle (bar, heatmap, scatter/lines: every chart the app draws;
1.4 MB against the full bundle's 4.8 MB) into app/static/vendor/, from the npm registry.

`make vendor-plotly` runs it. The version and both SHA-256 sums (the package tarball and the
file) are pinned here: a mismatch stops with an error and writes nothing. The file is committed,
so a clean clone needs neither npm nor the network; tests/test_assets.py checks it against the
pinned sum, and app/plotly_assets.py serves it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "plotly.js-cartesian-dist-min"
VERSION = "3.7.0"
TARBALL_SHA256 = "6dade12afbb84a02c8568143dc6d6abeec85d086cc5502716d89229981622b88"
FILE = "plotly-cartesian.min.js"
FILE_SHA256 = "7c593b9eda0e74a1d07335cf89cbf7a55ffc114909980c3729af835453bdb02a"
VENDOR = Path(__file__).resolve().parent.parent / "app" / "static" / "vendor"
TARGET = VENDOR / f"plotly-cartesian-{VERSION}.min.js"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    npm = shutil.which("npm")
    if npm is None:
        print("vendor_plotly: npm is not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(  # noqa: S603 (fixed arguments: a pinned package)
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp, "--silent"],
            check=True,
            cwd=tmp,
        )
        tarball = Path(tmp) / f"{PACKAGE}-{VERSION}.tgz"
        if sha256(tarball) != TARBALL_SHA256:
            print(f"vendor_plotly: {tarball.name} has sha256 {sha256(tarball)}", file=sys.stderr)
            return 1
        with tarfile.open(tarball) as archive:
            archive.extract(f"package/{FILE}", tmp, filter="data")
            archive.extract("package/LICENSE", tmp, filter="data")
        got = Path(tmp) / "package" / FILE
        if sha256(got) != FILE_SHA256:
            print(f"vendor_plotly: {FILE} has sha256 {sha256(got)}", file=sys.stderr)
            return 1
        VENDOR.mkdir(parents=True, exist_ok=True)
        for old in VENDOR.glob("plotly-cartesian-*.min.js"):
            old.unlink()
        shutil.copyfile(got, TARGET)
        shutil.copyfile(Path(tmp) / "package" / "LICENSE", VENDOR / "plotly-LICENSE.txt")
    print(f"{TARGET.name}: {PACKAGE}@{VERSION}, sha256 {FILE_SHA256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
