"""Maintenance-window occurrences: wall-clock windows in a client's zone, resolved to UTC.

Pure functions over plain values. DST rules:

- a start inside a spring-forward gap opens at the first valid local instant after the gap;
- a start inside a fall-back overlap opens once, at the earlier instant;
- the end is the local wall-clock end (scheduled date + start + duration in wall time);
  an end inside an overlap is its earlier instant, an end inside a gap the instant after it;
- exactly one occurrence per scheduled local date, never two. If the whole window falls
  inside a gap (say 02:00-02:30 on a spring-forward night) it does not happen that night.

APScheduler's CronTrigger is not used here: it fires twice on a fall-back day for a time
inside the repeated hour.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from patchdesk.domain import RecurrenceKind

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PATCH_TUESDAY_WEEKDAY = 1  # Tuesday
MAX_DURATION = timedelta(hours=24)


@dataclass(frozen=True)
class Blackout:
    """A freeze period in client-local dates, both ends included."""

    start: date
    end: date
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class WindowSpec:
    """A window's schedule. ``weekdays`` are 0=Monday .. 6=Sunday.

    weekly: ``weekdays`` (one or more); monthly: ``weekdays`` (exactly one) and ``nth``
    (1..4, or -1 for the last); patch_tuesday: ``offset_days`` (0..27) after the second
    Tuesday of the month.
    """

    name: str
    recurrence: RecurrenceKind
    start: time
    duration: timedelta
    weekdays: tuple[int, ...] = ()
    nth: int | None = None
    offset_days: int = 0
    blackouts: tuple[Blackout, ...] = field(default=())

    def __post_init__(self) -> None:
        if not timedelta(0) < self.duration <= MAX_DURATION:
            raise ValueError(f"window {self.name!r}: duration must be over 0 and at most 24 h")
        if any(not 0 <= day <= 6 for day in self.weekdays):
            raise ValueError(f"window {self.name!r}: weekdays are 0 (Monday) to 6 (Sunday)")
        if self.recurrence is RecurrenceKind.WEEKLY and not self.weekdays:
            raise ValueError(f"window {self.name!r}: a weekly window needs at least one day")
        if self.recurrence is RecurrenceKind.MONTHLY and (
            len(self.weekdays) != 1 or self.nth not in (1, 2, 3, 4, -1)
        ):
            raise ValueError(f"window {self.name!r}: a monthly window needs one weekday and nth")
        if self.recurrence is RecurrenceKind.PATCH_TUESDAY and not 0 <= self.offset_days <= 27:
            raise ValueError(f"window {self.name!r}: offset_days must be 0..27")


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a window. ``start_local``/``end_local`` are aware, in the zone."""

    window: str
    scheduled_date: date
    start_utc: datetime
    end_utc: datetime
    start_local: datetime
    end_local: datetime
    start_shifted: bool  # the configured start fell in a DST gap

    @property
    def duration(self) -> timedelta:
        return self.end_utc - self.start_utc

    def is_open(self, now: datetime) -> bool:
        return self.start_utc <= now < self.end_utc


# ----------------------------------------------------------------------------- dates


