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
