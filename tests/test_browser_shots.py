"""The page fixture's screenshot retry (tests/browser_shots.py): only Chromium's transient
"Unable to capture screenshot" is taken again, and not forever."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error

from tests import browser_shots


def failing(messages: list[str]):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def take(**_kwargs: object) -> bytes:
        calls.append(1)
        if messages:
            raise Error(messages.pop(0))
        return b"png"

    return take, calls


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_shots, "PAUSE_S", 0.0)


def test_the_compositor_s_transient_refusal_is_taken_again() -> None:
    take, calls = failing(
        ["Page.screenshot: Protocol error (Page.captureScreenshot): Unable to capture screenshot"]
    )
    assert browser_shots.retrying(take, Error)(full_page=True) == b"png"
    assert len(calls) == 2


def test_any_other_error_fails_at_once() -> None:
    take, calls = failing(["Page.screenshot: Target page, context or browser has been closed"])
    with pytest.raises(Error, match="has been closed"):
        browser_shots.retrying(take, Error)()
    assert len(calls) == 1


def test_the_transient_refusal_three_times_over_fails() -> None:
    take, calls = failing([browser_shots.TRANSIENT] * 5)
    with pytest.raises(Error, match=browser_shots.TRANSIENT):
        browser_shots.retrying(take, Error)()
    assert len(calls) == browser_shots.TRIES
