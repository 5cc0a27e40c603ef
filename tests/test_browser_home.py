"""A leader's home on a 360 px phone and a 1280 px screen, and a commune's brief rendered to an
image, in real Chromium and PDFium.

Screenshots go to a temporary folder, or to `SCREENSHOTS_DIR` when set (docs/screenshots/ is
made with `SCREENSHOTS_DIR=docs/screenshots`). Uses Debian's chromium; skipped, saying so,
where /usr/bin/chromium is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, NINH_KIEU, VI_THANH, fits_the_screen, follow, sign_in
from tests.test_brief import communes  # noqa: F401  (survey waves with five communes)
from tests.test_contest_stats import fixture  # noqa: F401  (a contest with its attempts)
from tests.test_overview import NOW, waves  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def everything(app, communes, fixture):  # type: ignore[no-untyped-def]  # noqa: F811
    from tests.conftest import set_clock

    set_clock(app, NOW)  # the survey's wave 2026 and the contest's rounds are both open
    return app


def test_a_leaders_home_reads_well_on_a_phone_and_a_screen(everything, page, make_user, tmp_path):  # type: ignore[no-untyped-def]
    folder = shots(tmp_path)
    make_user(role="leader", phone="0911111111", name="Trần Thị Lãnh Đạo")
    sign_in(page, "0911111111")
    page.goto(page.base + "/")
    assert page.get_by_role("heading", name="Tổng quan").count() == 1
    assert page.get_by_role("link", name="Tổng quan").count() == 1  # the menu entry
    text = page.inner_text("main")
    assert "Chỉ số hài lòng" in text and "thay đổi thật sự" in text
    assert "xã, phường có người dự thi" in text and "." not in text.split("Chỉ số hài lòng")[1][:8]
    assert fits_the_screen(page)
    page.screenshot(path=str(folder / "home-360.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert fits_the_screen(page)
    page.screenshot(path=str(folder / "home-1280.png"), full_page=True)
    follow(page, page.get_by_role("link", name="Hài lòng đợt 2026"))
    assert page.url.endswith("/results/hai-long-2026")
    assert page.problems == []


def render_first_page(pdf: bytes, target: Path) -> tuple[int, int]:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=1.4).to_pil()
        image.convert("L").save(target, optimize=True)
        return image.size
    finally:
        document.close()


def test_a_communes_brief_as_its_leader_gets_it(everything, page, make_user, tmp_path):  # type: ignore[no-untyped-def]
    folder = shots(tmp_path)
    make_user(role="leader", phone="0911111112", unit=VI_THANH, name="Lê Văn Xã")
    sign_in(page, "0911111112")
    page.goto(page.base + "/")
    link = page.get_by_role("link", name="Tải bản tóm tắt một trang của xã, phường (PDF)")
    href = link.get_attribute("href")
    assert href == f"/briefs/{VI_THANH}.pdf"
    response = page.request.get(page.base + href)  # the page's own cookies
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    width, height = render_first_page(response.body(), folder / "brief-vi-thanh.png")
    assert abs(height / width - 297 / 210) < 0.01  # A4, portrait
    assert page.request.get(f"{page.base}/briefs/{NINH_KIEU}.pdf").status == 403
    assert (folder / "brief-vi-thanh.png").stat().st_size < 300_000
