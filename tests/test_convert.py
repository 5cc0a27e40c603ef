"""Aiken, GIFT and Word-style pastes become banks that validate; the rest is reported by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.content.convert import convert, detect, slugify, to_bank_yaml
from app.content.validate import validate_text

SAMPLES = Path(__file__).parent / "content" / "convert"


def converted(name: str, fmt: str | None = None):  # type: ignore[no-untyped-def]
    text = (SAMPLES / name).read_text(encoding="utf-8")
    result = convert(text, fmt or detect(text, name))
    bank = validate_text(to_bank_yaml(result, slugify(name), name), "out.yaml")
    assert bank.ok, bank.messages("en")
    return result, bank.model


def test_aiken():
    result, bank = converted("sample.aiken.txt")
    assert result.problems == []
    assert [q.answer for q in bank.questions] == [["B"], ["A"]]
    assert bank.questions[1].choices[0] == "Dân biết, dân bàn, dân làm, dân kiểm tra"


def test_gift_choice_multiple_and_true_false_convert_the_rest_is_reported_by_line():
    result, bank = converted("sample.gift")
    kinds = [(q.type, q.answer) for q in bank.questions]
    assert kinds == [
        ("choice", ["B"]),
        ("true_false", ["true"]),
        ("choice", ["A", "B"]),
        ("true_false", ["false"]),
    ]
    assert bank.questions[0].choices[1] == "Quyết định số 290-QĐ/TW"  # feedback (#…) dropped
    assert bank.questions[3].text == "Tỉ lệ 1:2 có đúng không?"  # \: unescaped
    reported = [(p.line, p.text("en").split(" (")[1].split(")")[0]) for p in result.problems]
    assert reported == [(18, "matching"), (23, "numerical"), (25, "essay"), (27, "short answer")]


def test_word_style_paste():
    result, bank = converted("sample.word.txt")
    first, second = bank.questions
    assert first.text == "Quy chế công tác dân vận được ban hành kèm theo văn bản nào?"
    assert first.answer == ["B"] and first.explanation == "Quyết định số 290-QĐ/TW ngày 25/02/2010."
    assert second.answer == ["A", "B"] and second.choices == ["Dân biết", "Dân bàn", "Dân sợ"]
    assert [(p.line, p.text("en")) for p in result.problems] == [
        (18, 'Question 3 has no "Đáp án: X" line.')
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("Câu 1. Hỏi?\nA. Một\nB. Hai\nĐáp án: E\n", "does not exist"),
        ("Câu 1. Hỏi?\nA. Một\nĐáp án: A\n", "fewer than two choices"),
        ("Hỏi?\nA. Một\nB. Hai\nANSWER: C\n", "does not exist"),
        ("::x:: Hỏi {~a ~b}\n", "No right answer"),
    ],
)
def test_conversion_mistakes_are_explained(text, message):
    result = convert(text, detect(text))
    assert result.questions == []
    assert message in result.problems[0].text("en")


def test_cli_convert_writes_a_valid_bank(runner, tmp_path):
    out = tmp_path / "bank.yaml"
    result = runner.invoke(
        args=[
            "content",
            "convert",
            str(SAMPLES / "sample.word.txt"),
            "-o",
            str(out),
            "--bank",
            "tu-word",
            "--title",
            "Từ Word",
            "--lang",
            "en",
        ]
    )
    assert result.exit_code == 1  # question 3 is reported
    assert "sample.word.txt:18:1: Question 3" in result.output
    assert validate_text(out.read_bytes(), "bank.yaml").ok
    result = runner.invoke(
        args=["content", "convert", str(SAMPLES / "sample.aiken.txt"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output


# ------------------------------------- issue 16.3: mistakes on the lines of the text as written


@pytest.mark.parametrize(
    ("fmt", "text", "line"),
    [
        pytest.param(
            "word",
            "Câu 1. Một?\nA. Có\nB. Không\nĐáp án: A\n\nCâu 2. Hai?\nA. Có\nB. Có\nĐáp án: B\n",
            6,
            id="word",
        ),
        pytest.param(
            "aiken",
            "Một?\nA. Có\nB. Không\nANSWER: A\n\n\nHai?\nA. Có\nB. Có\nANSWER: B\n",
            7,
            id="aiken",
        ),
        pytest.param(
            "gift",
            "// đầu tệp\n::q1:: Một? {=Có ~Không}\n\n\n::q2:: Hai? {=Có ~Có}\n",
            5,
            id="gift",
        ),
    ],
)
def test_a_converted_bank_that_fails_is_reported_on_the_questions_line(
    fmt: str, text: str, line: int
) -> None:
    from app.content.pipeline import check_text

    checked = check_text(None, text, "cau-hoi.txt", fmt)
    assert not checked.ok and checked.converted
    assert [(p.line, p.column) for p in checked.problems] == [(line, 1)]
    assert "hai lần" in checked.problems[0].text("vi")  # the choice "Có" twice


def test_a_converted_text_without_questions_says_so() -> None:
    from app.content.pipeline import check_text

    checked = check_text(None, "bank: x\ntitle: y\n", "paste.yaml", "word")
    assert [p.text("vi") for p in checked.problems] == [
        "Không tìm thấy câu hỏi nào trong nội dung này: hãy kiểm tra định dạng đã chọn ở trên."
    ]


def test_a_valid_converted_text_gives_the_bank_named_after_the_file() -> None:
    from app.content.pipeline import check_text

    checked = check_text(
        None, "Câu 1. Một?\nA. Có\nB. Không\nĐáp án: A\n", "Ngân hàng xã.txt", "word"
    )
    assert checked.ok and checked.result is not None
    assert checked.result.slug == "ngan-hang-xa" and checked.source.startswith("bank: ngan-hang-xa")
