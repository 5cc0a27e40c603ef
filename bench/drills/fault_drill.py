"""Fault drills (issue 18 point 6): the production-like stack of scripts/stack.py (nginx in
front of two gunicorn nodes of two workers, PostgreSQL, Redis) on its own database
(civic_help_c_drill by default) and its own Redis key prefix, under a bounded contest mix, with
one fault injected a third of the way in:

  terminate    (a) pg_terminate_backend on every backend of the drill's database (only it)
  kill-worker  (d) kill -9 of one gunicorn worker of node 1, caught mid-request (it holds
                   an accepted connection from nginx: /proc/PID/fd and /proc/net/tcp)
  pg-restart   (b) `pg_ctlcluster 15 main restart`            — needs --i-am-alone
  redis-stop   (c) `redis-cli shutdown`, 15 s down, redis-server started again with the
                   options it ran with (CONFIG GET)           — needs --i-am-alone

The mix (loopback only, self-stopping after --seconds): --threads residents at a time, each
with a bearer token, start an attempt at the open round of the sample contest, save an answer
to every question and submit (each request retried once after a 5xx or a broken connection:
the attempt must continue); every fourth resident also loads the contests page without
signing in; one more thread answers the sample satisfaction survey as anonymous visitors
(the HTML forms, no JavaScript).

Report: requests sent, failed (5xx or no answer) by kind of body (503 JSON, the Vietnamese
error page, nginx's own page, other) and whether any showed a traceback; the recovery time
(from the fault to the end of the first successful request started after it); and a database
check: every submitted attempt has its score, its submission time and all its questions;
every stored survey response has its answers. Exit 1 when a check fails.

    .venv/bin/python bench/drills/fault_drill.py terminate [--seconds 60] [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import requests  # noqa: E402
import stack  # noqa: E402
from lxml import html  # noqa: E402

FAULTS = ("terminate", "kill-worker", "pg-restart", "redis-stop")
ALONE_ONLY = ("pg-restart", "redis-stop")  # they stop what other people on the machine use
SURVEY = "hai-long-chinh-quyen-2026"
PASSWORD = "drill-mat-khau-2026"  # noqa: S105 (the drill's made-up residents)


# ----------------------------------------------------------------------------- what happened


@dataclass
class Outcome:
    started: float
    ended: float
    what: str
    status: int  # 0: no answer (connection reset, timeout)
    body: str  # "ok", "queue", "503 json", "vietnamese page", "nginx page", "other"
    traceback: bool


@dataclass
class Log:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


def kind_of(response: requests.Response | None) -> tuple[str, bool]:
    if response is None:
        return "no answer", False
    text = response.text
    traceback = "Traceback" in text or 'File "/' in text
    if response.status_code < 500:
        return "ok", traceback
    if "application/json" in response.headers.get("Content-Type", ""):
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = "?"
        if code == "unavailable" and response.headers.get("X-Queue-Ticket") is not None:
            return "queue", traceback  # admission control's "wait your turn", with Retry-After
        return ("503 json" if code == "unavailable" else f"json {code}"), traceback
    if "Tạm gián đoạn" in text or "Hệ thống đang tạm gián đoạn" in text:
        return "vietnamese page", traceback
    if "<center>nginx</center>" in text:
        return "nginx page", traceback
    return "other", traceback


def call(
    session: requests.Session, log: Log, what: str, method: str, url: str, **kwargs: Any
) -> requests.Response | None:
    started = time.monotonic()
    try:
        response: requests.Response | None = session.request(method, url, timeout=30, **kwargs)
    except requests.RequestException:
        response = None
    body, traceback = kind_of(response)
    status = response.status_code if response is not None else 0
    log.add(Outcome(started, time.monotonic(), what, status, body, traceback))
    return response


def failed(response: requests.Response | None) -> bool:
    return response is None or response.status_code >= 500


def retried(
    session: requests.Session, log: Log, what: str, method: str, url: str, **kwargs: Any
) -> requests.Response | None:
    """A request, sent again once if it failed (what a phone does when the user taps again)."""
    response = call(session, log, what, method, url, **kwargs)
    if failed(response):
        time.sleep(0.5)
        response = call(session, log, what + " (again)", method, url, **kwargs)
    return response


# ----------------------------------------------------------------------------- preparation


def prepare(deploy: dict[str, Any], people: int) -> tuple[int, bool, list[str]]:
    """Residents in bulk (one password hash), a bearer token each; the open round's id."""
    from sqlalchemy import insert, select

    from app import create_app
    from app.config import DevelopmentConfig
    from app.extensions import db
    from app.models import Consent, Round, User, utcnow
    from app.services.accounts import hash_password
    from app.services.tokens import issue_token

    env = deploy["env"]
    app = create_app(
        DevelopmentConfig,
        SQLALCHEMY_DATABASE_URI=env["DATABASE_URL"],
        SECRET_KEY=env["SECRET_KEY"],
        REDIS_URL=None,
        RATELIMIT_STORAGE_URI="memory://",
        CACHE_TYPE="SimpleCache",
    )
    with app.app_context():
        now = utcnow()
        round_ = next(
            r
            for r in db.session.scalars(select(Round).order_by(Round.id))
            if r.opens_at <= now < r.closes_at
        )
        commune = 31321  # Phường Vị Thanh
        hashed = hash_password(PASSWORD)
        db.session.execute(
            insert(User.__table__),
            [
                {
                    "name": f"Người diễn tập {i}",
                    "phone": f"08{i:08d}",
                    "password_hash": hashed,
                    "role": "resident",
                    "unit_code": commune,
                    "auth_nonce": secrets.token_hex(16),
                    "created_at": now,
                }
                for i in range(people)
            ],
        )
        users = db.session.scalars(select(User).where(User.phone.like("08%"))).all()
        db.session.execute(
            insert(Consent.__table__),
            [{"user_id": u.id, "version": "drill", "given_at": now} for u in users],
        )
        db.session.commit()
        lifetime = app.config["API_TOKEN_LIFETIME"]
        tokens = [issue_token(env["SECRET_KEY"], u, now, lifetime)[0] for u in users]
        found = (round_.id, round_.prediction != "none", tokens)
        db.session.remove()
        db.engine.dispose()
    return found


