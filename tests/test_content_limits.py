"""A file with many mistakes: checked in linear time, answered with at most 200 problems."""

from __future__ import annotations

import time

from app.content.validate import MAX_PROBLEMS, validate_text
from tests.conftest import csrf_token
from tests.test_content_api import bearer


def many_mistakes(questions: int = 400, slips: int = 30) -> str:
    lines = ["bank: lon", "title: Ngân hàng lớn", "questions:"]
    for i in range(questions):
        lines += [f"  - id: q{i:03d}", f"    text: Câu {i}?", "    choices: [Một, Hai]"]
        lines += ["    answer: A", *(f"    sai{k}: x" for k in range(slips))]
    return "\n".join(lines) + "\n"


def test_twelve_thousand_mistakes_are_checked_in_linear_time():
    """It took 19-88 s (every problem compared with every other); bench/content_bench.py
    measures the 1 s target. Here a bound that only a quadratic pass would break."""
    text = many_mistakes()
    started = time.perf_counter()
    result = validate_text(text, "lon.yaml")
    elapsed = time.perf_counter() - started
    assert elapsed < 6, elapsed
    assert len(result.problems) == MAX_PROBLEMS + 1
    last = result.problems[-1]
    assert last.params == {"n": 400 * 30 - MAX_PROBLEMS}
    assert "more problems" in last.text("en")
    lines = [p.line for p in result.problems]
    assert lines == sorted(lines)  # in file order, from the top


def test_the_upload_answer_stays_small(client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    api = client.post(
        "/api/v1/banks", data=many_mistakes().encode(), headers=bearer(client, "0911111111")
    )
    assert api.status_code == 422
    assert len(api.get_data()) < 200_000
    assert len(api.get_json()["error"]["details"]) == MAX_PROBLEMS + 1
    auth.login("0911111111")
    page = client.post(
        "/officer/content/upload",
        data={
            "csrf_token": csrf_token(client, "/officer/content/upload"),
            "format": "yaml",
            "text": many_mistakes(),
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    # Small beyond the officer's own text, which the page carries once, in the editor to
    # correct and check again (issue 16.3): the mistakes listed stay bounded.
    sent = len(many_mistakes().encode())
    assert len(page.get_data()) < 200_000 + sent
    assert page.get_data(as_text=True).count("    sai29: x\n  - id: q399") == 1
