"""Loading content: versions that never rewrite history, round trips, safety limits, the CLI."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from app.content.pipeline import load_files
from app.content.store import Actor, export_bank, export_contest, export_survey
from app.content.validate import validate_many
from app.extensions import db
from app.models import Bank, ContentVersion, Contest, Question, QuestionVersion, Survey, utcnow
from tests.conftest import PROVINCE, VI_THANH

VALID = Path(__file__).parent / "content" / "valid"
ADMIN = Actor(unit_code=PROVINCE, is_admin=True)


def files(*names: str) -> list[tuple[str, bytes]]:
    return [(name, (VALID / name).read_bytes()) for name in names]


def load(text: str | bytes, name: str = "f.yaml", actor: Actor = ADMIN):  # type: ignore[no-untyped-def]
    raw = text.encode() if isinstance(text, str) else text
    return load_files(db.session, [(name, raw)], actor, utcnow())[0]


def canonical(text: str | bytes) -> dict:
    """The document as the validator understands it (defaults filled in)."""
    bank = (VALID / "bank-full.yaml").read_bytes()
    result = validate_many([("bank.yaml", bank), ("x.yaml", text)])[1]
    assert result.ok, result.messages("en")
    return result.model.model_dump()


@pytest.mark.parametrize("name", ["bank-full.yaml", "contest-full.yaml", "survey-full.yaml"])
def test_every_feature_loads_and_round_trips(app, name):
    with app.app_context():
        outcomes = load_files(db.session, files("bank-full.yaml", name), ADMIN, utcnow())
        assert all(o.ok for o in outcomes), [o.result.messages("en") for o in outcomes]
        kind = name.split("-")[0]
        model = {"bank": Bank, "contest": Contest, "survey": Survey}[kind]
        row = db.session.scalar(select(model))
        exported = {
            "bank": lambda r: export_bank(db.session, r),
            "contest": export_contest,
            "survey": export_survey,
        }[kind](row)
        text = yaml.safe_dump(exported, allow_unicode=True, sort_keys=False)
    original = canonical((VALID / name).read_bytes())
    again = canonical(text)
    if kind == "bank":  # letters and true/false words have one canonical form once stored
        for item in original["questions"]:
            item["answer"] = None
        for item in again["questions"]:
            item["answer"] = None
    assert again == original


def test_bank_answers_survive_the_round_trip(app):
    with app.app_context():
        load((VALID / "bank-full.yaml").read_bytes())
        versions = {q.key: q.current for q in db.session.scalars(select(Question))}
        assert versions["q001"].answer == [1]  # B
        assert versions["q002"].answer == [0] and versions["q002"].choices == ["Đúng", "Sai"]
        assert versions["q003"].answer == [0, 2]  # [a, C]
        assert versions["q003"].choices[:3] == ["1.339", "2.610", "01/7/2023"]
        assert versions["q004"].answer == [1]  # false


BANK_V1 = """\
bank: lich-su-dia-phuong
title: Lịch sử địa phương
questions:
  - id: a
    text: Câu A
    choices: [Một, Hai]
    answer: A
  - id: b
    text: Câu B
    choices: [Một, Hai]
    answer: B
  - id: c
    text: Câu C
    choices: [Một, Hai]
    answer: A
