"""Fetch axe-core (the accessibility rules the browser tests run on every page they visit)
from the npm registry, check it against the pinned SHA-256 and keep `axe.min.js` in
.cache/axe/. Run by `make test` (the `axe-deps` target); does nothing when the file is there.

    .venv/bin/python scripts/fetch_axe.py [--dest .cache/axe]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "4.11.0"
URL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
SHA256 = "39bed7d72308f6d620789c169d699bfd7e8da80f65b545821a6b2215c3e83107"
ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / ".cache" / "axe"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEST)
    args = parser.parse_args()
    target = args.dest / f"axe-{VERSION}.min.js"
    if target.exists():
        print(f"axe-core {VERSION}: {target.relative_to(ROOT)}")
        return 0
    with urllib.request.urlopen(URL, timeout=60) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        print(f"axe-core {VERSION}: SHA-256 {digest} is not the pinned {SHA256}", file=sys.stderr)
        return 1
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None
        script = member.read()
    args.dest.mkdir(parents=True, exist_ok=True)
    target.write_bytes(script)
    print(f"axe-core {VERSION}: fetched into {target.relative_to(ROOT)} ({len(script):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
