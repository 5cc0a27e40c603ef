"""Every count a survey's results need, read in one pass per stamp of its responses.

The results of a survey — every view (everyone, by commune, by each demographic question, any
scope) and the suppression decision that applies to all of them — are sums over the same
counts. The cube holds them, per commune and per group of each demographic question
(0 = did not answer it; the commune alone for "no breakdown"):

- `people`: per (breakdown, commune, group), the responses, those with a satisfaction index
  score, and the scores' sum, sum of squares, items in the top two and items answered;
- `answers`: per (breakdown, question, commune, group, item, value), the answer rows with a
  value (choices, scale values, ratings; grid rows and multiple-choice items by their item);
- `questions`: per (breakdown, question, commune, group), the respondents of the question
  (the one row each has: the value of a single, scale or rating answer or its "other" text,
  the number, the row at item 0 of a multiple-choice or grid answer) and the numbers' count,
  sum and sum of squares.

One pass over the answers reads them: the answers joined once to their responses, counted per
(question, commune, group of every demographic question, item, value) — a plain GROUP BY, which
PostgreSQL runs as a parallel hash aggregate like the raw GROUP BY of the same rows — beside
one GROUP BY of the responses per (commune, groups); each breakdown's part is then summed from
those counts in Python. A response's groups are on its own row (`survey_responses.groups`,
written with it: app/services/survey_definition.py `groups_code`), so neither pass joins the
demographic answers again; only a survey with more than GROUPED demographic questions joins
the answers of the others. Demographic questions are
counted together while their groups crossed stay few (CROSSED), so the rows read stay bounded
by communes × CROSSED × values whatever the number of responses (more of them: one more pass
per batch). On PostgreSQL the pass runs without JIT compilation and with room for its hash
table (PASS_SETTINGS). Only aggregates leave the database. `analytics` keeps the cube under the
stamp of the responses (app/services/stamped.py) and derives the decision and every view from
it in pandas.

Two breakdowns are the response's own columns (issue 20): its channel (CHANNEL_GROUPS) and its
hamlet (0: none named). They are read in a pass of their own only when the survey has a
response that is not an online one without a hamlet (a partial index answers that at once);
otherwise they are the whole survey's counts relabelled, with no pass. The survey's tallies of
hand-counted paper forms (app/services/tallies.py) are then added to every breakdown: as people
without an index score, in the channel's TALLY group, their hamlet's, and each demographic
question's UNKNOWN group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.models import Survey, SurveyAnswer, SurveyResponse
from app.services.survey_definition import SurveyDef, group_of, stored_layout, stored_version

NONE = ""  # the breakdown key of "no breakdown" (communes only, group 0)
PEOPLE = ["unit", "group", "n", "scored", "s", "s2", "top", "items"]
ANSWERS = ["question", "unit", "group", "item", "value", "n"]
QUESTIONS = ["question", "unit", "group", "respondents", "count", "total", "squares"]


@dataclass(frozen=True)
class Part:
    """The counts of one breakdown (a demographic question's key, or NONE)."""

    people: pd.DataFrame
    answers: pd.DataFrame
    questions: pd.DataFrame


@dataclass(frozen=True)
class Cube:
    parts: dict[str, Part] = field(default_factory=dict)

    def part(self, by: str | None) -> Part:
        return self.parts[by or NONE]


LAYOUT_TRIES = 3


def build(session: Session, survey: Survey, defn: SurveyDef) -> Cube:
    """The cube of `survey`'s responses as they are now (the module's docstring), with its
    tallies of hand-counted paper forms added (app/services/tallies.py).

    The responses' `groups` are decoded by the layout the database holds (read with the
    survey's version before the passes), never by `defn`'s: a request's definition may be
    older than the rows (read just before a content load committed, or from a replica behind
    the primary), and read by the wrong places the breakdown by one question would be another's.
    A load that changes the layout restamps every row in its own transaction and moves the
    version, so when the version read after the passes is the one read before, the passes
    read rows of that layout; otherwise they are read again, and after LAYOUT_TRIES the
    demographic answers are joined (right whatever changes)."""
    for _try in range(LAYOUT_TRIES):
        version, layout = stored_layout(session, survey.id)
        made = _build(session, survey, defn, {qid: i for i, qid in enumerate(layout)})
        if stored_version(session, survey.id) == version:
            return made
    return _build(session, survey, defn, {})


def _build(session: Session, survey: Survey, defn: SurveyDef, held: dict[int, int]) -> Cube:
    """`build` with `held`: the place in `groups` of each question it holds, by id."""
    demographics = [q for q in defn.questions if q.demographic]
    # The breakdowns: each demographic question (joined to its answer), then the response's own
    # channel and hamlet (its columns), read only when some response is not an online one
    # without a hamlet; otherwise every response is online (CHANNEL group 1) with no hamlet.
    spread = _spread(session, survey)
    dims: list[tuple[str, Any, Any, int]] = []
    # The demographic questions `groups` holds from the response's own row, any other (beyond
    # the first GROUPED, or unknown to the stored layout) from its answers joined.
    for q in demographics:
        if q.id in held:
            group = group_of(SurveyResponse.groups, held[q.id])
            dims.append((q.key, group, None, len(q.choices) + 1))
            continue
        demo = SurveyAnswer.__table__.alias(f"demo_{q.id}")
        join = (
            demo,
            and_(
                demo.c.response_id == SurveyResponse.id,
                demo.c.question_id == q.id,
                demo.c.item == 0,
            ),
        )
        dims.append((q.key, func.coalesce(demo.c.value, 0), join, len(q.choices) + 1))
    if spread:
        channel = case(
            *[(SurveyResponse.channel == name, g) for name, g in CHANNEL_GROUPS.items()], else_=0
        )
        dims.append((CHANNEL, channel, None, CROSSED))  # a pass of their own: hamlets are many
        dims.append((HAMLET, func.coalesce(SurveyResponse.hamlet_code, 0), None, 1))
    keys = [NONE, *[d[0] for d in dims]]
    shown = [q for q in defn.questions if q.type != "text"]
    kinds = {q.id: q.type for q in shown}
    unit = SurveyResponse.unit_code
    score = SurveyResponse.index_score
    scored = score.is_not(None)

    def fine(columns: list[Any], used: list[Any]) -> Any:
        """Answer counts per (question, commune, `columns`, item, value), with the numbers'
        count, sum and sum of squares; joined to the demographic answers `used` only."""
        stmt = (
            select(
                SurveyAnswer.question_id,
                unit,
                *columns,
                SurveyAnswer.item,
                SurveyAnswer.value,
                func.count(),
                func.count(SurveyAnswer.number),
                func.sum(SurveyAnswer.number),
                func.sum(SurveyAnswer.number * SurveyAnswer.number),
            )
            .select_from(SurveyResponse)
            .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        )
        for join in used:
            stmt = stmt.outerjoin(*join)
        return stmt.where(
            SurveyResponse.survey_id == survey.id,
            SurveyAnswer.question_id.in_([q.id for q in shown] or [-2]),
        ).group_by(SurveyAnswer.question_id, unit, *columns, SurveyAnswer.item, SurveyAnswer.value)

    def people(columns: list[Any], used: list[Any]) -> Any:
        """Responses per (commune, `columns`): how many, with a score, the scores' sum and sum
        of squares, items in the top two and items answered (of those with a score)."""
        stmt = select(
            unit,
            *columns,
            func.count(),
            func.count(score),
            func.sum(score),
            func.sum(score * score),
            func.sum(case((scored, SurveyResponse.index_top), else_=0)),
            func.sum(case((scored, SurveyResponse.index_items), else_=0)),
        ).select_from(SurveyResponse)
        for join in used:
            stmt = stmt.outerjoin(*join)
        return stmt.where(SurveyResponse.survey_id == survey.id).group_by(unit, *columns)

    # Breakdowns counted together in one pass while their groups crossed stay few (at most
    # CROSSED, so at most communes × CROSSED × values rows); usually all demographic questions
    # in one, the channel and the hamlet (a commune's hamlets only: nested in it) in another.
    batches: list[list[int]] = [[]] if not dims else []
    for i, dim in enumerate(dims):
        if batches and _crossed(dims, batches[-1]) * dim[3] <= CROSSED:
            batches[-1].append(i)
        else:
            batches.append([i])
    found: dict[str, list[tuple[Any, ...]]] = {k: [] for k in keys}
    persons: dict[str, dict[tuple[int, int], list[Any]]] = {k: {} for k in keys}
    postgresql = session.get_bind().dialect.name == "postgresql"

    def read(stmt: Any) -> Any:
        return _with_settings(session, stmt) if postgresql else session.execute(stmt)

    for b, batch in enumerate(batches):
        columns = [dims[i][1] for i in batch]
        used = [dims[i][2] for i in batch if dims[i][2] is not None]

        def targets(gs: Any, batch: list[int] = batch, first: bool = b == 0) -> list[Any]:
            out = [(keys[1 + i], int(g)) for i, g in zip(batch, gs, strict=True)]
            return [*out, (NONE, 0)] if first else out

        sums: dict[str, dict[tuple[Any, ...], list[Any]]] = {}
        for row in read(fine(columns, used)):
            question, unit_code, *gs = row[: 2 + len(batch)]
            item, value, n, count, total, squares = row[2 + len(batch) :]
            for key, g in targets(gs):
                entry = sums.setdefault(key, {}).setdefault(
                    (question, unit_code, g, item, value), [0, 0, 0.0, 0.0]
                )
                entry[0] += n
                entry[1] += count or 0
                entry[2] += total or 0.0
                entry[3] += squares or 0.0
        for key, entries in sums.items():
            found[key] = [(*k, *v) for k, v in entries.items()]
        for row in read(people(columns, used)):
            unit_code, *gs = row[: 1 + len(batch)]
            values = row[1 + len(batch) :]
            for key, g in targets(gs):
                entry = persons[key].setdefault((unit_code, g), [0, 0, 0.0, 0.0, 0, 0])
                for k, v in enumerate(values):
                    entry[k] += v or 0
    if not spread:  # every response online, none with a hamlet: the whole survey's counts
        found[CHANNEL] = [
            (q, u, CHANNEL_GROUPS["online"], *rest) for q, u, _g, *rest in found[NONE]
        ]
        persons[CHANNEL] = {
            (u, CHANNEL_GROUPS["online"]): list(v) for (u, _g), v in persons[NONE].items()
        }
        found[HAMLET] = list(found[NONE])
        persons[HAMLET] = {key: list(v) for key, v in persons[NONE].items()}
    _add_tallies(session, survey, found, persons, kinds)
    return Cube({key: _part(persons[key], found[key], kinds) for key in found})


CHANNEL = "*channel"  # the breakdown by channel (groups CHANNEL_GROUPS)
HAMLET = "*hamlet"  # the breakdown by hamlet (groups: the hamlet's code, 0 for none named)
# A channel's group number; TALLY: the hand-counted paper forms (channel "paper" to readers,
# a column of its own to the suppression decision: its figure is shown apart).
CHANNEL_GROUPS = {"online": 1, "assisted": 2, "kiosk": 3, "paper": 4}
TALLY = 5
UNKNOWN = -1  # a demographic question's group of the tallied forms: nobody asked them


def _spread(session: Session, survey: Survey) -> bool:
    """Whether some response of `survey` is not an online one without a hamlet."""
    return (
        session.scalar(
            select(SurveyResponse.id)
            .where(
                SurveyResponse.survey_id == survey.id,
                (SurveyResponse.channel != "online") | SurveyResponse.hamlet_code.is_not(None),
            )
            .limit(1)
        )
        is not None
    )


def _add_tallies(
    session: Session,
    survey: Survey,
    found: dict[str, list[tuple[Any, ...]]],
    persons: dict[str, dict[tuple[int, int], list[Any]]],
    kinds: dict[int, str],
) -> None:
    """The survey's tallies in force, added to every breakdown: the forms as people (with no
    index score), their counts as answer rows; in the group TALLY of the channel, their hamlet
    (or 0) in the hamlet's, UNKNOWN in each demographic question's, 0 in no breakdown's."""
    from app.services import tallies  # the tallies' rule reads nothing of the cube

    for tally, counts in tallies.in_force(session, survey):
        for key in list(found):
            g = (
                0
                if key == NONE
                else TALLY
                if key == CHANNEL
                else tally.hamlet_code or 0
                if key == HAMLET
                else UNKNOWN
            )
            entry = persons[key].setdefault((tally.unit_code, g), [0, 0, 0.0, 0.0, 0, 0])
            entry[0] += tally.forms
            for question, item, value, n in counts:
                if kinds.get(question) not in ("single", "scale", "rating", "multiple"):
                    continue  # a question since retired or changed: its counts no longer apply
                found[key].append((question, tally.unit_code, g, item, value, n, 0, 0.0, 0.0))


CROSSED = 64  # groups of the demographic questions of one pass, crossed


def _crossed(dims: list[Any], batch: list[int]) -> int:
    size = 1
    for i in batch:
        size *= dims[i][3]
    return size


# For the one pass on PostgreSQL: no JIT compilation (seconds of it for a pass of seconds), and
# room to count in a hash table: the planner, which cannot tell how few (commune, group, value)
# there are, would otherwise sort millions of rows on disk to count them.
PASS_SETTINGS = {"jit": "off", "work_mem": "64MB"}


def _with_settings(session: Session, stmt: Any) -> list[Any]:
    """`stmt`'s rows under PASS_SETTINGS, the settings of the transaction restored after."""
    before = {
        name: session.execute(select(func.current_setting(name))).scalar_one()
        for name in PASS_SETTINGS
    }
    for name, value in PASS_SETTINGS.items():
        session.execute(select(func.set_config(name, value, True)))
    try:
        return list(session.execute(stmt))
    finally:
        for name, value in before.items():
            session.execute(select(func.set_config(name, value, True)))


def _which(keys: list[str], groups: Any) -> str:
    """The breakdown of a grouping set's row: the demographic whose group is set, or NONE."""
    for key, g in zip(keys[1:], groups, strict=True):
        if g is not None:
            return key
    return NONE


def _group(groups: Any) -> int:
    return next((int(g) for g in groups if g is not None), 0)


def _part(
    persons: dict[tuple[int, int], list[Any]], rows: list[tuple[Any, ...]], kinds: dict[int, str]
) -> Part:
    """One breakdown's frames from its responses' sums per (unit, group) and its answer rows
    (question, unit, group, item, value, n, count, total, squares)."""
    respondents: dict[tuple[int, int, int], list[Any]] = {}
    counts = []
    for question, unit, g, item, value, n, count, total, squares in rows:
        n, count = int(n), int(count or 0)
        kind, key = kinds[question], (question, unit, g)
        if kind == "number":
            if count:
                entry = respondents.setdefault(key, [0, 0, 0.0, 0.0])
                entry[0] += count
                entry[1] += count
                entry[2] += float(total)
                entry[3] += float(squares)
        elif (kind in ("single", "scale", "rating") and item in (0, -1)) or (
            kind in ("multiple", "grid") and item == 0 and value is None
        ):
            respondents.setdefault(key, [0, 0, 0.0, 0.0])[0] += n
        if value is not None:
            counts.append((question, unit, g, item, value, n))
    return Part(
        people=pd.DataFrame(
            [
                (u, g, int(n), int(sc), float(s), float(s2), int(top), int(items))
                for (u, g), (n, sc, s, s2, top, items) in persons.items()
            ],
            columns=PEOPLE,
        ),
        answers=pd.DataFrame(counts, columns=ANSWERS),
        questions=pd.DataFrame(
            [(q, u, g, *entry) for (q, u, g), entry in respondents.items()], columns=QUESTIONS
        ),
    )
