"""Question banks from Word (.docx) and Excel (.xlsx), as officers have them (issue 16, points
1 and 2): every file is built here with python-docx or openpyxl, one per answer convention, a
table layout, broken ones, hostile zips, a mistake in a known cell, and the Excel round trip."""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document
from docx.enum.text import WD_COLOR_INDEX
from openpyxl import load_workbook
from sqlalchemy import select

from app.content import office
from app.content.validate import validate_text
from app.extensions import db
from app.models import Bank, Round, utcnow
from tests.conftest import csrf_token
from tests.test_authoring import BANK, VALID, publish

QUESTIONS = [
    ("Luật Thực hiện dân chủ ở cơ sở có hiệu lực từ năm nào?", ["2021", "2022", "2023"], 2),
    ("Phương châm nào sau đây đúng?", ["Dân biết, dân bàn", "Dân nghe", "Dân theo"], 0),
]


def docx_bytes(build: Callable[[Any], None]) -> bytes:
    document = Document()
    document.add_paragraph("BỘ CÂU HỎI THI TÌM HIỂU")  # a heading before the first question
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def mark_run(run: Any, how: str) -> None:
    if how == "bold":
        run.bold = True
    elif how == "underline":
        run.underline = True
    elif how == "highlight":
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def bank_with(how: str, heading: Callable[[int], str] = lambda n: f"Câu {n}.") -> bytes:
    """The two questions, their right answers marked the one way `how` says."""

    def build(document: Any) -> None:
        for number, (text, choices, right) in enumerate(QUESTIONS, start=1):
            document.add_paragraph(f"{heading(number)} {text}")
            for i, choice in enumerate(choices):
                paragraph = document.add_paragraph()
                paragraph.add_run(f"{'ABC'[i]}. ")
                star = " *" if how == "star" and i == right else ""
                run = paragraph.add_run(choice + star)
                if i == right:
                    mark_run(run, how)
            if how == "line":
                document.add_paragraph(f"Đáp án: {'ABC'[right]}")
            document.add_paragraph(f"Giải thích: câu {number} có lời giải.")

    return docx_bytes(build)


def read_docx(raw: bytes) -> office.Result:
    return office.read(raw, "docx", "ngan-hang-word", "Từ Word")


def answers(result: office.Result) -> list[Any]:
    assert result.yaml is not None, [p.text() for p in result.problems]
    return [q["answer"] for q in yaml.safe_load(result.yaml)["questions"]]


# ------------------------------------------------------------------- Word: each convention

CONVENTIONS = {
    "bold": "chữ đậm",
    "underline": "chữ gạch chân",
    "highlight": "chữ tô màu nền",
    "star": "dấu * cạnh phương án",
    "line": 'dòng "Đáp án:"',
}


@pytest.mark.parametrize("how", list(CONVENTIONS))
def test_each_answer_convention_is_detected_and_reported(how: str) -> None:
    result = read_docx(bank_with(how))
    assert answers(result) == ["C", "A"]
    assert result.report("vi") == f"2 câu; đáp án lấy từ {CONVENTIONS[how]}."
    document = yaml.safe_load(result.yaml or "")
    first = document["questions"][0]
    assert first["choices"] == ["2021", "2022", "2023"]  # no "*" left, no letter
    assert first["explanation"] == "câu 1 có lời giải."
    assert validate_text(result.yaml or "", "b.yaml").ok


@pytest.mark.parametrize(
    "heading", [lambda n: f"Câu {n}.", lambda n: f"Câu {n}:", lambda n: f"{n}."], ids=str
)
def test_every_numbering_of_questions(heading: Callable[[int], str]) -> None:
    result = read_docx(bank_with("bold", heading))
    assert answers(result) == ["C", "A"]


def test_words_own_list_numbering_and_choices_side_by_side() -> None:
    """Word's numbering is not in the text; choices often share a line, split by tabs."""

    def build(document: Any) -> None:
        for text, choices, right in QUESTIONS:
            document.add_paragraph(text, style="List Number")
            paragraph = document.add_paragraph()
            for i, choice in enumerate(choices):
                paragraph.add_run(f"{'ABC'[i]}. ")
                mark_run(paragraph.add_run(choice), "underline" if i == right else "")
                paragraph.add_run("\t")

    result = read_docx(docx_bytes(build))
    assert answers(result) == ["C", "A"]
    assert result.lines[1] == "1. " + QUESTIONS[0][0]


