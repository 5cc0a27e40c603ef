"""Every kind of mistake in a content file comes back with its line, column and message.

The contract (shared/specs/question-bank.md and survey.md): all mistakes of a file at once,
never a traceback; an unknown key at the key, a wrong value at the value, a missing field at
the start of the mapping that lacks it, a duplicate at its second occurrence, a date out of
order at `closes`. Lines and columns are 1-based.

Each test builds a small document that is valid but for the one mistake under test, so
`only()` can insist on exactly one problem. A `# <- L:C` comment marks where it is expected.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from textwrap import dedent

import pytest

from app.content.checks import BankInfo
from app.content.validate import BankLookup, Result, validate_many, validate_text

VALID = Path(__file__).resolve().parent / "content" / "valid"

Found = tuple[int, int, str]

# The bank the contests below draw from, as the database (or a batch) would describe it:
# q1 easy/luat, q2 hard/luat, q3 medium without a topic. BANK_FILE is the same bank as YAML.
BANK_INFO = BankInfo(
    topics=frozenset({"luat"}),
    questions=(("easy", "luat"), ("hard", "luat"), ("medium", None)),
)
BANK_FILE = """\
bank: ngan-hang
title: Ngân hàng
topics:
  - id: luat
    title: Luật
questions:
  - id: q1
    type: true_false
    text: Câu một?
    answer: true
    difficulty: easy
    topic: luat
  - id: q2
    type: true_false
    text: Câu hai?
    answer: false
    difficulty: hard
    topic: luat
  - id: q3
    type: true_false
    text: Câu ba?
    answer: true
