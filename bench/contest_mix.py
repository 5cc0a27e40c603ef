"""The contest mix and the synchronised start, on one app node and on two (issue 17, point 4).

    .venv/bin/python bench/contest_mix.py --help
    .venv/bin/python bench/contest_mix.py --nodes 1,2 --rates 1,2 --mix-seconds 20 --spike 300

Loopback only, bounded, self-stopping; always stops its gunicorns and deletes its Redis keys.

1. Resets the database `civic_bench_e` and fills it with bench/run.py's own `prepare`
   (migrations, units, a 200-question bank, a round open now with 18-question papers, resident
   accounts with one shared password hash and a bearer token each), plus officers and leaders.
2. Per configuration (`--nodes 1,2`): that many `gunicorn -w WORKERS bench.bench_app:app`
   (bench/harness.py) on ports of their own, sharing PostgreSQL and Redis (REDIS_URL: rate
   limits, the admission line, the cache), rate limits on (each simulated resident its own
   address in X-Forwarded-For, TRUSTED_PROXIES=1). The client sends its requests to the nodes
   in turn (round robin), whatever the resident.
3. Phases, in order: the bare route (`POST /bench/bare`, closed loop) — the mix at each rate of
   `--rates` — the bare route again — the spike — the checks.
   - The mix (open model: residents arrive at RATE per second for `--mix-seconds`): each
     resident signs in on the page (CSRF, scrypt), opens the round, presses Start (following
     the waiting page's Refresh when told to wait), opens the paper, saves 18 answers through
     the API with the session (think time between them, exponential with mean `--think`),
     submits and reads their ranking page; officers read the live view and leaders the round
     statistics every few seconds meanwhile. Latency of every request (think time excluded),
     p50/p95/p99, errors (any 5xx, a refused step, a timeout).
   - The spike: `--spike` residents (bearer tokens) each start through the API at a random
     moment within `--spike-seconds`; a 503 is obeyed (Retry-After, X-Queue-Ticket) until the
     paper comes (201). How long until the last paper; how many waited; errors.
   - Checks in the database and over HTTP: one attempt per person, the ranking (best_attempts)
     agrees with the attempts, the start limit (10 a minute per account) holds across nodes.
4. Prints the report; writes it into docs/benchmarks.md between its markers (`--no-docs`: not).

Why aiohttp (asyncio) rather than locust or wrk: a resident is a story of dependent steps
(the token of one page in the next request, a waiting page followed to the paper, think time),
thousands of them at once from one process; wrk's Lua cannot keep a cookie jar per resident
and locust (gevent) would add a second event loop and its own web UI to stop. aiohttp keeps one
cookie jar per resident over one bounded connection pool, and the whole run is one function
with a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import run as fixtures  # bench/run.py: the database, the content, the accounts and tokens
from harness import (
    HOST,
    ROOT,
    gunicorn,
    log,
    reset_database,
    set_environment,
    write_block,
)

DB_NAME = "civic_bench_e"
WORK = ROOT / "bench" / ".work" / "contest_mix"
DOCS = ROOT / "docs" / "benchmarks.md"
MARK_START = "<!-- bench/contest_mix.py: results start -->"
MARK_END = "<!-- bench/contest_mix.py: results end -->"
PAPER = 18
P99_TARGET_MS = 500.0
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


# ------------------------------------------------------------------------------ arguments


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="1,2", help="configurations: app nodes (1,2)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per node")
    parser.add_argument("--rates", default="1,2,4", help="mix: residents arriving per second")
    parser.add_argument("--mix-seconds", type=int, default=30, help="mix: arrivals last this")
    parser.add_argument("--think", type=float, default=2.0, help="mix: mean think time (s)")
    parser.add_argument("--officers", type=int, default=3, help="officers on the live view")
    parser.add_argument("--leaders", type=int, default=2, help="leaders reading statistics")
    parser.add_argument("--spike", type=int, default=3000, help="residents in the spike")
    parser.add_argument("--spike-seconds", type=float, default=10.0, help="the spike's spread")
    parser.add_argument("--bare-seconds", type=int, default=5, help="bare route, each run")
    parser.add_argument("--bare-clients", type=int, default=16, help="bare route concurrency")
    parser.add_argument(
        "--capacity", type=int, default=0, help="ADMISSION_MAX_STARTS (0: workers × nodes / 2)"
    )
    parser.add_argument("--connections", type=int, default=256, help="client connection pool")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="shared Redis")
    parser.add_argument("--deadline", type=int, default=600, help="a phase stops after this")
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args(argv)
    args.node_counts = [int(n) for n in args.nodes.split(",")]
    args.rate_list = [float(r) for r in args.rates.split(",")]
    if not set(args.node_counts) <= {1, 2}:
        parser.error("--nodes: 1 and/or 2")
    if not all(0 < r <= 50 for r in args.rate_list) or not 1 <= args.mix_seconds <= 300:
        parser.error("--rates between 0 and 50 a second, --mix-seconds between 1 and 300")
    if not 1 <= args.spike <= 10_000 or not 1 <= args.workers <= 16:
        parser.error("--spike between 1 and 10000, --workers between 1 and 16")
    if not args.redis.startswith(("redis://127.0.0.1", "redis://localhost")):
        parser.error("--redis must be on loopback")
    return args


# -------------------------------------------------------------------------------- setup


@dataclass
class People:
    round_id: int = 0
    residents: list[tuple[int, str, str]] = field(default_factory=list)  # (id, phone, token)
    officers: list[str] = field(default_factory=list)  # phones
    leaders: list[str] = field(default_factory=list)  # tokens


def residents_needed(args: argparse.Namespace) -> int:
    mix = sum(int(rate * args.mix_seconds) + 1 for rate in args.rate_list)
    return len(args.node_counts) * (mix + args.spike + 1)


def prepare(args: argparse.Namespace) -> tuple[Any, People]:
    """bench/run.py's prepare (one run, 18-question papers), then officers and leaders."""
    # bench/run.py's own parser, so every option it adds has its default here too.
    shape = fixtures.parse_args(
        [
            *("--questions", "200", "--paper", str(PAPER), "--runs", "1"),
            *("--start-users", str(max(100, residents_needed(args)))),
            *("--submit-attempts", "100", "--answer-attempts", "10", "--database", DB_NAME),
        ]
    )
    app, fixture = fixtures.prepare(shape)
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import Consent, User, utcnow
    from app.services.tokens import issue_token

    people = People(round_id=fixture.round_id)
    with app.app_context():
        ids = [user_id for user_id, _token in fixture.start[0]]
        phones = dict(db.session.execute(select(User.id, User.phone).where(User.id.in_(ids))).all())
        people.residents = [(u, phones[u], t) for u, t in fixture.start[0]]
        any_hash = db.session.scalar(select(User.password_hash).limit(1))
        now = utcnow()
        staff = [
            {
                "name": f"Cán bộ đo hiệu năng {i}",
                "phone": f"07{i:08d}",
                "password_hash": any_hash,
                "role": role,
                "unit_code": fixtures.PROVINCE,
                "auth_nonce": secrets.token_hex(16),
                "created_at": now,
            }
            for i, role in enumerate(["officer"] * args.officers + ["leader"] * args.leaders)
        ]
        if staff:
            db.session.execute(insert(User.__table__), staff)
        made = db.session.scalars(select(User).where(User.phone.like("07%"))).all()
        db.session.execute(
            insert(Consent.__table__),
            [{"user_id": u.id, "version": "bench", "given_at": now} for u in made],
        )
        db.session.commit()
        people.officers = [u.phone for u in made if u.role == "officer"]
        lifetime, secret = app.config["API_TOKEN_LIFETIME"], app.config["SECRET_KEY"]
        people.leaders = [
            issue_token(secret, u, now, lifetime)[0] for u in made if u.role == "leader"
        ]
        db.session.remove()
    log(f"{len(people.residents)} residents, {args.officers} officers, {args.leaders} leaders")
    return app, people