def test_choices_on_soft_line_breaks_and_a_long_explanation() -> None:
    def build(document: Any) -> None:
        document.add_paragraph("Câu 1. Hỏi?")
        paragraph = document.add_paragraph("A. Một")
        paragraph.add_run().add_break()
        paragraph.add_run("B. Hai *")
        document.add_paragraph("Giải thích:")
        document.add_paragraph("Dòng một.")
        document.add_paragraph("Dòng hai.")

    result = read_docx(docx_bytes(build))
    assert answers(result) == ["B"]
    assert yaml.safe_load(result.yaml or "")["questions"][0]["explanation"] == "Dòng một. Dòng hai."


def test_choices_in_a_table_letter_and_text_cells() -> None:
    def build(document: Any) -> None:
        for number, (text, choices, right) in enumerate(QUESTIONS, start=1):
            document.add_paragraph(f"Câu {number}. {text}")
            table = document.add_table(rows=len(choices), cols=2)
            for i, choice in enumerate(choices):
                table.cell(i, 0).text = f"{'ABC'[i]}."
                run = table.cell(i, 1).paragraphs[0].add_run(choice)
                mark_run(run, "bold" if i == right else "")

    result = read_docx(docx_bytes(build))
    assert answers(result) == ["C", "A"]
    assert "chữ đậm" in result.report("vi")


