"""The prize audit of a round's ranking: the exports (CSV and XLSX with every figure that
decided each place, phones masked, the same bytes for the same ranking so that their SHA-256
can be published) and `flask contests recheck`, which re-scores, re-times and re-ranks every
finished attempt in Python, independently of the SQL, and reports every difference with the
stored scores, the frozen figure, the ranking the service reads and an exported file."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Attempt,
    AttemptQuestion,
    BestAttempt,
    Disqualification,
    QuestionVersion,
    Round,
    Unit,
    User,
)
from app.phones import mask_phone
from app.services import exports
from app.services.exports import Column, Table
from app.services.ranking import compute_ranking, current, ranking, settle, short_name
from app.services.standings import FINISHED

DELETED_IN_FILES = "—"  # the name of a deleted account in exported files (language-neutral)


# --------------------------------------------------------------------------------- export

# The file's words are fixed, in Vietnamese, whatever the reader's language: its SHA-256 is
# published, so everyone must get the same bytes. Times on the contest's clock; the exact UTC
# instant too, as submissions a millisecond apart are ranked apart.
COLUMNS = (
    Column("place", "Hạng", "count"),
    Column("attempt_id", "Mã lượt thi", "number"),
    Column("name", "Họ tên", "text"),
    Column("phone", "Số điện thoại (che bớt)", "text"),
    Column("unit_code", "Mã xã, phường", "number"),
    Column("unit", "Xã, phường", "text"),
    Column("score", "Số câu đúng", "count"),
    Column("max_score", "Số câu hỏi", "count"),
    Column("prediction", "Dự đoán", "count"),
    Column("frozen_figure", "Con số thực tế (chốt khi vòng thi đóng)", "count"),
    Column("distance", "Chênh lệch dự đoán", "count"),
    Column("duration_s", "Thời gian làm bài (giây)", "seconds"),
    Column("submitted_at", "Thời điểm nộp bài", "datetime_seconds"),
    Column("submitted_at_utc", "Thời điểm nộp bài (UTC, chính xác)", "text"),
    Column("final", "Kết quả chính thức", "text"),
)
EXPORT_COLUMNS = tuple(c.key for c in COLUMNS)
YES, NO = "có", "chưa"
ROWS_READ = 0.2  # of an export's time, reading and ranking the rows; the rest is writing them


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mimetype: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def export_rows(
    session: Session, round_: Round, now: datetime, grace: timedelta
) -> list[tuple[Any, ...]]:
    """Every standing with every figure that decided it, phones masked (COLUMNS)."""
    result = ranking(session, round_, now, grace)
    people = {
        uid: (None if deleted else short_name(name), phone, code)
        for uid, name, phone, deleted, code in session.execute(
            # The commune each person's attempts count in (as the ranking by unit files them).
            select(User.id, User.name, User.phone, User.deleted_at, BestAttempt.unit_code)
            .join(BestAttempt, BestAttempt.user_id == User.id)
            .where(BestAttempt.round_id == round_.id)
        )
    }
    units = dict(session.execute(select(Unit.code, Unit.name)).all())
    rows = []
    for s in result.standings:
        name, phone, code = people.get(s.user_id, (None, None, 0))
        rows.append(
            (
                s.place,
                s.attempt_id,
                name or DELETED_IN_FILES,
                mask_phone(phone) if phone else "",
                code,
                units.get(code, ""),
                s.score,
                s.max_score,
                s.prediction,
                result.figure,
                s.distance,
                s.duration_ms / 1000,
                s.submitted_at,
                s.submitted_at.isoformat(),
                YES if result.final else NO,
            )
        )
    return rows


def export_file(
    session: Session,
    round_: Round,
    now: datetime,
    grace: timedelta,
    fmt: str,
    progress: Callable[[float], None] | None = None,
) -> ExportFile:
    """The ranking as a CSV or XLSX file (cached with the ranking: its SHA-256 is stable).
    `progress(fraction)` hears how far it is (a background job's page)."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown export format {fmt!r}")
    entry = current(session, round_, now, grace)

    def build() -> ExportFile:
        table = Table(COLUMNS, export_rows(session, round_, now, grace), round_.contest.timezone)
        if progress is not None:
            progress(ROWS_READ)
        stem = f"ranking-{round_.contest.slug}-{round_.key}-"
        stem += "final" if entry.final else "provisional"

        def written(fraction: float) -> None:
            if progress is not None:
                progress(ROWS_READ + (1 - ROWS_READ) * fraction)

        data, mimetype = exports.encode(
            table, fmt, round_.key, progress=written if progress is not None else None
        )
        return ExportFile(f"{stem}.{fmt}", mimetype, data)

    return entry.kept(f"export.{fmt}", build)


def cached_export(
    session: Session, round_: Round, now: datetime, grace: timedelta, fmt: str
) -> ExportFile | None:
    """The export file if this process has already built it for the current ranking (an XLSX
    of a province-wide round takes seconds: the audit page does not build it just to show)."""
    found: ExportFile | None = current(session, round_, now, grace).extras.get(f"export.{fmt}")
    return found


def read_export_csv(data: bytes) -> list[dict[str, str]]:
    """An exported CSV back into rows keyed by the machine names of its second header row
    (EXPORT_COLUMNS), for the re-check."""
    lines = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(lines, None)  # what a person reads
    keys = next(lines, [])
    return [dict(zip(keys, row, strict=False)) for row in lines]


# -------------------------------------------------------------------------------- recheck


@dataclass
class Recheck:
    round_id: int
    attempts: int  # finished attempts re-scored
    people: int  # people re-ranked
    figure: int | None  # the figure re-counted from the re-scored attempts
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


@dataclass
class _Rescored:
    attempt_id: int
    user_id: int
    score: int
    max_score: int
    prediction: int | None
    duration_ms: int
    submitted_at: datetime


def _python_order(a: _Rescored, figure: int | None) -> tuple[Any, ...]:
    """The spec's order written again, independently of the SQL: the re-check compares them."""
    if figure is None:
        return (-a.score, a.duration_ms, a.submitted_at, a.attempt_id)
    missing = a.prediction is None
    distance = 0 if a.prediction is None else abs(a.prediction - figure)
    return (-a.score, missing, distance, a.duration_ms, a.submitted_at, a.attempt_id)


def _python_ranking(attempts: Iterable[_Rescored], figure: int | None) -> list[_Rescored]:
    best: dict[int, _Rescored] = {}
    for a in attempts:
        held = best.get(a.user_id)
        if held is None or _python_order(a, figure) < _python_order(held, figure):
            best[a.user_id] = a
    return sorted(best.values(), key=lambda a: _python_order(a, figure))


def recheck(
    session: Session,
    round_: Round,
    now: datetime,
    grace: timedelta,
    exported: list[dict[str, str]] | None = None,
    limit: int = 50,
) -> Recheck:
    """Re-score every finished attempt from its questions and their versions, re-time it from
    its stored times, re-count the figure and re-rank in Python; report every difference with
    the stored scores, the stored figure and the ranking the service gives (and, when given,
    an exported file's rows). At most `limit` differences are listed in full per kind."""
    differences: list[str] = []
    counts: Counter[str] = Counter()

    def report(kind: str, message: str) -> None:
        counts[kind] += 1
        if counts[kind] <= limit:
            differences.append(message)

    final = settle(session, round_, now, grace)
    answers = {
        vid: sorted(answer)
        for vid, answer in session.execute(
            select(QuestionVersion.id, QuestionVersion.answer).where(
                QuestionVersion.id.in_(
                    select(AttemptQuestion.question_version_id)
                    .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
                    .where(Attempt.round_id == round_.id)
                )
            )
        )
    }
    scored: dict[int, int] = {}
    questions: Counter[int] = Counter()
    for attempt_id, version_id, selected, correct in session.execute(
        select(
            AttemptQuestion.attempt_id,
            AttemptQuestion.question_version_id,
            AttemptQuestion.selected,
            AttemptQuestion.correct,
        )
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(Attempt.round_id == round_.id, Attempt.state.in_(FINISHED))
        .execution_options(yield_per=20_000)
    ):
        right = sorted(selected or []) == answers.get(version_id)
        scored[attempt_id] = scored.get(attempt_id, 0) + right
        questions[attempt_id] += 1
        if bool(correct) != right:
            report(
                "correct",
                f"attempt {attempt_id}: a question's stored mark is "
                f"{'right' if correct else 'wrong'}, re-computed {'right' if right else 'wrong'}",
            )
    rescored: list[_Rescored] = []
    for a in session.execute(
        select(
            Attempt.id,
            Attempt.user_id,
            Attempt.score,
            Attempt.max_score,
            Attempt.prediction,
            Attempt.duration_ms,
            Attempt.started_at,
            Attempt.deadline,
            Attempt.submitted_at,
        ).where(Attempt.round_id == round_.id, Attempt.state.in_(FINISHED))
    ):
        score = scored.get(a.id, 0)
        if a.score != score:
            report("score", f"attempt {a.id}: stored score {a.score}, re-computed {score}")
        if a.max_score != questions[a.id]:
            report(
                "max",
                f"attempt {a.id}: stored max_score {a.max_score}, "
                f"{questions[a.id]} questions on its paper",
            )
        submitted = a.submitted_at or a.deadline
        if submitted > a.deadline:
            report("late", f"attempt {a.id}: submitted at {submitted}, after its deadline")
        duration = max(0, round((submitted - a.started_at).total_seconds() * 1000))
        if a.duration_ms != duration:
            report(
                "duration",
                f"attempt {a.id}: stored duration {a.duration_ms} ms, re-computed {duration} ms",
            )
        rescored.append(
            _Rescored(a.id, a.user_id, score, a.max_score, a.prediction, duration, submitted)
        )
    # Disqualified people count nowhere in the ranking; the frozen figure left out those
    # disqualified by the time it was frozen (none later: a frozen figure never changes).
    out = dict(
        session.execute(
            select(Disqualification.user_id, Disqualification.at).where(
                Disqualification.round_id == round_.id
            )
        ).all()
    )
    frozen_at = round_.frozen_at
    counted = [
        a
        for a in rescored
        if a.user_id not in out or (frozen_at is not None and out[a.user_id] >= frozen_at)
    ]
    finished = len(rescored)
    rescored = [a for a in rescored if a.user_id not in out]
    figure: int | None = None
    if round_.prediction != "none":
        if round_.prediction == "entries":
            figure = len(counted)
        elif round_.prediction == "participants":
            figure = len({a.user_id for a in counted})
        else:
            figure = sum(a.score == a.max_score for a in _python_ranking(counted, None))
        if round_.frozen_at is not None and round_.frozen_figure != figure:
            report(
                "figure",
                f"frozen figure {round_.frozen_figure} stored, re-counted {figure}",
            )
    used = figure if final and round_.prediction != "none" else None
    expected = _python_ranking(rescored, used)
    stored = compute_ranking(session, round_, final).standings
    if len(stored) != len(expected):
        report("ranking", f"{len(stored)} people ranked, re-computed {len(expected)}")
    for place, (s, e) in enumerate(zip(stored, expected, strict=False), start=1):
        held = (s.attempt_id, s.user_id, s.score, s.prediction, s.duration_ms, s.submitted_at)
        want = (e.attempt_id, e.user_id, e.score, e.prediction, e.duration_ms, e.submitted_at)
        if held != want:
            report(
                "ranking",
                f"place {place}: the ranking has attempt {s.attempt_id} (score {s.score}, "
                f"{s.duration_ms} ms), re-computed attempt {e.attempt_id} (score {e.score}, "
                f"{e.duration_ms} ms)",
            )
    if exported is not None:
        _compare_export(exported, expected, used, final, report)
    for kind, n in counts.items():
        if n > limit:
            differences.append(f"… and {n - limit} more differences of this kind ({kind})")
    return Recheck(round_.id, finished, len(expected), figure, differences)


def _compare_export(
    exported: list[dict[str, str]],
    expected: list[_Rescored],
    figure: int | None,
    final: bool,
    report: Any,
) -> None:
    if len(exported) != len(expected):
        report("file", f"the file has {len(exported)} rows, re-computed {len(expected)} people")
    for place, (row, e) in enumerate(zip(exported, expected, strict=False), start=1):
        distance = "" if figure is None or e.prediction is None else str(abs(e.prediction - figure))
        want = {
            "place": str(place),
            "attempt_id": str(e.attempt_id),
            "score": str(e.score),
            "max_score": str(e.max_score),
            "prediction": "" if e.prediction is None else str(e.prediction),
            "frozen_figure": "" if figure is None or not final else str(figure),
            "distance": distance,
            "duration_s": exports.csv_number(e.duration_ms / 1000),
            "submitted_at_utc": e.submitted_at.isoformat(),
        }
        for column, value in want.items():
            held = row.get(column, "")
            if held != value:
                report(
                    "file",
                    f"file row {place}: {column} is {row.get(column)!r}, re-computed {value!r}",
                )
