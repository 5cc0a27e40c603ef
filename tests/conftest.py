"""Fixtures: a real database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set),
migrated once per run with the project's own migrations, emptied after every test."""

from __future__ import annotations

import contextlib
import os

# One BLAS thread per test process, set before numpy loads: the suite runs beside other work
# (`make test` runs the two engines at once on two cores), where OpenBLAS' spinning threads
# made one rank computation 4x slower than alone (docs/benchmarks.md, "Test suite time").
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from app import create_app
from app.config import TestingConfig
from app.extensions import db, limiter
from app.models import Role, User, utcnow
from app.phones import normalize_phone
from app.services import accounts
from app.services.accounts import NewAccount, create_account
from app.services.units import load_units
from tests import accessibility, browser_shots, compiled_once

compiled_once.install()  # URL builders and templates compiled once a run (tests/compiled_once.py)

PROVINCE = 92
VI_THANH = 31321  # Phường Vị Thanh
NINH_KIEU = 31135  # Phường Ninh Kiều
PASSWORD = "mat-khau-thu-nghiem"

# Browser tests: Debian's chromium driven by Playwright (never a downloaded browser).
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Passwords in tests: Werkzeug's scrypt at its production cost (n=2**15, 32 MiB: 0.1 s a hash on
# a quiet core, 0.5 s on a busy one) was most of what sign-up, sign-in and rate-limit tests
# spent (the limiter tests send a hundred tries, each checked against the dummy hash). The
# suite hashes with the same function, format and salt at n=2**10; the production cost itself
# is tested with `real_password_cost` (tests/test_auth.py).
TEST_PASSWORD_HASH = "scrypt:1024:8:1"
PRODUCTION_HASHING = (accounts.generate_password_hash, accounts._DUMMY_HASH)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            accounts,
            "generate_password_hash",
            partial(generate_password_hash, method=TEST_PASSWORD_HASH),
        )
        patch.setattr(
            accounts,
            "_DUMMY_HASH",
            generate_password_hash("not-a-real-password", method=TEST_PASSWORD_HASH),
        )
        yield


@pytest.fixture
def real_password_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's own password hashing for one test, as production runs it."""
    monkeypatch.setattr(accounts, "generate_password_hash", PRODUCTION_HASHING[0])
    monkeypatch.setattr(accounts, "_DUMMY_HASH", PRODUCTION_HASHING[1])


def pytest_configure(config: pytest.Config) -> None:
    """Compile the translation catalogues when a .po is newer than its .mo (as `make` does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(__file__).resolve().parent.parent.glob("app/translations/*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source, mo.open("wb") as target:
                write_mo(target, read_po(source))


class Clock:
    """The app's clock in tests (`CLOCK`): a test moves `now` by hand; nothing sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def set_clock(app: Flask, now: datetime) -> Clock:
    clock = Clock(now)
    app.config["CLOCK"] = clock
    return clock


def load_content(app: Flask, files: list[tuple[str, str]], now: datetime) -> None:
    """YAML content loaded as the province's administrator; every file must be accepted."""
    from app.content.pipeline import load_files
    from app.content.store import Actor

    with app.app_context():
        outcomes = load_files(
            db.session,
            [(name, text.encode()) for name, text in files],
            Actor(unit_code=PROVINCE, is_admin=True),
            now,
        )
        assert all(o.ok for o in outcomes), [o.result.messages("en") for o in outcomes]


