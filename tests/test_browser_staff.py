"""The staff pages and the audit trail in real Chromium at 360 and 1280 px: an admin imports a
CSV, reads the per-line report and the one-time passwords, disables an account, finds the
import in the audit trail; the new officer's first sign-in leads to the password change."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM, fits_the_screen, follow, sign_in
from tests.test_browser_account import shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

CSV = (
    "\ufeffHọ tên;Số điện thoại;Đơn vị;Vai trò\r\n"
    "Lê Thị Hoa;0912000001;31321;cán bộ\r\n"
    "Trần Văn Bình;0912000002;Phường Vị Thanh;lãnh đạo\r\n"
    "Phạm An;12345;31321;cán bộ\r\n"
    "Võ Bé;0912000001;31321;cán bộ\r\n"
)


@pytest.mark.parametrize("width", [360, 1280])
def test_an_admin_imports_staff_and_reads_the_audit_trail(page, make_user, tmp_path, width):  # type: ignore[no-untyped-def]
    make_user(role="admin", phone="0911111111")
    folder = shots(tmp_path)
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, "0911111111")
    follow(page, page.get_by_role("link", name="Cán bộ", exact=True))
    follow(page, page.get_by_role("link", name="Nhập từ tệp CSV"))
    page.screenshot(path=str(folder / f"staff-import-{width}.png"), full_page=True)
    assert fits_the_screen(page)
    page.locator("#file").set_input_files(
        files=[{"name": "can-bo.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    follow(page, page.get_by_role("button", name="Nhập"))
    content = page.content()
    assert "Đã tạo 2 tài khoản, 2 dòng bị từ chối." in content
    assert "dòng 5: trùng số điện thoại với dòng 2." in content
    assert "dòng 4:" in content
    row = page.locator("tr", has_text="Trần Văn Bình")
    otp = row.locator("code.app-otp").inner_text()
    assert len(otp) == 14
    page.screenshot(path=str(folder / f"staff-import-report-{width}.png"), full_page=True)
    assert fits_the_screen(page)
    follow(page, page.get_by_role("link", name="Quay lại danh sách tài khoản cán bộ"))
    page.locator("#role").select_option("officer")
    follow(page, page.get_by_role("button", name="Lọc"))
    assert "Lê Thị Hoa" in page.content() and "Trần Văn Bình" not in page.content()
    follow(page, page.get_by_role("button", name="Khóa Lê Thị Hoa"))
    assert "Đã khóa tài khoản của Lê Thị Hoa." in page.content()
    page.screenshot(path=str(folder / f"staff-list-{width}.png"), full_page=True)
    assert fits_the_screen(page)
    follow(page, page.get_by_role("link", name="Nhật ký thao tác").first)
    content = page.content()
    assert "Nhập tài khoản cán bộ" in content and "Khóa tài khoản cán bộ" in content
    assert "0912000001" not in content  # ids, never phones
    page.screenshot(path=str(folder / f"audit-{width}.png"), full_page=True)
    assert fits_the_screen(page)

    # The new leader signs in with the one-time password: the password page, nothing else.
    follow(page, page.get_by_role("button", name="Đăng xuất"))
    sign_in(page, "0912000002", otp)
    assert page.url.endswith("/account/password")
    page.goto(page.base + "/officer/")
    assert page.url.endswith("/account/password")
    assert "mật khẩu dùng một lần" in page.content()
    page.screenshot(path=str(folder / f"first-sign-in-{width}.png"), full_page=True)
    assert fits_the_screen(page)
