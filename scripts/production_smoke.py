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
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import psycopg
import redis
import requests
from lxml import html
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so")
SURVEY = "hai-long-chinh-quyen-2026"
SKIP = 2


class Failed(AssertionError):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise Failed(message)
    print(f"  ok: {message}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def missing_parts() -> list[str]:
    missing = []
    if not Path(NGINX).exists():
        missing.append("nginx")
    elif not BROTLI_MODULE.exists():
        missing.append("nginx's brotli module (libnginx-mod-http-brotli-filter)")
    try:
        psycopg.connect(PG, connect_timeout=3).close()
    except psycopg.Error:
        missing.append("PostgreSQL at 127.0.0.1:5432")
    try:
        redis.Redis.from_url(REDIS, socket_timeout=3).ping()
    except redis.RedisError:
        missing.append("Redis at 127.0.0.1:6379")
    return missing


# --------------------------------------------------------------------------- the deployment


def self_signed(work: Path) -> tuple[Path, Path]:
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def swap(text: str, old: str, new: str, count: int = 1) -> str:
    """Replace a value of deploy/nginx.conf, which must be there as many times as expected:
    if the shipped file changes shape, this test says so instead of testing something else."""
    found = text.count(old)
    if found != count:
        raise Failed(f"deploy/nginx.conf: expected {count}× {old!r}, found {found}")
    return text.replace(old, new)


def nginx_config(work: Path, nodes: list[int], http: int, https: int) -> Path:
    cert, key = self_signed(work)
    site = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    site = swap(site, "server 127.0.0.1:8001 ", f"server 127.0.0.1:{nodes[0]} ")
    site = swap(site, "server 127.0.0.1:8002 ", f"server 127.0.0.1:{nodes[1]} ")
    site = swap(site, "    listen [::]:80;\n", "")
    site = swap(site, "    listen [::]:443 ssl http2;\n", "")
    site = swap(site, "    listen [::]:80 default_server;\n", "")
    site = swap(site, "    listen [::]:443 ssl default_server;\n", "")
    site = swap(site, "listen 80 default_server;", f"listen 127.0.0.1:{http} default_server;")
    site = swap(
        site, "listen 443 ssl default_server;", f"listen 127.0.0.1:{https} ssl default_server;"
    )
    site = swap(site, "listen 80;", f"listen 127.0.0.1:{http};")
    site = swap(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
    site = swap(site, "server_name thi.example.gov.vn;", "server_name localhost;", count=2)
    site = swap(
        site,
        "return 301 https://$host$request_uri;",
        f"return 301 https://$host:{https}$request_uri;",
    )
    site = swap(site, "/etc/ssl/civic/fullchain.pem", str(cert))
    site = swap(site, "/etc/ssl/civic/privkey.pem", str(key))
    site = swap(site, "/srv/civic/app/static/", f"{ROOT / 'app' / 'static'}/")
    site = swap(site, "/var/log/nginx/civic.access.log", str(work / "access.log"), count=2)
    (work / "site.conf").write_text(site, encoding="utf-8")
    main = f"""
user root;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
load_module {BROTLI_MODULE};
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {work}/site.conf;
}}
"""
    (work / "nginx.conf").write_text(main, encoding="utf-8")
    return work / "nginx.conf"


def wait_for(port: int, what: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Failed(f"{what} exited early (status {process.returncode})")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise Failed(f"{what} did not listen on {port} within {seconds:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def deployment(work: Path) -> Iterator[dict[str, Any]]:
    database = f"civic_smoke_{os.getpid()}"
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.execute(f'CREATE DATABASE "{database}"')
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": REDIS,
        "RATELIMIT_KEY_PREFIX": f"smoke{secrets.token_hex(6)}",
        "TRUSTED_PROXIES": "1",
        "REQUEST_LOG_JSON": "true",
        "FLASK_APP": "wsgi.py",
        "GUNICORN_WORKERS": "2",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for step in (["db", "upgrade"], ["units", "load"], ["demo", "content"]):
            subprocess.run(
                [str(BIN / "flask"), *step],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=300,
            )
        print(f"  ok: database {database} migrated, communes and sample content loaded")
        nodes = [free_port(), free_port()]
        for number, port in enumerate(nodes, start=1):
            node_env = {
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_ACCESSLOG": str(work / f"node{number}.access.log"),
                "GUNICORN_ERRORLOG": str(work / f"node{number}.error.log"),
                "PROMETHEUS_MULTIPROC_DIR": str(work / f"metrics{number}"),
            }
            log = (work / f"node{number}.out").open("wb")
            processes.append(
                subprocess.Popen(
                    [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
                    cwd=ROOT,
                    env=node_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for number, (port, process) in enumerate(zip(nodes, processes, strict=True), start=1):
            wait_for(port, f"app node {number}", process)
        http, https = free_port(), free_port()
        config = nginx_config(work, nodes, http, https)
        test = subprocess.run([NGINX, "-t", "-c", str(config)], capture_output=True, text=True)
        check(
            test.returncode == 0,
            "nginx -t accepts deploy/nginx.conf: " + test.stderr.strip()[-200:],
        )
        proxy = subprocess.Popen(
            [NGINX, "-c", str(config), "-g", "daemon off;"], start_new_session=True
        )
        processes.append(proxy)
        wait_for(https, "nginx", proxy)
        yield {
            "http": http,
            "https": https,
            "nodes": nodes,
            "cert": work / "cert.pem",
            "work": work,
        }
    finally:
        for process in reversed(processes):
            stop(process)
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# ------------------------------------------------------------------------- a resident's visit


class FromAddress(HTTPAdapter):
    """Connections from a chosen loopback address (Linux routes all of 127/8 to lo)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def browser(deploy: dict[str, Any], address: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy, and no CA bundle from the environment over ours
    session.verify = str(deploy["cert"])
    session.mount("https://", FromAddress(address))
    session.headers["User-Agent"] = "smoke-test (no JavaScript)"
    return session


def fill(
    page: requests.Response, button: str, values: dict[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    """The form holding `button` (its text) as a browser without JavaScript sends it: hidden
    fields, the first choice of each radio group and select, the values given, the button."""
    tree = html.fromstring(page.content)
    pressed = tree.xpath(
        f'//form//button[normalize-space(.)="{button}"]'
        f'|//form//input[@type="submit" and @value="{button}"]'
    )
    if not pressed:
        raise Failed(f"no '{button}' button on {page.url}")
    form = next(pressed[0].iterancestors("form"))
    data: dict[str, str] = {}
    for field in form.xpath(".//input|.//select|.//textarea"):
        name, kind = field.get("name"), (field.get("type") or "text").lower()
        if not name or field.get("disabled") is not None:
            continue
        if kind == "hidden":
            data[name] = field.get("value", "")
        elif kind == "radio" and name not in data:
            data[name] = field.get("value", "")
        elif (
            kind == "checkbox"
            and name not in data
            and len(form.inputs.keys())
            and (len(form.xpath(f'.//input[@type="checkbox"][@name="{name}"]')) > 1)
        ):  # a multiple-choice question: its first choice
            data[name] = field.get("value", "")
        elif (
            field.tag == "input"
            and name.startswith("a-")
            and name not in data
            and (kind == "number" or field.get("inputmode") in ("numeric", "decimal"))
        ):  # a survey's number question
            data[name] = "1"
        elif field.tag == "select" and name not in data:
            options = [o.get("value") for o in field.xpath(".//option") if o.get("value")]
            data[name] = options[0] if options else ""
    data.update(values or {})
    if pressed[0].get("name"):
        data[pressed[0].get("name")] = pressed[0].get("value", "")
    return urljoin(page.url, form.get("action") or page.url), data


def send(
    session: requests.Session,
    page: requests.Response,
    button: str,
    values: dict[str, str] | None = None,
) -> requests.Response:
    action, data = fill(page, button, values)
    # A browser sends the page's address (Referrer-Policy: same-origin): Flask-WTF checks it
    # over HTTPS against the host nginx passes on.
    answer = session.post(action, data=data, headers={"Referer": page.url}, timeout=30)
    if answer.status_code >= 400:
        said = html.fromstring(answer.content).xpath("string(//main)")
        print(f"  {answer.status_code} on '{button}': " + " ".join(said.split())[:300])
    check(
        answer.status_code < 500, f"'{button}' → {answer.status_code} ({answer.url.split('?')[0]})"
    )
    return answer


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
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10) for port in deploy["nodes"]
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
            with deployment(work) as deploy:
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