def fresh_database_url(name: str, tmp_dir: Path) -> str:
    """An empty database of the engine under test: a new SQLite file, or a new PG database."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_dir / (name + '.sqlite')}"
    url = make_url(base)
    database = f"{url.database}_{name}"
    assert re.fullmatch(r"[a-z0-9_]+", database)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {database}"))
    admin.dispose()
    return url.set(database=database).render_as_string(hide_password=False)


def _drop_everything(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    )
    setup = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    _drop_everything(setup)
    with setup.app_context():
        upgrade()  # the real migrations, not create_all: they are what production runs
        load_units(db.session, PROVINCE)
        db.engine.dispose()
    yield url


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    # The read switch on the test database itself, read-only: every dashboard, statistics and
    # export test reads through it (app/db_read.py; tests/test_read_replica.py for a replica).
    app = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, DATABASE_READ_URL=database_url
    )
    with app.app_context():
        limiter.reset()
    yield app
    empty_database(app)


def empty_database(app: Flask) -> None:
    """Back to the migrated schema with its loaded units: every other row deleted."""
    from app.db_read import replica

    with app.app_context():
        db.session.remove()
        read = replica()
        if read is not None:
            read.dispose()
        keep = {"units", "alembic_version"}
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in keep:
                    conn.execute(table.delete())
            conn.execute(text("UPDATE units SET population = NULL"))
            # Hamlets are defined by officers (issue 20): a test's own, gone with its rows.
            conn.execute(text("DELETE FROM units WHERE level = 'hamlet'"))
        db.engine.dispose()


@pytest.fixture
def app_factory(database_url: str) -> Iterator[Callable[..., Flask]]:
    """More apps on the test database (two workers, say); their connections closed after."""
    from app.db_read import replica

    made: list[Flask] = []

    def make(**settings: object) -> Flask:
        settings = {"DATABASE_READ_URL": database_url, **settings}
        made.append(create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, **settings))
        return made[-1]

    yield make
    for extra in made:
        with extra.app_context():
            db.engine.dispose()
            read = replica()
            if read is not None:
                read.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask):  # type: ignore[no-untyped-def]
    """Builder: make_user(role=Role.OFFICER, phone="0912...", unit=PROVINCE) -> user id."""
    counter = iter(range(10_000))

    def make(
        role: Role = Role.RESIDENT,
        phone: str | None = None,
        unit: int | None = None,
        name: str = "Nguyễn Văn Thử",
        password: str = PASSWORD,
    ) -> User:
        phone = normalize_phone(phone or f"09{next(counter):08d}")
        unit = unit or (VI_THANH if role == Role.RESIDENT else PROVINCE)
        with app.app_context():
            user = create_account(
                db.session,
                NewAccount(name=name, phone=phone, password=password, unit_code=unit, role=role),
                utcnow(),
                consent=True,
            )
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    return make


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form at `path`, read from the page as a browser would."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, phone: str, password: str = PASSWORD, next_: str = ""):  # type: ignore[no-untyped-def]
        token = csrf_token(self._client, "/auth/login")
        return self._client.post(
            "/auth/login",
            data={"phone": phone, "password": password, "csrf_token": token, "next": next_},
        )

    def logout(self):  # type: ignore[no-untyped-def]
        token = csrf_token(self._client, "/account/")
        return self._client.post("/auth/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    """One chromium for the run (as pytest-playwright keeps one): each test gets a context of
    its own (cookies, storage, cache, JavaScript on or off), so nothing passes between tests,
    and the run does not pay a browser's start-up (1-2 s, more under load) per test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=[True], ids=["js"])
def page(request, server: str, chromium):  # type: ignore[no-untyped-def]
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = chromium.new_context(
        viewport={"width": 360, "height": 740},
        locale="vi-VN",
        java_script_enabled=request.param,
    )
    page = context.new_page()
    page.screenshot = browser_shots.retrying(page.screenshot, PlaywrightError)
    seen: list[accessibility.Snapshot] = []

    def loaded(loaded_page) -> None:  # type: ignore[no-untyped-def]
        snap = accessibility.snapshot(loaded_page)
        if snap is not None:
            seen.append(snap)

    page.on("load", loaded)
    page.seen = seen  # type: ignore[attr-defined]
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems  # type: ignore[attr-defined]
    page.base = server  # type: ignore[attr-defined]
    page.javascript = request.param  # type: ignore[attr-defined]
    yield page
    # Let the last page's requests finish: a request cut off by closing the context leaves
    # the file it was sending unclosed (a ResourceWarning). Still busy after 5 s: close.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=5000)
    loaded(page)  # the last page, whether or not its load event has come through yet
    context.close()
    # Every page the test saw, audited by axe-core (tests/accessibility.py), unless this run
    # leaves it to another engine's run of the same pages (AXE_AUDIT=off, `make test`).
    if os.environ.get("AXE_AUDIT") == "off":
        return
    violations = accessibility.audit(chromium, seen)
    if violations:
        pytest.fail(accessibility.report(violations), pytrace=False)


def sign_in(page, phone: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the page, as a person does, and wait for the answer: a page opened
    while the sign-in is in flight races its cookie."""
    page.goto(page.base + "/auth/login")
    page.get_by_label("Số điện thoại di động").fill(phone)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()


def follow(page, target) -> None:  # type: ignore[no-untyped-def]
    """Click a link or a button that leads to another page and wait until that page has
    loaded: the next step read, typed or clicked on the page being left (a reload while the
    answer is in flight, a second "Tiếp" on the same survey page) is a race the test loses
    on a slow machine."""
    with page.expect_navigation():
        target.click()


def draw_every_chart(page) -> None:  # type: ignore[no-untyped-def]
    """Bring each shown chart near the screen (app/static/js/charts.js draws a chart, and
    fetches plotly.js, only then) and wait until it is drawn; then back to the top."""
    boxes = page.locator(".app-chart[data-figure] >> visible=true")
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.scroll_into_view_if_needed()
        box.locator("svg.main-svg").first.wait_for()
    page.evaluate("window.scrollTo(0, 0)")


def fits_the_screen(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