"""


def known_bank(slug: str) -> BankInfo | None:
    """A bank lookup that knows one bank, "ngan-hang"."""
    return BANK_INFO if slug == "ngan-hang" else None


def validate(text: str | bytes, banks: BankLookup | None = known_bank) -> Result:
    raw = dedent(text) if isinstance(text, str) else text
    return validate_text(raw, "f.yaml", banks=banks)


def problems(text: str | bytes, banks: BankLookup | None = known_bank) -> list[Found]:
    """(line, column, English message) of every problem, in the order they are reported."""
    return [(p.line, p.column, p.text("en")) for p in validate(text, banks).problems]


def only(text: str | bytes, banks: BankLookup | None = known_bank) -> Found:
    """The one problem of a document that has exactly one mistake."""
    found = problems(text, banks)
    assert len(found) == 1, found
    return found[0]


def assert_only(text: str, line: int, column: int, *parts: str) -> None:
    """The document has exactly one problem, at (line, column), whose text has every part."""
    found_line, found_column, message = only(text)
    assert (found_line, found_column) == (line, column), message
    for part in parts:
        assert part in message


# ------------------------------------------------------------------------ 1. unknown keys


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        pytest.param(
            """\
            bank: ngan-hang
            title: Ngân hàng
            topics:
              - id: luat
                title: Luật
            questions:
              - id: q1
                text: Câu một?
                choices: [Một, Hai]
                answer: A
                topik: luat  # <- 11:5
            """,
            11,
            5,
            'Unknown key "topik": did you mean "topic"?',
            id="bank-question",
        ),
        pytest.param(
            """\
            contest: cuoc-thi
            title: Cuộc thi
            rounds:
              - id: tuan-1
                opens: 2026-12-01 08:00
                closes: 2026-12-07 20:00
                time_limit: 15m
                atempts: 2  # <- 8:5
                draw:
                  - {bank: ngan-hang, count: 2}
            """,
            8,
            5,
            'Unknown key "atempts": did you mean "attempts"?',
            id="contest-round",
        ),
    ],
)
def test_unknown_key_suggests_the_closest_valid_key(
    text: str, line: int, column: int, message: str
) -> None:
    assert only(text) == (line, column, message)


def test_unknown_key_without_close_match_lists_the_allowed_keys() -> None:
    text = """\
        bank: ngan-hang
        title: Ngân hàng
        zzz: 1  # <- 3:1
        questions:
          - id: q1
            text: Câu một?
            choices: [Một, Hai]
            answer: A
        """
    assert only(text) == (
        3,
        1,
        'Unknown key "zzz". Allowed here: bank, title, description, language, topics, '
        "sources, questions.",
    )


# --------------------------------------------------------------------- 2. duplicate keys


@pytest.mark.parametrize(
    ("text", "line", "column", "key"),
    [
        pytest.param(
            """\
            bank: ngan-hang
            title: Ngân hàng
            questions:
              - id: q1
                text: Câu một?
                choices: [Một, Hai]
                answer: A
                text: Câu một, lần nữa?  # <- 8:5
            """,
            8,
            5,
            "text",
            id="block-mapping",
        ),
        pytest.param(
            """\
            contest: cuoc-thi
            title: Cuộc thi
            rounds:
              - id: tuan-1
                opens: 2026-12-01 08:00
                closes: 2026-12-07 20:00
                time_limit: 15m
                draw:
                  - {bank: ngan-hang, count: 2, count: 3}  # <- 9:37
            """,
            9,
            37,
            "count",
            id="flow-mapping",
        ),
    ],
)
def test_duplicate_key_is_reported_at_its_second_occurrence(
    text: str, line: int, column: int, key: str
) -> None:
    assert only(text) == (line, column, f'The key "{key}" is written twice in this block.')


# ------------------------------------------------------------------------ 3. wrong types


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        pytest.param(
            """\
            contest: cuoc-thi
            title: Cuộc thi
            rounds:
              - id: tuan-1
                opens: 2026-12-01 08:00
                closes: 2026-12-07 20:00
                time_limit: 15m
                draw:
                  - {bank: ngan-hang, count: many}  # <- 9:34
            """,
            9,
            34,
            "Expected a whole number here",
            id="count-many",
        ),
        pytest.param(
            """\
            contest: cuoc-thi
            title: Cuộc thi
            rounds:
              - id: tuan-1
                opens: 2026-12-01 08:00
                closes: 2026-12-07 20:00
                time_limit: 15m
                attempts: [1]  # <- 8:15
                draw:
                  - {bank: ngan-hang, count: 2}
            """,
            8,
            15,
            "Expected a whole number here",
            id="attempts-list",
        ),
        pytest.param(
            """\
            survey: khao-sat
            title: Khảo sát
            anonymous: maybe  # <- 3:12
            opens: 2026-12-01 00:00
            closes: 2026-12-31 23:59
            pages:
              - title: Trang một
                questions:
                  - id: y-kien
                    type: text
                    text: Ý kiến?
            """,
            3,
            12,
            "Expected true or false here.",
            id="anonymous-maybe",
        ),
        pytest.param(
            """\
            bank: ngan-hang
            title: Ngân hàng
            questions: hello  # <- 3:12
            """,
            3,
            12,
            "Expected a list here",
            id="questions-hello",
        ),
    ],
)
def test_wrong_type_is_reported_at_the_value(
    text: str, line: int, column: int, message: str
) -> None:
    assert_only(text, line, column, message)


# ---------------------------------------------------------------- 4. missing required fields


@pytest.mark.parametrize(
    ("text", "line", "column", "key"),
    [
        pytest.param(
            """\
            bank: ngan-hang
            title: Ngân hàng
            questions:
              - id: q1  # <- 4:5, the question's mapping starts at "id"
                choices: [Một, Hai]
                answer: A
            """,
            4,
            5,
            "text",
            id="bank-question-text",
        ),
        pytest.param(
            """\
            bank: ngan-hang  # <- 1:1
            questions:
              - id: q1
                text: Câu một?
                choices: [Một, Hai]
                answer: A
            """,
            1,
            1,
            "title",
            id="bank-title",
        ),
        pytest.param(
            """\
            contest: cuoc-thi
            title: Cuộc thi
            rounds:
              - id: tuan-1  # <- 4:5
                opens: 2026-12-01 08:00
                closes: 2026-12-07 20:00
                draw:
                  - {bank: ngan-hang, count: 2}
            """,
            4,
            5,
            "time_limit",
            id="round-time_limit",
        ),
        pytest.param(
            """\
            survey: khao-sat
            title: Khảo sát
            anonymous: true
            opens: 2026-12-01 00:00
            closes: 2026-12-31 23:59
            pages:
              - title: Trang một
                questions:
                  - id: y-kien  # <- 9:9
                    type: text
            """,
            9,
            9,
            "text",
            id="survey-question-text",
        ),
    ],
)
def test_missing_required_field_is_reported_at_the_start_of_its_mapping(
    text: str, line: int, column: int, key: str
) -> None:
    assert only(text) == (line, column, f'"{key}" is required here.')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            """\
            bank: ngan-hang
            title: Ngân hàng
            questions:
              - choices: [Một, Hai]  # <- 4:5, lacks both id and text
                answer: A
            """,
            [(4, 5, '"id" is required here.'), (4, 5, '"text" is required here.')],
            id="question-without-id-and-text",
        ),
        pytest.param(
            """\
            bank: ngan-hang  # <- 1:1, lacks both title and questions
            description: Chưa viết xong.
            """,
            [(1, 1, '"questions" is required here.'), (1, 1, '"title" is required here.')],
            id="bank-without-title-and-questions",
        ),
    ],
)
def test_every_missing_field_of_one_mapping_is_reported(text: str, expected: list[Found]) -> None:
    assert sorted(problems(text)) == expected


# ------------------------------------------------------------------------- 5. id patterns


@pytest.mark.parametrize("slug", ["Ngân-hàng", "NganHang"])
def test_bank_slug_with_capitals_or_accents_is_refused(slug: str) -> None:
    text = f"""\
        bank: {slug}  # <- 1:7
        title: Ngân hàng
        questions:
          - id: q1
            text: Câu một?
            choices: [Một, Hai]
            answer: A
        """
    assert_only(text, 1, 7, f'The id "{slug}" is not valid', "lower-case letters")


def test_question_id_with_a_space_is_refused() -> None:
    text = """\
        bank: ngan-hang
        title: Ngân hàng
        questions:
          - id: q 1  # <- 4:9
            text: Câu một?
            choices: [Một, Hai]
            answer: A
        """
    assert_only(text, 4, 9, 'The id "q 1" is not valid', "1 to 32 letters")


# ---------------------------------------------------------- 6. answer past the last choice


@pytest.mark.parametrize(
    ("answer", "column", "letter"),
    [
        pytest.param("C", 13, "C", id="single-letter"),
        pytest.param("[A, E]", 17, "E", id="item-of-a-list"),
    ],
)
def test_answer_letter_past_the_last_choice(answer: str, column: int, letter: str) -> None:
    text = f"""\
        bank: ngan-hang
        title: Ngân hàng
        questions:
          - id: q1
            text: Câu một?
            choices: [Một, Hai]
            answer: {answer}  # <- 7:{column}
        """
    assert only(text) == (
        7,
        column,
        f'The answer "{letter}" does not exist: the question has only 2 choices (A–B).',
    )


# -------------------------------------------------------------- 7. duplicate question ids


def test_duplicate_question_id_in_a_bank_is_reported_at_the_second() -> None:
    text = """\
        bank: ngan-hang
        title: Ngân hàng
        questions:
          - id: q1
            type: true_false
            text: Câu một?
            answer: true
          - id: q1  # <- 8:9
            type: true_false
            text: Câu hai?
            answer: false
        """
    assert only(text) == (8, 9, 'The question id "q1" is used twice in this bank.')


def test_duplicate_question_id_across_survey_pages_is_reported_at_the_second() -> None:
    text = """\
        survey: khao-sat
        title: Khảo sát
        anonymous: true
        opens: 2026-12-01 00:00
        closes: 2026-12-31 23:59
        pages:
          - title: Trang một
            questions:
              - id: y-kien
                type: text
                text: Ý kiến?
          - title: Trang hai
            questions:
              - id: y-kien  # <- 14:13
                type: text
                text: Ý kiến khác?
        """
    assert only(text) == (14, 13, 'The question id "y-kien" is used twice in this survey.')


# ------------------------------------------------------------ 8. duplicate choices (NFC)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("Hà Nội", unicodedata.normalize("NFD", "Hà Nội"), id="nfd-accents"),
        pytest.param("Thành phố", "Thành  phố", id="double-inner-space"),
        pytest.param("Có", "   Có   ", id="outer-spaces"),
    ],
)
def test_choices_equal_after_normalisation_are_duplicates(first: str, second: str) -> None:
    assert first != second
    text = """\
        bank: ngan-hang
        title: Ngân hàng
        questions:
          - id: q1
            text: Câu một?
            choices:
              - "FIRST"
              - "SECOND"  # <- 8:9
              - Khác
            answer: A
        """
    text = dedent(text).replace("FIRST", first).replace("SECOND", second)
    line, column, message = only(text)
    assert (line, column) == (8, 9)
    assert message.startswith('The choice "') and message.endswith('" is written twice.')


def test_duplicate_choices_in_a_survey_scale() -> None:
    text = """\
        survey: khao-sat
        title: Khảo sát
        anonymous: true
        opens: 2026-12-01 00:00
        closes: 2026-12-31 23:59
        scales:
          muc: [Ít, Vừa, "NFD"]  # <- 7:18
        pages:
          - title: Trang một
            questions:
              - id: diem
                type: scale
                scale: muc
                text: Điểm?
        """
    text = dedent(text).replace("NFD", unicodedata.normalize("NFD", "Vừa"))
    assert_only(text, 7, 18, "is written twice")


# ------------------------------------------------- 9. undeclared topic, source and scale


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("topic", 'The topic "khac" is not declared under "topics".'),
        ("source", 'The source "khac" is not declared under "sources".'),
    ],
)
def test_undeclared_topic_or_source(key: str, message: str) -> None:
    text = f"""\
        bank: ngan-hang
        title: Ngân hàng
        topics:
          - id: luat
            title: Luật
        sources:
          - id: luat-2022
            title: Luật Thực hiện dân chủ ở cơ sở năm 2022
        questions:
          - id: q1
            text: Câu một?
            choices: [Một, Hai]
            answer: A
            {key}: khac  # <- 14:{len(key) + 7}
        """
    assert only(text) == (14, len(key) + 7, message)


def test_undeclared_scale() -> None:
    text = """\
        survey: khao-sat
        title: Khảo sát
        anonymous: true
        opens: 2026-12-01 00:00
        closes: 2026-12-31 23:59
        scales:
          muc: [Ít, Vừa, Nhiều]
        pages:
          - title: Trang một
            questions:
              - id: diem
                type: scale
                scale: hai-long  # <- 13:16
                text: Điểm?
        """
    assert only(text) == (13, 16, 'The scale "hai-long" is not declared under "scales".')


# --------------------------------------------------------------- 10. contest's unknown bank


@pytest.mark.parametrize(
    ("draw", "line", "column"),
    [
        pytest.param("  - {bank: ngan-hang-khac, count: 2}", 9, 16, id="flow"),
        pytest.param("  - bank: ngan-hang-khac\n        count: 2", 9, 15, id="block"),
    ],
)
def test_contest_naming_an_unknown_bank_is_reported_at_the_bank_value(
    draw: str, line: int, column: int
) -> None:
    text = """\
        contest: cuoc-thi
        title: Cuộc thi
        rounds:
          - id: tuan-1
            opens: 2026-12-01 08:00
            closes: 2026-12-07 20:00
            time_limit: 15m
            draw:
            DRAW
        """
    text = dedent(text).replace("DRAW", draw)
    assert_only(text, line, column, 'The bank "ngan-hang-khac" is not known')


CONTEST_FILE = """\
contest: cuoc-thi
title: Cuộc thi
rounds:
  - id: tuan-1
    opens: 2026-12-01 08:00
    closes: 2026-12-07 20:00
    time_limit: 15m
    draw:
      - {bank: ngan-hang, count: 3}