def test_choices_in_a_table_one_cell_each_with_an_answer_line() -> None:
    def build(document: Any) -> None:
        document.add_paragraph("Câu 1. Hỏi?")
        table = document.add_table(rows=2, cols=2)
        for i, choice in enumerate(["Một", "Hai", "Ba", "Bốn"]):
            table.cell(i // 2, i % 2).text = f"{'ABCD'[i]}. {choice}"
        document.add_paragraph("Đáp án: D")

    result = read_docx(docx_bytes(build))
    assert answers(result) == ["D"]
    assert yaml.safe_load(result.yaml or "")["questions"][0]["choices"] == [
        "Một",
        "Hai",
        "Ba",
        "Bốn",
    ]


def test_several_right_answers_and_mixed_conventions_each_reported() -> None:
    def build(document: Any) -> None:
        document.add_paragraph("Câu 1. Những ý nào đúng?")
        for i, choice in enumerate(["Một", "Hai", "Ba"]):
            paragraph = document.add_paragraph(f"{'ABC'[i]}. ")
            mark_run(paragraph.add_run(choice), "bold" if i != 1 else "")
        document.add_paragraph("Câu 2. Hỏi?")
        document.add_paragraph("A. Có")
        document.add_paragraph("B. Không")
        document.add_paragraph("Đáp án: B")
        document.add_paragraph("Câu 3. Hỏi nữa?")
        document.add_paragraph("A. Có")
        document.add_paragraph("B. Không")
        document.add_paragraph("Đáp án: A")

    result = read_docx(docx_bytes(build))
    assert answers(result) == [["A", "C"], "B", "A"]
    assert result.report("vi") == (
        '3 câu; đáp án lấy từ dòng "Đáp án:" (câu 2–3); chữ đậm (câu 1).'
    )


def test_conventions_that_agree_are_one_answer() -> None:
    def build(document: Any) -> None:
        document.add_paragraph("Câu 1. Hỏi?")
        document.add_paragraph("A. Có")
        mark_run(document.add_paragraph("B. ").add_run("Không"), "bold")
        document.add_paragraph("Đáp án: B")

    result = read_docx(docx_bytes(build))
    assert answers(result) == ["B"]
    assert 'dòng "Đáp án:"' in result.report("vi")


# ------------------------------------------------------------- Word: reported, never guessed


def test_broken_bank_reports_each_question_by_number_and_text() -> None:
    def build(document: Any) -> None:
        document.add_paragraph("Câu 1. Câu không có đáp án?")  # paragraph 2
        document.add_paragraph("A. Một")
        document.add_paragraph("B. Hai")
        document.add_paragraph("Câu 2. Câu có hai dấu hiệu khác nhau?")  # paragraph 5
        document.add_paragraph("A. Một")
        mark_run(document.add_paragraph("B. ").add_run("Hai"), "bold")
        document.add_paragraph("Đáp án: A")
        document.add_paragraph("Câu 3. Mọi phương án đều đậm?")  # paragraph 9
        for letter in "AB":
            mark_run(document.add_paragraph(f"{letter}. ").add_run("Ý"), "bold")
        document.add_paragraph("Câu 4. Một phương án thôi?")  # paragraph 12
        document.add_paragraph("A. Một *")
        document.add_paragraph("Câu 5. Đáp án ngoài phạm vi?")  # paragraph 14
        document.add_paragraph("A. Một")
        document.add_paragraph("B. Hai")
        document.add_paragraph("Đáp án: E")  # paragraph 17

    result = read_docx(docx_bytes(build))
    assert result.yaml is None
    found = {(p.line, p.text("vi")) for p in result.problems}
    assert found == {
        (
            2,
            'Câu 1 ("Câu không có đáp án?"): không thấy đáp án được đánh dấu (chữ đậm, gạch '
            'chân, tô màu nền, dấu * hoặc dòng "Đáp án: X").',
        ),
        (
            5,
            'Câu 2 ("Câu có hai dấu hiệu khác nhau?"): các cách đánh dấu đáp án không khớp '
            'nhau (dòng "Đáp án:" → A; chữ đậm → B); hãy giữ một cách.',
        ),
        (
            9,
            'Câu 3 ("Mọi phương án đều đậm?"): không thấy đáp án được đánh dấu (chữ đậm, gạch '
            'chân, tô màu nền, dấu * hoặc dòng "Đáp án: X").',
        ),
        (12, "Câu 4 có ít hơn hai lựa chọn (A. …, B. …)."),
        (17, 'Đáp án "E" không có: câu hỏi chỉ có 2 lựa chọn.'),
    }
    assert result.lines[1] == "Câu 1. Câu không có đáp án?"  # the page shows paragraph 2


def test_a_document_without_questions_says_how_to_write_one() -> None:
    result = read_docx(docx_bytes(lambda document: document.add_paragraph("Chỉ có chữ.")))
    assert result.yaml is None and "Câu 1." in result.problems[0].text("vi")


# ---------------------------------------------------------------------- hostile or wrong files


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = zip_of({"word/document.xml": b"<w/>", "word/media/x.bin": b"\0" * (41 * 2**20)})
    assert len(bomb) < 100_000
    with pytest.raises(office.Refused) as refused:
        office.read(bomb, "docx", "abc", "T")
    assert refused.value.status == 413 and "giải nén" in refused.value.problem.text("vi")


def test_a_zip_that_lies_about_its_sizes_is_not_inflated_past_them(monkeypatch) -> None:
    """The declared sizes are what the check adds up; zipfile never inflates an entry past
    its declared size, so a lying archive fails to open instead of filling the memory."""
    raw = bytearray(zip_of({"word/document.xml": b"<w/>" + b" " * 10_000}))
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (10).to_bytes(4, "little")  # declared: 10 bytes
    with pytest.raises(office.Refused) as refused:
        office.read(bytes(raw), "docx", "abc", "T")
    assert refused.value.status == 415


@pytest.mark.parametrize(
    ("raw", "kind", "says"),
    [
        (b"Cau 1. Khong phai docx", "docx", "không phải văn bản Word"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "docx", "lưu dưới dạng .docx"),
        (zip_of({"xl/workbook.xml": b"<x/>"}), "docx", "không phải văn bản Word"),
        (zip_of({"word/document.xml": b"<not xml"}), "docx", "không phải văn bản Word"),
        (zip_of({"word/document.xml": b"<w/>"}), "xlsx", "không phải bảng tính Excel"),
        (zip_of({"xl/workbook.xml": b"<broken"}), "xlsx", "không phải bảng tính Excel"),
        (b"PK\x03\x04 truncated", "xlsx", "không phải bảng tính Excel"),
    ],
    ids=["text", "old-doc", "xlsx-as-docx", "bad-xml", "docx-as-xlsx", "bad-book", "cut"],
)
def test_a_file_that_is_not_what_its_name_says(raw: bytes, kind: str, says: str) -> None:
    with pytest.raises(office.Refused) as refused:
        office.read(raw, kind, "abc", "T")
    assert refused.value.status == 415 and says in refused.value.problem.text("vi")


def test_a_damaged_sheet_or_document_part_is_a_clear_422() -> None:
    """Read-only sheets are parsed as their rows are read, after the workbook opened."""
    book = io.BytesIO(office.template_workbook())
    with zipfile.ZipFile(book) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:-40]
    with pytest.raises(office.Refused) as refused:
        office.read(zip_of(parts), "xlsx", "abc", "T")
    assert refused.value.status == 422 and "bị hỏng" in refused.value.problem.text("vi")
    with zipfile.ZipFile(io.BytesIO(bank_with("bold"))) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["word/document.xml"] = parts["word/document.xml"].replace(
        b"<w:r>", b'<w:r><w:rPr><w:highlight w:val="no-such-colour"/></w:rPr>', 1
    )
    with pytest.raises(office.Refused) as refused:
        office.read(zip_of(parts), "docx", "abc", "T")
    assert refused.value.status == 422 and "bị hỏng" in refused.value.problem.text("vi")