"""


def test_reloading_reports_exactly_what_changed_and_keeps_history(app):
    with app.app_context():
        first = load(BANK_V1)
        assert (first.report.status, first.report.version, first.report.added) == (
            "new",
            1,
            ["a", "b", "c"],
        )
        old_b = db.session.scalar(
            select(QuestionVersion)
            .join(Question)
            .where(Question.key == "b", QuestionVersion.version == 1)
        )
        old_b_id = old_b.id
        # b reworded, c removed, d added, a untouched.
        changed = BANK_V1.replace("Câu B", "Câu B (sửa)").replace(
            "  - id: c\n    text: Câu C\n    choices: [Một, Hai]\n    answer: A\n",
            "  - id: d\n    text: Câu D\n    choices: [Ba, Bốn]\n    answer: B\n",
        )
        second = load(changed)
        report = second.report
        assert (report.status, report.version) == ("updated", 2)
        assert (report.added, report.changed, report.retired) == (["d"], ["b"], ["c"])
        # The stored reference to the old version still reads the old text.
        db.session.expire_all()
        assert db.session.get(QuestionVersion, old_b_id).text == "Câu B"
        b = db.session.scalar(select(Question).where(Question.key == "b"))
        assert (b.version, b.current.text) == (2, "Câu B (sửa)")
        a = db.session.scalar(select(Question).where(Question.key == "a"))
        assert a.version == 1 and len(a.versions) == 1
        c = db.session.scalar(select(Question).where(Question.key == "c"))
        assert c.retired_at is not None and c.current.text == "Câu C"  # retired, never deleted
        # Loading the same file again changes nothing and records no version.
        third = load(changed)
        assert (third.report.status, third.report.version) == ("unchanged", 2)
        history = db.session.scalars(
            select(ContentVersion.version).order_by(ContentVersion.id)
        ).all()
        assert history == [1, 2]
        # A retired question that comes back is restored as a new version.
        fourth = load(BANK_V1)
        assert fourth.report.changed == ["b", "c"] and fourth.report.retired == ["d"]


def test_a_file_is_stored_all_or_nothing(app):
    with app.app_context():
        broken = BANK_V1.replace("answer: B", "answer: F")
        outcome = load(broken)
        assert not outcome.ok and outcome.report is None
        assert db.session.scalar(select(func.count(Bank.id))) == 0
        assert db.session.scalar(select(func.count(Question.id))) == 0


def test_contest_times_are_stored_in_utc(app):
    with app.app_context():
        load_files(db.session, files("bank-full.yaml", "contest-full.yaml"), ADMIN, utcnow())
        contest = db.session.scalar(select(Contest))
        first = contest.rounds[0]
        assert first.opens_at.isoformat() == "2026-12-01T01:00:00+00:00"  # 08:00 in Vietnam
        assert first.time_limit_s == 900 and contest.rounds[1].time_limit_s == 5400
        assert first.draw[1] == {
            "bank": "dan-chu-co-so",
            "count": 1,
            "difficulty": ["medium", "hard"],
            "topic": ["dan-van"],
        }


def test_ownership_only_the_owner_unit_or_above_may_replace(app, make_user):
    commune_officer = make_user(role="officer", phone="0911111111", unit=VI_THANH)
    other_officer = make_user(role="officer", phone="0911111112", unit=31135)
    province_officer = make_user(role="officer", phone="0911111113", unit=PROVINCE)
    with app.app_context():
        mine = Actor(unit_code=VI_THANH, is_admin=False, user_id=commune_officer.id)
        assert load(BANK_V1, actor=mine).ok
        assert db.session.scalar(select(Bank.owner_unit_code)) == VI_THANH
        edited = BANK_V1.replace("Câu A", "Câu A mới")
        refused = load(
            edited, actor=Actor(unit_code=31135, is_admin=False, user_id=other_officer.id)
        )
        assert refused.refused is not None and refused.refused.forbidden
        assert db.session.scalar(select(Bank.version)) == 1
        above = load(
            edited, actor=Actor(unit_code=PROVINCE, is_admin=False, user_id=province_officer.id)
        )
        assert above.ok and above.report.version == 2
        assert load(edited.replace("mới", "nữa"), actor=mine).ok


@pytest.mark.parametrize(
    "case, raw",
    [
        (
            "alias bomb",
            "a: &a [x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n"
                for p, n in zip("abcdefgh", "bcdefghi", strict=True)
            ),
        ),
        ("deep nesting", "bank: " + "[" * 600 + "]" * 600),
        ("python tag", "bank: !!python/object/apply:os.system ['echo pwned']\n"),
        ("3 MiB file", "bank: x\ntitle: " + "a" * (3 * 1024 * 1024) + "\n"),
    ],
)
def test_hostile_files_are_refused_fast_with_a_clear_message(app, case, raw):
    start = time.perf_counter()
    with app.app_context():
        outcome = load(raw)
        elapsed = time.perf_counter() - start
        assert not outcome.ok
        assert len(outcome.result.problems) == 1
        message = outcome.result.problems[0].text("en")
        assert any(
            word in message for word in ("Aliases", "Anchors", "Nested", "Tags", "larger")
        ), message
        assert db.session.scalar(select(func.count(ContentVersion.id))) == 0
    assert elapsed < 1.0, f"{case} took {elapsed:.3f}s"


def test_cli_validate_needs_no_database_and_reports_all_problems(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        BANK_V1.replace("answer: B", "answer: F").replace("title:", "titel:"), encoding="utf-8"
    )
    good = tmp_path / "good.yaml"
    good.write_text(BANK_V1, encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "FLASK_APP": "wsgi.py",
        "DATABASE_URL": f"sqlite:///{tmp_path}/missing/nowhere.sqlite",
    }
    run = subprocess.run(
        [sys.executable, "-m", "flask", "content", "validate", str(tmp_path), "--lang", "en"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == f'{bad}:1:1: "title" is required here.'
    assert lines[1].startswith(f'{bad}:2:1: Unknown key "titel": did you mean "title"?')
    assert any(':11:13: The answer "F" does not exist' in line for line in lines)
    assert "1 of 2 files are valid." in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_load_reports_versions_and_exit_status(runner, tmp_path):
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "b.yaml").write_text(BANK_V1, encoding="utf-8")
    result = runner.invoke(args=["content", "load", str(folder), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "bank lich-su-dia-phuong: stored as version 1 (3 items)." in result.output
    (folder / "b.yaml").write_text(BANK_V1.replace("Câu B", "Câu B mới"), encoding="utf-8")
    result = runner.invoke(args=["content", "load", str(folder), "--lang", "en"])
    assert "version 2 — 0 new, 1 changed, 0 retired" in result.output
    (folder / "c.yaml").write_text("contest: x\n", encoding="utf-8")
    result = runner.invoke(args=["content", "load", str(folder)])
    assert result.exit_code == 1


def test_a_survey_with_responses_refuses_changes_that_would_corrupt_them(app, monkeypatch):
    from app.content import store

    survey_text = (VALID / "survey-full.yaml").read_text(encoding="utf-8")
    with app.app_context():
        assert load(survey_text).ok
        monkeypatch.setattr(store, "responses_exist", lambda _session, _survey: True)
        # Adding a question, a page or a choice at the end is allowed.
        added = survey_text.replace("Truyền hình, Báo in]", "Truyền hình, Báo in, Tờ rơi]")
        added += "  - title: Thêm\n    questions:\n      - id: moi\n"
        added += "        type: text\n        text: Góp ý thêm\n"
        outcome = load(added)
        assert outcome.ok and outcome.report.added == ["moi"] and outcome.report.changed == ["kenh"]
        for change, where in [
            (added.replace("anonymous: true", "anonymous: false"), "anonymous"),
            (added.replace("sign_in: optional", "sign_in: required"), "sign_in"),
            (added.replace("choices: [Nam, Nữ, Khác]", "choices: [Nữ, Nam, Khác]"), "choices"),
            (added.replace("[Ít, Vừa, Nhiều]", "[Vừa, Ít, Nhiều]"), "choices"),
            (
                added.replace(
                    "type: scale\n        choices: [Ít", "type: single\n        choices: [Ít"
                ),
                "type",
            ),
            (added.replace("Rất không hài lòng, ", ""), "scale"),
        ]:
            refused = load(change)
            assert refused.refused is not None, where
            problem = refused.refused.problems[0]
            line = change.splitlines()[problem.line - 1]
            assert where in line, (where, line)
        assert db.session.scalar(select(Survey.version)) == 2  # nothing refused was stored


def test_loading_before_the_units_explains_what_to_run(app):
    with app.app_context():
        outcome = load(BANK_V1, actor=Actor(unit_code=99, is_admin=True))
        assert outcome.refused is not None
        assert "flask units load" in outcome.refused.problems[0].text("en")
