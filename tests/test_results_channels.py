"""Channels in the results (issue 20, point 4): `?by=channel` gives each channel's figures,
hidden by the one decision like a demographic question's groups; every results answer says
whom its figures represent (the share of each channel), hidden channels without a share; and
`?by=hamlet` gives a commune's hamlets and "no hamlet named", small ones hidden with their
complement. Figures below are worked out by hand from the responses the fixture stores."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.content.pipeline import load_files
from app.content.store import Actor
from app.extensions import db
from app.models import Survey, Unit, UnitLevel
from tests.conftest import PROVINCE
from tests.test_suppression_attack import NOW, SLUG, SURVEY, add_responses, bearer

# Commune A: 6 online, 5 assisted, 2 kiosk (under the threshold of 5). Commune B: 8 online,
# 6 paper. Answers to hai-long (1–5) listed per channel; gender not asked (0).
A_ONLINE = [5, 5, 4, 4, 3, 1]
A_ASSISTED = [4, 4, 4, 2, 2]
A_KIOSK = [1, 2]
B_ONLINE = [5, 4, 4, 4, 3, 3, 2, 1]
B_PAPER = [5, 5, 5, 4, 3, 2]


def hamlet(code: int, commune: int, name: str) -> Unit:
    unit = Unit(
        code=code,
        name=name,
        level=UnitLevel.HAMLET,
        division_type="Ấp",
        parent_code=commune,
        search_name=name.lower(),
    )
    db.session.add(unit)
    return unit


@pytest.fixture
def channels(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        outcome = load_files(
            db.session, [("s.yaml", SURVEY.encode())], Actor(unit_code=PROVINCE, is_admin=True), NOW
        )[0]
        assert outcome.ok
        survey = db.session.scalar(select(Survey).where(Survey.slug == SLUG))
        a, b = db.session.scalars(
            select(Unit.code).where(Unit.parent_code == PROVINCE).order_by(Unit.code).limit(2)
        ).all()
        # Commune A's hamlets: Ấp 1 (7 people), Ấp 2 (2: small), Ấp 3 (none); 4 named none.
        hamlet(a * 1000 + 1, a, "Ấp Một")
        hamlet(a * 1000 + 2, a, "Ấp Hai")
        hamlet(a * 1000 + 3, a, "Ấp Ba")
        db.session.commit()
        places = [a * 1000 + 1] * 6 + [a * 1000 + 1, a * 1000 + 2, a * 1000 + 2] + [None] * 4
        rows: list[tuple[Any, ...]] = []
        for channel, values in (("online", A_ONLINE), ("assisted", A_ASSISTED), ("kiosk", A_KIOSK)):
            rows += [(a, 0, v, channel) for v in values]
        rows = [(*row, places[i]) for i, row in enumerate(rows)]
        rows += [(b, 0, v, "online") for v in B_ONLINE] + [(b, 0, v, "paper") for v in B_PAPER]
        add_responses(db.session, survey, rows)
    return app, a, b


def read(client: Any, headers: dict[str, str], slug: str = SLUG, **query: Any) -> dict[str, Any]:
    answer = client.get(f"/api/v1/surveys/{slug}/results", query_string=query, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()  # type: ignore[no-any-return]


def counts(values: list[int]) -> dict[str, int]:
    return {str(v): values.count(v) for v in sorted(set(values))}


def groups(body: dict[str, Any], question: str = "hai-long") -> dict[Any, dict[str, Any]]:
    item = next(q for q in body["questions"] if q["id"] == question)
    return {g["group"]: g for g in item["groups"]}


def test_by_channel_figures_and_a_small_channel_hidden_with_its_complement(
    channels, client, make_user
):
    _app, a, _b = channels
    make_user(role="leader", phone="0911111111")
    headers = bearer(client, "0911111111")
    body = read(client, headers, by="channel")
    assert body["by"] == "channel" and body["n"] == 27
    by = groups(body)
    assert list(by) == ["online", "assisted", "kiosk", "paper"]
    assert by["online"]["label"] == "Trực tuyến" and by["paper"]["label"] == "Phiếu giấy"
    online = A_ONLINE + B_ONLINE
    assert by["online"]["n"] == 14 and by["online"]["counts"] == counts(online)
    assert by["online"]["mean"] == round(sum(online) / 14, 4)
    assert by["paper"]["n"] == 6 and by["paper"]["counts"] == counts(B_PAPER)
    # The kiosk (2 people) is hidden, and so is the next smallest channel (assisted, 5):
    # otherwise the whole survey less the channels shown would give the kiosk's figures.
    assert by["kiosk"] == {"group": "kiosk", "label": "Máy tại bộ phận một cửa", "suppressed": True}
    assert by["assisted"].get("suppressed") is True and "n" not in by["assisted"]
    # Within commune A the same channels are hidden (one decision for every view).
    within = groups(read(client, headers, by="channel", unit=a))
    assert within["online"]["n"] == 6 and within["online"]["counts"] == counts(A_ONLINE)
    assert within["assisted"].get("suppressed") and within["kiosk"].get("suppressed")


def test_every_results_answer_says_whom_its_figures_represent(channels, client, make_user):
    _app, _a, b = channels
    make_user(role="leader", phone="0911111111")
    headers = bearer(client, "0911111111")
    for query in ({}, {"by": "unit"}, {"by": "gioi-tinh"}):
        shares = {c["channel"]: c for c in read(client, headers, **query)["channels"]}
        assert shares["online"] == {
            "channel": "online",
            "label": "Trực tuyến",
            "n": 14,
            "share": round(14 / 27, 4),
        }
        assert shares["paper"]["n"] == 6 and shares["paper"]["share"] == round(6 / 27, 4)
        # A hidden channel has no share either (share × n of the scope would give it back).
        assert shares["kiosk"] == {
            "channel": "kiosk",
            "label": "Máy tại bộ phận một cửa",
            "suppressed": True,
        }
        assert set(shares["assisted"]) == {"channel", "label", "suppressed"}
    commune_b = {c["channel"]: c for c in read(client, headers, unit=b)["channels"]}
    assert commune_b["online"]["share"] == round(8 / 14, 4)
    assert commune_b["paper"]["share"] == round(6 / 14, 4)


def test_by_hamlet_hides_a_small_hamlet_and_its_complement(channels, client, make_user):
    _app, a, b = channels
    make_user(role="leader", phone="0911111111")
    headers = bearer(client, "0911111111")
    body = read(client, headers, by="hamlet", unit=a)
    assert body["n"] == 13
    by = groups(body)
    # Ấp Một 7; Ấp Hai 2 (hidden); "no hamlet named" 4 — hidden too, though not small: the
    # commune's 13 less Ấp Một would otherwise give Ấp Hai. Ấp Ba has no one: not listed.
    assert set(by) == {a * 1000 + 1, a * 1000 + 2, a}
    assert by[a * 1000 + 1]["n"] == 7 and by[a * 1000 + 1]["label"] == "Ấp Một"
    assert by[a * 1000 + 1]["counts"] == counts(A_ONLINE + A_ASSISTED[:1])
    assert by[a * 1000 + 2] == {"group": a * 1000 + 2, "label": "Ấp Hai", "suppressed": True}
    assert by[a]["suppressed"] and by[a]["label"].startswith("Không nêu ấp/khu vực")
    # Across the province: the same groups, hidden alike.
    wide = groups(read(client, headers, by="hamlet"))
    assert wide[a * 1000 + 1]["n"] == 7
    assert wide[a * 1000 + 2].get("suppressed") and wide[a].get("suppressed")
    assert wide[b]["n"] == 14  # commune B: nobody named a hamlet


def test_a_hamlet_officer_sees_only_their_hamlet_hidden_alike(channels, client, make_user):
    _app, a, _b = channels
    make_user(role="leader", unit=a * 1000 + 1, phone="0911111113")
    make_user(role="leader", unit=a * 1000 + 2, phone="0911111114")
    own = read(client, bearer(client, "0911111113"))
    assert own["n"] == 7 and "channels" not in own
    assert groups(own)["all"]["counts"] == counts(A_ONLINE + A_ASSISTED[:1])
    small = read(client, bearer(client, "0911111114"))
    assert small["suppressed"] is True and small["questions"] == []
    # Never the commune's figures, nor a breakdown of the hamlet.
    headers = bearer(client, "0911111113")
    assert client.get(
        f"/api/v1/surveys/{SLUG}/results", query_string={"unit": a}, headers=headers
    ).status_code in (403, 404)
    assert (
        client.get(
            f"/api/v1/surveys/{SLUG}/results", query_string={"by": "unit"}, headers=headers
        ).status_code
        == 422
    )


def test_the_results_page_and_export_break_down_by_channel(channels, client, auth, make_user):
    _app, _a, _b = channels
    make_user(role="leader", phone="0911111111")
    auth.login("0911111111")
    page = client.get(f"/results/{SLUG}", query_string={"by": "channel"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Trực tuyến" in text and "Phiếu giấy" in text
    csv = client.get(f"/results/{SLUG}/results.csv", query_string={"by": "channel"})
    assert csv.status_code == 200
    body = csv.get_data(as_text=True)
    assert "Trực tuyến" in body and "Máy tại bộ phận một cửa" in body


def test_a_hamlet_officers_results_page_shows_their_hamlet_only(channels, client, auth, make_user):
    _app, a, _b = channels
    make_user(role="officer", unit=a * 1000 + 1, phone="0911111113")
    auth.login("0911111113")
    page = client.get(f"/results/{SLUG}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "7 phiếu trả lời tại Ấp Một" in text
    assert 'name="by"' not in text  # no breakdown of a hamlet's figures
    assert client.get(f"/results/{SLUG}", query_string={"by": "channel"}).status_code == 400
    assert client.get(f"/results/{SLUG}", query_string={"unit": a}).status_code == 403
