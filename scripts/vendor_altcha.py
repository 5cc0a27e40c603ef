"""Vendor the ALTCHA widget (the proof-of-work challenge shown under attack, app/challenge.py)
into app/static/vendor/altcha/, from the npm registry.

`make vendor-altcha` runs it. The build is the package's `external` one, made for a strict
Content-Security-Policy (no inline style, no worker from a blob: URL): its script, its
stylesheet and the PBKDF2 worker, which app/static/js/challenge.js registers by URL. The
version and every SHA-256 (the tarball and each file) are pinned here: a mismatch stops with an
error and writes nothing. The files are committed, so a clean clone needs neither npm nor the
network; tests/test_challenge.py checks them against these sums.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when a test loads this file
from npm_vendor import unpack_checked

PACKAGE = "altcha"
VERSION = "3.2.2"
TARBALL_SHA256 = "0a1d0759ac0c4ada26e0622a6f8a0926da915078f27b3edec87453f8db33131c"
# file in the package -> (name here, SHA-256)
FILES = {
    "dist/external/altcha.min.js": (
        "altcha.min.js",
        "959494398e8fcde3414d09309ade24b444ede098b04dec1514f4754279bff031",
    ),
    "dist/external/altcha.css": (
        "altcha.css",
        "03622256effb4e962d0c1da9a59684cf237f541f290703934c07a97dabcbad47",
    ),
    "dist/workers/pbkdf2.js": (
        "pbkdf2-worker.js",
        "7862add9c9d3d847ded3da928edcf406b46478754b9883351111414825b9c86f",
    ),
    "LICENSE.txt": (
        "LICENSE.txt",
        "bee1fb9d9c97d42c12c22332c5250f2fb1ef5c2321f6f82beb23e3b77be50a29",
    ),
}
VENDOR = Path(__file__).resolve().parent.parent / "app" / "static" / "vendor" / "altcha"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pins = {name: digest for name, (_target, digest) in FILES.items()}
        folder = unpack_checked(PACKAGE, VERSION, TARBALL_SHA256, pins, tmp)
        if folder is None:
            return 1
        VENDOR.mkdir(parents=True, exist_ok=True)
        for name, (target, _digest) in FILES.items():
            shutil.copyfile(folder / name, VENDOR / target)
    print(f"{VENDOR.name}: {PACKAGE}@{VERSION}, {len(FILES)} files checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