# ------------------------------------------------------------------------------- client


@dataclass
class Sample:
    label: str
    status: int  # 0: no answer (a timeout, a refused connection)
    ms: float


@dataclass
class Phase:
    name: str
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    def latency(self, labels: set[str] | None = None) -> tuple[float, float, float]:
        values = sorted(s.ms for s in self.samples if labels is None or s.label in labels)
        if not values:
            return (float("nan"),) * 3  # type: ignore[return-value]

        def at(q: float) -> float:
            return values[min(len(values) - 1, int(q * len(values)))]

        return at(0.50), at(0.95), at(0.99)

    @property
    def rps(self) -> float:
        return len(self.samples) / self.seconds if self.seconds else 0.0


class Client:
    """Requests to the nodes in turn; each sample timed; nothing but 127.0.0.1."""

    def __init__(self, ports: list[int], connections: int) -> None:
        import aiohttp

        self.aiohttp = aiohttp
        self.bases = itertools.cycle([f"http://{HOST}:{port}" for port in ports])
        self.connector = aiohttp.TCPConnector(limit=connections, force_close=True)
        self.timeout = aiohttp.ClientTimeout(total=30)

    def session(self, address: str | None = None) -> Any:
        headers = {"X-Forwarded-For": address} if address else {}
        return self.aiohttp.ClientSession(
            connector=self.connector,
            connector_owner=False,
            cookie_jar=self.aiohttp.CookieJar(unsafe=True),
            headers=headers,
            timeout=self.timeout,
        )

    async def call(
        self, phase: Phase, session: Any, label: str, method: str, path: str, **kw: Any
    ) -> tuple[int, dict[str, str], str]:
        url = next(self.bases) + path
        began = time.perf_counter()
        try:
            async with session.request(method, url, allow_redirects=False, **kw) as response:
                text = await response.text()
                status, headers = response.status, dict(response.headers)
        except (self.aiohttp.ClientError, TimeoutError) as error:
            phase.samples.append(Sample(label, 0, (time.perf_counter() - began) * 1000))
            phase.errors.append(f"{label}: {type(error).__name__}")
            return 0, {}, ""
        phase.samples.append(Sample(label, status, (time.perf_counter() - began) * 1000))
        if status >= 500 and not (status == 503 and "Retry-After" in headers):
            phase.errors.append(f"{label}: {status}")
        return status, headers, text

    async def close(self) -> None:
        await self.connector.close()


