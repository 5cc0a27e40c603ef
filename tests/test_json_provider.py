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

import pytest
from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

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


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _bodies(value: Any) -> tuple[bytes, bytes]:
    ours = Flask("ours")
    ours.json = JSONProvider(ours)
    ours.json.ensure_ascii = False  # type: ignore[attr-defined]
    theirs = Flask("theirs")
    theirs.json.ensure_ascii = False  # type: ignore[attr-defined]
    assert isinstance(theirs.json, DefaultJSONProvider)
    with ours.app_context():
        mine = jsonify(value).get_data()
    with theirs.app_context():
        expected = jsonify(value).get_data()
    return mine, expected


@pytest.mark.parametrize("value", CASES, ids=[repr(case)[:30] for case in CASES])
def test_a_response_is_the_bytes_the_standard_library_gives(value: Any) -> None:
    mine, expected = _bodies(value)
    assert mine == expected


@pytest.mark.parametrize(
    "value",
    [
        {1: "an integer key", 2: "another"},  # orjson refuses keys that are not strings
        2**70,  # beyond 64 bits
        _nested(300),  # orjson stops at 254 levels
    ],
    ids=["integer keys", "big integer", "deep nesting"],
)
def test_what_orjson_refuses_is_answered_as_the_standard_library_does(value: Any) -> None:
    mine, expected = _bodies(value)
    assert mine == expected


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


def test_a_float_in_exponent_form_is_the_same_number() -> None:
    # The one difference in valid output: 1e-7 where the standard library writes 1e-07.
    for value in (1e-7, 2.5e-5, 1e16, -3.25e20):
        mine, expected = _bodies({"x": value})
        assert json.loads(mine) == json.loads(expected) == {"x": value}


def test_not_a_number_is_answered_as_null_not_invalid_json() -> None:
    # The standard library writes NaN, which no JSON parser accepts; orjson writes null.
    ours = Flask("ours")
    ours.json = JSONProvider(ours)
    ours.json.ensure_ascii = False  # type: ignore[attr-defined]
    with ours.app_context():
        assert jsonify({"x": math.nan}).get_data() == b'{"x":null}\n'
