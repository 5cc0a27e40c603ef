"""Officers' pages: upload, mistakes beside their lines, preview, publish, list, download."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import Bank, Round, utcnow
from tests.conftest import VI_THANH, csrf_token

VALID = Path(__file__).parent / "content" / "valid"
BANK = (VALID / "bank-full.yaml").read_text(encoding="utf-8")


def upload(
    client, text: str | None = None, *, file: bytes | None = None, fmt: str = "yaml", **extra
):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf_token(client, "/officer/content/upload"), "format": fmt, **extra}
    if file is not None:
        data["file"] = (io.BytesIO(file), "bank.yaml")
    else:
        data["text"] = text
    return client.post("/officer/content/upload", data=data, content_type="multipart/form-data")


def publish(client, page: str):  # type: ignore[no-untyped-def]
    fields = dict(
        re.findall(r'name="(csrf_token|source|filename)" type="hidden" value="([^"]*)"', page)
    )
    import html

    return client.post(
        "/officer/content/publish", data={k: html.unescape(v) for k, v in fields.items()}
    )


def test_mistakes_are_listed_beside_their_lines(client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    broken = BANK.replace("answer: B", "answer: Z").replace("topic: luat", "topik: luat", 1)
    response = upload(client, broken)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # Line 24 is `answer: Z`; its row is marked and the message follows it, before line 25.
    row = page.index('id="L24"')
    assert 'app-line app-line-bad" id="L24"' in page
    message = (
        page.index("Đáp án &#34;Z&#34;", row) if "&#34;Z&#34;" in page else page.index("Z", row)
    )
    assert row < message < page.index('id="L25"')
    assert page.count("app-line-bad") == 2


def test_script_in_a_question_or_a_broken_file_is_escaped(client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    sneaky = BANK.replace("Câu sai.", "<script>alert(1)</script>")
    page = upload(client, sneaky).get_data(as_text=True)
    assert (
        "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    )
    broken = sneaky.replace("answer: B", "answer: <script>x</script>")
    page = upload(client, broken).get_data(as_text=True)
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_preview_shows_every_question_and_choice_as_residents_will(client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    response = upload(client, file=BANK.encode())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    position = 0
    from app.content.validate import validate_text

    for question in validate_text(BANK, "b.yaml").model.questions:
        text = question.text.replace('"', "&#34;")
        position = page.index(text.split("\n")[0], position)
        for choice in question.choices or ["Đúng", "Sai"]:
            position = page.index(choice.replace('"', "&#34;"), position)
    assert page.count("right answer") + page.count("đáp án đúng") >= 4


def test_publish_then_list_history_and_download(app, client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    response = publish(client, upload(client, BANK).get_data(as_text=True))
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/bank/dan-chu-co-so"
    )
    listing = client.get("/officer/content/").get_data(as_text=True)
    assert "Thực hiện dân chủ ở cơ sở" in listing and "dan-chu-co-so" in listing
    history = client.get("/officer/content/bank/dan-chu-co-so").get_data(as_text=True)
    assert "Nguyễn Văn Thử" in history  # who published
    download = client.get("/officer/content/bank/dan-chu-co-so.yaml")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    from app.content.validate import validate_text

    assert validate_text(download.get_data(), "again.yaml").ok


def test_download_refused_while_a_round_drawing_from_the_bank_is_open(app, client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    publish(client, upload(client, BANK).get_data(as_text=True))
    contest = (VALID / "contest-full.yaml").read_text(encoding="utf-8")
    publish(client, upload(client, contest).get_data(as_text=True))
    with app.app_context():
        first = db.session.scalar(select(Round).where(Round.key == "tuan-1"))
        first.opens_at, first.closes_at = (
            utcnow() - timedelta(hours=1),
            utcnow() + timedelta(days=1),
        )
        db.session.commit()
    refused = client.get("/officer/content/bank/dan-chu-co-so.yaml")
    assert refused.status_code == 409 and "Tuần 1" in refused.get_data(as_text=True)
    assert (
        client.get("/officer/content/contest/tim-hieu-dan-chu-co-so-2026.yaml").status_code == 200
    )


def test_commune_officer_cannot_replace_the_provinces_bank(app, client, auth, make_user):
    make_user(role="officer", phone="0911111111")  # province
    make_user(role="officer", phone="0911111112", unit=VI_THANH)
    auth.login("0911111111")
    publish(client, upload(client, BANK).get_data(as_text=True))
    auth.logout()
    auth.login("0911111112")
    preview = upload(client, BANK.replace("Câu sai.", "Câu sai (sửa)."))
    assert preview.status_code == 200  # checking is allowed
    refused = publish(client, preview.get_data(as_text=True))
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Bank.version)) == 1
    assert "dan-chu-co-so" not in client.get("/officer/content/").get_data(as_text=True)


def test_word_paste_is_converted_then_previewed(client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    text = "Câu 1. Hỏi gì?\nA. Một\nB. Hai\nĐáp án: B\n"
    response = upload(client, text, fmt="word", bank="tu-word", title="Từ Word")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Hỏi gì?" in response.get_data(as_text=True)
    bad = upload(client, "Câu 1. Hỏi?\nA. Một\nB. Hai\nĐáp án: E\n", fmt="word")
    assert bad.status_code == 422 and 'id="L4"' in bad.get_data(as_text=True)


def test_residents_and_leaders_are_kept_out(client, auth, make_user):
    make_user(phone="0987654321")
    make_user(role="leader", phone="0911111119")
    for phone in ("0987654321", "0911111119"):
        auth.login(phone)
        assert client.get("/officer/content/").status_code == 403
        assert client.get("/officer/content/upload").status_code == 403
        auth.logout()