def address(n: int) -> str:
    """A resident's own address in X-Forwarded-For (RFC 2544's benchmark range; a header
    only: every packet goes to 127.0.0.1)."""
    return f"198.18.{(n >> 8) & 255}.{n & 255}"


# ------------------------------------------------------------------------------ the mix


async def resident(
    client: Client, phase: Phase, round_id: int, phone: str, n: int, think: float
) -> None:
    def fail(step: str, status: int) -> None:
        phase.errors.append(f"{step}: {status}")

    async with client.session(address(n)) as http:
        status, _h, page = await client.call(phase, http, "sign-in page", "GET", "/auth/login")
        token = CSRF.search(page)
        if status != 200 or token is None:
            return fail("sign-in page", status)
        form = {"phone": phone, "password": fixtures.PASSWORD, "csrf_token": token.group(1)}
        status, _h, _t = await client.call(phase, http, "sign in", "POST", "/auth/login", data=form)
        if status != 302:
            return fail("sign in", status)
        status, _h, page = await client.call(
            phase, http, "round page", "GET", f"/contests/rounds/{round_id}"
        )
        token = CSRF.search(page)
        if status != 200 or token is None:
            return fail("round page", status)
        csrf = token.group(1)
        status, headers, _t = await client.call(
            phase,
            http,
            "start",
            "POST",
            f"/contests/rounds/{round_id}/start",
            data={"csrf_token": csrf},
        )
        waited = 0
        while status == 200 and "Refresh" in headers and waited < 100:
            waited += 1
            await asyncio.sleep(int(headers["Refresh"].split(";")[0]))
            status, headers, _t = await client.call(
                phase, http, "waiting page", "GET", f"/contests/rounds/{round_id}/queue"
            )
        phase.notes["waited"] = phase.notes.get("waited", 0) + (waited > 0)
        match = re.search(r"/contests/attempts/(\d+)", headers.get("Location", ""))
        if status != 302 or match is None:
            return fail("start", status)
        attempt = int(match.group(1))
        status, _h, _t = await client.call(
            phase, http, "paper", "GET", f"/contests/attempts/{attempt}"
        )
        if status != 200:
            return fail("paper", status)
        api = {"X-CSRFToken": csrf}
        for position in range(1, PAPER + 1):
            await asyncio.sleep(random.expovariate(1 / think) if think > 0 else 0)
            status, _h, _t = await client.call(
                phase,
                http,
                "answer",
                "PUT",
                f"/api/v1/attempts/{attempt}/answers/{position}",
                json={"choices": [random.choice("ABCD")], "seq": 1},
                headers=api,
            )
            if status != 200:
                return fail("answer", status)
        status, _h, _t = await client.call(
            phase,
            http,
            "submit",
            "POST",
            f"/api/v1/attempts/{attempt}/submit",
            json={"prediction": random.randint(0, 500)},
            headers=api,
        )
        if status != 200:
            return fail("submit", status)
        status, headers, _t = await client.call(
            phase, http, "ranking", "GET", f"/contests/rounds/{round_id}/ranking?mine=1"
        )
        if status == 302:  # past the first page: to the page that holds the person
            where = headers.get("Location", "")
            path = where[where.index("/contests/") :] if "/contests/" in where else ""
            status, _h, _t = await client.call(phase, http, "ranking", "GET", path or "/")
        if status != 200:
            return fail("ranking", status)
        phase.notes["finished"] = phase.notes.get("finished", 0) + 1