def patch_tuesday(year: int, month: int) -> date:
    """The second Tuesday of the month."""
    return nth_weekday(year, month, PATCH_TUESDAY_WEEKDAY, 2)


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1..5, or -1 = last) ``weekday`` of a month."""
    days_in_month = _stdlib_calendar.monthrange(year, month)[1]
    if nth == -1:
        last = date(year, month, days_in_month)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    if day.month != month:
        raise ValueError(f"there is no {nth}th {WEEKDAYS[weekday]} in {year}-{month:02d}")
    return day


def _months(first: date, last: date) -> Iterator[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def scheduled_dates(spec: WindowSpec, first: date, last: date) -> Iterator[date]:
    """Local dates in [first, last] on which the window is scheduled, ascending, no blackouts."""
    for day in _raw_dates(spec, first, last):
        if first <= day <= last and not any(b.covers(day) for b in spec.blackouts):
            yield day


def _raw_dates(spec: WindowSpec, first: date, last: date) -> Iterator[date]:
    if spec.recurrence is RecurrenceKind.WEEKLY:
        day = first
        while day <= last:
            if day.weekday() in spec.weekdays:
                yield day
            day += timedelta(days=1)
    elif spec.recurrence is RecurrenceKind.MONTHLY:
        assert spec.nth is not None
        for year, month in _months(first, last):
            yield nth_weekday(year, month, spec.weekdays[0], spec.nth)
    else:
        # An offset of up to 27 days pushes the date into the next month: look back one month.
        start_month = (first.replace(day=1) - timedelta(days=1)).replace(day=1)
        for year, month in _months(start_month, last):
            yield patch_tuesday(year, month) + timedelta(days=spec.offset_days)


# --------------------------------------------------------------------- local -> UTC


def _is_valid_local(naive: datetime, zone: ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def resolve_local(naive: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """A local wall time as an aware UTC instant, and whether it fell in a gap.

    Overlap: the earlier instant (fold=0). Gap: the first valid instant after it, i.e. the
    moment of the transition.
    """
    if _is_valid_local(naive, zone):
        return naive.replace(tzinfo=zone, fold=0).astimezone(UTC), False
    # In a gap, fold=1 reads the time with the offset before the transition, fold=0 with
    # the offset after; the transition lies between the two UTC readings. Find it to the second.
    a = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    b = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low, high = min(a, b), max(a, b)
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).utcoffset() == after:
            high = mid
        else:
            low = mid
    return high, True


def occurrence_on(spec: WindowSpec, day: date, zone: ZoneInfo) -> Occurrence | None:
    """The occurrence scheduled on local date ``day`` (None if it vanishes into a gap)."""
    start_naive = datetime.combine(day, spec.start)
    start_utc, shifted = resolve_local(start_naive, zone)
    end_utc, _ = resolve_local(start_naive + spec.duration, zone)
    if end_utc <= start_utc:
        return None
    return Occurrence(
        window=spec.name,
        scheduled_date=day,
        start_utc=start_utc,
        end_utc=end_utc,
        start_local=start_utc.astimezone(zone),
        end_local=end_utc.astimezone(zone),
        start_shifted=shifted,
    )


def occurrences(
    spec: WindowSpec, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Occurrence]:
    """Occurrences that overlap [start, end) (UTC, aware), sorted by start.

    An occurrence already open at ``start`` is included, so "open now" can be shown.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("occurrences() needs aware datetimes")
    # A window starts on its scheduled date and lasts at most 24 h (plus a DST hour):
    # scan from two days before the range in local dates.
    first = start.astimezone(zone).date() - timedelta(days=2)
    last = end.astimezone(zone).date() + timedelta(days=1)
    found = []
    for day in scheduled_dates(spec, first, last):
        occurrence = occurrence_on(spec, day, zone)
        if occurrence is not None and occurrence.end_utc > start and occurrence.start_utc < end:
            found.append(occurrence)
    return found


def next_occurrences(
    spec: WindowSpec, zone: ZoneInfo, start: datetime, count: int
) -> list[Occurrence]:
    """The first ``count`` occurrences that end after ``start`` (an open one included).

    Searches ten years ahead at most (a window blacked out for longer has no occurrences).
    """
    if start.tzinfo is None:
        raise ValueError("next_occurrences() needs an aware datetime")
    found: list[Occurrence] = []
    first = start.astimezone(zone).date() - timedelta(days=2)
    for day in scheduled_dates(spec, first, first + timedelta(days=3660)):
        if len(found) >= count:
            break
        occurrence = occurrence_on(spec, day, zone)
        if occurrence is not None and occurrence.end_utc > start:
            found.append(occurrence)
    return found
