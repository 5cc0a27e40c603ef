"""JSON responses are encoded by orjson (app/json_provider.py) into the very bytes Flask's own
provider (the standard library's json) gives, and whatever orjson refuses still gets an answer."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from app.json_provider import JSONProvider


@dataclasses.dataclass
class Point:
    x: int
    label: str


class Colour(enum.StrEnum):
    RED = "đỏ"


class Level(enum.IntEnum):
    HIGH = 3


CASES: list[Any] = [
    None,
    True,
    0,
    -(2**63),
    2**64 - 1,
    1.5,
    0.1,
    123456789.125,
    "",
    "Câu hỏi về Luật Đất đai 2024 — “quyền” của người sử dụng đất",
    'quotes " and \\ backslashes, a tab\t, a newline\n, a bell\x07, \u2028 and \u2029',
    "😀 outside the basic plane",
    [],
    {},
    {"b": 1, "a": 2, "á": 3, "A": 4, "ă": [1, {"z": None, "y": "Ý"}]},
    {"id": 7, "deadline": "2026-12-07T20:00:00Z", "questions": [{"id": "1", "choices": []}]},
    datetime(2026, 12, 7, 13, 0, tzinfo=UTC),
    date(2026, 12, 7),
    Decimal("1234.50"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    Point(1, "một"),
    Markup("<b>đậm</b>"),
    Colour.RED,
    Level.HIGH,
    ("a", "tuple"),
]


class Spy:
    """What orjson did for each response: "encoded" or "refused" (then the standard library
    encoded it)."""

    def __init__(self) -> None:
        self.calls: list[str] = []


@pytest.fixture()
def orjson_calls(monkeypatch: pytest.MonkeyPatch) -> Spy:
    spy = Spy()
    real = orjson.dumps

    def dumps(*args: Any, **kwargs: Any) -> bytes:
        try:
            body = real(*args, **kwargs)
        except orjson.JSONEncodeError:
            spy.calls.append("refused")
            raise
        spy.calls.append("encoded")
        return body

    monkeypatch.setattr(orjson, "dumps", dumps)
    return spy


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _ours() -> Flask:
    """An app answering through JSONProvider, UTF-8 as the app's own."""
    ours = Flask("ours")
    ours.json = JSONProvider(ours)
    ours.json.ensure_ascii = False  # type: ignore[attr-defined]
    return ours


def _bodies(value: Any) -> tuple[bytes, bytes]:
    ours = _ours()
    theirs = Flask("theirs")
    theirs.json.ensure_ascii = False  # type: ignore[attr-defined]
    assert isinstance(theirs.json, DefaultJSONProvider)
    with ours.app_context():
        mine = jsonify(value).get_data()
    with theirs.app_context():
        expected = jsonify(value).get_data()
    return mine, expected


@pytest.mark.parametrize("value", CASES, ids=[repr(case)[:30] for case in CASES])
def test_a_response_is_the_bytes_the_standard_library_gives(value: Any, orjson_calls: Spy) -> None:
    mine, expected = _bodies(value)
    assert mine == expected
    assert orjson_calls.calls == ["encoded"]  # by orjson, not by the fallback


@pytest.mark.parametrize(
    "value",
    [
        {1: "an integer key", 2: "another"},  # orjson refuses keys that are not strings
        2**70,  # beyond 64 bits
        _nested(300),  # orjson stops at 254 levels
    ],
    ids=["integer keys", "big integer", "deep nesting"],
)
def test_what_orjson_refuses_is_answered_as_the_standard_library_does(
    value: Any, orjson_calls: Spy
) -> None:
    mine, expected = _bodies(value)
    assert mine == expected
    assert orjson_calls.calls == ["refused"]


def test_an_app_answers_json_through_orjson(app: Flask) -> None:
    assert isinstance(app.json, JSONProvider)
    assert app.json.ensure_ascii is False  # type: ignore[attr-defined]
    with app.app_context():
        assert jsonify({"tên": "Cần Thơ"}).get_data() == '{"tên":"Cần Thơ"}\n'.encode()


def test_debug_mode_still_indents() -> None:
    debug = Flask("debug")
    debug.json = JSONProvider(debug)
    debug.debug = True
    with debug.app_context():
        assert jsonify({"a": [1]}).get_data() == b'{\n  "a": [\n    1\n  ]\n}\n'


def test_a_small_or_large_float_is_the_same_number_in_another_form() -> None:
    assert _bodies(1e-7) == (b"1e-7\n", b"1e-07\n")
    assert _bodies(1e-5) == (b"0.00001\n", b"1e-05\n")
    for value in (1e-7, 2.5e-5, 9.99e-5, 1e16, -3.25e20):
        mine, expected = _bodies({"x": value})
        assert json.loads(mine) == json.loads(expected) == {"x": value}


def test_a_plain_enum_is_its_value_where_the_standard_library_refused_it() -> None:
    class Plain(enum.Enum):
        A = "giá trị"

    ours = _ours()
    with ours.app_context():
        assert jsonify({"e": Plain.A}).get_data() == '{"e":"giá trị"}\n'.encode()
    with pytest.raises(TypeError):
        _bodies({"e": Plain.A})


def test_a_multidict_is_written_from_its_storage_pass_plain_dicts() -> None:
    mine, expected = _bodies(MultiDict([("a", "1"), ("a", "2")]))
    assert (mine, expected) == (b'{"a":["1","2"]}\n', b'{"a":"1"}\n')
    mine, expected = _bodies(MultiDict([("a", "1"), ("a", "2")]).to_dict(flat=True))
    assert mine == expected == b'{"a":"1"}\n'


def test_keys_keep_their_order_when_sorting_is_turned_off(orjson_calls: Spy) -> None:
    ours = _ours()
    ours.json.sort_keys = False  # type: ignore[attr-defined]
    with ours.app_context():
        assert jsonify({"b": 1, "a": {"d": 2, "c": 3}}).get_data() == b'{"b":1,"a":{"d":2,"c":3}}\n'
    assert orjson_calls.calls == ["encoded"]


def test_not_a_number_is_answered_as_null_not_invalid_json() -> None:
    # The standard library writes NaN, which no JSON parser accepts; orjson writes null.
    ours = _ours()
    with ours.app_context():
        assert jsonify({"x": math.nan}).get_data() == b'{"x":null}\n'
