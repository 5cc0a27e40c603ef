"""Screenshots that survive Chromium's compositor missing a frame.

Chromium answers `Page.captureScreenshot` now and then with "Unable to capture screenshot"
when it is asked right after a navigation or a viewport change, before the new page has a
frame to copy (seen once in `make test`: tests/test_browser_prize.py, a 404 page just loaded,
the two engines' runs side by side; Chromium's issue 714058). The screenshot is an artifact, not
something a test asserts, so the page fixture (tests/conftest.py) takes it again after a
short wait; any other error, or that one three times over, still fails the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

TRANSIENT = "Unable to capture screenshot"
TRIES = 3
PAUSE_S = 0.25


def retrying(take: Callable[..., bytes], error: type[Exception]) -> Callable[..., bytes]:
    """`take` (a page's `screenshot`) tried up to TRIES times while it fails with `error`
    naming the compositor's transient refusal."""

    def screenshot(*args: Any, **kwargs: Any) -> bytes:
        for attempt in range(1, TRIES + 1):
            try:
                return take(*args, **kwargs)
            except error as failure:
                if TRANSIENT not in str(failure) or attempt == TRIES:
                    raise
                time.sleep(PAUSE_S * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    return screenshot
