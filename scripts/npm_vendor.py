"""Fetch a pinned npm package with npm itself and check it: the shared step of
scripts/vendor_plotly.py and scripts/vendor_altcha.py (each keeps its own pins)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unpack_checked(
    package: str, version: str, tarball_sha256: str, files: dict[str, str], tmp: str
) -> Path | None:
    """`npm pack package@version` into `tmp`, check the tarball's SHA-256, extract `files`
    (path in the package -> SHA-256) and check each. The package folder, or None after
    saying on standard error what did not match."""
    npm = shutil.which("npm")
    if npm is None:
        print(f"{package}: npm is not installed", file=sys.stderr)
        return None
    subprocess.run(  # noqa: S603 (fixed arguments: a pinned package)
        [npm, "pack", f"{package}@{version}", "--pack-destination", tmp, "--silent"],
        check=True,
        cwd=tmp,
    )
    tarball = Path(tmp) / f"{package}-{version}.tgz"
    if sha256(tarball) != tarball_sha256:
        print(f"{package}: {tarball.name} has sha256 {sha256(tarball)}", file=sys.stderr)
        return None
    with tarfile.open(tarball) as archive:
        for name in files:
            archive.extract(f"package/{name}", tmp, filter="data")
    folder = Path(tmp) / "package"
    for name, digest in files.items():
        if digest and sha256(folder / name) != digest:
            print(f"{package}: {name} has sha256 {sha256(folder / name)}", file=sys.stderr)
            return None
    return folder