"""


def _late_bank_key(bank: str) -> str:
    """The same bank with `bank:` written after a long description (key order is free)."""
    head, rest = bank.split("\n", 1)
    return f"description: {'Mô tả dài. ' * 500}\n{rest}{head}\n"


@pytest.mark.parametrize(
    "bank",
    [
        pytest.param(BANK_FILE, id="plain"),
        pytest.param(
            ("\ufeff" + BANK_FILE).encode(),  # as `flask content validate` reads it
            id="utf8-bom",
        ),
        pytest.param(
            _late_bank_key(BANK_FILE),
            id="bank-key-after-4096-chars",
        ),
    ],
)
def test_contest_finds_a_bank_of_the_same_batch_whatever_the_order(bank: str | bytes) -> None:
    results = validate_many([("cuoc-thi.yaml", CONTEST_FILE), ("ngan-hang.yaml", bank)])
    assert [(r.filename, r.ok) for r in results] == [
        ("cuoc-thi.yaml", True),
        ("ngan-hang.yaml", True),
    ], [r.messages("en") for r in results]


# ------------------------------------------------------------------------------ 11. show_if

SHOW_IF_SURVEY = """\
survey: khao-sat
title: Khảo sát
anonymous: true
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
scales:
  muc: [Một, Hai, Ba, Bốn, Năm]
