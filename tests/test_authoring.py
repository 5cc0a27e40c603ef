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
    # The refusal page keeps the text in its editor, to check again (as another bank, say).
    kept = editor_fields(refused.get_data(as_text=True))
    assert kept["text"].replace("\r\n", "\n") == BANK.replace("Câu sai.", "Câu sai (sửa).")
    assert kept["format"] == "yaml"
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


# ---------------------------------------------- issue 16.3: the round trip keeps the text


HIDDEN = r'name="(csrf_token|filename)" type="hidden" value="([^"]*)"'


def editor_fields(page: str) -> dict[str, str]:
    """The check-again form of a mistakes page, as a browser would post it."""
    import html

    form = page[page.index('id="check-again"') :]
    form = form[: form.index("</form>")]
    fields = {name: html.unescape(value) for name, value in re.findall(HIDDEN, form)}
    text = re.search(r'<textarea[^>]*name="text"[^>]*>\r?\n?(.*?)</textarea>', form, re.DOTALL)
    assert text, "no editor on the mistakes page"
    fields["text"] = html.unescape(text.group(1))
    chosen = re.search(r'<option selected value="([^"]*)"', form) or re.search(
        r'<option value="([^"]*)" selected', form
    )
    assert chosen, "no format chosen"
    fields["format"] = chosen.group(1)
    for name in ("bank", "title"):
        value = re.search(rf'name="{name}"[^>]*value="([^"]*)"', form) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', form
        )
        fields[name] = html.unescape(value.group(1)) if value else ""
    return fields


def check_again(client, fields: dict[str, str]):  # type: ignore[no-untyped-def]
    """Post the form as multipart, the body built here (Werkzeug's test encoder spools a large
    body to a temporary file it leaves open)."""
    boundary = "----check-again-boundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode("utf-8")
        + b"\r\n"
        for name, value in fields.items()
    )
    return client.post(
        "/officer/content/upload",
        data=body + f"--{boundary}--\r\n".encode(),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_the_mistakes_page_offers_the_pasted_text_to_correct_and_check_again(
    client, auth, make_user
):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    broken = BANK.replace("    answer: B\n", "    answer B\n", 1)  # line 24, no colon
    page = upload(client, broken).get_data(as_text=True)
    assert 'app-line app-line-bad" id="L24"' in page  # its own line, not line 25
    fields = editor_fields(page)
    assert fields["text"].replace("\r\n", "\n") == broken  # nothing to retype
    assert fields["format"] == "yaml"
    fields["text"] = fields["text"].replace("answer B", "answer: B")
    response = check_again(client, fields)
    assert response.status_code == 200  # the preview
    published = publish(client, response.get_data(as_text=True))
    assert published.status_code == 302
    with client.application.app_context():
        assert db.session.scalar(select(Bank).where(Bank.slug == "dan-chu-co-so")) is not None


def test_an_uploaded_files_text_name_and_format_are_kept(client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    broken = BANK.replace("topic: luat", "topik: luat", 1)
    data = {
        "csrf_token": csrf_token(client, "/officer/content/upload"),
        "format": "yaml",
        "file": (io.BytesIO(broken.encode()), "ngan-hang-xa.yaml"),
    }
    page = client.post(
        "/officer/content/upload", data=data, content_type="multipart/form-data"
    ).get_data(as_text=True)
    fields = editor_fields(page)
    assert fields["text"].replace("\r\n", "\n") == broken
    assert fields["filename"] == "ngan-hang-xa.yaml"
    again = check_again(client, fields)  # checked again unchanged: the same file, by name
    assert again.status_code == 422
    assert "ngan-hang-xa.yaml" in again.get_data(as_text=True)
    fields["text"] = fields["text"].replace("topik:", "topic:")
    assert check_again(client, fields).status_code == 200


def test_a_word_paste_comes_back_as_written_not_as_yaml(client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    # Question 2 (line 6) has the same choice twice: the converted bank fails validation.
    text = "Câu 1. Hỏi gì?\nA. Một\nB. Hai\nĐáp án: B\n\nCâu 2. Hỏi nữa?\nA. Có\nB. Có\nĐáp án: A\n"
    response = upload(client, text, fmt="word", bank="tu-word", title="Từ Word")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'app-line app-line-bad" id="L6"' in page  # the question's line in the paste
    assert "questions:" not in page
    fields = editor_fields(page)
    assert fields["text"].replace("\r\n", "\n") == text
    assert (fields["format"], fields["bank"], fields["title"]) == ("word", "tu-word", "Từ Word")
    fields["text"] = fields["text"].replace("B. Có", "B. Không")
    again = check_again(client, fields)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert "Hỏi nữa?" in again.get_data(as_text=True)


def test_checking_again_is_held_to_the_size_limit(client, auth, make_user):
    from app.content.reader import MAX_BYTES

    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    page = upload(client, BANK.replace("answer: B", "answer B", 1)).get_data(as_text=True)
    fields = editor_fields(page)
    # Vietnamese letters take 3 bytes: under the limit in characters, over it in bytes.
    fields["text"] = "# " + "ệ" * (MAX_BYTES // 3 + 10) + "\n" + BANK
    response = check_again(client, fields)
    assert response.status_code == 413
    assert "2 MiB" in response.get_data(as_text=True)
    # Under the limit, a large paste is checked (Werkzeug's own limit on a form field, 500 kB,
    # refused it with a bare "too large" page and the text was gone).
    fields["text"] = "# " + "ệ" * (MAX_BYTES // 3 - 1000) + "\n" + BANK
    assert check_again(client, fields).status_code == 200


def test_the_file_name_posted_back_is_a_name_only_and_escaped(client, auth, make_user):
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")
    broken = BANK.replace("answer: B", "answer B", 1)
    fields = editor_fields(upload(client, broken).get_data(as_text=True))
    fields["filename"] = "../../etc/passwd.yaml"
    page = check_again(client, fields).get_data(as_text=True)
    assert "../" not in page and editor_fields(page)["filename"] == "passwd.yaml"
    fields["filename"] = '"><img src=x onerror=alert(1)>.yaml'
    page = check_again(client, fields).get_data(as_text=True)
    assert "<img src=x" not in page
    assert editor_fields(page)["filename"] == fields["filename"]
