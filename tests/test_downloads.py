"""app/downloads.py, the one writer of Content-Disposition: a name with Vietnamese letters, a
quote or a semicolon comes out as one well-formed header, never as a second parameter."""

from __future__ import annotations

from flask import Flask
from werkzeug.http import parse_options_header

from app.downloads import named_file


def test_a_plain_name_is_an_attachment(app: Flask) -> None:
    with app.test_request_context():
        sent = named_file(b"a,b\n", "text/csv", "ket-qua.csv")
    kind, options = parse_options_header(sent.headers["Content-Disposition"])
    assert (kind, options) == ("attachment", {"filename": "ket-qua.csv"})
    assert sent.mimetype == "text/csv" and sent.get_data() == b"a,b\n"


def test_vietnamese_and_hostile_names_stay_one_parameter(app: Flask) -> None:
    with app.test_request_context():
        viet = named_file(b"%PDF", "application/pdf", "tóm tắt xã Vị Thanh.pdf", inline=True)
        hostile = named_file(b"x", "text/plain", 'a"; filename="evil.exe')
    kind, options = parse_options_header(viet.headers["Content-Disposition"])
    assert kind == "inline" and options["filename"] == "tóm tắt xã Vị Thanh.pdf"
    kind, options = parse_options_header(hostile.headers["Content-Disposition"])
    assert kind == "attachment" and options == {"filename": 'a"; filename="evil.exe'}