pages:
  - title: Trang một
    questions:
      - id: diem
        type: scale
        scale: muc
        text: Điểm?
      - id: goi-y
        type: rating
        text: Gợi ý?
      - id: y-kien
        type: text
        text: Ý kiến?
      - id: cuoi
        type: single
        text: Cuối?
        choices: [Có, Không]
        show_if: SHOW_IF
      - id: sau
        type: single
        text: Sau?
        choices: [Có, Không]
"""
SHOW_IF_LINE = 25  # `show_if: {` puts the first key at column 19


def test_show_if_survey_is_valid_with_a_possible_condition() -> None:
    assert problems(SHOW_IF_SURVEY.replace("SHOW_IF", "{diem: [4, 5], goi-y: 10}")) == []


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        pytest.param(
            "{sau: 1}",
            'show_if names "sau", which does not come before this question: '
            "a question can only depend on earlier ones.",
            id="later-question",
        ),
        pytest.param(
            "{khong-co: 1}",
            'show_if names "khong-co", which is not a question of this survey.',
            id="unknown-question",
        ),
        pytest.param(
            "{y-kien: 1}",
            "show_if can only depend on single, multiple, scale or rating questions; "
            '"y-kien" is a text question.',
            id="text-question",
        ),
    ],
)
def test_show_if_naming_a_question_it_cannot_depend_on(condition: str, message: str) -> None:
    assert only(SHOW_IF_SURVEY.replace("SHOW_IF", condition)) == (SHOW_IF_LINE, 19, message)


@pytest.mark.parametrize(
    ("condition", "column", "message"),
    [
        pytest.param(
            "{diem: 6}",
            25,
            '6 is not a possible answer of "diem" (possible: 1 to 5).',
            id="6-on-a-5-point-scale",
        ),
        pytest.param(
            "{goi-y: [10, 11]}",
            31,
            '11 is not a possible answer of "goi-y" (possible: 0 to 10).',
            id="11-on-a-rating",
        ),
    ],
)
def test_show_if_value_that_is_not_a_possible_answer(
    condition: str, column: int, message: str
) -> None:
    assert only(SHOW_IF_SURVEY.replace("SHOW_IF", condition)) == (SHOW_IF_LINE, column, message)


# ------------------------------------------------ 12. keys that do not fit the question type


@pytest.mark.parametrize(
    ("question", "message"),
    [
        pytest.param(
            """\
            - id: cau
              type: text
              text: Câu hỏi?
              index: true  # <- 12:9
            """,
            '"index" cannot be used on a text question (only on: grid, scale).',
            id="index-on-text",
        ),
        pytest.param(
            """\
            - id: cau
              type: multiple
              text: Câu hỏi?
              demographic: true  # <- 12:9
              choices: [Có, Không]
            """,
            '"demographic" cannot be used on a multiple question (only on: single).',
            id="demographic-on-multiple",
        ),
        pytest.param(
            """\
            - id: cau
              type: scale
              text: Câu hỏi?
              other: true  # <- 12:9
              choices: [Ít, Nhiều]
            """,
            '"other" cannot be used on a scale question (only on: multiple, single).',
            id="other-on-scale",
        ),
    ],
)
def test_key_not_allowed_on_the_question_type_is_reported_at_the_key(
    question: str, message: str
) -> None:
    text = (
        dedent("""\
        survey: khao-sat
        title: Khảo sát
        anonymous: true
        opens: 2026-12-01 00:00
        closes: 2026-12-31 23:59
        pages:
          - title: Trang một
            questions:
        """)
        + "      "
        + dedent(question).replace("\n", "\n      ").rstrip()
        + "\n"
    )
    assert only(text) == (12, 9, message)


# ----------------------------------------------------------------- 13. dates out of order


def test_round_closing_before_it_opens_is_reported_at_closes() -> None:
    text = """\
        contest: cuoc-thi
        title: Cuộc thi
        rounds:
          - id: tuan-1
            opens: 2026-12-08 08:00
            closes: 2026-12-07 20:00  # <- 6:13
            time_limit: 15m
            draw:
              - {bank: ngan-hang, count: 2}
        """
    assert only(text) == (
        6,
        13,
        '"closes" (2026-12-07 20:00) must be later than "opens" (2026-12-08 08:00).',
    )


def test_survey_closing_before_it_opens_is_reported_at_closes() -> None:
    text = """\
        survey: khao-sat
        title: Khảo sát
        anonymous: true
        opens: 2026-12-01 00:00
        closes: 2026-11-30 23:59  # <- 5:9
        pages:
          - title: Trang một
            questions:
              - id: y-kien
                type: text
                text: Ý kiến?
        """
    assert only(text) == (
        5,
        9,
        '"closes" (2026-11-30 23:59) must be later than "opens" (2026-12-01 00:00).',
    )


# -------------------------------------------------- 14. draws larger than the bank allows

DRAW_CONTEST = """\
contest: cuoc-thi
title: Cuộc thi
rounds:
  - id: tuan-1
    opens: 2026-12-01 08:00
    closes: 2026-12-07 20:00
    time_limit: 15m
    draw:
      DRAW
