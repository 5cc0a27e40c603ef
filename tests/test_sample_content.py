"""The content that ships is valid and true to its sources: every question cites an article
of ../shared/sources/ and quotes it word for word in its explanation."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from app.content.pipeline import find_files
from app.content.validate import validate_many

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT.parent / "shared" / "sources"
QUOTE = re.compile(r"“([^”]+)”")


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def articles() -> dict[str, str]:
    """Article title -> its text, from the index table of ../shared/sources/README.md."""
    found = {}
    for line in (SOURCES / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].endswith(".txt"):
            found[squeeze(cells[1])] = squeeze((SOURCES / cells[0]).read_text(encoding="utf-8"))
    return found


@pytest.fixture(scope="module")
def sample():  # type: ignore[no-untyped-def]
    files = [
        (str(p), p.read_bytes()) for p in find_files([str(ROOT / "quizzes"), str(ROOT / "surveys")])
    ]
    return validate_many(files)


def test_every_sample_file_is_valid(sample):
    assert sample, "no sample content found"
    problems = [line for result in sample for line in result.messages("en")]
    assert problems == []
    kinds = [r.kind for r in sample]
    assert kinds.count("bank") >= 3 and kinds.count("contest") >= 1 and kinds.count("survey") >= 2


@pytest.mark.skipif(not SOURCES.exists(), reason="../shared/sources is not beside the checkout")
def test_every_question_cites_an_article_and_quotes_it(sample):
    texts = articles()
    assert len(texts) == 5
    banks = [r.model for r in sample if r.kind == "bank"]
    assert sum(len(b.questions) for b in banks) >= 60
    for bank in banks:
        titles = {s.id: squeeze(s.title) for s in bank.sources}
        for source_id, title in titles.items():
            assert title in texts, (
                f"{bank.bank}: source {source_id} is not an article of the README"
            )
        for question in bank.questions:
            where = f"{bank.bank}/{question.id}"
            assert question.source in titles, f"{where} has no declared source"
            quotes = QUOTE.findall(question.explanation or "")
            assert quotes, f"{where}: the explanation quotes nothing"
            article = texts[titles[question.source]]
            for quote in quotes:
                assert squeeze(quote) in article, f"{where}: “{quote}” is not in its article"


def test_the_contest_draws_weekly_rounds_from_the_sample_banks(sample):
    contest = next(r.model for r in sample if r.kind == "contest")
    assert len(contest.rounds) >= 4
    assert {d.bank for r in contest.rounds for d in r.draw} <= {
        r.slug for r in sample if r.kind == "bank"
    }


def test_the_surveys_cover_satisfaction_and_channels(sample):
    surveys = {r.slug: r.model for r in sample if r.kind == "survey"}
    anonymous = [s for s in surveys.values() if s.anonymous]
    identified = [s for s in surveys.values() if not s.anonymous]
    assert anonymous and identified
    questions = [q for p in anonymous[0].pages for q in p.questions]
    assert any(q.index for q in questions) and any(q.type == "grid" for q in questions)
    assert any(q.show_if for q in questions)
    assert any(q.other for p in identified[0].pages for q in p.questions)


# What a resident reads of a question: its text, its choices and, after the round, its
# explanation. None of it may point at an article they were never shown.
UNSEEN_ARTICLE = re.compile(
    r"\b(bài viết|bài báo|theo bài|trong bài|được bài|bài năm \d+|được nêu|nêu trên)\b",
    re.IGNORECASE,
)
# The deployment is Cần Thơ (PROVINCE_CODE 92); Hậu Giang and Sóc Trăng were merged into it on
# 1 July 2025, so questions about them are about the residents' own city.
HOME = {"Cần Thơ", "Hậu Giang", "Sóc Trăng"}
OTHER_PLACES_OF_LANG_SON = ("Hữu Lũng", "Cai Kinh")


def article_provinces() -> dict[str, str]:
    """Article title -> the province of the README's table ("not named" when none)."""
    found = {}
    for line in (SOURCES / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].endswith(".txt"):
            found[squeeze(cells[1])] = cells[3]
    return found