async def officer(client: Client, phase: Phase, round_id: int, phone: str, stop: float) -> None:
    async with client.session() as http:
        _s, _h, page = await client.call(phase, http, "sign-in page", "GET", "/auth/login")
        token = CSRF.search(page)
        form = {"phone": phone, "password": fixtures.PASSWORD, "csrf_token": token.group(1)}  # type: ignore[union-attr]
        status, _h, _t = await client.call(phase, http, "sign in", "POST", "/auth/login", data=form)
        if status != 302:
            phase.errors.append(f"officer sign in: {status}")
            return
        while time.monotonic() < stop:
            status, _h, _t = await client.call(
                phase, http, "live view", "GET", f"/contests/rounds/{round_id}/live"
            )
            if status != 200:
                phase.errors.append(f"live view: {status}")
            await asyncio.sleep(5)


async def leader(client: Client, phase: Phase, round_id: int, token: str, stop: float) -> None:
    async with client.session() as http:
        while time.monotonic() < stop:
            status, _h, _t = await client.call(
                phase,
                http,
                "statistics",
                "GET",
                f"/api/v1/rounds/{round_id}/stats",
                headers={"Authorization": f"Bearer {token}"},
            )
            if status != 200:
                phase.errors.append(f"statistics: {status}")
            await asyncio.sleep(10)


async def mix(
    client: Client, args: argparse.Namespace, people: People, pool: list[Any], rate: float
) -> Phase:
    phase = Phase(f"mix {rate:g}/s")
    arrivals = int(rate * args.mix_seconds)
    began = time.monotonic()
    stop_staff = began + args.mix_seconds
    tasks = [
        asyncio.create_task(officer(client, phase, people.round_id, phone, stop_staff))
        for phone in people.officers
    ] + [
        asyncio.create_task(leader(client, phase, people.round_id, token, stop_staff))
        for token in people.leaders
    ]
    for i in range(arrivals):
        await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
        user_id, phone, _token = pool.pop()
        tasks.append(
            asyncio.create_task(
                resident(client, phase, people.round_id, phone, user_id, args.think)
            )
        )
    _done, pending = await asyncio.wait(tasks, timeout=args.deadline)
    for task in pending:
        task.cancel()
        phase.errors.append("a resident still going at the deadline")
    phase.seconds = time.monotonic() - began
    phase.notes["residents"] = arrivals
    return phase


# ------------------------------------------------------------------------- bare and spike


async def bare(client: Client, args: argparse.Namespace, name: str) -> Phase:
    phase = Phase(name)
    stop = time.monotonic() + args.bare_seconds

    async def loop() -> None:
        async with client.session() as http:
            while time.monotonic() < stop:
                await client.call(phase, http, "bare", "POST", "/bench/bare")

    began = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(args.bare_clients)))
    phase.seconds = time.monotonic() - began
    return phase


