"""An officer uploads the Word file of a question bank on the authoring page (issue 16, point
1), at 360 and 1280 px: the preview says how the answers were found; a broken file shows each
paragraph with its mistake; then the bank is published and offered back as Excel. Screenshots
in docs/screenshots/ (looked at by a person)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMIUM, fits_the_screen, follow, sign_in
from tests.test_office_banks import bank_with, docx_bytes

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def broken(document: Any) -> None:
    document.add_paragraph("Câu 1. Câu này quên đánh dấu đáp án?")
    document.add_paragraph("A. Một")
    document.add_paragraph("B. Hai")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
@pytest.mark.parametrize("width", [360, 1280])
def test_upload_a_word_bank_on_the_authoring_page(page, make_user, tmp_path, width):  # type: ignore[no-untyped-def]
    make_user(role="officer", phone="0911111111")
    sign_in(page, "0911111111")
    page.set_viewport_size({"width": width, "height": 900})
    SHOTS.mkdir(parents=True, exist_ok=True)

    wrong = tmp_path / "thieu-dap-an.docx"
    wrong.write_bytes(docx_bytes(broken))
    page.goto(page.base + "/officer/content/upload")
    assert page.get_by_role("link", name="Tải tệp Excel mẫu").is_visible()
    page.get_by_label("Tệp").set_input_files(str(wrong))
    follow(page, page.get_by_role("button", name="Kiểm tra"))
    assert "quên đánh dấu đáp án" in page.locator(".app-summary").inner_text()
    assert page.locator("#L2.app-line-bad").is_visible()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"office-docx-mistake-{width}.png"), full_page=True)

    good = tmp_path / "bo-cau-hoi.docx"
    good.write_bytes(bank_with("bold"))
    page.goto(page.base + "/officer/content/upload")
    page.get_by_label("Định dạng").select_option("docx")
    page.get_by_label("Tệp").set_input_files(str(good))
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"office-upload-{width}.png"), full_page=True)
    page.locator("summary").click()
    page.get_by_label("Mã ngân hàng", exact=False).fill(f"tu-word-{width}")
    follow(page, page.get_by_role("button", name="Kiểm tra"))
    assert "2 câu; đáp án lấy từ chữ đậm." in page.locator(".alert-info").inner_text()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / f"office-docx-preview-{width}.png"), full_page=True)

    follow(page, page.get_by_role("button", name="Đăng", exact=True))
    excel = page.get_by_role("link", name="Tải về Excel")
    assert excel.is_visible()
    with page.expect_download() as download:
        excel.click()
    assert download.value.suggested_filename == f"tu-word-{width}.xlsx"
    assert fits_the_screen(page)
    assert [p for p in page.problems if "422" not in p] == []  # 422: the mistakes page
