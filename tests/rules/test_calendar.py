"""The maintenance-window calendar: recurrences, DST on both transitions, blackouts."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchdesk.domain import RecurrenceKind
from patchdesk.rules.calendar import (
    Blackout,
    Occurrence,
    WindowSpec,
    next_occurrences,
    nth_weekday,
    occurrence_on,
    occurrences,
    patch_tuesday,
    resolve_local,
)

EVERY_DAY = tuple(range(7))


def daily(start: time, hours: float, name: str = "w") -> WindowSpec:
    return WindowSpec(
        name, RecurrenceKind.WEEKLY, start, timedelta(hours=hours), weekdays=EVERY_DAY
    )


def on(spec: WindowSpec, zone: str, day: date) -> Occurrence:
    occurrence = occurrence_on(spec, day, ZoneInfo(zone))
    assert occurrence is not None
    return occurrence


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------ DST transitions

# (zone, spring-forward date, fall-back date) in 2026
TRANSITIONS = [
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
    ("Australia/Sydney", date(2026, 10, 4), date(2026, 4, 5)),
    ("Australia/Lord_Howe", date(2026, 10, 4), date(2026, 4, 5)),
]


@pytest.mark.parametrize(
    ("zone", "day", "start", "hours", "start_utc", "end_utc", "shifted"),
    [
        # New York springs forward at 02:00 EST -> 03:00 EDT: a 02:00 start opens at 03:00.
        (
            "America/New_York",
            date(2026, 3, 8),
            time(2),
            3,
            utc(2026, 3, 8, 7),
            utc(2026, 3, 8, 9),
            True,
        ),
        # Falls back at 02:00 EDT -> 01:00 EST: 01:30 happens twice; the window opens at the first.
        (
            "America/New_York",
            date(2026, 11, 1),
            time(1, 30),
            1,
            utc(2026, 11, 1, 5, 30),
            utc(2026, 11, 1, 7, 30),
            False,
        ),
        # 02:00 on fall-back night is after the repeated hour: a 3 h window stays 3 h.
        (
            "America/New_York",
            date(2026, 11, 1),
            time(2),
            3,
            utc(2026, 11, 1, 7),
            utc(2026, 11, 1, 10),
            False,
        ),
        # Berlin: 02:00-05:00 lasts 2 h on spring-forward night and 4 h on fall-back night.
        (
            "Europe/Berlin",
            date(2026, 3, 29),
            time(2),
            3,
            utc(2026, 3, 29, 1),
            utc(2026, 3, 29, 3),
            True,
        ),
        (
            "Europe/Berlin",
            date(2026, 10, 25),
            time(2),
            3,
            utc(2026, 10, 25, 0),
            utc(2026, 10, 25, 4),
            False,
        ),
        # Sydney (southern hemisphere): forward on 4 Oct, back on 5 Apr.
        (
            "Australia/Sydney",
            date(2026, 10, 4),
            time(2, 15),
            2,
            utc(2026, 10, 3, 16),
            utc(2026, 10, 3, 17, 15),
            True,
        ),
        (
            "Australia/Sydney",
            date(2026, 4, 5),
            time(2, 30),
            1,
            utc(2026, 4, 4, 15, 30),
            utc(2026, 4, 4, 17, 30),
            False,
        ),
        # Lord Howe shifts by 30 minutes: 02:00 -> 02:30 in October, 02:00 -> 01:30 in April.
        (
            "Australia/Lord_Howe",
            date(2026, 10, 4),
            time(2, 10),
            1,
            utc(2026, 10, 3, 15, 30),
            utc(2026, 10, 3, 16, 10),
            True,
        ),
        (
            "Australia/Lord_Howe",
            date(2026, 4, 5),
            time(1, 45),
            1,
            utc(2026, 4, 4, 14, 45),
            utc(2026, 4, 4, 16, 15),
            False,
        ),
    ],
)
def test_window_on_transition_day(
    zone: str,
    day: date,
    start: time,
    hours: float,
    start_utc: datetime,
    end_utc: datetime,
    shifted: bool,
) -> None:
    occurrence = on(daily(start, hours), zone, day)
    assert (occurrence.start_utc, occurrence.end_utc) == (start_utc, end_utc)
    assert occurrence.start_shifted is shifted
    assert occurrence.scheduled_date == day


@pytest.mark.parametrize(("zone", "spring", "fall"), TRANSITIONS)
def test_window_crossing_midnight_on_transition_nights(zone: str, spring: date, fall: date) -> None:
    """23:00 + 5 h wall time ends at 04:00 local the next morning, whatever the clocks did."""
    spec = daily(time(23), 5)
    tz = ZoneInfo(zone)
    for night, delta in ((spring - timedelta(days=1), -1), (fall - timedelta(days=1), +1)):
        occurrence = on(spec, zone, night)
        assert occurrence.start_local.replace(tzinfo=None) == datetime.combine(night, time(23))
        assert occurrence.end_local.replace(tzinfo=None) == datetime.combine(
            night + timedelta(days=1), time(4)
        )
        shift = tz.utcoffset(datetime.combine(night, time(12))) - tz.utcoffset(
            datetime.combine(night + timedelta(days=1), time(12))
        )
        assert occurrence.duration == timedelta(hours=5) + shift
        assert (shift > timedelta(0)) == (delta > 0)


@pytest.mark.parametrize(("zone", "spring", "fall"), TRANSITIONS)
def test_exactly_one_occurrence_per_date_across_transitions(
    zone: str, spring: date, fall: date
) -> None:
    tz = ZoneInfo(zone)
    for day in (spring, fall):
        for start in (time(1, 30), time(2), time(2, 30), time(3)):
            spec = daily(start, 2)
            window_from = datetime.combine(day - timedelta(days=2), time(0), tz)
            found = occurrences(spec, tz, window_from, window_from + timedelta(days=4))
            dates = [o.scheduled_date for o in found]
            assert len(dates) == len(set(dates)) == 4


def test_window_entirely_inside_a_gap_does_not_happen_that_night() -> None:
    spec = daily(time(2, 0), 0.5)
    assert occurrence_on(spec, date(2026, 3, 8), ZoneInfo("America/New_York")) is None
    assert occurrence_on(spec, date(2026, 3, 9), ZoneInfo("America/New_York")) is not None


def test_resolve_local_gap_and_overlap() -> None:
    ny = ZoneInfo("America/New_York")
    assert resolve_local(datetime(2026, 3, 8, 2, 59, 59), ny) == (utc(2026, 3, 8, 7), True)
    assert resolve_local(datetime(2026, 11, 1, 1, 0), ny) == (utc(2026, 11, 1, 5), False)
    assert resolve_local(datetime(2026, 7, 1, 12, 0), ny) == (utc(2026, 7, 1, 16), False)


# ----------------------------------------------------------------------- recurrences


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2026, 6, date(2026, 6, 9)),  # June 2026 starts on a Monday
        (2026, 9, date(2026, 9, 8)),  # Tuesday
        (2026, 4, date(2026, 4, 14)),  # Wednesday
        (2026, 1, date(2026, 1, 13)),  # Thursday
        (2026, 5, date(2026, 5, 12)),  # Friday
        (2026, 8, date(2026, 8, 11)),  # Saturday
        (2026, 11, date(2026, 11, 10)),  # Sunday
    ],
)
def test_patch_tuesday_for_months_starting_on_each_weekday(
    year: int, month: int, expected: date
) -> None:
    assert date(year, month, 1).weekday() == [6, 9, 4, 1, 5, 8, 11].index(month)
    assert patch_tuesday(year, month) == expected


def test_patch_tuesday_offsets_cross_into_the_next_month() -> None:
    spec = WindowSpec(
        "late", RecurrenceKind.PATCH_TUESDAY, time(22), timedelta(hours=4), offset_days=27
    )
    tz = ZoneInfo("Europe/Berlin")
    found = next_occurrences(spec, tz, utc(2026, 11, 1), 3)
    # October's Patch Tuesday (13 Oct) + 27 = 9 Nov; 10 Nov + 27 = 7 Dec; 8 Dec + 27 = 4 Jan
    assert [o.scheduled_date for o in found] == [
        date(2026, 11, 9),
        date(2026, 12, 7),
        date(2027, 1, 4),
    ]


def test_patch_tuesday_plus_four_in_sydney() -> None:
    spec = WindowSpec(
        "servers", RecurrenceKind.PATCH_TUESDAY, time(22), timedelta(hours=4), offset_days=4
    )
    found = next_occurrences(spec, ZoneInfo("Australia/Sydney"), utc(2026, 11, 1), 2)
    assert [o.start_local.isoformat() for o in found] == [
        "2026-11-14T22:00:00+11:00",
        "2026-12-12T22:00:00+11:00",
    ]


@pytest.mark.parametrize(
    ("nth", "weekday", "month", "expected"),
    [
        (2, 1, 11, date(2026, 11, 10)),
        (1, 6, 11, date(2026, 11, 1)),
        (4, 4, 10, date(2026, 10, 23)),
        (-1, 4, 10, date(2026, 10, 30)),
        (-1, 1, 3, date(2026, 3, 31)),
        (-1, 5, 2, date(2026, 2, 28)),
    ],
)
def test_monthly_nth_weekday(nth: int, weekday: int, month: int, expected: date) -> None:
    assert nth_weekday(2026, month, weekday, nth) == expected
    spec = WindowSpec(
        "m", RecurrenceKind.MONTHLY, time(20), timedelta(hours=2), weekdays=(weekday,), nth=nth
    )
    found = next_occurrences(spec, ZoneInfo("UTC"), utc(2026, month, 1), 1)
    assert found[0].scheduled_date == expected


def test_weekly_days() -> None:
    spec = WindowSpec(
        "tt", RecurrenceKind.WEEKLY, time(19, 30), timedelta(hours=3), weekdays=(1, 3)
    )
    # At 02:00 UTC on the 27th, Thursday the 26th's window (until 03:30 UTC) is still open.
    found = next_occurrences(spec, ZoneInfo("America/New_York"), utc(2026, 11, 27, 2), 4)
    assert [o.scheduled_date for o in found] == [
        date(2026, 11, 26),
        date(2026, 12, 1),
        date(2026, 12, 3),
        date(2026, 12, 8),
    ]


def test_blackouts_remove_occurrences_by_local_date() -> None:
    spec = WindowSpec(
        "w",
        RecurrenceKind.WEEKLY,
        time(23),
        timedelta(hours=2),
        weekdays=EVERY_DAY,
        blackouts=(Blackout(date(2026, 12, 24), date(2026, 12, 26), "holidays"),),
    )
    tz = ZoneInfo("Australia/Sydney")
    found = occurrences(
        spec, tz, datetime(2026, 12, 23, tzinfo=tz), datetime(2026, 12, 28, tzinfo=tz)
    )
    assert [o.scheduled_date for o in found] == [
        date(2026, 12, 22),  # 22nd 23:00 -> 23rd 01:00: still open when the range starts
        date(2026, 12, 23),
        date(2026, 12, 27),
    ]


def test_open_occurrence_is_included_and_knows_it() -> None:
    spec = daily(time(22), 4)
    tz = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 27, 23, 30, tzinfo=tz)
    first = next_occurrences(spec, tz, now, 1)[0]
    assert first.scheduled_date == date(2026, 11, 27)
    assert first.is_open(now)
    assert not first.is_open(first.end_utc)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration": timedelta(0)},
        {"duration": timedelta(hours=24, minutes=1)},
        {"weekdays": ()},
        {"weekdays": (7,)},
    ],
)
def test_invalid_specs_are_refused(kwargs: dict[str, object]) -> None:
    values: dict[str, object] = {
        "name": "w",
        "recurrence": RecurrenceKind.WEEKLY,
        "start": time(2),
        "duration": timedelta(hours=1),
        "weekdays": (1,),
    }
    values.update(kwargs)
    with pytest.raises(ValueError, match="window 'w'"):
        WindowSpec(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ properties

ZONES = [
    "UTC",
    "America/New_York",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Europe/Berlin",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Pacific/Apia",
    "America/Santiago",
]


@st.composite
def specs(draw: st.DrawFn) -> WindowSpec:
    kind = draw(st.sampled_from(list(RecurrenceKind)))
    start = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45])))
    duration = timedelta(minutes=draw(st.integers(1, 24 * 60)))
    blackouts: tuple[Blackout, ...] = ()
    if draw(st.booleans()):
        begin = draw(st.dates(date(2025, 1, 1), date(2028, 12, 31)))
        blackouts = (Blackout(begin, begin + timedelta(days=draw(st.integers(0, 40)))),)
    if kind is RecurrenceKind.WEEKLY:
        days = draw(st.sets(st.integers(0, 6), min_size=1))
        return WindowSpec(
            "p", kind, start, duration, weekdays=tuple(sorted(days)), blackouts=blackouts
        )
    if kind is RecurrenceKind.MONTHLY:
        return WindowSpec(
            "p",
            kind,
            start,
            duration,
            weekdays=(draw(st.integers(0, 6)),),
            nth=draw(st.sampled_from([1, 2, 3, 4, -1])),
            blackouts=blackouts,
        )
    return WindowSpec(
        "p", kind, start, duration, offset_days=draw(st.integers(0, 27)), blackouts=blackouts
    )


@settings(max_examples=300, deadline=None)
@given(
    spec=specs(),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 1), timezones=st.just(UTC)),
    days=st.integers(1, 120),
)
def test_occurrence_properties(spec: WindowSpec, zone: str, start: datetime, days: int) -> None:
    tz = ZoneInfo(zone)
    end = start + timedelta(days=days)
    found = occurrences(spec, tz, start, end)
    starts = [o.start_utc for o in found]
    assert starts == sorted(starts)
    dates = [o.scheduled_date for o in found]
    assert len(dates) == len(set(dates)), "two occurrences for one scheduled date"
    for occurrence in found:
        assert occurrence.start_utc < occurrence.end_utc
        assert occurrence.end_utc > start
        assert occurrence.start_utc < end
        assert occurrence.duration <= spec.duration + timedelta(hours=1)
        assert not any(b.covers(occurrence.scheduled_date) for b in spec.blackouts)
        local_start = occurrence.start_local.replace(tzinfo=None)
        if not occurrence.start_shifted:
            assert local_start == datetime.combine(occurrence.scheduled_date, spec.start)
        else:
            assert local_start > datetime.combine(occurrence.scheduled_date, spec.start)
        assert occurrence.start_local.utcoffset() == tz.utcoffset(local_start)
    for earlier, later in itertools.pairwise(found):
        assert earlier.end_utc <= later.start_utc, "consecutive occurrences overlap"


@settings(max_examples=100, deadline=None)
@given(
    spec=specs(),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 1), timezones=st.just(UTC)),
    count=st.integers(1, 8),
)
def test_next_occurrences_agree_with_the_range_query(
    spec: WindowSpec, zone: str, start: datetime, count: int
) -> None:
    tz = ZoneInfo(zone)
    found = next_occurrences(spec, tz, start, count)
    assert len(found) <= count
    if found:
        in_range = occurrences(spec, tz, start, found[-1].end_utc)
        assert in_range[: len(found)] == found
