"""Compiled once per test run, not once per app.

The suite builds a fresh app for almost every test (about a thousand per run). Profiled
(docs/benchmarks.md, "Test suite time"), most of `create_app` went into Werkzeug compiling the
URL builders of the app's 81 rules (0.127 s an app on a quiet core, 0.3–0.4 s on a busy one),
and every test that rendered a page compiled its templates again (Jinja's `compile`, 3.4 s of
a 55 s file under load). Both compile the same source each time:

- Werkzeug's builder depends only on the rule's text, its parsed parts, its defaults, its
  converters' classes and `append_unknown` (the rule object is passed in at each call), so one
  compiled function serves every app of the run;
- Jinja's own bytecode cache, shared by the apps: its key is the template's name and a
  checksum of its source, so a changed template is compiled again.

tests/test_compiled_once.py checks that every endpoint builds the same URL with and without the
cache, and that a page renders the same. Production builds its app once per worker and does not
use this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.routing.rules import Rule

_compile = Rule._compile_builder
_builders: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}
_jinja_options = Flask.jinja_options


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


class SharedBytecode(BytecodeCache):
    """Jinja's bytecode cache in memory, for every app of the run."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = SharedBytecode()


def install() -> None:
    Rule._compile_builder = _cached  # type: ignore[method-assign]
    Flask.jinja_options = {**_jinja_options, "bytecode_cache": TEMPLATES}


def uninstall() -> None:
    Rule._compile_builder = _compile  # type: ignore[method-assign]
    Flask.jinja_options = _jinja_options
