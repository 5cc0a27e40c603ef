"""A resident on a 360 px phone finds their own row in a round's ranking, in real Chromium;
an officer's live view draws its chart under the CSP without a single error.

Uses Debian's chromium (`make test` installs it with apt when it can); skipped, saying so,
where /usr/bin/chromium is missing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import CHROMIUM, fits_the_screen, follow, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def crowded_round(app, make_user) -> int:  # type: ignore[no-untyped-def]
    """A round with 80 people ranked; the resident 0987654321 (with a password) is 67th."""
    from app.extensions import db
    from app.models import Round
    from tests.conftest import NINH_KIEU, load_content, set_clock
    from tests.test_ranking import CONTEST, START, add_attempt, bank_yaml, people

    clock = set_clock(app, START)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        round_id = db.session.scalar(db.select(Round.id).where(Round.key == "plain"))
    me = make_user(phone="0987654321", name="Võ Thị Mai", unit=NINH_KIEU)
    others = people(app, 79, name="Trương Quốc Bảo")
    for place, user in enumerate([*others[:66], me, *others[66:]], start=1):
        add_attempt(app, round_id, user.id, score=5 - place // 20, duration_ms=95_000 + place)
    clock.now = START + timedelta(days=1)
    return int(round_id)


def test_my_row_is_highlighted_and_visible_on_a_phone(page, crowded_round, tmp_path):  # type: ignore[no-untyped-def]
    sign_in(page, "0987654321")
    page.goto(f"{page.base}/contests/rounds/{crowded_round}/ranking")
    assert fits_the_screen(page)
    assert "67" in page.locator("#my-position").inner_text()
    mine = page.locator("#me")
    assert mine.count() == 1 and "table-primary" in (mine.get_attribute("class") or "")
    assert "Võ T. M." in mine.inner_text() and "Phường Ninh Kiều" in mine.inner_text()
    mine.scroll_into_view_if_needed()
    assert mine.is_visible()
    box = mine.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    page.screenshot(path=str(tmp_path / "ranking-first-page.png"), full_page=True)
    # The link to my row opens the page that has it, scrolled to it.
    follow(page, page.get_by_role("link", name="Xem dòng của tôi trong bảng xếp hạng"))
    assert page.url.endswith("page=2#me")
    mine = page.locator("#me")
    assert mine.count() == 1 and mine.is_visible() and fits_the_screen(page)
    # The browser scrolls to it (smoothly, with Bootstrap): on screen, not somewhere below.
    on_screen = "(r => r.top >= 0 && r.bottom <= window.innerHeight)(me.getBoundingClientRect())"
    for _ in range(50):  # wait_for_function would eval a string: the CSP forbids it
        if page.evaluate(f"(me => {on_screen})(document.getElementById('me'))"):
            break
        page.wait_for_timeout(100)
    assert page.evaluate(f"(me => {on_screen})(document.getElementById('me'))")
    page.screenshot(path=str(tmp_path / "ranking-my-page.png"))
    assert page.problems == []


def test_the_live_view_draws_its_chart_without_breaking_the_csp(
    app, page, crowded_round, make_user
):  # type: ignore[no-untyped-def]
    from app.models import Role
    from tests.conftest import PROVINCE

    make_user(role=Role.OFFICER, phone="0911111111", unit=PROVINCE)
    sign_in(page, "0911111111")
    page.goto(f"{page.base}/contests/rounds/{crowded_round}/live")
    page.wait_for_selector("#score-chart .main-svg")
    assert page.locator("#score-chart .point").count() >= 5  # the bars of the scores
    assert fits_the_screen(page)
    assert page.problems == []  # no CSP violation (no inline style or script), no error