"""
DRAWS = [
    pytest.param(
        "- {bank: ngan-hang, count: 4}",
        (9, 34),
        'This draw asks for 4 questions but the bank "ngan-hang" has only 3 that match.',
        id="no-filter",
    ),
    pytest.param(
        "- {bank: ngan-hang, count: 2, difficulty: hard}",
        (9, 34),
        'This draw asks for 2 questions but the bank "ngan-hang" has only 1 that match.',
        id="difficulty",
    ),
    pytest.param(
        "- {bank: ngan-hang, count: 3, topic: luat}",
        (9, 34),
        'This draw asks for 3 questions but the bank "ngan-hang" has only 2 that match.',
        id="topic",
    ),
    pytest.param(
        "- {bank: ngan-hang, count: 2, difficulty: [easy, medium], topic: luat}",
        (9, 34),
        'This draw asks for 2 questions but the bank "ngan-hang" has only 1 that match.',
        id="difficulty-and-topic",
    ),
    pytest.param(
        "- {bank: ngan-hang, count: 2}\n      - {bank: ngan-hang, count: 2}",
        (10, 34),
        'This round asks for 4 questions from the bank "ngan-hang" in all, but it has only 3.',
        id="two-draws-in-all",
    ),
]


@pytest.mark.parametrize(("draw", "where", "message"), DRAWS)
def test_draw_larger_than_the_bank_with_a_lookup(
    draw: str, where: tuple[int, int], message: str
) -> None:
    assert only(DRAW_CONTEST.replace("DRAW", draw)) == (*where, message)


@pytest.mark.parametrize(("draw", "where", "message"), DRAWS)
def test_draw_larger_than_a_bank_of_the_same_batch(
    draw: str, where: tuple[int, int], message: str
) -> None:
    contest, bank = validate_many(
        [("cuoc-thi.yaml", DRAW_CONTEST.replace("DRAW", draw)), ("ngan-hang.yaml", BANK_FILE)]
    )
    assert bank.ok, bank.messages("en")
    assert [(p.line, p.column, p.text("en")) for p in contest.problems] == [(*where, message)]


def test_bank_of_the_batch_matches_the_lookup_used_above() -> None:
    (bank,) = validate_many([("ngan-hang.yaml", BANK_FILE)])
    assert bank.ok
    assert not problems(DRAW_CONTEST.replace("DRAW", "- {bank: ngan-hang, count: 3}"))


# ------------------------------------- 15. true_false choices, YAML syntax, tabs


def test_true_false_with_choices_is_reported_at_the_choices_key() -> None:
    text = """\
        bank: ngan-hang
        title: Ngân hàng
        questions:
          - id: q1
            type: true_false
            text: Câu một?
            choices: [Đúng, Sai]  # <- 7:5
            answer: true
        """
    assert_only(text, 7, 5, "A true/false question has no choices")


def test_colon_in_unquoted_text_points_at_the_colon_and_suggests_double_quotes() -> None:
    text = """\
        bank: ngan-hang
        title: Ngân hàng
        questions:
          - id: q1
            text: Câu hỏi: một hay hai?
            choices: [Một, Hai]
            answer: A
        """
    line, column, message = only(text)
    assert (line, column) == (5, 18)  # the colon after "Câu hỏi"
    assert "colon" in message and "double quotes" in message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(
            "bank: ngan-hang\ntitle: Ngân hàng\nquestions:\n\t- id: q1\n", 4, id="list-item"
        ),
        pytest.param(
            "bank: ngan-hang\ntitle: Ngân hàng\nquestions:\n  - id: q1\n\ttext: Câu một?\n",
            5,
            id="mapping-key",
        ),
    ],
)
def test_tab_used_for_indentation(text: str, line: int) -> None:
    assert only(text) == (line, 1, "A tab character: indent with spaces only.")


# -------------------------------------------------------------- 16. not one of the kinds


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("title: Không rõ\nquestions: []\n", id="no-kind-key"),
        pytest.param("bank: ngan-hang\nsurvey: khao-sat\ntitle: Hai loại\n", id="two-kinds"),
        pytest.param("- bank: ngan-hang\n", id="a-list"),
        pytest.param("", id="empty"),
    ],
)
def test_file_that_is_not_one_of_the_three_kinds(text: str) -> None:
    result = validate(text)
    assert result.kind is None and not result.ok
    assert [(p.line, p.column, p.text("en")) for p in result.problems] == [
        (
            1,
            1,
            'The file must start with "bank:", "contest:" or "survey:" (exactly one of them).',
        )
    ]


# ------------------------------------------------------------ every problem, at once


FIVE_MISTAKES = """\
bank: ngan-hang
title: Ngân hàng
mau: do
questions:
  - id: q1
    text: Câu một?
    choices: [Một, Hai]
    answer: C
    topic: luat
  - id: q1
    type: true_false
    text: Câu hai?
    answer: true
    shuffle: maybe
