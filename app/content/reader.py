"""Read a YAML document safely into plain values, remembering where every node stands.

Only the YAML that officers need is accepted: mappings, sequences and scalars. Anchors,
aliases and tags are refused as the parser meets them (an alias bomb never expands), the
nesting depth is bounded, a duplicate key is an error at its second occurrence, and every
scalar stays the text that was written (`1.339` is "1.339", `yes` is "yes"), NFC-normalised
and trimmed. Nothing here can run code: it reads parser events, it never constructs objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from app.content.messages import N_, Problem
from app.text import nfc

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32
_NULLS = {"", "~", "null", "Null", "NULL"}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path = tuple[str | int, ...]


class Unreadable(Exception):
    """The document cannot be read at all; `problem` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class Located:
    """The document's values, plus the position of each value and of each mapping key."""

    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def at(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Line and column for `path`: the key itself when `key`, else its value; falls back
        to the nearest enclosing node that exists."""
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))


def too_large() -> Problem:
    return Problem(
        1, 1, N_("The file is larger than %(limit)s MiB."), {"limit": MAX_BYTES // 2**20}
    )


def _position(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


_SYNTAX_HINTS = {
    "mapping values are not allowed": N_(
        "A colon (:) is not allowed here. If the text itself contains a colon, put the whole "
        'text in double quotes ("…").'
    ),
    "found character '\\t' that cannot start any token": N_(
        "A tab character: indent with spaces only."
    ),
    "found character that cannot start any token": N_(
        "This character cannot start a value (for example @ or `): put the text in double "
        'quotes ("…").'
    ),
    "could not find expected ':'": N_(
        'Expected "key: value" here; check the colon and indentation.'
    ),
    "did not find expected key": N_(
        "The indentation is off: items of one list or mapping must start in the same column."
    ),
    "did not find expected '-' indicator": N_(
        'The indentation is off: every item of this list must start with "- " in the same column.'
    ),
    "found unexpected end of stream": N_(
        "The file ends in the middle of a value (a quote left open?)."
    ),
}


MISSING_COLON = N_('A colon (:) is missing after "%(key)s": write "%(key)s: …".')
NO_DASH = N_(
    'This line is an item of the list but does not start with "- ": add "- " at the start of '
    "the line, like the items above."
)
UNCLOSED_QUOTE = N_(
    "The quote %(quote)s opened here is not closed: add %(quote)s at the end of the text, on "
    "this same line."
)
TEXT_AFTER_QUOTE = N_(
    "The text goes on after the closing quote %(quote)s. To write quotes inside a text, put "
    "the whole text in the other kind of quotes: '… \"4 xin\" …' or \"… '4 xin' …\"."
)
_AFTER_A_TOKEN = (
    "mapping values are not allowed",
    "did not find expected key",
    "did not find expected '-' indicator",
    "did not find expected ',' or ']'",
    "did not find expected ',' or '}'",
    "expected <block end>",
)


def _syntax_problem(
    error: yaml.MarkedYAMLError, text: str, last: tuple[Any, bool] | None = None
) -> Problem:
    """The problem at the line where the slip was made, not where the parser noticed it: a
    parser's mark is usually the token AFTER the mistake (the next line for a missing colon).
    `last` is the last scalar read before the error, and whether it was a mapping's value."""
    mark = error.problem_mark or error.context_mark
    line, column = _position(mark) if mark else (1, 1)
    problem = (error.problem or "").strip()
    context = (error.context or "").strip()
    start = error.context_mark
    if mark is not None and text[mark.index : mark.index + 1] == "\t":
        problem = "found character '\\t' that cannot start any token"
    elif start is not None and problem.startswith("could not find expected ':'"):
        # "while scanning a simple key": the key's own line, which has no colon.
        return _missing_colon(text, start.index, start.line, start.column)
    elif start is not None and context == "while scanning a quoted scalar":
        return Problem(*_position(start), UNCLOSED_QUOTE, {"quote": text[start.index]})
    elif mark is not None and last is not None and problem.startswith(_AFTER_A_TOKEN):
        scalar, was_value = last  # the last value read before the error
        if scalar.end_mark.index <= mark.index:
            if scalar.style in ('"', "'") and scalar.end_mark.line == mark.line:
                quote = {"quote": scalar.style}
                if scalar.start_mark.line < mark.line:  # the text ran on to a later quote
                    return Problem(*_position(scalar.start_mark), UNCLOSED_QUOTE, quote)
                return Problem(line, column, TEXT_AFTER_QUOTE, quote)
            if (
                scalar.implicit[0]  # plain, not quoted
                and scalar.start_mark.line < mark.line
                and problem.startswith("mapping values")
                and not was_value
            ):  # "- id q1" then "  text: …": one text from "id" to the colon below
                first = scalar.start_mark
                return _missing_colon(text, first.index, first.line, first.column)
    if problem.startswith("did not find expected '-' indicator") and mark is not None:
        at = text[mark.index - mark.column :].split("\n", 1)[0].lstrip(" ")
        if not at.startswith("-"):  # an item written at the dashes' column, without its "- "
            return Problem(line, column, NO_DASH)
    for english, hint in _SYNTAX_HINTS.items():
        if problem.startswith(english):
            return Problem(line, column, hint)
    return Problem(line, column, N_("YAML syntax error: %(detail)s"), {"detail": problem})


def _missing_colon(text: str, index: int, line: int, column: int) -> Problem:
    """A line whose key has no colon; or, when the lines above at its indent are list items,
    an item that lacks its "- "."""
    lines = text.splitlines()
    for above in reversed(lines[:line]):
        stripped = above.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(above) - len(stripped)
        if indent < column:
            break
        if indent == column:
            if stripped == "-" or stripped.startswith("- "):
                return Problem(line + 1, column + 1, NO_DASH)
            break
    key = text[index:].split("\n", 1)[0].split()[0] if text[index:].strip() else ""
    key = key.rstrip("\r")
    return Problem(line + 1, column + 1 + len(key), MISSING_COLON, {"key": key})


def read_yaml(raw: bytes | str) -> Located:
    """Parse `raw` into a Located tree; raise Unreadable when nothing sensible can be read."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(data) > MAX_BYTES:
        raise Unreadable(too_large())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Unreadable(
            Problem(1, 1, N_("The file is not UTF-8 text (byte %(at)d)."), {"at": error.start})
        ) from None
    located = Located(data=None)
    # One stack entry per open collection: [container, path, pending key or None].
    stack: list[list[Any]] = []
    documents = 0
    last: tuple[Any, bool] | None = None  # the last scalar read; a mapping's value or not
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise Unreadable(
                        Problem(
                            *_position(event.start_mark),
                            N_("Only one document per file (remove the second ---)."),
                        )
                    )
                continue
            if isinstance(event, yaml.AliasEvent):
                raise Unreadable(
                    Problem(
                        *_position(event.start_mark),
                        N_("Aliases (*name) are not allowed: write the value out."),
                    )
                )
            if isinstance(
                event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
            ):
                if event.anchor is not None:
                    raise Unreadable(
                        Problem(
                            *_position(event.start_mark),
                            N_("Anchors (&name) are not allowed: write the value out."),
                        )
                    )
                if event.tag is not None and not (
                    isinstance(event, yaml.ScalarEvent) and event.tag == "!" and event.implicit[1]
                ):
                    raise Unreadable(
                        Problem(
                            *_position(event.start_mark),
                            N_("Tags (%(tag)s) are not allowed."),
                            {"tag": _short_tag(event.tag)},
                        )
                    )
            if isinstance(event, yaml.ScalarEvent):
                last = (event, bool(stack) and stack[-1][2] is not None)
                value = nfc(event.value)
                if event.implicit[0] and value in _NULLS:  # plain, not quoted
                    value = None
                _place(located, stack, value, event)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise Unreadable(
                        Problem(
                            *_position(event.start_mark),
                            N_("Nested too deeply (more than %(limit)d levels)."),
                            {"limit": MAX_DEPTH},
                        )
                    )
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                path = _place(located, stack, container, event)
                if path is not None:
                    stack.append([container, path, None])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
    except yaml.MarkedYAMLError as error:
        raise Unreadable(_syntax_problem(error, text, last)) from None
    except yaml.YAMLError as error:  # pragma: no cover - every parser error carries a mark
        raise Unreadable(
            Problem(1, 1, N_("YAML syntax error: %(detail)s"), {"detail": str(error)})
        ) from None
    return located


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


def _place(located: Located, stack: list[list[Any]], value: Any, event: Any) -> Path | None:
    """Put a value where the parser is: the document root, a list item, a key, or a value.
    Returns the value's path, or None when the value was a mapping key (or a dropped duplicate)."""
    where = _position(event.start_mark)
    if not stack:
        located.data = value
        located.values[()] = where
        return ()
    parent = stack[-1]
    container, path = parent[0], parent[1]
    if isinstance(container, list):
        child = (*path, len(container))
        container.append(value)
        located.values[child] = where
        return child
    if parent[2] is None:  # a key
        if not isinstance(value, str):
            if value is None:
                value = ""
            else:
                raise Unreadable(
                    Problem(*where, N_("A key must be a plain word, not a list or mapping."))
                )
        child = (*path, value)
        if value in container or child in located.keys:
            located.problems.append(
                Problem(
                    *where, N_('The key "%(key)s" is written twice in this block.'), {"key": value}
                )
            )
            parent[2] = _Duplicate()
            return None
        located.keys[child] = where
        parent[2] = value
        return None
    key = parent[2]
    parent[2] = None
    if isinstance(key, _Duplicate):
        # The first occurrence is kept; this value (and anything inside it) is read and dropped.
        return (*path, key)
    child = (*path, key)
    container[key] = value
    located.values[child] = where
    return child


class _Duplicate(str):
    """Marker for the value of a duplicated key, which is dropped (a str so paths stay typed)."""

    def __new__(cls) -> _Duplicate:
        return super().__new__(cls, "\x00duplicate")

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other