# ------------------------------------------------------------------------------------ traffic


def contest_mix(
    deploy: dict[str, Any], round_id: int, prediction: bool, tokens: list[str], log: Log,
    until: float, stopping: threading.Event,
) -> None:  # fmt: skip
    base = f"https://localhost:{deploy['https']}"
    session = stack.browser(deploy, "127.0.0.1")
    rng = random.Random()
    while time.monotonic() < until and not stopping.is_set() and tokens:
        try:
            token = tokens.pop()
        except IndexError:
            return
        headers = {"Authorization": f"Bearer {token}"}
        if rng.random() < 0.25:
            call(session, log, "contests page", "GET", f"{base}/contests/")
        started = retried(
            session, log, "start", "POST", f"{base}/api/v1/rounds/{round_id}/attempts",
            headers=headers,
        )  # fmt: skip
        if failed(started) or started is None or started.status_code not in (200, 201):
            continue
        attempt = started.json()
        for position, question in enumerate(attempt["questions"], start=1):
            keys = [choice["key"] for choice in question["choices"]]
            retried(
                session, log, "answer", "PUT",
                f"{base}/api/v1/attempts/{attempt['id']}/answers/{position}",
                headers=headers, json={"choices": [rng.choice(keys)], "seq": 1},
            )  # fmt: skip
        body = {"prediction": rng.randint(1, 50)} if prediction else {}
        retried(
            session, log, "submit", "POST", f"{base}/api/v1/attempts/{attempt['id']}/submit",
            headers=headers, json=body,
        )  # fmt: skip


