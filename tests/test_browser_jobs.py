"""An officer prepares the prize audit's XLSX in real Chromium: the button lands on the job's
progress page at once; with JavaScript the page follows the job by itself and shows the link
when the file is ready, without it "Kiểm tra lại" does; at 360 and 1280 px."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.models import Role
from tests.conftest import CHROMIUM, PROVINCE, fits_the_screen, follow, sign_in
from tests.test_jobs import crowd, gate  # noqa: F401
from tests.test_ranking import rounds  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def clock(app):  # type: ignore[no-untyped-def]
    from tests.test_jobs import AFTER, set_clock

    return set_clock(app, AFTER)


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)
def test_the_export_button_leads_to_a_progress_page_then_the_file(  # type: ignore[no-untyped-def]
    page,
    make_user,
    crowd,  # noqa: F811
    gate,  # noqa: F811
    width,
):
    ARTIFACTS.mkdir(exist_ok=True)
    mode = "js" if page.javascript else "nojs"
    page.set_viewport_size({"width": width, "height": 740})
    make_user(role=Role.OFFICER, phone="0911111111", unit=PROVINCE)
    sign_in(page, "0911111111")
    page.goto(f"{page.base}/contests/rounds/{crowd}/ranking/audit")
    follow(page, page.get_by_role("button", name="Chuẩn bị tệp XLSX"))
    assert "/jobs/" in page.url
    label = page.locator("#job-label")
    assert label.inner_text() in ("Đang chờ đến lượt…", "Đang chuẩn bị tệp… 0%")
    assert page.locator("#job-file").is_hidden()
    assert fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / f"job-waiting-{mode}-{width}.png"), full_page=True)
    gate.set()
    if page.javascript:
        page.locator("#job-file").wait_for(state="visible", timeout=30_000)
    else:
        for _ in range(100):
            follow(page, page.get_by_role("link", name="Kiểm tra lại"))
            if page.locator("#job-file").is_visible():
                break
            page.wait_for_timeout(200)
    assert label.inner_text() == "Tệp đã sẵn sàng."
    name = page.locator("#job-filename").inner_text()
    assert name == "ranking-cuoc-thi-xep-hang-plain-final.xlsx"
    assert fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / f"job-ready-{mode}-{width}.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#job-file").click()
    assert download.value.suggested_filename == "ranking-cuoc-thi-xep-hang-plain-final.xlsx"
    assert page.problems == []
