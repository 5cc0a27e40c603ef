"""One entry point for every content file: text in, a validated model or every problem out."""

from __future__ import annotations

import difflib
import functools
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from app.content import checks
from app.content.messages import N_, Problem
from app.content.reader import Located, Unreadable, read_yaml
from app.content.schemas import KINDS, Bank, Strict


@dataclass
class Result:
    """What validating one file found: its kind and id when readable, the model when valid."""

    filename: str
    kind: str | None = None
    slug: str | None = None
    model: Any = None
    problems: list[Problem] = field(default_factory=list)
    located: Located | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.model is not None

    def messages(self, lang: str = "vi") -> list[str]:
        return [p.format(self.filename, lang) for p in self.problems]


BankLookup = Callable[[str], "checks.BankInfo | None"]


def validate_text(raw: bytes | str, filename: str, banks: BankLookup | None = None) -> Result:
    """Validate one document. `banks` finds the banks a contest draws from (other files being
    validated together, then the database)."""
    return _validate(_read(raw, filename), banks)


def _read(raw: bytes | str, filename: str) -> Result:
    """Parse and find the kind; a Result with the located tree, or with the reason it failed."""
    result = Result(filename)
    try:
        located = read_yaml(raw)
    except Unreadable as unreadable:
        result.problems = [unreadable.problem]
        return result
    result.located = located
    data = located.data
    kinds = [kind for kind in KINDS if isinstance(data, dict) and kind in data]
    if len(kinds) == 1:
        result.kind = kinds[0]
        slug = data.get(result.kind)
        result.slug = slug if isinstance(slug, str) else None
    return result


def _validate(result: Result, banks: BankLookup | None) -> Result:
    located = result.located
    if located is None:
        return result
    problems = list(located.problems)
    if result.kind is None:
        problems.append(
            Problem(
                1,
                1,
                N_(
                    'The file must start with "bank:", "contest:" or "survey:" (exactly one of them).'
                ),
            )
        )
        result.problems = problems
        return result
    model_class = KINDS[result.kind]
    try:
        result.model = model_class.model_validate(located.data)
    except ValidationError as error:
        problems += _pydantic_problems(error, model_class, located)
    problems += checks.check(result.kind, located, banks or (lambda _slug: None))
    result.problems = _at_most(_distinct(problems))
    if result.problems:
        result.model = None
    return result


MAX_PROBLEMS = 200


MORE = N_(
    "%(n)d more problems from this line on are not listed: fix the ones above, then check again."
)


def problem_count(problems: list[Problem]) -> int:
    """How many problems the file has, those past the listed ones included."""
    return sum(p.params.get("n", 1) if p.message == MORE else 1 for p in problems)


def _at_most(problems: list[Problem], limit: int = MAX_PROBLEMS) -> list[Problem]:
    """The first `limit` problems in file order, and one line saying how many more there are:
    an officer fixes from the top, and a file with thousands of slips stays a readable page."""
    if len(problems) <= limit:
        return problems
    rest = problems[limit]
    more = Problem(rest.line, rest.column, MORE, {"n": len(problems) - limit})
    return [*problems[:limit], more]


def _distinct(problems: list[Problem]) -> list[Problem]:
    """In file order, each problem once (two problems differ by their parameters too)."""
    seen: dict[tuple[Any, ...], Problem] = {}
    for problem in problems:
        key = (problem.line, problem.column, problem.message, repr(sorted(problem.params.items())))
        seen.setdefault(key, problem)
    return [seen[key] for key in sorted(seen)]


def validate_many(
    files: Iterable[tuple[str, bytes | str]], database_banks: BankLookup | None = None
) -> list[Result]:
    """Validate files together, banks first whatever the order given, so that contests find
    the banks of the same batch."""
    read = [_read(raw, filename) for filename, raw in files]
    batch: dict[str, checks.BankInfo] = {}

    def lookup(slug: str) -> checks.BankInfo | None:
        if slug in batch:
            return batch[slug]
        return database_banks(slug) if database_banks else None

    for result in sorted(read, key=lambda r: 0 if r.kind == "bank" else 1):
        _validate(result, lookup)
        if result.ok and isinstance(result.model, Bank):
            batch[result.model.bank] = checks.bank_info(result.model)
    return read


# ------------------------------------------------------------------- pydantic errors -> problems

_TYPE_MESSAGES = {
    "string_type": N_("Expected text here."),
    "int_parsing": N_("Expected a whole number here, for example 15."),
    "int_type": N_("Expected a whole number here, for example 15."),
    "int_from_float": N_("Expected a whole number here, for example 15."),
    "float_parsing": N_("Expected a number here."),
    "float_type": N_("Expected a number here."),
    "bool_parsing": N_("Expected true or false here."),
    "bool_type": N_("Expected true or false here."),
    "list_type": N_('Expected a list here (one item per line, each starting with "- ").'),
    "dict_type": N_('Expected a block of "key: value" lines here.'),
    "model_type": N_('Expected a block of "key: value" lines here.'),
    "model_attributes_type": N_('Expected a block of "key: value" lines here.'),
    "string_pattern_mismatch": N_("This value is not in the expected form."),
}


