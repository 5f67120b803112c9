"""Numbers, durations and instants as reports print them (no clock, no locale)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo


def percent(rate: Fraction | None) -> str:
    """``93.3%``; ``n/a`` without a denominator. Rounded down to 0.1 so 99.96% never shows
    as 100.0%."""
    if rate is None:
        return "n/a"
    tenths = (rate * 1000).numerator // (rate * 1000).denominator
    return f"{tenths // 10}.{tenths % 10}%"


def rate_value(rate: Fraction | None) -> float | None:
    """For JSON: the rate as a float with 4 decimals (None when undefined)."""
    return None if rate is None else round(float(rate), 4)


def duration(delta: timedelta | None) -> str:
    """``2d 4h``, ``3h 12m``, ``45m``, ``<1m``; ``n/a`` for None."""
    if delta is None:
        return "n/a"
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m" if mins else "<1m"


def seconds(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def iso(at: datetime | None) -> str | None:
    """UTC ISO 8601 (``2026-11-10T05:00:00+00:00``), None stays None."""
    return None if at is None else at.astimezone(UTC).isoformat()


def local(at: datetime, zone: ZoneInfo) -> str:
    """``2026-11-10 00:00 EST``: the client's wall time, labelled with its zone."""
    moment = at.astimezone(zone)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def local_iso(at: datetime | None, zone: ZoneInfo) -> str | None:
    return None if at is None else at.astimezone(zone).isoformat()


def utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def local_range(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """``Tue 2026-11-10 22:00 EST – 02:00 EST (Wed)``."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    day = "" if first.date() == last.date() else f" ({last:%a %Y-%m-%d})"
    return f"{first:%a %Y-%m-%d %H:%M} {first.tzname()} – {last:%H:%M} {last.tzname()}{day}"


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


# Client-facing dates and times: English names whatever the locale, the zone's abbreviation
# on every time (``Tue 10 Nov 2026, 21:00 EST``).
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def short_day(at: datetime, zone: ZoneInfo) -> str:
    """``17 Nov``: the date in ``zone``."""
    moment = at.astimezone(zone)
    return f"{moment.day} {MONTH_NAMES[moment.month - 1][:3]}"


def day_text(day: date) -> str:
    """``Tue 17 Nov 2026``."""
    return f"{DAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1][:3]} {day.year}"


def full_day(at: datetime, zone: ZoneInfo) -> str:
    """``Tue 17 Nov 2026``: the date in ``zone``."""
    return day_text(at.astimezone(zone).date())


def client_time(at: datetime, zone: ZoneInfo) -> str:
    """``Tue 17 Nov 2026, 07:00 EST``: wall time in ``zone``, labelled."""
    moment = at.astimezone(zone)
    return f"{full_day(moment, zone)}, {moment:%H:%M} {moment.tzname()}"


def client_span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """``Tue 10 Nov 2026, 21:00 – 00:00 EST (Wed 11 Nov)``; both labels when a DST change
    falls inside (``01:00 EDT – 04:00 EST``)."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    same_label = first.tzname() == last.tzname()
    opening = f"{full_day(first, zone)}, {first:%H:%M}" + (
        "" if same_label else f" {first.tzname()}"
    )
    closing = f"{last:%H:%M} {last.tzname()}"
    day = (
        ""
        if first.date() == last.date()
        else f" ({DAY_NAMES[last.weekday()]} {short_day(last, zone)})"
    )
    return f"{opening} – {closing}{day}"