async def spike(client: Client, args: argparse.Namespace, people: People, pool: list[Any]) -> Phase:
    phase = Phase(f"spike {args.spike} in {args.spike_seconds:g} s")
    papers: list[float] = []
    waited = 0
    began = time.monotonic()

    async def one(token: str) -> None:
        nonlocal waited
        await asyncio.sleep(random.uniform(0, args.spike_seconds))
        ticket, held = None, False
        async with client.session() as http:
            while time.monotonic() - began < args.deadline:
                headers = {"Authorization": f"Bearer {token}"}
                if ticket:
                    headers["X-Queue-Ticket"] = ticket
                status, answer, _t = await client.call(
                    phase,
                    http,
                    "start (API)",
                    "POST",
                    f"/api/v1/rounds/{people.round_id}/attempts",
                    headers=headers,
                )
                if status in (200, 201):
                    papers.append(time.monotonic() - began)
                    waited += held
                    return
                if status != 503 or "Retry-After" not in answer:
                    phase.errors.append(f"start: {status}")
                    return
                held, ticket = True, answer.get("X-Queue-Ticket")
                await asyncio.sleep(int(answer["Retry-After"]))
            phase.errors.append("no paper before the deadline")

    tokens = [pool.pop()[2] for _ in range(args.spike)]
    await asyncio.gather(*(one(token) for token in tokens))
    phase.seconds = time.monotonic() - began
    phase.notes.update(
        papers=len(papers),
        last_paper_s=max(papers) if papers else float("nan"),
        waited=waited,
        refusals=sum(1 for s in phase.samples if s.status == 503),
    )
    return phase


# ------------------------------------------------------------------------------- checks


