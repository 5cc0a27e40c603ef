"""An attack on the small-groups promise: every figure one leader (and one officer) can obtain
about a survey, as linear equations over the unknown counts per (commune, gender, answer);
a hidden group's figure can be worked out exactly when its vector lies in the row space of
those equations (numpy rank). None may."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select

from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Survey, SurveyAnswer, SurveyResponse, Unit
from app.services import survey_definition, survey_progress
from tests.conftest import PASSWORD, PROVINCE

NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
SLUG = "tan-cong-thu"
SURVEY = f"""\
survey: {SLUG}
title: Thử tấn công nhóm nhỏ
anonymous: true
opens: 2026-12-01 00:00
closes: 2026-12-31 23:59
show_results: true
pages:
  - title: Một
    questions:
      - {{id: gioi-tinh, type: single, text: Giới tính, choices: [Nam, Nữ, Khác],
          demographic: true, required: false}}
      - {{id: hai-long, type: scale, text: Mức hài lòng, choices: [1, 2, 3, 4, 5], index: true,
          required: false}}
"""
GENDERS = [0, 1, 2, 3]  # 0: did not say
VALUES = [1, 2, 3, 4, 5]  # answers to hai-long
ALL = [0, *VALUES]  # 0: did not answer it (so a question's n is not its group's size)
# Per commune (by position in the province's list): people per gender, as (gender, answer).
# Communes of 3 (under the threshold), 5 (just at it), 6, 8 and 20; a gender "Khác" of 2 people
# in the whole survey, one person who did not say, and small genders inside communes.
PLAN: list[list[tuple[int, int]]] = [
    [(2, 1), (2, 2), (0, 5)],  # 3
    [(1, 4), (1, 5), (1, 4), (1, 3), (1, 0)],  # 5
    [(1, 0), (1, 3), (1, 5), (2, 4), (2, 4), (2, 2)],  # 6
    [(1, 5), (1, 4), (1, 3), (1, 0), (2, 1), (2, 2), (2, 3), (2, 0)],  # 8
    [(1, v) for v in (1, 2, 3, 4, 5, 5, 4, 3, 2)]
    + [(2, v) for v in (5, 4, 4, 0, 2, 1, 5, 4, 3)]
    + [(3, 1), (3, 5)],  # 20
]


def add_responses(session: Any, survey: Survey, rows: list[tuple[Any, ...]]) -> None:
    """Stored rows as the app stores them (demo_responses does the same), one per response:
    (commune, gender, answer), optionally followed by the channel and the hamlet."""
    defn = survey_definition.definition(session, survey)
    gender, level = defn.by_key["gioi-tinh"], defn.by_key["hai-long"]
    responses, answers = [], []
    for unit, g, value, *more in rows:
        channel = more[0] if more else "online"
        hamlet = more[1] if len(more) > 1 else None
        rid = uuid.uuid4()
        values: dict[str, Any] = ({"hai-long": value} if value else {}) | (
            {"gioi-tinh": g} if g else {}
        )
        responses.append(
            {
                "id": rid,
                "survey_id": survey.id,
                "unit_code": unit,
                "channel": channel,
                "hamlet_code": hamlet,
                "signed_in": True,
                "user_id": None,
                "submitted_on": date(2026, 12, 5),
                "demo": False,
                **survey_definition.stored_figures(defn, values),
            }
        )
        if g:
            answers.append(
                {"response_id": rid, "question_id": gender.id, "item": 0, "value": g}
                | {"number": None, "text": None}
            )
        if value:
            answers.append(
                {"response_id": rid, "question_id": level.id, "item": 0, "value": value}
                | {"number": None, "text": None}
            )
    session.execute(insert(SurveyResponse.__table__), responses)
    session.execute(insert(SurveyAnswer.__table__), answers)
    session.commit()


@pytest.fixture
def attacked(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        outcome = load_files(
            db.session, [("s.yaml", SURVEY.encode())], Actor(unit_code=PROVINCE, is_admin=True), NOW
        )[0]
        assert outcome.ok, outcome.result.messages("en")
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        communes = db.session.scalars(
            select(Unit.code).where(Unit.parent_code == PROVINCE).order_by(Unit.code).limit(5)
        ).all()
        rows = [(communes[i], g, v) for i, people in enumerate(PLAN) for g, v in people]
        add_responses(db.session, survey, rows)
        names = dict(db.session.execute(select(Unit.code, Unit.name)).all())
    return app, list(communes), names, rows


class Equations:
    """Observed figures as rows over the unknowns x[commune, gender, answer]."""

    def __init__(self, communes: list[int]) -> None:
        self.keys = [(r, g, a) for r in communes for g in GENDERS for a in ALL]
        self.at = {k: i for i, k in enumerate(self.keys)}
        self.rows: list[np.ndarray] = []
        self._seen = -1  # how many rows _rows_basis spans
        self._rows_basis = np.zeros((0, len(self.keys)))

    def vector(self, units: list[int], genders: list[int], values: list[int]) -> np.ndarray:
        v = np.zeros(len(self.keys))
        for r in units:
            for g in genders:
                for a in values:
                    v[self.at[r, g, a]] = 1
        return v

    def add(self, units: list[int], genders: list[int], values: list[int], weights: Any = None):  # type: ignore[no-untyped-def]
        if weights is None:
            self.rows.append(self.vector(units, genders, values))
        else:
            v = np.zeros(len(self.keys))
            for r in units:
                for g in genders:
                    for a in values:
                        v[self.at[r, g, a]] = weights(a)
            self.rows.append(v)

    def determined(self, target: np.ndarray) -> bool:
        """Whether `target` lies in the row space of the observations: adding it as a row does
        not raise the rank. The row space is taken once (an orthonormal basis from one SVD, as
        matrix_rank computes it) rather than again for every target and every leak checked."""
        basis = self._basis()
        return bool(np.linalg.matrix_rank(np.vstack([basis, target])) == len(basis))

    def _basis(self) -> np.ndarray:
        if self._seen != len(self.rows):
            m = np.array(self.rows)
            _, s, vt = np.linalg.svd(m, full_matrices=False)
            tol = s.max() * max(m.shape) * np.finfo(s.dtype).eps  # matrix_rank's tolerance
            self._rows_basis, self._seen = vt[s > tol], len(self.rows)
        return self._rows_basis


def observe_results(eq: Equations, body: dict[str, Any], units: list[int], by: str) -> set:  # type: ignore[type-arg]
    """The equations of one results answer (API or page: the same figures); the hidden groups."""
    hidden = set()
    if body.get("suppressed"):
        return {(tuple(units), None)}
    eq.add(units, GENDERS, ALL)  # n: the responses of the scope
    for question in body["questions"]:
        for group in question["groups"]:
            g = group["group"]
            in_units = [g] if by == "unit" else units
            genders = [g] if by == "gioi-tinh" else GENDERS
            if group.get("suppressed"):
                if question["id"] == "hai-long":  # the gender question may withhold its own
                    hidden.add((tuple(in_units), g if by == "gioi-tinh" else None))
                continue
            if question["id"] == "hai-long":
                eq.add(in_units, genders, VALUES)  # n: who answered it
                for a in VALUES:
                    eq.add(in_units, genders, [a])  # counts (absent: 0)
                    assert group["counts"].get(str(a), 0) >= 0
                eq.add(in_units, genders, VALUES, weights=lambda a: a)  # the mean times n
            else:  # the gender question's own counts: its groups
                eq.add(in_units, [x for x in genders if x], ALL)  # n: who said
                for x in GENDERS[1:]:
                    if x in genders:
                        eq.add(in_units, [x], ALL)
    for group in body["index"]:
        g = group["group"]
        in_units = [g] if by == "unit" else units
        genders = [g] if by == "gioi-tinh" else GENDERS
        if group.get("suppressed"):
            continue
        eq.add(in_units, genders, VALUES)
        eq.add(in_units, genders, VALUES, weights=lambda a: (a - 1) * 25)  # index times n
        eq.add(in_units, genders, [4, 5])  # % satisfied times the items answered
    return hidden


def bearer(client, phone: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = client.post(
        "/api/v1/auth/token", json={"phone": phone, "password": PASSWORD}
    ).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def everything_a_reader_sees(app, client, auth, communes, names, phone) -> tuple[Equations, set]:  # type: ignore[no-untyped-def]
    eq = Equations(communes)
    hidden: set = set()  # type: ignore[type-arg]
    headers = bearer(client, phone)
    url = f"/api/v1/surveys/{SLUG}/results"
    for unit in [None, *communes]:
        units = communes if unit is None else [unit]
        for by in ["all", "unit", "gioi-tinh"]:
            query = {"by": by} | ({"unit": unit} if unit else {})
            answer = client.get(url, query_string=query, headers=headers)
            assert answer.status_code == 200, answer.get_data(as_text=True)
            hidden |= observe_results(eq, answer.get_json(), units, by)
    auth.login(phone)
    # The CSV export of each view: n and counts per group and answer, as on the page.
    for unit in [None, *communes]:
        units = communes if unit is None else [unit]
        for by in ["all", "unit", "gioi-tinh"]:
            query = {"by": by} | ({"unit": unit} if unit else {})
            text = client.get(f"/results/{SLUG}/results.csv", query_string=query)
            lines = list(csv.reader(io.StringIO(text.get_data(as_text=True).lstrip("\ufeff"))))
            rows = [dict(zip(lines[1], line, strict=True)) for line in lines[2:]]  # ids: row 2
            labels = {names[c]: c for c in communes} | {"Nam": 1, "Nữ": 2, "Khác": 3}
            for row in rows:
                if row["question"] != "hai-long" or not row["n"]:
                    continue
                g = labels.get(row["group"], 0)  # 0: "All", or "No answer" of the gender
                in_units = [g] if by == "unit" else units
                genders = [g] if by == "gioi-tinh" else GENDERS
                eq.add(in_units, genders, VALUES)
                eq.add(in_units, genders, [int(row["value"])])
    # The progress page: responses per commune.
    page = client.get(f"/surveys/{SLUG}/progress").get_data(as_text=True)
    for code in communes:
        found = re.search(
            rf"<td>{re.escape(names[code])}</td><td class=\"text-end\">(\d+)</td>", page
        )
        if found:
            eq.add([code], GENDERS, ALL)
    # The thanks page's overall results (whatever feeds it), open to anyone who answered.
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        overall = survey_progress.overall_results(
            db.session, survey_definition.definition(db.session, survey)
        )
    if not overall["suppressed"]:
        eq.add(communes, GENDERS, ALL)
        for q in overall["questions"]:
            for i, (_label, _count, _percent) in enumerate(q["rows"], start=1):
                if q["key"] == "hai-long":
                    eq.add(communes, GENDERS, [i])
                else:
                    eq.add(communes, [i], ALL)
    return eq, hidden


def observe_raw_export(eq: Equations, client, communes, names, hidden) -> None:  # type: ignore[no-untyped-def]
    """The anonymous raw export (officers of the province): one row per response."""
    text = client.get(f"/results/{SLUG}/responses.csv").get_data(as_text=True).lstrip("\ufeff")
    lines = list(csv.reader(io.StringIO(text)))
    head, rows = lines[1], lines[1:]  # question texts, then their ids; rows[1:] the responses
    unit_at, gender_at = (
        head.index("unit"),
        head.index("gioi-tinh"),
    )
    by_name = {names[c]: c for c in communes}
    shown_units = {by_name[r[unit_at]] for r in rows[1:] if r[unit_at] in by_name}
    generalised = [c for c in communes if c not in shown_units]
    for label in {r[unit_at] for r in rows[1:]}:
        here = [r for r in rows[1:] if r[unit_at] == label]
        if label in by_name:
            units = [by_name[label]]
            # The reader knows from the views which groups of the commune are hidden.
            blank = {0} | {g for (u, g) in hidden if u == (by_name[label],) and g}
        else:
            units = generalised
            blank = {0} | {g for g in GENDERS[1:] if str(g) not in {r[gender_at] for r in here}}
        eq.add(units, sorted(blank), ALL)
        for a in ALL:  # a blank answer (0) is a row too
            eq.add(units, sorted(blank), [a])  # the number of such rows, 0 included
            for g in set(GENDERS) - blank:
                eq.add(units, [g], [a])


def targets(communes: list[int], rows: list[tuple[int, int, int]], hidden: set, threshold: int = 5):  # type: ignore[no-untyped-def, type-arg]
    """Every group that must stay hidden: the small ones (by the data) and those the views hid,
    as (units, genders)."""
    size: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
    groups: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    for r in communes:
        groups.add(((r,), tuple(GENDERS)))
        for g in GENDERS:
            groups.add(((r,), (g,)))
    for g in GENDERS:
        groups.add((tuple(communes), (g,)))
    for units, genders in groups:
        size[units, genders] = sum(1 for r, g, _a in rows if r in units and g in genders)
        answered = sum(1 for r, g, a in rows if r in units and g in genders and a)
        if 0 < answered < threshold:  # small for the question, if not by responses
            size[units, genders] = min(size[units, genders], answered)
    small = {k for k, n in size.items() if 0 < n < threshold}
    views = {(units, tuple(GENDERS) if g is None else (g,)) for units, g in hidden}
    return small | {v for v in views if size.get(v, 1)}


def leaks(eq: Equations, wanted) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    assert wanted
    for units, genders in sorted(wanted):
        size = eq.vector(list(units), list(genders), ALL)
        if eq.determined(size):
            out.append(f"n of {units} × {genders}")
        if eq.determined(eq.vector(list(units), list(genders), VALUES)):
            out.append(f"n answering hai-long in {units} × {genders}")
        for a in ALL:
            if eq.determined(eq.vector(list(units), list(genders), [a])):
                out.append(f"count of answer {a} in {units} × {genders}")
    return out


def test_no_hidden_group_can_be_worked_out_from_everything_a_leader_sees(
    attacked, client, auth, make_user
):
    app, communes, names, rows = attacked
    make_user(role="leader", phone="0911111111")
    eq, hidden = everything_a_reader_sees(app, client, auth, communes, names, "0911111111")
    wanted = targets(communes, rows, hidden)
    assert ((communes[0],), tuple(GENDERS)) in wanted  # the commune of 3
    assert leaks(eq, wanted) == []


def test_no_hidden_group_can_be_worked_out_with_the_raw_export_too(
    attacked, client, auth, make_user
):
    app, communes, names, rows = attacked
    make_user(role="officer", phone="0911111112")
    eq, hidden = everything_a_reader_sees(app, client, auth, communes, names, "0911111112")
    observe_raw_export(eq, client, communes, names, hidden)
    assert leaks(eq, targets(communes, rows, hidden)) == []


# ----------------------------------------------------------------- hamlets and channels (issue 20)
# Unknowns x[commune, place, channel, gender, answer]: place the hamlet's code or 0 (none named);
# channel one of CHANNELS_SEEN, "tally" for forms counted by hand (gender UNKNOWN: nobody asked).
CHANNELS_SEEN = ["online", "assisted", "kiosk", "paper", "tally"]
UNKNOWN = -1
PARTS = {"paper": {"paper", "tally"}}  # the paper channel's figures include the tallied forms


class Cells:
    """Observed figures as rows over every (commune, place, channel, gender, answer)."""

    def __init__(self, communes: list[int], places: dict[int, list[int]]) -> None:
        self.keys = [
            (r, p, c, g, a)
            for r in communes
            for p in [0, *places.get(r, [])]
            for c in CHANNELS_SEEN
            for g in [*GENDERS, UNKNOWN]
            for a in ALL
        ]
        self.eq = Equations([])
        self.eq.keys = self.keys  # type: ignore[assignment]
        self.eq.at = {k: i for i, k in enumerate(self.keys)}

    def vector(self, where: Any, weight: Any = None) -> np.ndarray:
        v = np.zeros(len(self.keys))
        for i, key in enumerate(self.keys):
            if where(*key):
                v[i] = 1 if weight is None else weight(key[4])
        return v

    def add(self, where: Any, weight: Any = None) -> None:
        self.eq.rows.append(self.vector(where, weight))

    def determined(self, where: Any) -> bool:
        return self.eq.determined(self.vector(where))


def _group_where(by: str, g: Any, scope: Any) -> Any:
    """The people of group `g` of a `by` breakdown within `scope` (a predicate)."""
    if by == "all":
        return scope
    if by == "unit":
        return lambda r, p, c, ge, a: r == g
    if by == "gioi-tinh":
        return lambda r, p, c, ge, a: scope(r, p, c, ge, a) and ge == g
    if by == "channel":
        names = PARTS.get(g, {g})
        return lambda r, p, c, ge, a: scope(r, p, c, ge, a) and c in names
    # by hamlet: a hamlet's code, or a commune's code for its people who named none
    return lambda r, p, c, ge, a: scope(r, p, c, ge, a) and (p == g or (p == 0 and r == g))


def observe_everything(cells: Cells, body: dict[str, Any], scope: Any, by: str) -> list[Any]:
    """The equations of one results answer; the groups it hides (predicates)."""
    if body.get("suppressed"):
        return [scope]
    hidden = []
    cells.add(scope)
    for c in body.get("channels", []):
        names = PARTS.get(c["channel"], {c["channel"]})

        def where(*k: Any, names: set[str] = names) -> bool:
            return bool(scope(*k)) and k[2] in names

        if c.get("suppressed"):
            hidden.append(where)
            continue
        cells.add(where)
        if "tallied" in c:
            cells.add(lambda r, p, ch, ge, a: scope(r, p, ch, ge, a) and ch == "tally")
    for question in body["questions"]:
        for group in question["groups"]:
            where = _group_where(by, group["group"], scope)
            if group.get("suppressed"):
                if question["id"] == "hai-long":
                    hidden.append(where)
                continue
            if question["id"] == "hai-long":
                cells.add(lambda *k, w=where: w(*k) and k[4] != 0)
                for v in VALUES:
                    cells.add(lambda *k, w=where, v=v: w(*k) and k[4] == v)
                cells.add(lambda *k, w=where: w(*k) and k[4] != 0, weight=lambda a: a)
            else:
                cells.add(lambda *k, w=where: w(*k) and k[3] in (1, 2, 3))
                for x in (1, 2, 3):
                    cells.add(lambda *k, w=where, x=x: w(*k) and k[3] == x)
    for group in body["index"]:
        where = _group_where(by, group["group"], scope)
        if group.get("suppressed"):
            continue
        scored = (lambda w: lambda *k: w(*k) and k[4] != 0 and k[2] != "tally")(where)
        cells.add(scored)
        cells.add(scored, weight=lambda a: (a - 1) * 25)
        cells.add(lambda *k, s=scored: s(*k) and k[4] in (4, 5))
    return hidden


# Commune 0: 20 people — hamlet 1 (9), hamlet 2 (3: small), none named (8); 6 assisted, 2 at
# the kiosk (small). Commune 1: 8 online, no hamlet, and a tally of 3 forms (small). Commune 2:
# 12, all of hamlet 3. Commune 3: 6 paper forms keyed in. Commune 4: none.
def _issue20_rows(communes: list[int]) -> tuple[list[tuple[Any, ...]], dict[int, list[int]]]:
    c0, c1, c2, c3 = communes[:4]
    h1, h2, h3 = c0 * 1000 + 1, c0 * 1000 + 2, c2 * 1000 + 1
    rows: list[tuple[Any, ...]] = []
    plan0 = [(h1, "online")] * 5 + [(h1, "assisted")] * 4 + [(h2, "online")] * 2
    plan0 += [(h2, "kiosk")] + [(0, "online")] * 5 + [(0, "assisted")] * 2 + [(0, "kiosk")]
    for i, (place, channel) in enumerate(plan0):
        rows.append((c0, 1 + i % 2, 1 + i % 5, channel, place or None))
    rows += [(c1, 1 + i % 3, 1 + (i * 3) % 5, "online", None) for i in range(8)]
    rows += [(c2, 1 + i % 2, 1 + (i * 2) % 5, "online", h3) for i in range(12)]
    rows += [(c3, 2, 1 + i % 5, "paper", None) for i in range(6)]
    return rows, {c0: [h1, h2], c2: [h3]}


@pytest.fixture
def attacked_places(app):  # type: ignore[no-untyped-def]
    from app.models import SurveyTally, SurveyTallyCount, UnitLevel

    with app.app_context():
        outcome = load_files(
            db.session, [("s.yaml", SURVEY.encode())], Actor(unit_code=PROVINCE, is_admin=True), NOW
        )[0]
        assert outcome.ok
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        communes = db.session.scalars(
            select(Unit.code).where(Unit.parent_code == PROVINCE).order_by(Unit.code).limit(5)
        ).all()
        rows, places = _issue20_rows(list(communes))
        for commune, codes in places.items():
            for code in codes:
                db.session.add(
                    Unit(
                        code=code,
                        name=f"Ấp {code % 1000}",
                        level=UnitLevel.HAMLET,
                        division_type="Ấp",
                        parent_code=commune,
                        search_name=f"ap {code % 1000}",
                    )
                )
        db.session.commit()
        add_responses(db.session, survey, rows)
        # 3 forms counted by hand in commune 1: hai-long 5 twice, one left blank.
        level = survey_definition.definition(db.session, survey).by_key["hai-long"]
        tally = SurveyTally(
            survey_id=survey.id, unit_code=communes[1], forms=3, created_at=NOW, withdrawn_at=None
        )
        db.session.add(tally)
        db.session.flush()
        db.session.add(
            SurveyTallyCount(tally_id=tally.id, question_id=level.id, item=0, value=5, n=2)
        )
        db.session.commit()
        people = (
            [(r, p or 0, c, g, v) for r, g, v, c, p in rows]
            + [(communes[1], 0, "tally", UNKNOWN, 5)] * 2
            + [(communes[1], 0, "tally", UNKNOWN, 0)]
        )
    return app, list(communes), places, people


def test_no_hidden_hamlet_or_channel_can_be_worked_out_from_every_view(
    attacked_places, client, auth, make_user
):
    """A leader, the officer of the commune with hamlets, and the officer of each hamlet: every
    results answer they can obtain (each scope × every breakdown, the channels' shares, a
    hamlet's own figures), the exports, the progress page and the thanks page."""
    app, communes, places, people = attacked_places
    cells = Cells(communes, places)
    hidden: list[Any] = []
    url = f"/api/v1/surveys/{SLUG}/results"
    c0 = communes[0]
    readers = [("0911111111", "leader", PROVINCE), ("0911111112", "officer", c0)]
    readers += [(f"09111112{i:02d}", "officer", h) for i, h in enumerate(places[c0])]
    everywhere = lambda *k: True  # noqa: E731
    for phone, role, unit in readers:
        make_user(role=role, phone=phone, unit=unit)
        headers = bearer(client, phone)
        is_hamlet = unit > 10**6
        scopes: list[tuple[int | None, Any]] = (
            [(None, lambda *k, h=unit: k[1] == h)]
            if is_hamlet
            else [(None, everywhere if unit == PROVINCE else (lambda *k: k[0] == c0))]
            + [(c, (lambda *k, c=c: k[0] == c)) for c in communes if unit == PROVINCE or c == c0]
        )
        for code, scope in scopes:
            for by in ["all"] if is_hamlet else ["all", "unit", "gioi-tinh", "channel", "hamlet"]:
                query = {"by": by} | ({"unit": code} if code else {})
                answer = client.get(url, query_string=query, headers=headers)
                assert answer.status_code == 200, answer.get_data(as_text=True)
                hidden += observe_everything(cells, answer.get_json(), scope, by)
    auth.login("0911111111")
    page = client.get(f"/surveys/{SLUG}/progress").get_data(as_text=True)
    with app.app_context():
        names = dict(db.session.execute(select(Unit.code, Unit.name)).all())
    for code in communes:
        found = re.search(
            rf"<td>{re.escape(names[code])}</td><td class=\"text-end\">(\d+)</td>", page
        )
        if found:  # what the figure counts: the commune's people, or only its responses
            options = [
                lambda *k, c=code: k[0] == c,
                lambda *k, c=code: k[0] == c and k[2] != "tally",
            ]
            shown = int(found.group(1))
            cells.add(next(w for w in options if sum(1 for k in people if w(*k)) == shown))
    # The progress page's own hamlet breakdown of the commune with hamlets (issue 20): it must
    # hide by the results' decision, or the two views together give a hidden hamlet away.
    c0 = communes[0]
    page = client.get(f"/surveys/{SLUG}/progress", query_string={"unit": c0})
    by_hamlet = page.get_data(as_text=True).split('id="by-hamlet"', 1)[1].split("</table>")[0]
    for place in [*places[c0], 0]:
        label = names[place] if place else "Không nêu ấp/khu vực"
        found = re.search(
            rf"<td>{re.escape(label)}</td><td class=\"text-end\">(\d+)</td>", by_hamlet
        )
        if found:
            where = lambda *k, c=c0, p=place: k[0] == c and k[1] == p  # noqa: E731
            assert sum(1 for k in people if where(*k)) == int(found.group(1))
            cells.add(where)
        else:
            assert label in by_hamlet and "ẩn" in by_hamlet
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        overall = survey_progress.overall_results(
            db.session, survey_definition.definition(db.session, survey)
        )
    if not overall["suppressed"]:
        for q in overall["questions"]:
            for i, _row in enumerate(q["rows"], start=1):
                if q["key"] == "hai-long":
                    cells.add(lambda *k, i=i: k[4] == i)
    # What must stay hidden: the small groups (hamlet 2, the kiosk, the tally, in the whole
    # survey and in their commune) and every group any view hid.
    h2 = places[c0][1]
    small = [
        lambda *k: k[1] == h2,
        lambda *k: k[2] == "kiosk",
        lambda *k: k[2] == "kiosk" and k[0] == c0,
        lambda *k: k[2] == "tally",
    ]
    assert sum(1 for k in people if k[1] == h2) == 3
    small += [lambda *k, w=w, c=c: w(*k) and k[0] == c for w in small for c in communes]
    wanted = [w for w in small + hidden if any(w(*k) for k in people)]
    leaked = []
    for where in wanted:
        if cells.determined(where):
            leaked.append(("n", where))
        for a in ALL:
            if cells.determined(lambda *k, w=where, a=a: w(*k) and k[4] == a):
                leaked.append((a, where))
    assert leaked == []
    # and the views did hide them
    assert any(all(h(*k) == (k[1] == h2) for k in people) for h in hidden)


def test_progress_by_hamlet_counts_a_hamlets_tally_as_the_results_do(app):  # type: ignore[no-untyped-def]
    """A tally of 2 hand-counted forms from hamlet 1: the progress page's hamlet rows must
    count it where the results count it. Counted in the commune's row but not in its hamlet's,
    the commune's total less the hamlet rows would give the small tally away."""
    from app.models import SurveyTally, UnitLevel

    with app.app_context():
        assert load_files(
            db.session, [("s.yaml", SURVEY.encode())], Actor(unit_code=PROVINCE, is_admin=True), NOW
        )[0].ok
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        commune = db.session.scalar(
            select(Unit).where(Unit.parent_code == PROVINCE).order_by(Unit.code).limit(1)
        )
        h1, h2 = commune.code * 1000 + 1, commune.code * 1000 + 2
        for code in (h1, h2):
            db.session.add(
                Unit(
                    code=code,
                    name=f"Ấp {code % 1000}",
                    level=UnitLevel.HAMLET,
                    division_type="Ấp",
                    parent_code=commune.code,
                    search_name=f"ap {code % 1000}",
                )
            )
        db.session.commit()
        rows = [(commune.code, 1, 1 + i % 5, "online", h1) for i in range(9)]
        rows += [(commune.code, 2, 1 + i % 5, "online", h2) for i in range(6)]
        add_responses(db.session, survey, rows)
        db.session.add(
            SurveyTally(
                survey_id=survey.id,
                unit_code=commune.code,
                hamlet_code=h1,
                forms=2,
                created_at=NOW,
                withdrawn_at=None,
            )
        )
        db.session.commit()
        shown = {
            r.code: r.responses
            for r in survey_progress.responses_per_hamlet(db.session, survey, commune, None)
        }
        per_commune = {
            r.code: r.responses
            for r in survey_progress.responses_per_unit(db.session, survey, None)
        }
    assert per_commune[commune.code] == 17  # 15 responses and the 2 tallied forms
    assert shown == {h1: 11, h2: 6, 0: 0}  # the tally in its hamlet: the rows add up to 17
