"""The suite builds a fresh app for almost every test (about a thousand per run); nine tenths
of `create_app` went into Werkzeug compiling the URL builders of some 400 rules, the same source
each time (0.13 s an app on a quiet core, 0.3–0.4 s on a busy one; docs/benchmarks.md, "Test
suite time"). The builder Werkzeug compiles depends only on the rule's text, its parsed parts,
its defaults, its converters' classes and `append_unknown` — the rule object itself is passed
in at each call (`.self`) — so one compiled function serves every app of the run.
tests/test_routing_cache.py checks that every endpoint builds the same URL with and without it.
Production builds its app once per worker and does not use this."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule

_compile = Rule._compile_builder
_builders: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}


def _key(rule: Rule, append_unknown: bool) -> tuple[Any, ...]:
    defaults = tuple(sorted((name, repr(value)) for name, value in (rule.defaults or {}).items()))
    converters = tuple(sorted((name, type(c)) for name, c in rule._converters.items()))
    return (rule.rule, tuple(rule._trace), defaults, converters, append_unknown)


def _cached(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
    key = _key(self, append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile(self, append_unknown)
    return builder


def install() -> None:
    Rule._compile_builder = _cached  # type: ignore[method-assign]


def uninstall() -> None:
    Rule._compile_builder = _compile  # type: ignore[method-assign]
