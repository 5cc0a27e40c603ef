"""Survey pages on a 360 px phone and a 1280 px screen, with and without JavaScript: a grid's
rows become labelled groups of large radio buttons on the phone (the table stays on the wide
screen), every tap target of the resident pages is at least 44 × 44 px, the skip-logic note
sits above its question and says what shows it, and required questions are marked from the
start. Screenshots go to docs/screenshots/survey-*.png.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, fits_the_screen, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
MOMENT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
SATISFACTION = "hai-long-chinh-quyen-2026"
CHANNELS = "kenh-thong-tin-chinh-sach-2026"
GRID_ROWS = [
    "Dân biết – được thông tin đầy đủ, kịp thời",
    "Dân bàn – được lấy ý kiến trước khi quyết định",
    "Dân làm – được tham gia thực hiện công việc chung",
    "Dân kiểm tra – được giám sát, kiểm tra việc thực hiện",
]
SCALE = ["Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"]
WIDTHS = [360, 1280]

# Every tap target on the page smaller than 44 × 44 CSS px, described. A radio or checkbox
# counts with its label (the label is where a finger lands); a link inside a sentence is the
# WCAG 2.5.5 exception; visually hidden elements (the skip link until focused) are not targets.
SMALL_TARGETS = """() => {
  const found = [];
  const union = (a, b) => {
    const left = Math.min(a.left, b.left), top = Math.min(a.top, b.top);
    return {width: Math.max(a.right, b.right) - left, height: Math.max(a.bottom, b.bottom) - top};
  };
  const inSentence = el => [...el.parentElement.childNodes].some(
    n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  for (const el of document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    const own = el.getBoundingClientRect();
    if (el.closest('[hidden]') || getComputedStyle(el).visibility === 'hidden') continue;
    let box = own;
    if (el.type === 'radio' || el.type === 'checkbox') {
      const label = el.closest('label') || (el.labels && el.labels[0]);
      if (label) box = union(own, label.getBoundingClientRect());
    } else if (own.width <= 1 || own.height <= 1) {
      continue;  // visually hidden until focused
    }
    if (el.tagName === 'A' && inSentence(el)) continue;
    if (box.width < 44 || box.height < 44) {
      found.push(`${el.tagName.toLowerCase()}[${el.name || el.id || el.textContent.trim()
        .slice(0, 30)}] ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return found;
}"""


@pytest.fixture()
def resident(app, make_user):  # type: ignore[no-untyped-def]
    """The two sample surveys loaded and open; a resident of Phường Vị Thanh."""
    from app.content.pipeline import find_files, load_files
    from app.content.store import Actor
    from app.extensions import db
    from tests.conftest import PROVINCE

    app.config["CLOCK"] = lambda: MOMENT
    with app.app_context():
        files = [(str(p), p.read_bytes()) for p in find_files([str(ROOT / "surveys")])]
        actor = Actor(unit_code=PROVINCE, is_admin=True)
        assert all(o.ok for o in load_files(db.session, files, actor, MOMENT))
    make_user(phone="0933444777")
    return "0933444777"


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    suffix = "" if page.javascript else "-nojs"
    page.screenshot(path=str(SHOTS / f"survey-{name}-{width}{suffix}.png"), full_page=True)


def boxes(locator):  # type: ignore[no-untyped-def]
    return [item.bounding_box() for item in locator.all()]


@pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)
def test_a_grid_is_a_labelled_group_per_row_on_a_phone_and_a_table_on_a_screen(page, resident):  # type: ignore[no-untyped-def]
    sign_in(page, resident)
    page.goto(page.base + f"/surveys/{SATISFACTION}/page/2")
    grid = page.locator("#s-dan-chu-co-so")

    page.set_viewport_size({"width": 360, "height": 740})
    assert fits_the_screen(page)
    for row in GRID_ROWS:
        group = grid.get_by_role("group", name=row)  # a fieldset whose legend is the row label
        assert group.count() == 1
        label = group.locator("legend")
        assert label.bounding_box()["width"] >= 280  # the whole width, not a 59 px column
        choices = [group.get_by_role("radio", name=text, exact=True) for text in SCALE]
        assert all(choice.count() == 1 for choice in choices)
        areas = boxes(group.locator("label"))
        assert len(areas) == 5
        assert all(a["height"] >= 44 and a["width"] >= 280 for a in areas)  # one under another
        assert all(b["y"] >= a["y"] + a["height"] - 1 for a, b in pairwise(areas))
        for text in SCALE:  # each choice says its words beside its radio
            assert grid.locator("label", has_text=text).first.is_visible()
    assert not grid.locator(".app-grid-head").is_visible()
    group = grid.get_by_role("group", name=GRID_ROWS[1])
    group.get_by_text("Hài lòng", exact=True).click()  # tap the words, not the dot
    assert group.get_by_role("radio", name="Hài lòng", exact=True).is_checked()
    shoot(page, "grid")

    page.set_viewport_size({"width": 1280, "height": 900})
    head = grid.locator(".app-grid-head")
    assert head.is_visible() and all(head.get_by_text(text, exact=True).count() for text in SCALE)
    columns = boxes(head.locator(".app-grid-col"))
    assert len(columns) == 5
    for row in GRID_ROWS:
        group = grid.get_by_role("group", name=row)
        radios = boxes(group.get_by_role("radio"))
        assert len({round(r["y"]) for r in radios}) == 1  # one line per row, as a table
        for radio, column in zip(radios, columns, strict=True):
            middle = radio["x"] + radio["width"] / 2
            assert column["x"] <= middle <= column["x"] + column["width"]
        areas = boxes(group.locator("label"))
        assert all(a["height"] >= 44 and a["width"] >= 44 for a in areas)
        hidden = boxes(group.locator(".app-grid-text"))  # said once, by the head
        assert all(h["width"] <= 1 and h["height"] <= 1 for h in hidden)
    assert group.get_by_role("radio", name="Rất hài lòng").count() == 1  # yet still named
    assert (
        grid.get_by_role("group", name=GRID_ROWS[1])
        .get_by_role("radio", name="Hài lòng", exact=True)
        .is_checked()
    )  # the choice made on the phone stays when the screen turns
    shoot(page, "grid")
    assert page.problems == []


@pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_tap_target_of_the_resident_pages_is_44_px(page, resident, width):  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": width, "height": 800})
    small = {}
    for path in ["/auth/login", "/auth/register"]:
        page.goto(page.base + path)
        if found := page.evaluate(SMALL_TARGETS):
            small[path] = found
    sign_in(page, resident)
    paths = [
        "/",
        "/contests/",
        "/surveys/",
        f"/surveys/{SATISFACTION}",
        *[f"/surveys/{SATISFACTION}/page/{n}" for n in range(4)],
        *[f"/surveys/{CHANNELS}/page/{n}" for n in range(3)],
        "/account/",
    ]
    for path in paths:
        page.goto(page.base + path)
        assert fits_the_screen(page), path
        if found := page.evaluate(SMALL_TARGETS):
            small[path] = found
    assert small == {}
    page.goto(page.base + f"/surveys/{CHANNELS}/page/0")
    shoot(page, "choices")
    assert page.problems == []


@pytest.mark.parametrize("page", [True, False], ids=["with-js", "without-js"], indirect=True)
def test_the_skip_note_is_above_its_question_and_required_ones_are_marked(page, resident):  # type: ignore[no-untyped-def]
    sign_in(page, resident)
    page.goto(page.base + f"/surveys/{CHANNELS}/page/1")
    # required questions are marked before anything is sent: visibly and in their names
    attend = page.get_by_role("group", name="Trong 12 tháng qua, ông/bà có dự họp tổ dân phố/ấp")
    assert attend.locator(".app-required").is_visible()
    assert "bắt buộc" in attend.locator("legend").inner_text()
    assert page.get_by_text("Câu có dấu * là câu bắt buộc").is_visible()
    assert page.locator(".alert-danger").count() == 0
    speak = page.locator("#s-phat-bieu")
    note = page.locator("#c-phat-bieu")
    expected = "Câu này hiện khi ông/bà trả lời “Thường xuyên” hoặc “Thỉnh thoảng” ở câu 1."
    if page.javascript:  # hidden with its question until the answer shows it
        assert not speak.is_visible() and not note.is_visible()
        page.locator("#s-du-hop-2").check()
    assert speak.is_visible() and note.is_visible()
    assert note.inner_text().strip() == expected
    assert note.bounding_box()["y"] < speak.bounding_box()["y"]  # above the question
    assert speak.get_attribute("aria-describedby").split()[0] == "c-phat-bieu"
    assert "Chỉ hiện khi" not in page.content()
    page.set_viewport_size({"width": 360, "height": 740})
    shoot(page, "skip")
    # on a later page, a question shown by an earlier page's answer names that question
    page.goto(page.base + f"/surveys/{SATISFACTION}/page/3")
    later = page.locator("#c-ly-do-chua-hai-long")
    if page.javascript:
        page.locator("#s-hai-long-chung-1").check()
    assert "ở câu 1" in later.inner_text()
    assert page.problems == []
