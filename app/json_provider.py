"""The one home of how JSON responses are encoded: orjson, into the bytes Flask's own provider
gives.

The standard library's encoder took about 110 µs for the twenty-question body a contest start
answers (12 kB); orjson takes about 10 µs for the same bytes, and a start's instructions fell
by 14% (bench/profile_attempts.py --instructions; docs/benchmarks.md, "JSON by orjson"). What
orjson is asked to give is what `DefaultJSONProvider.response` gives out of debug mode: keys
sorted (unless `sort_keys` is turned off), no spaces, UTF-8 rather than escapes (`ensure_ascii`
off, as the app sets it), a newline at the end; dates, datetimes and dataclasses through
Flask's own `default` (an HTTP date, a dict), as are Decimal and Markup.
tests/test_json_provider.py compares the bytes case by case and checks which encoder ran.

What orjson refuses — keys that are not strings, integers beyond 64 bits, nesting deeper than
254, numpy's values — is encoded again, whole, by the standard library, as is everything in
debug mode (indented) or with ASCII escapes asked for. The differences that remain, none
reachable from the app's own bodies today (an attacker's review, 2026-12-03):
- a float below 10⁻⁴ or from 10¹⁶ may be written in another form of the same number
  (1e-7 for 1e-07, 0.00001 for 1e-05);
- NaN and infinities are written null, where the standard library writes `NaN`, which no JSON
  parser reads (`NaN` still, when the body falls back);
- a plain `Enum` member is written as its value, where the standard library refused it (a 500);
- a dict subclass is written from its own storage: a MultiDict (`request.args`) as lists of
  values, where the standard library asks its `items()` for the first of each — pass plain
  dicts.
`dumps` (the `tojson` filter, `flask.json.dumps`) stays the standard library's."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_APPEND_NEWLINE
    | orjson.OPT_PASSTHROUGH_DATETIME  # Flask's default: an HTTP date
    | orjson.OPT_PASSTHROUGH_DATACLASS  # Flask's default: dataclasses.asdict
)


class JSONProvider(DefaultJSONProvider):
    """Flask's provider, its responses encoded by orjson."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self.ensure_ascii or self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)
        value = self._prepare_response_obj(args, kwargs)
        options = _OPTIONS if self.sort_keys else _OPTIONS & ~orjson.OPT_SORT_KEYS
        try:
            body = orjson.dumps(value, default=self.default, option=options)
        except orjson.JSONEncodeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)