def survey_mix(deploy: dict[str, Any], log: Log, until: float, stopping: threading.Event) -> None:
    """Anonymous visitors answer the satisfaction survey page by page (no JavaScript), each
    from its own loopback address (30 submissions a minute per address are allowed)."""
    base = f"https://localhost:{deploy['https']}"
    n = 0
    while time.monotonic() < until and not stopping.is_set():
        n += 1
        visitor = stack.browser(deploy, f"127.0.{1 + n // 200}.{10 + n % 200}")
        page = call(visitor, log, "survey page", "GET", f"{base}/surveys/{SURVEY}")
        if failed(page) or page is None:
            continue
        try:
            start = html.fromstring(page.content).xpath('//a[normalize-space(.)="Bắt đầu"]/@href')
            if start:
                page = call(visitor, log, "survey page", "GET", urljoin(page.url, start[0]))
            else:
                action, data = stack.fill(page, "Bắt đầu")
                page = call(
                    visitor, log, "survey start", "POST", action, data=data,
                    headers={"Referer": page.url},
                )  # fmt: skip
            for _ in range(14):
                if page is None or failed(page):
                    break
                button = "Gửi câu trả lời" if "Gửi câu trả lời" in page.text else "Tiếp"
                action, data = stack.fill(page, button)
                page = call(
                    visitor, log, f"survey {button}", "POST", action, data=data,
                    headers={"Referer": page.url},
                )  # fmt: skip
                if button == "Gửi câu trả lời":
                    break
        except (stack.Failed, IndexError):
            continue  # a page the visitor could not read (an error page): the visit ends


# ------------------------------------------------------------------------------------- faults


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def inject(fault: str, deploy: dict[str, Any]) -> str:
    if fault == "terminate":
        with psycopg.connect(stack.PG, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (deploy["database"],),
            ).fetchall()
        return f"{sum(1 for (done,) in rows if done)} backends of {deploy['database']} terminated"
    if fault == "kill-worker":
        return kill_a_busy_worker(deploy["nodes"][0].pid, deploy["ports"][0])
    if fault == "pg-restart":
        subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True, timeout=120)
        return "PostgreSQL restarted (pg_ctlcluster 15 main restart)"
    if fault == "redis-stop":
        return redis_outage(15.0)
    raise ValueError(fault)


