"""Whatever an officer pastes, the validator answers with problems, never an exception."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.content.validate import validate_many, validate_text

VALID = Path(__file__).parent / "content" / "valid"
JUNK = [
    ":",
    "- ",
    "  ",
    "\t",
    "[",
    "]",
    "{",
    "}",
    "&a",
    "*a",
    "!!str",
    '"',
    "'",
    "#",
    "|",
    ">",
    "null",
    "",
    "0",
    "-1",
    "99999999999999999999",
    "Đ",
    "\u0301",
    "%",
    "\x00",
    "true",
]


@pytest.mark.parametrize("name", ["bank-full.yaml", "contest-full.yaml", "survey-full.yaml"])
def test_mutated_documents_never_raise(name):
    rng = random.Random(name)  # the same mutations on every run
    bank = (VALID / "bank-full.yaml").read_text(encoding="utf-8")
    lines = (VALID / name).read_text(encoding="utf-8").splitlines()
    for _ in range(400):
        mutated = list(lines)
        for _edit in range(rng.randint(1, 3)):
            index = rng.randrange(len(mutated))
            action = rng.random()
            if action < 0.3:
                del mutated[index]
            elif action < 0.6:
                line = mutated[index]
                cut = rng.randrange(len(line) + 1)
                mutated[index] = line[:cut] + rng.choice(JUNK) + line[cut:]
            elif action < 0.8:
                mutated.insert(index, mutated[rng.randrange(len(mutated))])
            else:
                mutated[index] = mutated[index].replace(":", "", 1)
        text = "\n".join(mutated)
        result = validate_many([("bank.yaml", bank), ("x.yaml", text)])[1]
        for problem in result.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert problem.text("vi") and problem.text("en")


@pytest.mark.parametrize(
    "raw", [b"", b"\xff\xfe\x00", b"---\n...\n", b"- 1\n- 2\n", b"42", b"bank:\n", b"{}"]
)
def test_odd_files_get_a_message(raw):
    result = validate_text(raw, "x.yaml")
    assert not result.ok and result.problems
