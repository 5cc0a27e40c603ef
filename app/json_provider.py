"""The one home of how JSON responses are encoded: orjson, into the bytes Flask's own provider
gives.

The standard library's encoder took about 110 µs for the twenty-question body a contest start
answers (12 kB), some 5% of the start's whole cost in process; orjson takes about 10 µs for the
same bytes (bench/profile_attempts.py; docs/benchmarks.md, "JSON by orjson"). What orjson is
asked to give is what `DefaultJSONProvider.response` gives out of debug mode: keys sorted,
no spaces, UTF-8 rather than escapes (`ensure_ascii` off, as the app sets it), a newline at the
end; dates, datetimes and dataclasses through Flask's own `default` (an HTTP date, a dict), as
are Decimal and Markup. tests/test_json_provider.py compares the bytes case by case.

What orjson refuses — keys that are not strings, integers beyond 64 bits, nesting deeper than
254 — falls back to the standard library, as does debug mode (indented) and an app asking for
ASCII escapes. Two differences remain: a float in exponent form is written 1e-7 where the
standard library writes 1e-07 (the same number), and NaN and infinities are null here, where
the standard library writes `NaN`, which no JSON parser reads. `dumps` (the `tojson` filter,
`flask.json.dumps`) stays the standard library's."""

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
        try:
            body = orjson.dumps(value, default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)
