"""The prize-integrity pages in real Chromium at 360 and 1280 px: an officer reads the
suspicious entries of a round and disqualifies one with a reason; anyone checks a certificate's
code (valid, then revoked by the officer). Screenshots into test-artifacts/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, PROVINCE, fits_the_screen, follow, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.mark.parametrize("width", [360, 1280])
def test_an_officer_disqualifies_and_revokes(page, app, make_user, width):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Attempt, Contest, Round
    from app.services import certificates
    from tests.test_suspicious import OPEN, copy_attempt, demo, new_resident, open_week

    _clock, r = open_week(app)
    demo(app, r, 60, 3)
    with app.app_context():
        db.session.execute(db.update(Contest).values(certificates="participants"))
        db.session.commit()
        source = db.session.scalar(
            select(Attempt.id).where(Attempt.round_id == r).order_by(Attempt.score.desc()).limit(1)
        )
    copier = new_resident(app, "0912345300", "Đỗ Văn Chép")
    copied = copy_attempt(app, source, copier, 40)
    with app.app_context():
        cert = certificates.issue(
            db.session, db.session.get(Attempt, copied), OPEN + timedelta(hours=6), timedelta(0)
        )
        code = cert.code
        assert db.session.get(Round, r) is not None
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{page.base}/certificates/{code}")
    assert "Hợp lệ" in page.locator("#state").inner_text() and fits_the_screen(page)
    assert "Đỗ V. C." in page.content()
    page.screenshot(path=str(ARTIFACTS / f"certificate-valid-{width}.png"), full_page=True)
    page.goto(f"{page.base}/certificates/ABCDEFGHJK")
    assert "Không có giấy chứng nhận" in page.locator("#state").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"certificate-unknown-{width}.png"), full_page=True)

    make_user(role="officer", phone="0911000020", unit=PROVINCE)
    sign_in(page, "0911000020")
    page.goto(f"{page.base}/contests/rounds/{r}/ranking/audit")
    follow(page, page.get_by_role("link", name="Bài thi đáng ngờ"))
    entry = page.locator(f"#entry-{copier}")
    assert "Sao chép đáp án" in entry.inner_text() and "40 giây" in entry.inner_text()
    assert fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / f"suspicious-{width}.png"), full_page=True)
    entry.locator("textarea").fill("Chép đáp án của người khác trong 40 giây")
    follow(page, entry.get_by_role("button", name="Loại bài dự thi này"))
    entry = page.locator(f"#entry-{copier}")
    assert "Đã loại" in entry.inner_text() and fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / f"suspicious-disqualified-{width}.png"), full_page=True)
    # Disqualifying revoked the certificate: the public page says so.
    page.goto(f"{page.base}/certificates/{code}")
    state = page.locator("#state").inner_text()
    assert "Đã thu hồi" in state and "Chép đáp án" in state and fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / f"certificate-revoked-{width}.png"), full_page=True)
