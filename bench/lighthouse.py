"""Lighthouse 12 (mobile preset: a mid-range phone on a slow 4G connection, simulated) on the
four pages of issue 15 — sign-up, a quiz question (an attempt in progress), the satisfaction
survey and the leaders' results page — served by gunicorn from a fresh SQLite database with the
demo content and 3,000 demo responses. Debian's chromium; Lighthouse from the npm registry at a
pinned version (installed into .cache/lighthouse/). Only 127.0.0.1 is contacted.

    .venv/bin/python bench/lighthouse.py [--runs 3] [--keep DIR]

Prints the machine's load first, then each page's median performance and accessibility scores
(and the runs) as a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE_VERSION = "12.8.2"
PREFIX = ROOT / ".cache" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "demo-mat-khau-2026"  # noqa: S105  (the public demo password of `flask demo`)
RESIDENT, LEADER = "0900000004", "0900000003"
SURVEY = "hai-long-chinh-quyen-2026"


def lighthouse() -> Path:
    binary = PREFIX / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                f"lighthouse@{LIGHTHOUSE_VERSION}",
            ],
            cwd=PREFIX,
            check=True,
        )
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def signed_in(base: str, phone: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/auth/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    answer = session.post(
        f"{base}/auth/login",
        data={"phone": phone, "password": PASSWORD, "csrf_token": token.group(1), "next": ""},
    )
    assert answer.ok and "session" in session.cookies, answer.status_code
    return session


def open_attempt(base: str, session: requests.Session) -> str:
    """The URL of an attempt in progress of the resident, at the round open now."""
    contests = session.get(f"{base}/contests/").text
    for round_id in re.findall(r'href="/contests/rounds/(\d+)"', contests):
        page = session.get(f"{base}/contests/rounds/{round_id}").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if token and f"/contests/rounds/{round_id}/start" in page:
            answer = session.post(
                f"{base}/contests/rounds/{round_id}/start", data={"csrf_token": token.group(1)}
            )
            if "/contests/attempts/" in answer.url:
                return answer.url
    raise RuntimeError("no round is open in the demo content today")


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def audit(binary: Path, url: str, cookie: str | None, out: Path) -> dict[str, float]:
    command = [
        str(binary),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        "--only-categories=performance,accessibility",
        f"--chrome-path={CHROMIUM}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    subprocess.run(command, check=True, cwd=PREFIX)
    report = json.loads(out.read_text())
    return {name: round(cat["score"] * 100) for name, cat in report["categories"].items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the JSON reports in this folder")
    args = parser.parse_args()
    load = subprocess.run(["/usr/bin/uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load before the run: {load}", flush=True)
    binary = lighthouse()
    work = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    env = os.environ | {
        "FLASK_APP": "wsgi.py",
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite'}",
        "SECRET_KEY": secrets.token_hex(32),
        "RATELIMIT_ENABLED": "0",
    }
    env.pop("REDIS_URL", None)
    for step in (
        ["db", "upgrade"],
        ["units", "load"],
        ["demo"],
        ["demo", "content"],
        ["demo", "responses", "--survey", SURVEY, "--count", "3000"],
    ):
        flask(env, *step)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2", "wsgi:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                requests.get(base + "/", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.2)
        resident = signed_in(base, RESIDENT)
        leader = signed_in(base, LEADER)
        pages = [
            ("sign-up", f"{base}/auth/register", None),
            (
                "quiz question (attempt in progress)",
                open_attempt(base, resident),
                cookie_header(resident),
            ),
            ("survey", f"{base}/surveys/{SURVEY}", cookie_header(resident)),
            ("leaders' results", f"{base}/results/{SURVEY}", cookie_header(leader)),
        ]
        scores: dict[str, list[dict[str, float]]] = {name: [] for name, _u, _c in pages}
        for run in range(args.runs):  # interleaved: each page once per run
            for name, url, cookie in pages:
                out = work / f"{re.sub(r'[^a-z]+', '-', name)}-{run}.json"
                scores[name].append(audit(binary, url, cookie, out))
                print(f"run {run + 1}: {name}: {scores[name][-1]}", flush=True)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for report in work.glob("*.json"):
                shutil.copy(report, args.keep / report.name)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"\nLighthouse {LIGHTHOUSE_VERSION}, mobile preset, Debian chromium; load before: {load}\n"
    )
    print("| page | performance (median) | runs | accessibility (median) | runs |")
    print("|---|---:|---|---:|---|")
    for name, runs in scores.items():
        perf = [r["performance"] for r in runs]
        a11y = [r["accessibility"] for r in runs]
        print(
            f"| {name} | {statistics.median(perf):.0f} | {', '.join(map(str, perf))} | "
            f"{statistics.median(a11y):.0f} | {', '.join(map(str, a11y))} |"
        )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
