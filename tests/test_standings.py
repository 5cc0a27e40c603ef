"""`best_attempts`, the table the ranking reads: kept on each submit it equals a rebuild from
`attempts`, whatever the order of the submits; the pages read from it equal the whole ranking
cut into pages, with and without a unit filter, provisional and final."""

from __future__ import annotations

import random
from datetime import timedelta

from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from app.models import BestAttempt, Round, User
from app.services import ranking, standings
from app.services.units import load_units
from tests.conftest import NINH_KIEU, PROVINCE, VI_THANH, fresh_database_url, load_content
from tests.test_ranking import (  # noqa: F401  (clock, rounds: fixtures)
    AFTER,
    CONTEST,
    GRACE,
    START,
    add_attempt,
    bank_yaml,
    clock,
    people,
    rounds,
)

ROW = (
    BestAttempt.user_id,
    BestAttempt.attempt_id,
    BestAttempt.score,
    BestAttempt.tiebreak,
    BestAttempt.duration_ms,
)


def table(round_id: int) -> list[tuple[int, ...]]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(*ROW).where(BestAttempt.round_id == round_id).order_by(BestAttempt.user_id)
        )
    ]


def crowd_with_ties(app, round_id: int, seed: int, everyone=None):  # type: ignore[no-untyped-def]
    """30 people in two communes, up to 3 attempts each, few distinct scores and times (so that
    every tie-break is exercised), entered in a shuffled order. Returns the people."""
    rng = random.Random(seed)
    everyone = everyone or people(app, 15, VI_THANH) + people(app, 15, NINH_KIEU)
    attempts = [
        (user.id, rng.randint(2, 5), rng.choice([60_000, 61_000]), rng.choice([None, 3, 5, 9]))
        for user in everyone
        for _ in range(rng.randint(1, 3))
    ]
    rng.shuffle(attempts)
    for n, (user_id, score, duration, prediction) in enumerate(attempts):
        add_attempt(
            app,
            round_id,
            user_id,
            score=score,
            duration_ms=duration,
            prediction=prediction,
            submitted=START + timedelta(minutes=5 + n % 4),  # equal submission times too
        )
    return everyone


def test_kept_on_each_submit_it_equals_a_rebuild(app, rounds):  # noqa: F811
    r = rounds["full"]
    crowd_with_ties(app, r, seed=11)
    with app.app_context():
        kept = table(r)
        assert len(kept) == 30
        standings.rebuild(db.session, db.session.get(Round, r))
        assert table(r) == kept


def test_the_final_order_is_rebuilt_at_the_close(app, rounds):  # noqa: F811
    r = rounds["entries"]
    crowd_with_ties(app, r, seed=12)
    with app.app_context():
        before = table(r)
        assert {row[3] for row in before} == {0}  # provisional: the prediction does not count
        result = ranking.ranking(db.session, db.session.get(Round, r), AFTER, GRACE)
        figure = result.figure
        assert result.final and figure is not None
        final = table(r)
        assert any(row[3] > 0 for row in final)
        for _user, attempt_id, _score, tiebreak, _duration in final:
            standing = next(s for s in result.standings if s.attempt_id == attempt_id)
            if standing.prediction is None:
                assert tiebreak == standings.NO_PREDICTION and standing.distance is None
            else:
                assert tiebreak == standing.distance == abs(standing.prediction - figure)
        standings.rebuild(db.session, db.session.get(Round, r))  # the same again
        assert table(r) == final


def test_pages_equal_the_whole_ranking_cut_into_pages(app, rounds):  # noqa: F811
    r = rounds["entries"]
    crowd_with_ties(app, r, seed=13)
    with app.app_context():
        round_ = db.session.get(Round, r)
        for now in (START + timedelta(hours=1), AFTER):
            whole = ranking.compute_ranking(
                db.session, round_, ranking.settle(db.session, round_, now, GRACE)
            ).standings
            assert [s.place for s in whole] == list(range(1, 31))
            units = dict(db.session.execute(select(User.id, User.unit_code)).all())
            for unit in (None, VI_THANH, NINH_KIEU):
                scope = [s for s in whole if unit is None or units[s.user_id] == unit]
                for offset in (0, 7, 14, 28):
                    page = ranking.board(
                        db.session, round_, now, GRACE, unit=unit, offset=offset, limit=7
                    )
                    assert [row.standing for row in page.rows] == scope[offset : offset + 7]
                    assert page.total == len(scope) and page.everyone == 30
                for standing in whole[::6]:
                    mine = ranking.board(
                        db.session, round_, now, GRACE, unit=unit, user_id=standing.user_id
                    )
                    assert mine.mine is not None and mine.mine.standing == standing
                    if unit is None or units[standing.user_id] == unit:
                        assert scope[mine.mine_index] == standing
                    else:
                        assert mine.mine_index is None


def test_the_migration_fills_the_table_from_the_attempts_already_stored(tmp_path):
    """0007 adds `best_attempts` to a database with attempts in it: a provisional round and a
    final one must come out as the submits and the close would have left them."""
    app = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url("backfill", tmp_path)
    )
    with app.app_context():
        upgrade()
        load_units(db.session, PROVINCE)
    load_content(app, [("b.yaml", bank_yaml()), ("c.yaml", CONTEST)], START)
    with app.app_context():
        ids = {r.key: r.id for r in db.session.scalars(select(Round))}
    everyone = crowd_with_ties(app, ids["entries"], seed=14)
    crowd_with_ties(app, ids["full"], seed=15, everyone=everyone)
    with app.app_context():
        ranking.freeze(db.session, db.session.get(Round, ids["entries"]), AFTER, GRACE)
        kept = {r: table(r) for r in ids.values()}
        assert any(row[3] for row in kept[ids["entries"]])  # final: distances in it
        db.session.remove()  # no transaction left holding the table the downgrade drops
        downgrade(revision="0006")
        upgrade()
        assert {r: table(r) for r in ids.values()} == kept
        db.session.remove()
        db.engine.dispose()


def test_a_frozen_round_edited_afterwards_is_counted_again(app, rounds):  # noqa: F811
    """An officer changes the prediction target, or the close, of a round already frozen: the
    old figure and the final order no longer stand; the round is frozen again at its close."""
    r = rounds["entries"]
    fast, slow = people(app, 2)
    add_attempt(app, r, fast.id, score=5, duration_ms=60_000, prediction=100)
    add_attempt(app, r, slow.id, score=5, duration_ms=90_000, prediction=2)  # 2 entries: exact

    def order(now):  # type: ignore[no-untyped-def]
        with app.app_context():
            result = ranking.ranking(db.session, db.session.get(Round, r), now, GRACE)
            return result.final, result.figure, [s.user_id for s in result.standings]

    assert order(AFTER) == (True, 2, [slow.id, fast.id])  # the closer prediction wins
    load_content(
        app, [("c.yaml", CONTEST.replace("prediction: entries", "prediction: none"))], AFTER
    )
    with app.app_context():
        assert db.session.get(Round, r).frozen_at is None
    assert order(AFTER) == (True, None, [fast.id, slow.id])  # frozen again: time decides
    later = CONTEST.replace("closes: 2026-12-07 20:00", "closes: 2026-12-14 20:00")
    load_content(app, [("c.yaml", later)], AFTER)
    assert order(AFTER) == (False, None, [fast.id, slow.id])  # open again: provisional
