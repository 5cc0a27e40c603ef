"""Schemathesis over /api/v1/openapi.json: no input, valid or not, is answered with a 5xx, and
every status the API returns is one its OpenAPI document lists — each example sent as a
resident and as an officer (issue 13). Runs on the engine under test (SQLite, or
TEST_DATABASE_URL); the figures are printed at the end of the module (`-s` shows them)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import select

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from app.models import Role, Round, utcnow
from app.services.accounts import NewAccount, create_account
from tests.conftest import PASSWORD, VI_THANH, empty_database, load_content, set_clock
from tests.test_attempts import CONTEST, bank_yaml
from tests.test_surveys import FULL

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)  # the contest's rounds and the survey are open
SURVEY = "hai-long-chinh-quyen-2026"
EXAMPLES = 50  # per operation, at least (each one is sent once per role)
CHECKS = [not_a_server_error, status_code_conformance]

# Operations whose 5xx lie in files this change may not touch, each with its request and
# traceback reported to the integrator; remove an entry once its owner has fixed it.
KNOWN_SERVER_ERRORS: set[str] = set()

SENT = {"requests": 0, "seconds": 0.0}
OPERATIONS: set[str] = set()
DELETED: list[list[Headers]] = []
SPANS: dict[str, list[float]] = {}  # per operation: its first and its last moment

Headers = dict[str, str]


def _document() -> dict[str, object]:
    """The document /api/v1/openapi.json serves. (Schemathesis' lazy `from_fixture` loader
    does not run on pytest 9, so the schema is built here and every call goes to the
    module's app through `app=`.)"""
    from app.api.spec import openapi_document

    source = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with source.test_request_context():
        return openapi_document()


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module")
def fuzz_app(database_url: str) -> Iterator[Flask]:
    """One app for the module, rate limits off (a 429 would hide what lies behind it), with a
    bank, a contest with open rounds and an open survey; emptied afterwards."""
    fuzzed = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=False
    )
    set_clock(fuzzed, NOW)
    load_content(fuzzed, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST), ("s.yaml", FULL)], NOW)
    yield fuzzed
    empty_database(fuzzed)
    times = {label: end - start for label, (start, end) in SPANS.items()}
    slowest = sorted(times.items(), key=lambda item: -item[1])[:3]
    print(  # the figures the issue asks for
        f"\nschemathesis: {len(OPERATIONS)} operations, {SENT['requests']} requests, "
        f"{SENT['seconds']:.1f} s sending them; slowest: "
        + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in slowest)
    )


@pytest.fixture(scope="module")
def bearer(fuzz_app: Flask) -> Callable[[Role], Headers]:
    """bearer(role) -> the headers of a new account of that role."""
    phones = itertools.count(1)
    client = fuzz_app.test_client()

    def headers(role: Role) -> Headers:
        phone = f"0977{next(phones):06d}"
        with fuzz_app.app_context():
            account = NewAccount(
                name="Nguyễn Văn Thử",
                phone=phone,
                password=PASSWORD,
                unit_code=VI_THANH if role == Role.RESIDENT else fuzz_app.config["PROVINCE_CODE"],
                role=role,
            )
            create_account(db.session, account, utcnow(), consent=True)
        token = client.post(
            "/api/v1/auth/token", json={"phone": phone, "password": PASSWORD}
        ).get_json()["token"]
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture(scope="module")
def callers(bearer: Callable[[Role], Headers]) -> list[Headers]:
    return [bearer(Role.RESIDENT), bearer(Role.OFFICER)]


@pytest.fixture(scope="module")
def real_ids(fuzz_app: Flask, callers: list[Headers]) -> dict[str, object]:
    """Path parameters that name something: random ones are mostly a 404, so every example
    with path parameters is also sent with these (the resident's open attempt, say)."""
    with fuzz_app.app_context():
        round_id = db.session.scalar(select(Round.id).where(Round.key == "tuan-1"))
    started = fuzz_app.test_client().post(f"/api/v1/rounds/{round_id}/attempts", headers=callers[0])
    assert started.status_code == 201, started.get_data(as_text=True)
    export = fuzz_app.test_client().post(
        f"/api/v1/rounds/{round_id}/exports", json={"format": "csv"}, headers=callers[1]
    )
    assert export.status_code == 202, export.get_data(as_text=True)
    return {
        "round_id": round_id,
        "attempt_id": started.get_json()["id"],
        "job_id": export.get_json()["id"],  # the officer's export (a background job)
        "question": 1,
        "slug": SURVEY,
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same inputs on every run and engine: a failure reproduces
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_never_answers_5xx_and_documents_every_status(  # type: ignore[no-untyped-def]
    case, fuzz_app, bearer, callers, real_ids
):
    label = case.operation.label
    if label in KNOWN_SERVER_ERRORS:
        pytest.xfail(f"a known 5xx in a file outside issue 13's change: {label}")
    OPERATIONS.add(label)
    if label == "DELETE /api/v1/me":  # deletes the caller: new accounts for the first calls,
        if len(DELETED) < 3:  # then tokens of deleted accounts (401); hashing is slow
            DELETED.append([bearer(Role.RESIDENT), bearer(Role.OFFICER)])
        callers = DELETED[-1]
    started = time.perf_counter()
    for headers in callers:
        case.call_and_validate(app=fuzz_app, headers=headers, checks=CHECKS)
        SENT["requests"] += 1
    if case.path_parameters:
        case.path_parameters = {name: real_ids[name] for name in case.path_parameters}
        for headers in callers:
            case.call_and_validate(app=fuzz_app, headers=headers, checks=CHECKS)
            SENT["requests"] += 1
    SENT["seconds"] += time.perf_counter() - started
    SPANS.setdefault(label, [started, 0.0])[1] = time.perf_counter()
