"""What a person reads: Vietnamese numbers, percentages, durations and times (app/formats.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app import formats


@pytest.fixture
def vi(app):
    with app.test_request_context("/"):
        yield


@pytest.mark.parametrize(
    ("value", "digits", "fixed", "text"),
    [
        (1234.5, 1, False, "1.234,5"),
        (1234, 0, False, "1.234"),
        (60.1146, 1, False, "60,1"),
        (60.0, 1, True, "60,0"),
        (None, 1, False, "–"),
        (float("nan"), 1, False, "–"),
    ],
)
def test_numbers_use_dot_for_thousands_and_comma_for_decimals(vi, value, digits, fixed, text):
    assert formats.number(value, digits, fixed=fixed) == text


def test_percentages_keep_one_decimal(vi):
    assert formats.percent(0.4762) == "47,6%"
    assert formats.percent(1) == "100,0%"
    assert formats.interval((0.5521, 0.649), as_percent=True) == "55,2%–64,9%"
    assert formats.interval((55.21, 64.9)) == "55,2–64,9"


@pytest.mark.parametrize(
    ("seconds", "precise", "text"),
    [
        (13.598, False, "13,6 giây"),
        (13.598, True, "13,598 giây"),
        (725, False, "12 phút 5 giây"),
        (720, False, "12 phút"),
        (3720, False, "1 giờ 2 phút"),
        (725.25, True, "12 phút 5,250 giây"),
    ],
)
def test_durations_read_as_a_person_says_them(vi, seconds, precise, text):
    assert formats.duration(seconds, precise=precise) == text


def test_milliseconds_keep_the_three_decimals_that_decide_ties(vi):
    assert formats.duration_ms(13598) == "13,598 giây"


def test_times_are_shown_in_the_given_time_zone(vi):
    moment = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    assert formats.when(moment, "Asia/Ho_Chi_Minh") == "07/12/2026 20:00"
    assert formats.day(moment, "Asia/Ho_Chi_Minh") == "07/12/2026"
    assert formats.when(moment, "UTC") == "07/12/2026 13:00"


def test_templates_have_the_filters(app, vi):
    from flask import render_template_string

    text = render_template_string(
        "{{ 1234.5|number(1) }} {{ 0.476|percent }} {{ 13598|duration_ms }} {{ at|when }}",
        at=datetime(2026, 12, 7, 13, 0, tzinfo=UTC),
    )
    assert text == "1.234,5 47,6% 13,598 giây 07/12/2026 20:00"


def test_a_seconds_column_keeps_the_milliseconds(vi):
    assert formats.seconds(13598) == "13,598"
    assert formats.seconds(None) == "–"


def test_charts_get_the_language_s_separators(app):
    with app.test_request_context("/"):
        assert formats.separators() == ",."
    with app.test_request_context("/?lang=en"):
        assert formats.separators() == ".,"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_fast_times_equal_babel_s(app, lang):
    from babel import dates

    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with app.test_request_context(f"/?lang={lang}"):
        for zone in ("Asia/Ho_Chi_Minh", "Asia/Tokyo", "UTC"):
            local = formats.local(moment, zone)
            assert formats.when(moment, zone) == dates.format_datetime(
                local, formats.DATETIME, locale=lang
            )
            assert formats.when(moment, zone, seconds=True) == dates.format_datetime(
                local, formats.DATETIME_SECONDS, locale=lang
            )