def test_too_many_paragraphs_or_rows(monkeypatch) -> None:
    monkeypatch.setattr(office, "MAX_PARAGRAPHS", 5)
    with pytest.raises(office.Refused) as refused:
        read_docx(bank_with("bold"))
    assert refused.value.status == 413 and "5 đoạn" in refused.value.problem.text("vi")
    monkeypatch.setattr(office, "MAX_ROWS", 3)
    with pytest.raises(office.Refused) as refused:
        office.read(office.template_workbook(), "xlsx", "abc", "T")
    assert refused.value.status == 413 and "3 dòng" in refused.value.problem.text("vi")


# ---------------------------------------------------------------------------------- Excel


def edited(raw: bytes, changes: dict[str, Any], sheet: str = office.QUESTIONS) -> bytes:
    book = load_workbook(io.BytesIO(raw))
    for cell, value in changes.items():
        book[sheet][cell] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_template_reads_as_a_valid_bank() -> None:
    result = office.read(office.template_workbook(), "xlsx", "abc", "T")
    assert result.yaml is not None and validate_text(result.yaml, "b.yaml").ok
    assert result.report("vi") == "Đã đọc 2 câu hỏi từ trang tính Câu hỏi."
    sheet = load_workbook(io.BytesIO(office.template_workbook()))[office.QUESTIONS]
    assert [c.value for c in sheet[2]][:12] == ["id", "text", *"ABCDEFGH", "answer", "difficulty"]


def test_xlsx_mistakes_are_named_by_their_cell() -> None:
    raw = edited(
        office.template_workbook(),
        {
            "K4": "E",  # the answer of the second question: only four choices
            "M3": "khong-co",  # an undeclared topic
            "D4": "Năm 2021",  # a choice twice
            "B3": '=HYPERLINK("http://x")',  # a formula, not text
            "C5": "Một",  # a row with a gap in its choices and no answer
            "E5": "Ba",
            "B5": "Câu mới?",
        },
    )
    result = office.read(raw, "xlsx", "abc", "T")
    assert result.yaml is None
    assert sorted(p.text("vi") for p in result.problems) == sorted(
        [
            "Câu hỏi!B3: Ô này chứa công thức; hãy gõ chính nội dung chữ (thêm dấu ' ở đầu để "
            "giữ = + - @).",
            'Câu hỏi!M3: Chủ đề "khong-co" chưa được khai báo trong "topics".',
            'Câu hỏi!D4: Phương án "Năm 2021" bị ghi hai lần.',
            'Câu hỏi!K4: Đáp án "E" không có: câu hỏi chỉ có 4 lựa chọn.',
            "Câu hỏi!D5: Phương án B để trống trong khi phương án sau nó có nội dung.",
            "Câu hỏi!K5: Đáp án đúng đang để trống: hãy ghi chữ cái của đáp án (A đến H).",
        ]
    )
    assert all(
        p.format("bank.xlsx", "vi").startswith("bank.xlsx: Câu hỏi!") for p in result.problems
    )


def test_a_sheet_of_ones_own_with_vietnamese_headers_and_words() -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "Câu hỏi",
            "Phương án A",
            "Phương án B",
            "Đáp án đúng (A, hoặc A, C)",
            "Độ khó (dễ, trung bình, khó)",
        ]
    )
    sheet.append(["Năm nào?", 2023, 2024.0, "a và b", "Khó"])
    out = io.BytesIO()
    book.save(out)
    result = office.read(out.getvalue(), "xlsx", "tu-excel", "Từ Excel")
    question = yaml.safe_load(result.yaml or "")["questions"][0]
    assert question == {
        "id": "q001",
        "text": "Năm nào?",
        "choices": ["2023", "2024"],
        "answer": ["A", "B"],
        "difficulty": "hard",
    }


