"""The production smoke test (`make test-production`, issue 18 point 1): deploy/nginx.conf as
shipped — TLS, compression, static files, the upstream — in front of two gunicorn nodes run with
gunicorn.conf.py in production mode, on PostgreSQL and Redis; then, through nginx only:

- /health answers for both parts; HTTP is sent to HTTPS; a static file comes from nginx,
  compressed and cached; a body over the limit is refused by nginx (413);
- a resident signs up, takes the open round of the sample contest (no JavaScript: the forms
  as they are) and answers the sample satisfaction survey;
- the address the app sees is the client's own: sign-ups are limited per address, so the
  limit reached from 127.0.0.2 holds for 127.0.0.2 even with a forged X-Forwarded-For, and
  does not touch 127.0.0.3 (and holds across the two nodes: the counters are in Redis);
- both nodes served requests; no response was a 5xx; nginx's access log has no query string;
- /metrics: each node's workers add up (PROMETHEUS_MULTIPROC_DIR), and the two nodes together
  counted the resident's one attempt and one survey response; through nginx the monitoring
  address reads it and any other address is refused, forged X-Forwarded-For or not.

Everything listens on loopback, on free ports, and stops by itself (each wait is bounded).
Exit status 0 when every check passed; 2 when a part this machine lacks (nginx, PostgreSQL,
Redis) makes the test impossible: it says which, and `make test-production` reports SKIPPED.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from lxml import html
from stack import browser, check, deployment, missing_parts, send

SURVEY = "hai-long-chinh-quyen-2026"
SKIP = 2


def sign_up(session: requests.Session, base: str, phone: str) -> requests.Response:
    page = session.get(f"{base}/auth/register", timeout=30)
    tree = html.fromstring(page.content)
    unit = tree.xpath('//select[@name="unit"]/option[@value!=""]/@value')[0]
    return send(
        session,
        page,
        "Đăng ký",
        {
            "name": "Nguyễn Thị Kiểm Thử",
            "phone": phone,
            "unit": unit,
            "password": "mat-khau-kiem-thu-2026",
            "confirm": "mat-khau-kiem-thu-2026",
            "consent": "y",
        },
    )


def resident(deploy: dict[str, Any]) -> None:
    base = f"https://localhost:{deploy['https']}"
    me = browser(deploy, "127.0.0.2")
    home = sign_up(me, base, "0912000001")
    check(
        home.status_code == 200 and "/auth/" not in home.url and "Nguyễn Thị Kiểm Thử" in home.text,
        "a resident signed up through nginx, over HTTPS",
    )
    contests = me.get(f"{base}/contests/", timeout=30)
    round_link = re.search(r'href="(/contests/rounds/\d+)"', contests.text)
    check(round_link, "the contests page lists an open round")
    assert round_link is not None
    round_page = me.get(base + round_link.group(1), timeout=30)
    attempt = send(me, round_page, "Bắt đầu làm bài")
    questions = len(set(re.findall(r'name="(q-\d+)"', attempt.text)))
    check(
        "/contests/attempts/" in attempt.url and questions >= 10,
        f"a paper of {questions} questions",
    )
    confirm = send(me, attempt, "Nộp bài", {"prediction": "1234"})
    result = confirm
    if "/confirm" in confirm.url:  # something left blank: the list, then "Submit anyway"
        button = "Vẫn nộp bài" if "Vẫn nộp bài" in confirm.text else "Nộp bài"
        result = send(me, confirm, button, {"prediction": "1234"})
    check(re.search(r"\d+ / \d+", result.text), "the attempt was submitted and scored")
    survey = me.get(f"{base}/surveys/{SURVEY}", timeout=30)
    start = html.fromstring(survey.content).xpath('//a[normalize-space(.)="Bắt đầu"]/@href')
    page = (
        me.get(urljoin(survey.url, start[0]), timeout=30) if start else send(me, survey, "Bắt đầu")
    )
    for _ in range(12):
        if "Gửi câu trả lời" in page.text:
            break
        page = send(me, page, "Tiếp")
    thanks = send(me, page, "Gửi câu trả lời")
    check("Xin cảm ơn" in thanks.text, "the satisfaction survey was answered")


def addresses(deploy: dict[str, Any]) -> None:
    """Sign-ups are limited per client address (20 an hour): reached from 127.0.0.2 (one
    sign-up above plus these), still reached with a forged X-Forwarded-For, and not
    reached from 127.0.0.3 — so the app sees the client's address, not nginx's."""
    base = f"https://localhost:{deploy['https']}"

    def from_(address: str, phone: str, forged: str | None = None) -> int:
        person = browser(deploy, address)  # a new visitor each time: signed out
        if forged:
            person.headers["X-Forwarded-For"] = forged
        return sign_up(person, base, phone).status_code

    statuses = [from_("127.0.0.2", f"09120001{n:02d}") for n in range(19)]
    check(429 not in statuses, "19 more sign-ups from 127.0.0.2 are served")
    check(from_("127.0.0.2", "0912000199") == 429, "the 21st from 127.0.0.2 is refused (429)")
    check(
        from_("127.0.0.2", "0912000198", forged="203.0.113.7") == 429,
        "a forged X-Forwarded-For does not get round the limit",
    )
    check(
        from_("127.0.0.3", "0912000197") == 200,
        "127.0.0.3 is not held back by 127.0.0.2's limit",
    )


def edges(deploy: dict[str, Any]) -> None:
    base = f"https://localhost:{deploy['https']}"
    client = browser(deploy, "127.0.0.4")
    health = client.get(f"{base}/health", timeout=10)
    check(
        health.status_code == 200 and health.json() == {"database": "ok", "redis": "ok"},
        f"/health through nginx: {health.text.strip()}",
    )
    check(
        health.headers.get("X-Request-ID") and len(health.headers["X-Request-ID"]) == 32,
        "nginx's request id reaches the app and comes back",
    )
    plain = requests.get(
        f"http://localhost:{deploy['http']}/privacy", allow_redirects=False, timeout=10
    )
    check(
        plain.status_code == 301 and plain.headers["Location"].startswith("https://"),
        "plain HTTP is sent to HTTPS",
    )
    try:
        by_address = requests.get(f"http://127.0.0.1:{deploy['http']}/", timeout=10).status_code
    except requests.ConnectionError:
        by_address = 444
    check(by_address == 444, "a request for another name (the bare address) is dropped")
    page = client.get(f"{base}/privacy", timeout=10)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]+)"', page.text)
    check(css, "pages link versioned static files")
    assert css is not None
    static = client.get(base + css.group(1), headers={"Accept-Encoding": "br"}, timeout=10)
    check(
        static.status_code == 200 and static.headers.get("Content-Encoding") == "br",
        "a static file is compressed with brotli",
    )
    check(
        "immutable" in static.headers.get("Cache-Control", "")
        and "X-Request-ID" not in static.headers,
        "and served by nginx (no app request id), cached for a year",
    )
    big = client.post(f"{base}/auth/login", data=b"x" * (5 * 2**20), timeout=30)
    check(big.status_code == 413, "a 5 MiB body is refused by nginx (413)")


def _sample(text: str, line: str) -> float:
    """The value of the exposition line that starts with `line` (0 when absent)."""
    for row in text.splitlines():
        if row.startswith(line + " "):
            return float(row.rsplit(" ", 1)[1])
    return 0.0


def metrics(deploy: dict[str, Any]) -> None:
    """After the resident's visit: the nodes' figures, each read directly (the app allows the
    loopback), add up to that visit; through nginx only the monitoring address gets in."""
    scraped = [
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10) for port in deploy["ports"]
    ]
    check(all(r.status_code == 200 for r in scraped), "each node answers /metrics on loopback")
    started = sum(_sample(r.text, "civic_attempts_started_total") for r in scraped)
    answered = sum(
        _sample(r.text, 'civic_survey_responses_total{kind="anonymous"}') for r in scraped
    )
    check(
        (started, answered) == (1, 1),
        f"the nodes counted one attempt and one survey response ({started:g}, {answered:g})",
    )
    base = f"https://localhost:{deploy['https']}"
    monitor = browser(deploy, "127.0.0.1").get(f"{base}/metrics", timeout=10)
    check(
        monitor.status_code == 200 and "civic_http_request_duration_seconds" in monitor.text,
        "the monitoring address reads /metrics through nginx",
    )
    for headers in ({}, {"X-Forwarded-For": "127.0.0.1"}):
        other = browser(deploy, "127.0.0.5")
        other.headers.update(headers)
        refused = other.get(f"{base}/metrics", timeout=10)
        check(
            refused.status_code in (403, 404) and "civic_" not in refused.text,
            f"another address is refused through nginx ({refused.status_code}"
            + (", forged X-Forwarded-For)" if headers else ")"),
        )


def logs(deploy: dict[str, Any]) -> None:
    work = deploy["work"]
    served = [len((work / f"node{n}.access.log").read_text().splitlines()) for n in (1, 2)]
    check(all(served), f"both app nodes served requests ({served[0]} and {served[1]})")
    access = (work / "access.log").read_text()
    lines = access.splitlines()
    check(
        lines and not any('" 5' in line for line in lines),
        f"{len(lines)} requests through nginx, no 5xx",
    )
    check(
        "?" not in access and "127.0.0." not in access.replace("upstream=127.0.0.1", ""),
        "nginx's access log has no query string and no client address",
    )
    for n in (1, 2):
        errors = (work / f"node{n}.error.log").read_text()
        check("Traceback" not in errors, f"app node {n} logged no traceback")


def main() -> int:
    missing = missing_parts()
    if missing:
        print("production smoke test: SKIPPED, this machine lacks " + ", ".join(missing))
        return SKIP
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="civic-smoke-") as folder:
        work = Path(folder)
        try:
            with deployment(work, database=os.environ.get("SMOKE_DATABASE")) as deploy:
                edges(deploy)
                resident(deploy)
                addresses(deploy)
                metrics(deploy)
                logs(deploy)
        except Exception as failure:
            print(f"production smoke test: FAILED: {type(failure).__name__}: {failure}")
            for name in ("error.log", "node1.out", "node2.out", "node1.error.log"):
                path = work / name
                if path.exists():
                    print(f"--- {name} (end) ---\n{path.read_text()[-3000:]}")
            return 1
    print(f"production smoke test: passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
