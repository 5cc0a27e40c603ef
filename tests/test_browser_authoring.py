"""Issue 16.3 in Chromium: an officer pastes a bank with a mistake, sees it beside its line,
corrects it in the editor on the mistakes page, checks again, previews and publishes, without
typing anything again; with and without JavaScript, on a 360 px phone and a 1280 px screen.
SCREENSHOTS=dir keeps the screenshots (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM, fits_the_screen, follow, sign_in
from tests.test_authoring import BANK
from tests.test_browser_account import shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

# Line 24 of the bank, `    answer: B`, written without its colon.
PREVIEW = "Xem trước: Thực hiện dân chủ ở cơ sở"
BROKEN = BANK.replace("    answer: B\n", "    answer B\n", 1)


@pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)
@pytest.mark.parametrize("width", [360, 1280])
def test_an_officer_corrects_a_pasted_bank_without_typing_it_again(
    page, make_user, tmp_path, width
):  # type: ignore[no-untyped-def]
    folder = shots(tmp_path)
    js = "js" if page.javascript else "nojs"
    make_user(role="officer", phone="0911111111")
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, "0911111111")
    page.goto(page.base + "/officer/content/upload")
    page.get_by_label("…hoặc dán nội dung vào đây").fill(BROKEN)
    follow(page, page.get_by_role("button", name="Kiểm tra", exact=True))

    # The mistake, beside its own line (24, not 25), and in the list that links to it.
    assert page.locator("h1").inner_text() == "Cần sửa 1 lỗi trong paste.yaml"
    bad = page.locator(".app-line-bad")
    assert bad.count() == 1 and bad.get_attribute("id") == "L24"
    message = page.locator("#L24 + .app-message").inner_text()
    assert 'Thiếu dấu hai chấm (:) sau "answer"' in message
    assert page.locator('.app-summary a[href="#L24"]').inner_text() == "Dòng 24, cột 11"
    editor = page.locator("textarea#text")
    assert editor.input_value().replace("\r\n", "\n") == BROKEN  # nothing to retype
    assert fits_the_screen(page)
    page.screenshot(path=str(folder / f"authoring-mistakes-{js}-{width}.png"), full_page=True)

    if page.javascript:
        gutter = page.locator(".app-gutter")
        assert gutter.inner_text().split()[:3] == ["1", "2", "3"]
        assert page.locator(".app-gutter-bad").inner_text() == "24"
        # "sửa dòng này" puts the cursor on line 24 with the line selected: type over it.
        page.locator("a.app-to-line").click()
        assert (
            page.evaluate(
                "(() => { const t = document.querySelector('#text');"
                " return t.value.slice(t.selectionStart, t.selectionEnd); })()"
            )
            == "    answer B"
        )
        page.keyboard.type("    answer: B")
        editor.scroll_into_view_if_needed()
        page.screenshot(path=str(folder / f"authoring-editor-{js}-{width}.png"))
    else:
        # The plain textarea: the officer corrects the one line in place.
        editor.fill(editor.input_value().replace("answer B", "answer: B"))
    assert editor.input_value().replace("\r\n", "\n") == BANK

    follow(page, page.get_by_role("button", name="Kiểm tra lại"))
    assert page.locator("h1").inner_text().startswith(PREVIEW)
    assert "Quy chế công tác dân vận" in page.inner_text("main")
    assert fits_the_screen(page)
    page.screenshot(path=str(folder / f"authoring-preview-{js}-{width}.png"))
    follow(page, page.get_by_role("button", name="Đăng", exact=True))
    assert "Đã đăng dan-chu-co-so, phiên bản 1." in page.inner_text("main")
    # The mistakes page itself answers 422 (the console notes it); nothing else went wrong.
    errors = [e for e in page.problems if "status of 422" not in e]  # type: ignore[attr-defined]
    assert not errors, errors
