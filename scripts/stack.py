"""The production-like stack, shared by the production smoke test (scripts/production_smoke.py)
and the fault drills (bench/drills/): deploy/nginx.conf as shipped (addresses, ports and paths
swapped for local ones) in front of two gunicorn nodes run with gunicorn.conf.py in production
mode, on PostgreSQL and Redis, each in its own database and Redis key prefix; and a visitor
without JavaScript (`browser`, `fill`, `send`) that sends the forms as they are.

Everything listens on loopback, on free ports, and stops by itself (each wait is bounded).
Imported as `stack` (scripts/ on sys.path).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
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
def deployment(
    work: Path,
    database: str | None = None,
    settings: dict[str, str] | None = None,
    keep_database: bool = False,
) -> Iterator[dict[str, Any]]:
    """Two app nodes behind nginx on a fresh database (`database`, default civic_smoke_<pid>),
    dropped at the end unless `keep_database`; `settings` add to or override the nodes'
    environment. Yields the ports, the certificate, the folder, the database, the environment
    the node processes (gunicorn masters) and their ports."""
    database = database or f"civic_smoke_{os.getpid()}"
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
        **(settings or {}),
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
            "cert": work / "cert.pem",
            "work": work,
            "database": database,
            "env": env,
            "nodes": processes[:2],
            "ports": nodes,
        }
    finally:
        for process in reversed(processes):
            stop(process)
        if not keep_database:
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