def database_checks(app: Any, round_id: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Attempt, BestAttempt

    with app.app_context():
        per_person = (
            select(Attempt.user_id, func.count().label("n"))
            .where(Attempt.round_id == round_id)
            .group_by(Attempt.user_id)
            .subquery()
        )
        most = db.session.scalar(select(func.max(per_person.c.n)))
        submitted = db.session.scalar(
            select(func.count(func.distinct(Attempt.user_id))).where(
                Attempt.round_id == round_id, Attempt.state == "submitted"
            )
        )
        best = db.session.scalar(
            select(func.count()).select_from(BestAttempt).where(BestAttempt.round_id == round_id)
        )
        disagree = db.session.scalar(
            select(func.count())
            .select_from(BestAttempt)
            .join(Attempt, Attempt.id == BestAttempt.attempt_id)
            .where(
                BestAttempt.round_id == round_id,
                (BestAttempt.score != Attempt.score)
                | (BestAttempt.user_id != Attempt.user_id)
                | (Attempt.state != "submitted"),
            )
        )
        db.session.remove()
    return {
        "most attempts by one person": most,
        "people with a submitted attempt": submitted,
        "ranking rows (best_attempts)": best,
        "ranking rows disagreeing with their attempt": disagree,
    }


async def limit_across_nodes(client: Client, people: People, token: str) -> list[int]:
    """12 starts of one account in a minute, alternating nodes: 10 answered, then 429."""
    phase = Phase("limit")
    statuses = []
    async with client.session() as http:
        for _ in range(12):
            status, _h, _t = await client.call(
                phase,
                http,
                "start",
                "POST",
                f"/api/v1/rounds/{people.round_id}/attempts",
                headers={"Authorization": f"Bearer {token}"},
            )
            statuses.append(status)
    return statuses


# --------------------------------------------------------------------------------- runs


def clear_redis(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for pattern in (f"{prefix}*", f"LIMITS:LIMITER/{prefix}*"):
        keys = list(client.scan_iter(pattern, count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    client.close()


async def configuration(
    args: argparse.Namespace, people: People, pool: list[Any], ports: list[int]
) -> list[Phase]:
    client = Client(ports, args.connections)
    try:
        phases = [await bare(client, args, "bare (before)")]
        for rate in args.rate_list:
            log(f"mix at {rate:g} residents/s for {args.mix_seconds} s")
            phases.append(await mix(client, args, people, pool, rate))
        phases.append(await bare(client, args, "bare (after)"))
        log(f"spike: {args.spike} starts within {args.spike_seconds:g} s")
        phases.append(await spike(client, args, people, pool))
        done = phases[-1]
        limit = await limit_across_nodes(client, people, pool.pop()[2])
        done.notes["start limit, 12 tries over the nodes"] = dict(Counter(limit))
        return phases
    finally:
        await client.close()


def load() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    log(f"load before setup: {load()}")
    settings = set_environment(DB_NAME, secrets.token_urlsafe(48))
    reset_database(DB_NAME)
    app, people = prepare(args)
    pool = list(people.residents)
    random.shuffle(pool)
    prefix = f"{DB_NAME}-{secrets.token_hex(4)}"
    results: list[tuple[int, str, list[Phase], dict[str, Any]]] = []
    WORK.mkdir(parents=True, exist_ok=True)
    try:
        for count in args.node_counts:
            capacity = args.capacity or max(1, args.workers * count // 2)
            node_settings = {
                **settings,
                "REDIS_URL": args.redis,
                "RATELIMIT_ENABLED": "true",
                "RATELIMIT_KEY_PREFIX": prefix,
                "ADMISSION_KEY_PREFIX": f"{prefix}-admission",
                "ADMISSION_MAX_STARTS": str(capacity),
                "TRUSTED_PROXIES": "1",
                "GUNICORN_ACCESSLOG": "/dev/null",
                "GUNICORN_LOGLEVEL": "warning",
            }
            with ExitStack() as stack:
                ports = [
                    stack.enter_context(
                        gunicorn(
                            node_settings,
                            WORK / f"{count}-nodes-{n + 1}",
                            workers=args.workers,
                            port=0,
                            ready="/health",
                        )
                    )
                    for n in range(count)
                ]
                before = load()
                phases = asyncio.run(configuration(args, people, pool, ports))
            checks = database_checks(app, people.round_id)
            results.append((count, before, phases, checks))
            log(f"{count} node(s) done; load {load()}")
    finally:
        clear_redis(args.redis, prefix)
    lines = report(args, results)
    print("\n".join(lines))
    if not args.no_docs:
        write_block(
            args.docs,
            "\n".join([MARK_START, *lines, MARK_END]) + "\n",
            MARK_START,
            MARK_END,
            "# Benchmarks\n\n",
        )
        log(f"written to {args.docs}")
    return 0


# ------------------------------------------------------------------------------- report


def report(
    args: argparse.Namespace, results: list[tuple[int, str, list[Phase], dict[str, Any]]]
) -> list[str]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M')} UTC, commit {commit}, {os.cpu_count()} CPUs; "
        f"{args.workers} sync workers per node, ADMISSION_MAX_STARTS "
        f"{args.capacity or 'workers × nodes / 2'}, think time {args.think:g} s, mix arrivals "
        f"{args.mix_seconds} s per rate.",
        "",
        "| nodes | load before | phase | requests | req/s | p50 ms | p95 ms | p99 ms | errors "
        "| notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for count, before, phases, checks in results:
        for phase in phases:
            p50, p95, p99 = phase.latency()
            notes = ", ".join(f"{k}: {_fmt(v)}" for k, v in phase.notes.items())
            if phase.name.startswith("mix"):
                verdict = "meets" if p99 <= P99_TARGET_MS and not phase.errors else "misses"
                notes = f"{notes}; {verdict} p99 ≤ {P99_TARGET_MS:g} ms with no error"
            lines.append(
                f"| {count} | {before} | {phase.name} | {len(phase.samples)} | {phase.rps:.1f} | "
                f"{p50:.0f} | {p95:.0f} | {p99:.0f} | {len(phase.errors)} | {notes} |"
            )
            if phase.name.startswith("mix"):
                for label in sorted({s.label for s in phase.samples}):
                    mine = [s for s in phase.samples if s.label == label]
                    q50, q95, q99 = phase.latency({label})
                    lines.append(
                        f"| {count} | | · {label} | {len(mine)} | | {q50:.0f} | {q95:.0f} | "
                        f"{q99:.0f} | | |"
                    )
        lines.append(
            f"| {count} | | database | | | | | | | "
            + ", ".join(f"{k}: {v}" for k, v in checks.items())
            + " |"
        )
    errors = [e for _c, _b, phases, _k in results for p in phases for e in p.errors]
    if errors:
        lines += [
            "",
            "Errors (first 10 kinds): "
            + ", ".join(f"{e} ×{n}" for e, n in Counter(errors).most_common(10)),
        ]
    return lines


def _fmt(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    raise SystemExit(main())
