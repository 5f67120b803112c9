"""The times a scheduled reboot may take: what a technician types (client time, DST), and
whether it falls inside one of the device's reboot windows (blackouts included)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from patchdesk.domain import RecurrenceKind
from patchdesk.rules.calendar import Blackout, WindowSpec
from patchdesk.rules.reboot_times import (
    RebootTimeError,
    RebootWindow,
    check_reboot_time,
    next_slots,
    parse_reboot_time,
    slot_at,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 15:00 in Berlin


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "now", "expected"),
    [
        ("22:00", NOW, utc(2026, 11, 27, 21, 0)),  # later today, Berlin
        ("14:30", NOW, utc(2026, 11, 28, 13, 30)),  # passed today: tomorrow
        ("2026-11-28 02:30", NOW, utc(2026, 11, 28, 1, 30)),
        ("2026-11-28T02:30", NOW, utc(2026, 11, 28, 1, 30)),
        ("  2026-11-28   02:30 ", NOW, utc(2026, 11, 28, 1, 30)),
        ("2026-11-28T01:00Z", NOW, utc(2026, 11, 28, 1, 0)),  # an offset: taken as given
        ("2026-11-28T03:00+05:00", NOW, utc(2026, 11, 27, 22, 0)),
        # The fall-back hour (Berlin, 25 Oct 2026): the first 02:30, still summer time.
        ("2026-10-25 02:30", utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 0, 30)),
    ],
)
def test_typed_times(typed: str, now: datetime, expected: datetime) -> None:
    assert parse_reboot_time(typed, BERLIN, now) == expected


@pytest.mark.parametrize(
    ("typed", "now", "message"),
    [
        ("", NOW, "give the time to reboot at"),
        ("tonight", NOW, "'tonight' is not a time"),
        ("2026-11-28", NOW, "'2026-11-28' is not a time"),
        ("25:00", NOW, "'25:00' is not a time of day"),
        ("2026-11-28 02:30:10", NOW, "give the time to the minute"),
        ("2026-11-26 10:00", NOW, "2026-11-26 10:00 (2026-11-26 10:00 CET) is not in the future"),
        # The spring-forward gap (Berlin, 28 Mar 2027): 02:30 does not exist.
        ("2027-03-28 02:30", NOW, "2027-03-28 02:30 does not exist in Europe/Berlin"),
    ],
)
def test_refused_times(typed: str, now: datetime, message: str) -> None:
    with pytest.raises(RebootTimeError, match=re.escape(message)):
        parse_reboot_time(typed, BERLIN, now)


def nightly(name: str = "nightly", **kwargs: object) -> RebootWindow:
    """Every night 22:00-02:00 Berlin."""
    spec = WindowSpec(
        name=name,
        recurrence=RecurrenceKind.WEEKLY,
        start=time(22, 0),
        duration=timedelta(hours=4),
        weekdays=tuple(range(7)),
        **kwargs,  # type: ignore[arg-type]
    )
    return RebootWindow(name, spec, BERLIN)


def test_slots_of_the_windows() -> None:
    windows = (nightly(),)
    inside = utc(2026, 11, 27, 23, 30)  # 00:30 Berlin: the occurrence of the 27th
    slot = slot_at(windows, inside)
    assert slot is not None
    assert (slot.window, slot.occurrence.scheduled_date) == ("nightly", date(2026, 11, 27))
    assert slot_at(windows, utc(2026, 11, 28, 1, 0)) is None  # 02:00 Berlin: it has ended
    assert slot_at(windows, utc(2026, 11, 27, 21, 0)) is not None  # 22:00: it opens
    starts = [s.occurrence.start_utc for s in next_slots(windows, NOW, 2)]
    assert starts == [utc(2026, 11, 27, 21, 0), utc(2026, 11, 28, 21, 0)]


def test_a_blackout_closes_the_window_for_reboots_too() -> None:
    frozen = (nightly(blackouts=(Blackout(date(2026, 11, 27), date(2026, 11, 28)),)),)
    assert slot_at(frozen, utc(2026, 11, 27, 23, 30)) is None
    with pytest.raises(RebootTimeError, match="the next one is nightly Sun 29 Nov 22:00–02:00"):
        check_reboot_time(frozen, utc(2026, 11, 27, 23, 30), BERLIN)


def test_a_time_outside_names_the_next_window_and_no_window_says_so() -> None:
    noon = utc(2026, 11, 28, 11, 0)
    with pytest.raises(
        RebootTimeError,
        match="Sat 28 Nov 12:00 CET is outside the device's windows; the next one is nightly "
        "Sat 28 Nov 22:00–02:00 CET",
    ):
        check_reboot_time((nightly(),), noon, BERLIN)
    with pytest.raises(RebootTimeError, match="the device has no window that allows a reboot"):
        check_reboot_time((), noon, BERLIN)
    assert check_reboot_time((nightly(),), utc(2026, 11, 28, 22, 0), BERLIN).window == "nightly"