def other_provinces() -> set[str]:
    from vietnam_provinces import Province, ProvinceCode

    names = {Province.from_code(c).name.removeprefix("Thành phố ") for c in ProvinceCode}
    names = {"Thành phố Hồ Chí Minh" if n == "Hồ Chí Minh" else n for n in names}  # not his thought
    readme = set(article_provinces().values()) if SOURCES.exists() else set()
    return (names | readme) - HOME - {"not named"}


def resident_texts(sample) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(where, text) for every sentence of the sample content a resident reads."""
    found: list[tuple[str, str]] = []
    for result in sample:
        model = result.model
        if result.kind == "bank":
            for q in model.questions:
                where = f"{model.bank}/{q.id}"
                found += [(where, q.text), (where, q.explanation or "")]
                found += [(where, str(c)) for c in q.choices or []]
        elif result.kind == "survey":
            found += [(model.survey, model.title), (model.survey, model.description or "")]
            for page in model.pages:
                found += [(model.survey, page.title), (model.survey, page.description or "")]
                for q in page.questions:
                    where = f"{model.survey}/{q.id}"
                    found += [(where, q.text or ""), (where, q.help or "")]
                    found += [(where, str(c)) for c in [*(q.choices or []), *(q.rows or [])]]
        elif result.kind == "contest":
            found += [(model.contest, model.title), (model.contest, model.description or "")]
            found += [(model.contest, model.prizes or "")]
    return [(where, text) for where, text in found if text]


def test_no_question_refers_to_an_article_the_resident_never_sees(sample):
    texts = resident_texts(sample)
    assert len(texts) > 300
    mentions = [f"{where}: {text}" for where, text in texts if UNSEEN_ARTICLE.search(text)]
    assert mentions == []


@pytest.mark.skipif(not SOURCES.exists(), reason="../shared/sources is not beside the checkout")
def test_the_contest_asks_about_the_deployments_province_only(sample):
    assert "Lạng Sơn" in other_provinces() and "Hậu Giang" not in other_provinces()
    provinces = article_provinces()
    banks = {r.slug: r.model for r in sample if r.kind == "bank"}
    contest = next(r.model for r in sample if r.kind == "contest")
    drawn = {d.bank for r in contest.rounds for d in r.draw}
    for slug in drawn:
        titles = {s.id: squeeze(s.title) for s in banks[slug].sources}
        for q in banks[slug].questions:
            province = provinces[titles[q.source]]
            assert province in HOME | {"not named"}, f"{slug}/{q.id} is about {province}"
    named = [
        f"{where}: {place}"
        for where, text in resident_texts(sample)
        for place in [*other_provinces(), *OTHER_PLACES_OF_LANG_SON]
        if re.search(rf"\b{place}\b", text)
    ]
    assert named == []


def test_sample_content_addresses_residents_as_ong_ba(sample):
    texts = resident_texts(sample)
    other = re.compile(r"\b(bạn|anh/chị|anh chị|quý vị|em)\b", re.IGNORECASE)
    assert [f"{where}: {text}" for where, text in texts if other.search(text)] == []
    questions = [
        q.text or ""
        for r in sample
        if r.kind == "survey"
        for p in r.model.pages
        for q in p.questions
    ]
    assert sum("ông/bà" in text.lower() for text in questions) >= 15  # they do address them


@pytest.mark.skipif(not SOURCES.exists(), reason="../shared/sources is not beside the checkout")
def test_the_hau_giang_practice_questions_take_their_right_answer_from_the_quote(sample):
    """The questions that replaced Lạng Sơn's (topic thuc-tien): the right choice is what the
    quoted sentence of the Hậu Giang article says, not a paraphrase of it."""
    texts = articles()
    bank = next(r.model for r in sample if r.kind == "bank" and r.slug == "dan-chu-co-so")
    titles = {s.id: squeeze(s.title) for s in bank.sources}
    practice = [q for q in bank.questions if q.topic == "thuc-tien"]
    assert len(practice) >= 6
    for q in practice:
        assert article_provinces()[titles[q.source]] == "Hậu Giang", q.id
        quotes = [squeeze(quote).lower() for quote in QUOTE.findall(q.explanation or "")]
        assert all(quote in texts[titles[q.source]].lower() for quote in quotes), q.id
        if q.type != "true_false":
            for letter in q.answer:
                right = squeeze(str(q.choices[ord(letter) - ord("A")])).lower()
                assert any(right in quote for quote in quotes), f"{q.id}: “{right}” unquoted"