"""


def test_all_problems_of_a_file_come_at_once_sorted_by_line() -> None:
    found = problems(FIVE_MISTAKES)
    assert [(line, column) for line, column, _message in found] == [
        (3, 1),  # unknown key
        (8, 13),  # answer past the last choice
        (9, 12),  # undeclared topic
        (10, 9),  # duplicate question id
        (14, 14),  # not a yes/no
    ]
    parts = ['Unknown key "mau"', 'answer "C"', 'topic "luat"', '"q1" is used twice', "true"]
    for (_line, _column, message), part in zip(found, parts, strict=True):
        assert part in message


# ------------------------------------------------------------- Vietnamese, raw echoes


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(FIVE_MISTAKES, id="bank"),
        pytest.param(
            """\
            contest: cuoc-thi
            title: Cuộc thi
            timezone: Sao/Hoa
            rounds:
              - id: tuan-1
                opens: 2026-12-08 08:00
                closes: 2026-02-30 20:00
                time_limit: mười phút
                attempts: nhiều
                draw:
                  - {bank: khong-co, count: 2}
                  - {bank: ngan-hang, count: 9, topic: khac}
              - id: tuan-1
            """,
            id="contest",
        ),
        pytest.param(
            """\
            survey: khao-sat
            title: Khảo sát
            anonymous: true
            opens: 2026-12-01 00:00
            closes: 2026-11-01 00:00
            series: hai-long
            audience: [99999999]
            pages:
              - title: Trang một
                questions:
                  - id: a
                    type: scale
                    scale: khong-co
                    text: A?
                  - id: a
                    type: multiple
                    text: B?
                    choices: [Có, Có]
                    max: 5
                    show_if: {x: 1}
            """,
            id="survey",
        ),
        pytest.param("bank: x\ntext: a: b\n", id="syntax-error"),
        pytest.param(
            SHOW_IF_SURVEY.replace("SHOW_IF", "{diem: 9}").replace(
                "        type: text\n", "        type: text\n        index: true\n"
            ),
            id="survey-misplaced-key-and-impossible-value",
        ),
    ],
)
def test_every_message_of_a_broken_file_renders_in_vietnamese(text: str) -> None:
    result = validate(text)
    assert len(result.problems) >= 1
    for problem in result.problems:
        vietnamese = problem.text("vi")
        assert isinstance(vietnamese, str) and vietnamese.strip()
        assert "%(" not in vietnamese
    assert all(line.startswith("f.yaml:") for line in result.messages("vi"))


@pytest.mark.parametrize(
    ("question", "echo"),
    [
        pytest.param(
            '- id: "<script>"\n    text: Câu?\n    choices: [Một, Hai]\n    answer: A',
            '"<script>"',
            id="question-id",
        ),
        pytest.param(
            "- id: q1\n    text: Câu?\n    choices: [<b>Có</b>, <b>Có</b>]\n    answer: A",
            '"<b>Có</b>"',
            id="choice",
        ),
    ],
)
def test_error_text_echoing_the_file_is_returned_raw(question: str, echo: str) -> None:
    text = f"bank: ngan-hang\ntitle: Ngân hàng\nquestions:\n  {question}\n"
    (_line, _column, message) = only(text)
    assert echo in message  # escaping is the pages' job, not the validator's
    assert "&lt;" not in message


# ---------------------------------------------------------------------- valid documents


def test_valid_files_validated_together_have_no_problems() -> None:
    names = ["contest-full.yaml", "survey-full.yaml", "bank-full.yaml"]  # contest before bank
    results = validate_many([(name, (VALID / name).read_bytes()) for name in names])
    assert {r.filename: r.problems for r in results} == {name: [] for name in names}
    assert [(r.kind, r.ok) for r in results] == [
        ("contest", True),
        ("survey", True),
        ("bank", True),
    ]


def test_scalars_keep_the_text_written() -> None:
    (result,) = validate_many([("bank-full.yaml", (VALID / "bank-full.yaml").read_bytes())])
    assert result.ok
    q003 = next(q for q in result.model.questions if q.id == "q003")
    assert q003.choices == ["1.339", "2.610", "01/7/2023", "Có", "yes", "on"]
    assert all(isinstance(choice, str) for choice in q003.choices)
    assert q003.text == "Những số nào viết đúng?\n(chọn tất cả các ý đúng)"


def test_a_colon_inside_a_listed_choice_suggests_double_quotes() -> None:
    text = """\
    bank: ngan-hang
    title: Ngân hàng
    questions:
      - id: q1
        text: Câu hỏi
        choices: [Ghi chú: một, Hai]
        answer: A
    """
    line, column, message = only(text)
    assert (line, column) == (6, 15)
    assert "double quotes" in message


# ------------------------------------------- 17. YAML slips: reported on their own line
#
# Issue 16: a missing colon on line 56 was reported at line 57 — PyYAML's problem mark is the
# token AFTER the mistake. Each common slip, made once in a real bank (bank-full.yaml), must be
# reported on the line where it was made, with a hint in Vietnamese.

FULL = (VALID / "bank-full.yaml").read_text(encoding="utf-8").splitlines(keepends=True)


def slip(line: int, old: str, new: str) -> str:
    """bank-full.yaml with `old` replaced by `new` (once) on `line`."""
    lines = list(FULL)
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "".join(lines)


def syntax(text: str) -> tuple[int, int, str]:
    """The one problem of an unreadable file, its hint in Vietnamese."""
    result = validate_text(text, "f.yaml")
    assert result.located is None and len(result.problems) == 1, result.problems
    problem = result.problems[0]
    return problem.line, problem.column, problem.text("vi")


@pytest.mark.parametrize(
    ("line", "key", "column"),
    [
        pytest.param(2, "title", 6, id="top-level-key"),
        pytest.param(19, "choices", 12, id="key-before-a-list"),
        pytest.param(24, "answer", 11, id="answer"),
        pytest.param(25, "explanation", 16, id="key-before-a-key"),
        pytest.param(30, "shuffle", 12, id="last-key-before-the-next-item"),
        pytest.param(48, "difficulty", 15, id="last-line-of-the-file"),
        pytest.param(17, "id", 7, id="first-key-of-a-list-item"),
    ],
)
def test_missing_colon_is_reported_on_its_own_line(line: int, key: str, column: int) -> None:
    found = syntax(slip(line, f"{key}:", key))
    assert found == (
        line,
        column,
        f'Thiếu dấu hai chấm (:) sau "{key}": hãy viết "{key}: …".',
    )


@pytest.mark.parametrize(
    ("line", "old", "new", "column"),
    [
        pytest.param(26, "    topic", "\ttopic", 1, id="tab-for-the-indent"),
        pytest.param(21, "      - ", "\t\t- ", 1, id="tabs-before-a-list-item"),
        pytest.param(26, "    topic", "  \ttopic", 3, id="tab-after-spaces"),
        pytest.param(6, "  - id", "\t- id", 1, id="tab-before-the-first-item"),
    ],
)
def test_tab_indent_is_reported_on_its_own_line(line: int, old: str, new: str, column: int) -> None:
    assert syntax(slip(line, old, new)) == (
        line,
        column,
        "Có ký tự tab: chỉ được thụt lề bằng dấu cách.",
    )


@pytest.mark.parametrize(
    ("line", "old", "new", "column"),
    [
        # The text runs on until the next " in the file (line 33): reported where it opened.
        pytest.param(18, "text: ", 'text: "', 11, id="double-quote-closed-much-later"),
        pytest.param(21, "- ", '- "', 9, id="double-quote-in-a-list-item"),
        # Nothing closes it before the end of the file.
        pytest.param(46, "text: ", 'text: "', 11, id="double-quote-never-closed"),
        pytest.param(25, "explanation: ", "explanation: '", 18, id="single-quote-never-closed"),
    ],
)
def test_unclosed_quote_is_reported_where_it_opens(
    line: int, old: str, new: str, column: int
) -> None:
    quote = new[-1]
    assert syntax(slip(line, old, new)) == (
        line,
        column,
        f"Dấu nháy {quote} mở ở đây chưa được đóng: thêm {quote} vào cuối nội dung, "
        "trên cùng dòng này.",
    )


def test_quotes_inside_a_quoted_text_are_explained() -> None:
    text = slip(33, 'text: Phương châm "4 xin"', 'text: "Phương châm "4 xin"')
    line, column, hint = syntax(text)
    assert (line, column) == (33, 25)  # just after the quote that ended the text
    assert hint.startswith('Nội dung vẫn tiếp tục sau dấu nháy " đóng')


@pytest.mark.parametrize(
    ("line", "old", "new", "column"),
    [
        pytest.param(21, "- ", "", 7, id="middle-choice"),
        pytest.param(23, "- ", "", 7, id="last-choice"),
        pytest.param(22, "- ", "-", 7, id="dash-without-a-space"),
        pytest.param(31, "  - id", "  id", 3, id="question-at-the-dash-column"),
    ],
)
def test_list_item_without_a_dash_is_reported_on_its_own_line(
    line: int, old: str, new: str, column: int
) -> None:
    assert syntax(slip(line, old, new)) == (
        line,
        column,
        'Dòng này là một mục của danh sách nhưng không bắt đầu bằng "- ": thêm "- " vào đầu '
        "dòng, như các mục ở trên.",
    )


def test_first_choice_without_a_dash_is_reported_on_its_line() -> None:
    """Valid YAML (the choices become one text), so the check of the value says it."""
    result = validate_text(slip(20, "- ", ""), "f.yaml")
    assert [(p.line, p.column) for p in result.problems] == [(20, 7)]
    assert '"- "' in result.problems[0].text("vi")


def test_a_colon_inside_a_text_that_runs_over_two_lines_keeps_its_hint() -> None:
    """A value that continues on the next line with a colon in it: the colon is the mistake
    (not a missing colon on the line above)."""
    text = slip(25, "\n", "\n      Ghi chú: khoá X\n")
    line, column, hint = syntax(text)
    assert (line, column) == (26, 14)
    assert "ngoặc kép" in hint