# ------------------------------------------------------------------------------ the web page


def upload(client, raw: bytes, name: str, fmt: str = "yaml", **extra: str):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf_token(client, "/officer/content/upload"), "format": fmt, **extra}
    data["file"] = (io.BytesIO(raw), name)
    return client.post("/officer/content/upload", data=data, content_type="multipart/form-data")


def officer(make_user, auth) -> None:  # type: ignore[no-untyped-def]
    make_user(role="officer", phone="0911111111")
    auth.login("0911111111")


def source_of(page: str) -> str:
    match = re.search(r'name="source" type="hidden" value="([^"]*)"', page)
    assert match, page[:2000]
    return html.unescape(match.group(1))


def test_upload_a_docx_preview_and_publish(app, client, auth, make_user) -> None:
    officer(make_user, auth)
    response = upload(client, bank_with("highlight"), "bo-cau-hoi.docx", bank="tu-word")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "2 câu; đáp án lấy từ chữ tô màu nền." in page and QUESTIONS[0][0] in page
    assert yaml.safe_load(source_of(page))["bank"] == "tu-word"
    assert publish(client, page).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Bank.slug)) == "tu-word"


def test_upload_a_broken_docx_shows_each_paragraph_and_its_mistake(client, auth, make_user) -> None:
    officer(make_user, auth)

    def build(document: Any) -> None:
        document.add_paragraph("Câu 1. Câu không có đáp án?")
        document.add_paragraph("A. Một")
        document.add_paragraph("B. Hai")

    response = upload(client, docx_bytes(build), "hong.docx")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'app-line app-line-bad" id="L2"' in page and "Câu không có đáp án?" in page


@pytest.mark.parametrize(
    ("raw", "name", "fmt", "status", "says"),
    [
        (b"not a zip at all", "bank.docx", "yaml", 415, "không phải văn bản Word"),
        (zip_of({"word/document.xml": b"<w/>"}), "bank.xlsx", "yaml", 415, "bảng tính Excel"),
        (
            zip_of({"word/document.xml": b"<w/>", "big": b"\0" * (41 * 2**20)}),
            "bomb.docx",
            "docx",
            413,
            "giải nén",
        ),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 64, "cu.doc", "yaml", 415, "lưu dưới dạng .docx"),
        (b"Cau 1", "bank.txt", "xlsx", 415, "bảng tính Excel"),
    ],
    ids=["text-as-docx", "docx-as-xlsx", "bomb", "old-doc", "text-chosen-as-xlsx"],
)
def test_wrong_or_hostile_files_get_a_vietnamese_4xx(
    client, auth, make_user, raw, name, fmt, status, says
) -> None:  # type: ignore[no-untyped-def]
    officer(make_user, auth)
    response = upload(client, raw, name, fmt)
    assert response.status_code == status and says in response.get_data(as_text=True)


def test_a_docx_sniffed_by_content_whatever_its_name(client, auth, make_user) -> None:
    officer(make_user, auth)
    response = upload(client, bank_with("bold"), "upload")  # no extension, "YAML" chosen
    assert response.status_code == 200 and "chữ đậm" in response.get_data(as_text=True)


def test_word_or_excel_chosen_without_a_file(client, auth, make_user) -> None:
    officer(make_user, auth)
    data = {
        "csrf_token": csrf_token(client, "/officer/content/upload"),
        "format": "docx",
        "text": "Câu 1. Hỏi?",
    }
    response = client.post("/officer/content/upload", data=data)
    assert response.status_code == 422
    assert "Hãy chọn tệp Word (.docx) hoặc Excel (.xlsx)." in response.get_data(as_text=True)


def test_template_download_and_upload(client, auth, make_user) -> None:
    officer(make_user, auth)
    assert 'href="/officer/content/bank-template.xlsx"' in client.get(
        "/officer/content/upload"
    ).get_data(as_text=True)
    response = client.get("/officer/content/bank-template.xlsx")
    assert response.status_code == 200 and response.mimetype == office_xlsx()
    preview = upload(client, response.get_data(), "ngan-hang.xlsx")
    assert preview.status_code == 200 and "Đã đọc 2 câu hỏi" in preview.get_data(as_text=True)


