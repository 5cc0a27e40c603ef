"""Hamlets (issue 20) in real Chromium at 360 and 1280 px: a commune's officer adds a hamlet and
imports others from CSV (a line refused, said so); a resident signs up naming their hamlet (the
field appears once the commune is chosen); the survey form offers the hamlet, their own chosen;
the officer reads the responses per hamlet, the small one hidden."""

from __future__ import annotations

import pytest

from app.models import Role
from tests.conftest import CHROMIUM, VI_THANH, fits_the_screen, follow, sign_in
from tests.test_browser import sign_up
from tests.test_browser_account import shots
from tests.test_hamlets import _answer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

CSV = (
    "\ufeffTên;Loại;Dân số\r\n"
    "Khu vực 2;khu vực;1.870\r\n"
    "Khu vực 3;Khu vực;\r\n"
    "Khu vực 4;làng;900\r\n"
)


@pytest.mark.parametrize("width", [360, 1280])
def test_hamlets_from_the_officers_page_to_sign_up_survey_and_progress(  # type: ignore[no-untyped-def]
    app, page, make_user, tmp_path, width
):
    from tests.conftest import load_content, set_clock
    from tests.test_surveys import FULL, NOW

    set_clock(app, NOW)
    load_content(app, [("full.yaml", FULL)], NOW)
    make_user(role=Role.OFFICER, phone="0911000001", unit=VI_THANH, name="Lê Thị Hoa")
    folder = shots(tmp_path)
    page.set_viewport_size({"width": width, "height": 800})

    # The commune's officer: one hamlet by hand, three from a file (one refused).
    sign_in(page, "0911000001")
    follow(page, page.get_by_role("link", name="Ấp, khu vực"))
    assert "Chưa có ấp/khu vực/tổ dân phố nào" in page.content()
    page.get_by_label("Tên (ví dụ Khu vực 1, Ấp Thạnh Lợi)").fill("Khu vực 1")
    page.get_by_label("Loại", exact=True).select_option("Khu vực")
    page.get_by_label("Dân số (không bắt buộc)").fill("2.150")
    follow(page, page.get_by_role("button", name="Thêm", exact=True))
    assert "Đã thêm Khu vực 1." in page.content()
    page.locator("#file").set_input_files(
        files=[{"name": "ap.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    follow(page, page.get_by_role("button", name="Nhập"))
    report = page.locator("#import-report").inner_text()
    assert "Đã thêm 2 ấp/khu vực/tổ dân phố, 1 dòng bị từ chối." in report
    assert 'dòng 4: Loại "làng" không hợp lệ' in report
    assert page.locator("#hamlets tbody tr").count() == 3
    assert "2.150" in page.locator("#hamlets").inner_text()  # Vietnamese thousands
    page.screenshot(path=str(folder / f"hamlets-officer-{width}.png"), full_page=True)
    assert fits_the_screen(page)
    follow(page, page.get_by_role("button", name="Đăng xuất"))

    # A resident signs up: the hamlet field appears once the commune is chosen.
    page.goto(page.base + "/auth/register")
    assert page.locator("#hamlet-field").is_hidden()
    sign_up(page, "Võ Thị Mai", "0912 345 678")
    page.locator("#hamlet-field").wait_for(state="visible")
    page.get_by_label("Ấp/khu vực/tổ dân phố (không bắt buộc)").select_option(label="Khu vực 2")
    page.screenshot(path=str(folder / f"hamlets-signup-{width}.png"), full_page=True)
    assert fits_the_screen(page)
    follow(page, page.get_by_role("button", name="Đăng ký"))
    page.goto(page.base + "/account/")
    assert "Khu vực 2" in page.locator("dl").inner_text()

    # The survey form offers the hamlet, theirs already chosen.
    page.goto(page.base + "/surveys/hai-long-chinh-quyen-2026/page/0")
    chosen = page.locator("#hamlet option:checked").inner_text()
    assert chosen == "Khu vực 2"
    page.locator("#hamlet-choice").screenshot(path=str(folder / f"hamlets-survey-{width}.png"))
    assert fits_the_screen(page)
    follow(page, page.get_by_role("button", name="Đăng xuất"))

    # The officer reads the responses per hamlet: the small hamlet is hidden, and with it the
    # next smallest, so that the commune's total does not give it away.
    codes = {
        name: VI_THANH * 1000 + n
        for n, name in enumerate(["Khu vực 1", "Khu vực 2", "Khu vực 3"], 1)
    }
    for name, n in (("Khu vực 1", 6), ("Khu vực 2", 2), ("Khu vực 3", 7)):
        _answer(app, "hai-long-chinh-quyen-2026", VI_THANH, codes[name], n)
    _answer(app, "hai-long-chinh-quyen-2026", VI_THANH, None, 5)
    sign_in(page, "0911000001")
    page.goto(page.base + "/surveys/hai-long-chinh-quyen-2026/progress")
    table = page.locator("#by-hamlet").inner_text()
    rows = {
        line.split("\t")[0]: line.split("\t")[1]
        for line in table.splitlines()
        if "\t" in line and not line.startswith("Ấp/khu vực")
    }
    assert rows["Khu vực 1"] == "6" and rows["Khu vực 3"] == "7"
    assert rows["Khu vực 2"] == "ẩn"
    assert sum(1 for value in rows.values() if value == "ẩn") >= 2
    page.screenshot(path=str(folder / f"hamlets-progress-{width}.png"), full_page=True)
    assert fits_the_screen(page)
    assert page.problems == []