def _pydantic_problems(
    error: ValidationError, root: type[Strict], located: Located
) -> list[Problem]:
    found: list[tuple[tuple[Any, ...], Problem]] = []
    for item in error.errors(include_url=False, include_input=True):
        path = _data_path(item["loc"], located.data)
        found.append((path, _problem(item, path, root, located)))
    # A union reports one error per member; keep the most specific (deepest) ones: drop a
    # problem whose path is a proper prefix of another's (a set of prefixes: linear, not n²).
    above = {path[:depth] for path, _problem in found for depth in range(len(path))}
    return [problem for path, problem in found if path not in above]


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """pydantic's location without the names it adds for union members and validators."""
    path: list[Any] = []
    node = data
    for index, part in enumerate(loc):
        is_last = index == len(loc) - 1
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
        elif is_last and isinstance(node, dict) and isinstance(part, str):
            path.append(part)  # a missing or unknown key
        # else: a union member's name (e.g. "list[int]"), not part of the document
    return tuple(path)


def _problem(
    item: dict[str, Any], path: tuple[Any, ...], root: type[Strict], located: Located
) -> Problem:
    kind = item["type"]
    ctx = item.get("ctx") or {}
    value = item.get("input")
    if kind == "content":
        params = {k: v for k, v in ctx.items() if k != "msgid"}
        return Problem(*located.at(path), ctx["msgid"], params)
    if kind == "missing":
        return Problem(*located.at(path[:-1]), N_('"%(key)s" is required here.'), {"key": path[-1]})
    if kind == "extra_forbidden":
        key = str(path[-1])
        allowed = _allowed_keys(root, tuple(p for p in item["loc"][:-1] if not isinstance(p, int)))
        close = _close_matches(key, allowed)
        if close:
            return Problem(
                *located.at(path, key=True),
                N_('Unknown key "%(key)s": did you mean "%(suggestion)s"?'),
                {"key": key, "suggestion": close[0]},
            )
        return Problem(
            *located.at(path, key=True),
            N_('Unknown key "%(key)s". Allowed here: %(allowed)s.'),
            {"key": key, "allowed": ", ".join(allowed)},
        )
    if kind == "literal_error":
        return Problem(
            *located.at(path),
            N_('"%(value)s" is not allowed here: use %(expected)s.'),
            {
                "value": value,
                "expected": str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", "),
            },
        )
    if kind in {"too_short", "too_long"}:
        if kind == "too_short":
            return Problem(
                *located.at(path),
                N_("At least %(n)s items are needed here."),
                {"n": ctx.get("min_length")},
            )
        return Problem(
            *located.at(path),
            N_("At most %(n)s items are allowed here."),
            {"n": ctx.get("max_length")},
        )
    if kind == "string_too_short":
        return Problem(*located.at(path), N_("This text must not be empty."))
    if kind == "string_too_long":
        return Problem(
            *located.at(path),
            N_("This text is too long (at most %(n)s characters)."),
            {"n": ctx.get("max_length")},
        )
    if kind in {"greater_than_equal", "greater_than"}:
        return Problem(
            *located.at(path),
            N_("The value must be at least %(n)s."),
            {"n": ctx.get("ge", ctx.get("gt"))},
        )
    if kind in {"less_than_equal", "less_than"}:
        return Problem(
            *located.at(path),
            N_("The value must be at most %(n)s."),
            {"n": ctx.get("le", ctx.get("lt"))},
        )
    if kind == "string_type" and isinstance(value, dict):
        return Problem(
            *located.at(path),
            N_(
                'A colon (:) inside this text makes it read as "key: value": put the whole text in double quotes ("…").'
            ),
        )
    message = _TYPE_MESSAGES.get(kind, N_("This value is not valid here."))
    return Problem(*located.at(path), message)


@functools.lru_cache(maxsize=1024)
def _close_matches(key: str, allowed: tuple[str, ...]) -> list[str]:
    """The allowed key closest to a misspelt one (the same slip repeats across a file)."""
    return difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)


@functools.lru_cache(maxsize=256)
def _allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[str, ...]:
    """The keys the model at `loc` (names only) accepts, for suggesting the closest to a
    misspelt one."""
    model: Any = root
    for part in loc:
        if model is None:
            continue
        info = model.model_fields.get(part)
        model = _model_in(info.annotation) if info else None
    return tuple(model.model_fields) if model else ()


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
