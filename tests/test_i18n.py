"""Every message has a Vietnamese translation; Vietnamese by default, English on request."""

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def test_vietnamese_catalogue_covers_every_message(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            "--no-location",
            "app",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    assert len(wanted) > 100  # the extraction really read the app
    with (ROOT / "app/translations/vi/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = {m.id: m for m in read_po(handle) if m.id}
    missing = sorted(str(i) for i in wanted if i not in catalogue or not catalogue[i].string)
    assert missing == [], f"untranslated (run `make messages` and translate): {missing}"
    for message_id in wanted:
        message = catalogue[message_id]
        assert "fuzzy" not in message.flags, message_id
        ids = message_id if isinstance(message_id, tuple) else (message_id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), message_id
        for text in strings:
            assert set(PLACEHOLDER.findall(ids[-1])) == set(PLACEHOLDER.findall(text))


def test_pages_are_vietnamese_by_default_and_english_on_request(client):
    page = client.get("/auth/register").get_data(as_text=True)
    assert "Đăng ký" in page and "Họ và tên" in page and 'lang="vi"' in page
    english = client.get("/auth/register?lang=en")
    assert "Full name" in english.get_data(as_text=True)
    assert "lang=en" in english.headers["Set-Cookie"]
    assert "Full name" in client.get("/auth/register").get_data(as_text=True)  # remembered


def test_validation_messages_are_vietnamese(client):
    response = client.post("/api/v1/auth/register", json={"phone": "1"})
    messages = " ".join(d["message"] for d in response.get_json()["error"]["details"])
    assert "Số điện thoại không hợp lệ" in messages


def test_the_vietnamese_catalogue_addresses_people_as_ong_ba():
    """One form of address, the respectful "ông/bà", on every page (as in the sample content);
    never "bạn", "anh/chị" or "quý vị" beside it."""
    other = re.compile(r"\b(bạn|anh/chị|anh chị|quý vị)\b", re.IGNORECASE)
    with (ROOT / "app/translations/vi/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = [m for m in read_po(handle) if m.id]
    texts = [
        s for m in catalogue for s in (m.string if isinstance(m.string, tuple) else (m.string,))
    ]
    assert [t for t in texts if other.search(t or "")] == []
    assert sum("ông/bà" in (t or "").lower() for t in texts) >= 30


def test_a_requests_language_is_parsed_once_per_process_not_per_request(app):
    """Babel parses what the locale selector answers on every request that says a word (1.2%
    of a contest start's time, py-spy); the selector hands it the parsed locale instead, the
    same object for every request of a language — and still the language the request asks."""
    from flask_babel import get_locale

    seen: dict[str, list[object]] = {}  # every locale kept alive: their ids stay apart
    for path in ("/", "/?lang=en", "/", "/?lang=en", "/?lang=xx"):
        with app.test_request_context(path):
            locale = get_locale()
            assert locale is not None
            seen.setdefault(str(locale), []).append(locale)
    assert {language: len(set(map(id, found))) for language, found in seen.items()} == {
        "vi": 1,
        "en": 1,
    }


def test_a_pages_words_are_looked_up_in_one_catalogue_found_once_per_request(app, monkeypatch):
    """Every `_()` of a template asked Flask-Babel for the request's catalogue again (its
    context, domain and the locale's name each time: 5% of a survey page's time, py-spy); the
    catalogue is found once per request and locale. A locale forced inside the request (a job's
    own language) still gets its own words, and the request's words come back after it."""
    import flask_babel
    from flask import render_template_string

    found: list[object] = []
    original = flask_babel.Domain.get_translations

    def counted(self):  # type: ignore[no-untyped-def]
        found.append(self)
        return original(self)

    monkeypatch.setattr(flask_babel.Domain, "get_translations", counted)
    words = "{{ _('Next') }} {{ _('Back') }} {{ _('Page %(n)d of %(total)d', n=1, total=2) }}"
    with app.test_request_context("/"):
        assert render_template_string(words * 20).startswith("Tiếp ")
        assert len(found) <= 1
        with flask_babel.force_locale("en"):
            assert render_template_string(words).startswith("Next Back Page 1 of 2")
        assert render_template_string(words).startswith("Tiếp ")
    found.clear()
    with app.test_request_context("/?lang=en"):
        assert render_template_string(words * 20).startswith("Next Back")
        assert len(found) <= 1