def office_xlsx() -> str:
    from app.services.exports import XLSX

    return XLSX


def test_xlsx_round_trip_gives_the_same_bank(app, client, auth, make_user) -> None:
    """Publish a bank, download it as Excel, upload it again: nothing changes. Edit one cell
    in Excel: exactly that question gets a new version."""
    officer(make_user, auth)
    tricky = BANK.replace("Câu sai.", "=1+1 và -5 @x")  # formula-like text stays text
    first = upload_yaml(client, tricky)
    assert publish(client, first).status_code == 302
    history = client.get("/officer/content/bank/dan-chu-co-so").get_data(as_text=True)
    assert 'href="/officer/content/bank/dan-chu-co-so.xlsx"' in history
    workbook = client.get("/officer/content/bank/dan-chu-co-so.xlsx")
    assert workbook.status_code == 200 and workbook.mimetype == office_xlsx()
    raw = workbook.get_data()
    sheet = load_workbook(io.BytesIO(raw))[office.QUESTIONS]
    formula_like = [c for row in sheet.iter_rows() for c in row if c.value == "=1+1 và -5 @x"]
    assert formula_like and all(c.data_type == "s" for c in formula_like)
    again = upload(client, raw, "dan-chu-co-so.xlsx")
    assert again.status_code == 200, again.get_data(as_text=True)
    publish(client, again.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(Bank.version)) == 1  # unchanged
    question = next(r for r in sheet.iter_rows(min_row=3) if r[1].value)
    changed = edited(raw, {f"B{question[0].row}": "Câu hỏi đã sửa trong Excel?"})
    publish(client, upload(client, changed, "dan-chu-co-so.xlsx").get_data(as_text=True))
    with app.app_context():
        bank = db.session.scalar(select(Bank))
        assert bank is not None and bank.version == 2


def upload_yaml(client, text: str) -> str:  # type: ignore[no-untyped-def]
    response = upload(client, text.encode(), "bank.yaml")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_xlsx_download_refused_while_a_round_draws_from_the_bank(
    app, client, auth, make_user
) -> None:
    officer(make_user, auth)
    publish(client, upload_yaml(client, BANK))
    publish(client, upload_yaml(client, (VALID / "contest-full.yaml").read_text(encoding="utf-8")))
    with app.app_context():
        first = db.session.scalar(select(Round).where(Round.key == "tuan-1"))
        assert first is not None
        first.opens_at, first.closes_at = (
            utcnow() - timedelta(hours=1),
            utcnow() + timedelta(days=1),
        )
        db.session.commit()
    assert client.get("/officer/content/bank/dan-chu-co-so.xlsx").status_code == 409


def test_residents_cannot_download_the_template_or_a_bank(client, auth, make_user) -> None:
    make_user(phone="0987654321")
    auth.login("0987654321")
    assert client.get("/officer/content/bank-template.xlsx").status_code == 403
    assert client.get("/officer/content/bank/dan-chu-co-so.xlsx").status_code == 403


# ------------------------------------------------------------------------- the command line


def test_flask_content_convert_docx_and_xlsx(runner, tmp_path: Path) -> None:
    source = tmp_path / "bo-cau-hoi.docx"
    source.write_bytes(bank_with("underline"))
    out = tmp_path / "out.yaml"
    result = runner.invoke(args=["content", "convert", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 câu; đáp án lấy từ chữ gạch chân." in result.output
    assert validate_text(out.read_bytes(), "out.yaml").ok

    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(edited(office.template_workbook(), {"K4": "E"}))
    result = runner.invoke(args=["content", "convert", str(broken), "-o", str(tmp_path / "x.yaml")])
    assert result.exit_code == 1
    assert f'{broken}: Câu hỏi!K4: Đáp án "E" không có' in result.output
    assert not (tmp_path / "x.yaml").exists()

    fake = tmp_path / "gia.docx"
    fake.write_bytes(b"Cau 1. A. B.")
    result = runner.invoke(args=["content", "convert", str(fake), "-o", str(tmp_path / "y.yaml")])
    assert result.exit_code == 1 and "không phải văn bản Word" in result.output
