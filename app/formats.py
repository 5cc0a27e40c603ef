"""What a person reads: numbers, percentages, durations, dates and times, in the reader's
language (Babel; Vietnamese unless the visitor chose English): "1.234,5", "47,6%",
"13,6 giây", "12 phút 5 giây", "07/12/2026 20:00" in the contest's or survey's time zone.

The one home of these formats: templates use them as filters (`init_app`), and exports, PDFs and
charts call the functions. Outside a request (commands, jobs) the default locale is used.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, current_app, has_app_context
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DATETIME = "dd/MM/yyyy HH:mm"
DATETIME_SECONDS = "dd/MM/yyyy HH:mm:ss"
STRFTIME, STRFTIME_SECONDS = "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"  # the same two, for strftime
DATE = "dd/MM/yyyy"
DASH = "–"


def language() -> str:
    """The language of this request's words ("vi", "en"): Babel's locale as text, the app's
    default outside a request, "vi" outside the app. Every view, API and job asks here."""
    if has_app_context():
        return str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "vi"))
    return "vi"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any, digits: int = 0, *, fixed: bool = False) -> str:
    """1234.5 → "1.234,5" (vi). Up to `digits` decimals; exactly `digits` when `fixed`."""
    if _missing(value):
        return DASH
    decimals = ("0" if fixed else "#") * digits
    pattern = "#,##0" + ("." + decimals if digits else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=language())


def percent(share: Any, digits: int = 1) -> str:
    """A share 0..1 as a percentage: 0.4762 → "47,6%"; always `digits` decimals."""
    if _missing(share):
        return DASH
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return babel_numbers.format_percent(share, format=pattern, locale=language())


def interval(bounds: Any, digits: int = 1, *, as_percent: bool = False) -> str:
    """A 95% interval as "55,2–64,9" (or "55,2%–64,9%")."""
    if not bounds or any(_missing(b) for b in bounds):
        return ""
    low, high = bounds
    if as_percent:
        return f"{percent(low, digits)}{DASH}{percent(high, digits)}"
    return f"{number(low, digits, fixed=True)}{DASH}{number(high, digits, fixed=True)}"


def duration(seconds: Any, *, precise: bool = False) -> str:
    """Seconds as a person says them: "13,6 giây", "12 phút 5 giây", "1 giờ 2 phút".

    Under a minute, one decimal ("13,6 giây"), or three when `precise` (ranking ties are decided
    by milliseconds: "13,598 giây"). From a minute on, whole minutes and seconds."""
    if _missing(seconds):
        return DASH
    seconds = float(seconds)
    if seconds < 60:
        shown = number(seconds, 3 if precise else 1, fixed=precise)
        return _("%(n)s seconds", n=shown)
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(ngettext("%(num)d hour", "%(num)d hours", hours))
    if minutes:
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", minutes))
    if secs or precise:
        if precise:
            parts.append(_("%(n)s seconds", n=number(secs + seconds % 1, 3, fixed=True)))
        else:
            parts.append(ngettext("%(num)d second", "%(num)d seconds", secs))
    return " ".join(parts)


def duration_ms(milliseconds: Any, *, precise: bool = True) -> str:
    """Milliseconds (as stored for attempts) as a duration; precise by default (ties)."""
    if _missing(milliseconds):
        return DASH
    return duration(milliseconds / 1000, precise=precise)


def seconds(milliseconds: Any) -> str:
    """Milliseconds as a bare number of seconds with the three decimals that decide ties, for a
    table column headed in seconds: 13598 → "13,598"."""
    if _missing(milliseconds):
        return DASH
    return number(milliseconds / 1000, 3, fixed=True)


def local(moment: datetime, timezone: str | None = None) -> datetime:
    """A moment on the clock of `timezone`; a naive datetime is taken as already local (a
    wall-clock time, as spreadsheet cells hold them) and is returned as it is."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(timezone or DEFAULT_TIMEZONE))


def wall_clock(moment: datetime | None, timezone: str | None = None) -> datetime | None:
    """The local time without its zone, for a spreadsheet cell (Excel knows no time zones)."""
    if moment is None:
        return None
    return local(moment, timezone).replace(tzinfo=None)


def when(moment: datetime | None, timezone: str | None = None, *, seconds: bool = False) -> str:
    """A moment in the contest's or survey's time zone: "07/12/2026 20:00" (with `seconds`,
    "07/12/2026 20:00:05", for the prize audit where the second of a submission can count)."""
    if moment is None:
        return DASH
    # The pattern has only numeric fields, which Babel writes the same in every language (it
    # does not localise digits): strftime gives the same text, some 20 times faster, which an
    # export of hundreds of thousands of rows notices.
    return local(moment, timezone).strftime(STRFTIME_SECONDS if seconds else STRFTIME)


def clock_time(
    moment: datetime | None, timezone: str | None = None, now: datetime | None = None
) -> str:
    """A time of day on the contest's clock, for a deadline read at a glance: "20:15"; with
    its day, "00:15 04/12/2026", when it falls on another day than `now`."""
    if moment is None:
        return DASH
    at = local(moment, timezone)
    if now is not None and local(now, timezone).date() != at.date():
        return at.strftime("%H:%M %d/%m/%Y")
    return at.strftime("%H:%M")


def day(moment: datetime | date | None, timezone: str | None = None) -> str:
    """A day: "07/12/2026" (a moment is first put in its time zone)."""
    if moment is None:
        return DASH
    if isinstance(moment, datetime):
        moment = local(moment, timezone).date()
    return babel_dates.format_date(moment, DATE, locale=language())


def separators() -> str:
    """The decimal and thousands symbols of the reader's language, as Plotly's
    `layout.separators` wants them: ",." in Vietnamese (axes and hovers read "1.234,5")."""
    locale = language()
    return babel_numbers.get_decimal_symbol(locale) + babel_numbers.get_group_symbol(locale)


def init_app(app: Flask) -> None:
    """The formats as Jinja filters: `{{ n|number }}`, `{{ p|percent }}`, `{{ s|duration }}`,
    `{{ ms|duration_ms }}`, `{{ ms|seconds }}`, `{{ at|when(survey.timezone) }}`,
    `{{ at|day(tz) }}`, `{{ ci|interval }}`."""
    for name, function in {
        "number": number,
        "percent": percent,
        "interval": interval,
        "duration": duration,
        "duration_ms": duration_ms,
        "seconds": seconds,
        "when": when,
        "clock_time": clock_time,
        "day": day,
    }.items():
        app.jinja_env.filters[name] = function