def _address(hex_address: str) -> str:
    """'0100007F:1F90' (/proc/net/tcp) → '127.0.0.1:8080'."""
    host, port = hex_address.split(":")
    if len(host) == 8:
        host = ".".join(str(int(host[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return f"{host}:{int(port, 16)}"


def request_connection(pid: int, port: int) -> str | None:
    """The connection a gunicorn sync worker is serving, or None when it is idle: an
    ESTABLISHED socket of the process whose local port is the node's (a sync worker holds an
    accepted connection only while it reads a request and answers it — no keep-alive)."""
    inodes = set()
    with suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
                if state == "01" and inode in inodes and int(local.rsplit(":", 1)[1], 16) == port:
                    return f"{_address(local)} <- {_address(remote)}"
    return None


def kill_a_busy_worker(master: int, port: int, within_s: float = 10.0) -> str:
    """(d) SIGKILL a worker of the node caught serving a request (see request_connection):
    the drill proves the death mid-request rather than hoping for it. Raises when no worker
    was seen busy within `within_s`."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for victim in workers_of(master):
            connection = request_connection(victim, port)
            if connection is not None:
                os.kill(victim, signal.SIGKILL)
                return (
                    f"gunicorn worker {victim} of node 1 (master {master}) killed with SIGKILL "
                    f"mid-request: it held the connection {connection}"
                )
        time.sleep(0.0005)
    raise RuntimeError(f"no worker of node 1 was seen serving a request within {within_s:g} s")


REDIS_OPTIONS = ("port", "bind", "dir", "dbfilename", "logfile", "pidfile", "save", "appendonly")


def redis_outage(seconds: float) -> str:
    """Shut the machine's Redis down and start it again as it ran: the options it reports
    (CONFIG GET), daemonized, as the user it ran as (root here; `service redis-server start`
    on a machine where the init script started it)."""
    import redis

    client = redis.Redis.from_url(stack.REDIS)
    config = {k: client.config_get(k)[k] for k in REDIS_OPTIONS}
    args = ["redis-server", "--daemonize", "yes"]
    for key, value in config.items():
        args += [f"--{key}", *(value.split() if key == "bind" else [value])]
    with suppress(redis.ConnectionError):
        client.shutdown(nosave=not config["save"])
    time.sleep(seconds)
    subprocess.run(args, check=True, timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            redis.Redis.from_url(stack.REDIS).ping()
            return f"Redis stopped for {seconds:g} s, then started again: {' '.join(args)}"
        except redis.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError("Redis did not come back within 20 s: start it by hand: " + " ".join(args))


# ------------------------------------------------------------------------------------- checks


def database_check(database: str) -> dict[str, Any]:
    with psycopg.connect(stack.PG.rsplit("/", 1)[0] + f"/{database}") as conn:

        def one(query: str) -> int:
            row = conn.execute(query).fetchone()
            return int(row[0]) if row else 0

        found = {
            "attempts": one("SELECT count(*) FROM attempts"),
            "submitted": one("SELECT count(*) FROM attempts WHERE state = 'submitted'"),
            "open": one("SELECT count(*) FROM attempts WHERE state = 'open'"),
            "answers saved": one(
                "SELECT count(*) FROM attempt_questions WHERE selected IS NOT NULL"
            ),
            "submitted without score or time": one(
                "SELECT count(*) FROM attempts WHERE state = 'submitted' "
                "AND (score IS NULL OR submitted_at IS NULL OR duration_ms IS NULL)"
            ),
            "submitted without all questions": one(
                "SELECT count(*) FROM attempts a WHERE a.state = 'submitted' AND a.max_score <> "
                "(SELECT count(*) FROM attempt_questions q WHERE q.attempt_id = a.id)"
            ),
            "submitted scored wrong": one(
                "SELECT count(*) FROM attempts a WHERE a.state = 'submitted' AND a.score <> "
                "(SELECT count(*) FROM attempt_questions q WHERE q.attempt_id = a.id AND q.correct)"
            ),
            "survey responses": one("SELECT count(*) FROM survey_responses WHERE NOT demo"),
            "survey responses pending (sealed)": one("SELECT count(*) FROM survey_pending"),
            "survey responses without answers": one(
                "SELECT count(*) FROM survey_responses r WHERE NOT EXISTS "
                "(SELECT 1 FROM survey_answers a WHERE a.response_id = r.id)"
            ),
        }
    found["ok"] = not any(
        found[k]
        for k in (
            "submitted without score or time",
            "submitted without all questions",
            "submitted scored wrong",
            "survey responses without answers",
        )
    )
    return found


def summary(log: Log, fault_at: float, note: str, checked: dict[str, Any]) -> dict[str, Any]:
    outcomes = sorted(log.outcomes, key=lambda o: o.started)
    # A start told to wait its turn (admission control) is an answer, not a failure.
    bad = [o for o in outcomes if (o.status == 0 or o.status >= 500) and o.body != "queue"]
    waits = [o for o in outcomes if o.body == "queue"]
    after = [o for o in outcomes if o.started >= fault_at and o.body == "ok"]
    recovery = (after[0].ended - fault_at) if after else None
    return {
        "fault": note,
        "requests": len(outcomes),
        "failed": len(bad),
        "failed by kind": dict(Counter(f"{o.status} {o.body}" for o in bad)),
        "failed requests": dict(Counter(o.what for o in bad)),
        "sent": dict(Counter(o.what for o in outcomes)),
        "told to wait (admission)": dict(Counter(o.what for o in waits)),
        "failed by 5 s after the fault": {
            f"{start:+d} s": n
            for start, n in sorted(
                Counter(int((o.started - fault_at) // 5) * 5 for o in bad).items()
            )
        },
        "4xx": dict(Counter(f"{o.status} {o.what}" for o in outcomes if 400 <= o.status < 500)),
        "tracebacks in responses": sum(o.traceback for o in outcomes),
        "last failure after the fault (s)": round(max(o.ended for o in bad) - fault_at, 2)
        if bad
        else None,
        "recovery (s)": None if recovery is None else round(recovery, 2),
        "database": checked,
    }


def run(fault: str, seconds: float, threads: int, database: str) -> int:
    missing = stack.missing_parts()
    if missing:
        print("fault drill: SKIPPED, this machine lacks " + ", ".join(missing))
        return 2
    load = os.getloadavg()
    print(f"load before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    settings = {"RATELIMIT_KEY_PREFIX": f"drill{secrets.token_hex(6)}"}
    with tempfile.TemporaryDirectory(prefix="civic-drill-") as folder:
        work = Path(folder)
        with stack.deployment(work, database=database, settings=settings) as deploy:
            round_id, prediction, tokens = prepare(deploy, people=4000)
            print(f"  stack up: round {round_id}, {len(tokens)} residents", flush=True)
            log = Log()
            stopping = threading.Event()
            until = time.monotonic() + seconds
            pool = [
                threading.Thread(
                    target=contest_mix,
                    args=(deploy, round_id, prediction, tokens, log, until, stopping),
                )
                for _ in range(threads)
            ]
            pool.append(threading.Thread(target=survey_mix, args=(deploy, log, until, stopping)))
            for thread in pool:
                thread.start()
            time.sleep(seconds / 3)
            fault_at = time.monotonic()
            try:
                note = inject(fault, deploy)
            except BaseException:
                stopping.set()
                raise
            finally:
                print(f"  fault at {seconds / 3:.0f} s", flush=True)
            print(f"  {note}", flush=True)
            for thread in pool:
                thread.join(timeout=seconds + 60)
            stopping.set()
            checked = database_check(deploy["database"])
            logs = "".join(p.read_text(errors="replace") for p in work.glob("node*") if p.is_file())
            report = summary(log, fault_at, note, checked)
            report["tracebacks in the nodes' logs"] = logs.count("Traceback")
            if fault == "kill-worker":
                # What nginx did with the request the worker died serving: its error log
                # names the upstream (the victim's node) and the request line.
                port = f"127.0.0.1:{deploy['ports'][0]}"
                errors = (work / "error.log").read_text(errors="replace").splitlines()
                report["nginx on the killed request"] = [
                    line.split("] ", 1)[-1][:300] for line in errors if port in line
                ][:5]
            report["load before"] = [round(x, 2) for x in load]
            report["load after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, ensure_ascii=False, indent=2))
    ok = checked["ok"] and report["tracebacks in responses"] == 0
    ok = ok and report["recovery (s)"] is not None and report["recovery (s)"] <= 10
    ok = ok and all(k.split(" ", 1)[1] in ("503 json", "vietnamese page", "no answer")
                    or k.startswith("502") for k in report["failed by kind"])  # fmt: skip
    print(f"fault drill {fault}: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fault", choices=FAULTS)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the mix")
    parser.add_argument("--threads", type=int, default=8, help="residents at a time")
    parser.add_argument("--database", default="civic_help_c_drill")
    parser.add_argument(
        "--i-am-alone",
        action="store_true",
        help="needed by pg-restart and redis-stop: they stop the machine's PostgreSQL or Redis",
    )
    args = parser.parse_args(argv)
    if args.fault in ALONE_ONLY and not args.i_am_alone:
        print(
            f"fault drill {args.fault}: refused. It stops the machine's "
            f"{'PostgreSQL' if args.fault == 'pg-restart' else 'Redis'}, which other people and "
            "test runs may be using. Run it when nobody else is, with --i-am-alone."
        )
        return 2
    if not 5 <= args.seconds <= 600 or not 1 <= args.threads <= 32:
        parser.error("--seconds from 5 to 600, --threads from 1 to 32")
    return run(args.fault, args.seconds, args.threads, args.database)


if __name__ == "__main__":
    sys.exit(main())
