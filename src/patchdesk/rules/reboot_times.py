"""When a scheduled reboot may happen: the time a technician typed, and the device's windows.

A technician schedules a reboot (the ``schedule_reboot`` remediation of a reboot exception)
at a time they type in the *client's* local wall time (the device's users and its windows
live in it): ``YYYY-MM-DD HH:MM``, or ``HH:MM`` for the next such time. A time with an
explicit UTC offset (``2026-11-28T21:00Z``, ``...+01:00``) is taken as that instant.

The time must fall inside an occurrence of one of the device's *reboot windows*: the active
maintenance windows of its client that apply to it and whose reboot policy is not ``never``
(blackout dates suppress occurrences, as everywhere). A time outside them is refused, and the
refusal names the next window opening at or after it, so the technician picks again: the
engine then reboots at exactly the time they chose, never at a time they did not see. The
engine checks again when the time comes (a window may have been removed or blacked out
meanwhile) and does not reboot outside one.

Pure functions over the calendar (no I/O).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from patchdesk.rules.calendar import (
    Occurrence,
    WindowSpec,
    next_occurrences,
    occurrences,
    resolve_local,
)

FORMATS = "YYYY-MM-DD HH:MM or HH:MM (client time)"


class RebootTimeError(ValueError):
    """The text is not a usable reboot time; the message says why, for the technician."""


@dataclass(frozen=True)
class RebootWindow:
    """A window of the device during which it may be rebooted (with its check-in timeout:
    how long after the reboot the device has to check in)."""

    name: str
    spec: WindowSpec
    zone: ZoneInfo
    checkin_timeout_minutes: int = 30


@dataclass(frozen=True)
class Slot:
    """An occurrence of one of the device's reboot windows."""

    window: str
    occurrence: Occurrence
    checkin_timeout_minutes: int = 30


def parse_reboot_time(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The instant (aware UTC) ``text`` names, read in ``zone`` unless it gives an offset;
    ``HH:MM`` is the next such local time at or after ``now``. Refused (``RebootTimeError``)
    when it is not a time, falls in a DST gap (the wall time does not exist that day), or is
    not after ``now``. A time the fall-back hour repeats is its first (earlier) instant."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise RebootTimeError(f"give the time to reboot at: {FORMATS}")
    at = _parse(cleaned, zone, now)
    if at <= now:
        local = at.astimezone(zone)
        raise RebootTimeError(
            f"{cleaned} ({local:%Y-%m-%d %H:%M} {local.tzname()}) is not in the future"
        )
    return at


def _parse(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    clock = _clock_time(text)
    if clock is not None:
        today = now.astimezone(zone).date()
        for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
            at = _local(datetime.combine(day, clock), zone)
            if at > now:
                return at
    if ":" not in text:
        raise RebootTimeError(f"{text!r} is not a time: {FORMATS}")
    try:
        parsed = datetime.fromisoformat(text if "T" in text else text.replace(" ", "T", 1))
    except ValueError:
        raise RebootTimeError(f"{text!r} is not a time: {FORMATS}") from None
    if (parsed.second, parsed.microsecond) != (0, 0):
        raise RebootTimeError(f"{text!r}: give the time to the minute ({FORMATS})")
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return _local(parsed, zone)


def _clock_time(text: str) -> time | None:
    hours, sep, minutes = text.partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2:
        return None
    if len(hours) > 2:
        return None
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise RebootTimeError(f"{text!r} is not a time of day") from None


def _local(naive: datetime, zone: ZoneInfo) -> datetime:
    at, in_gap = resolve_local(naive, zone)
    if in_gap:
        raise RebootTimeError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks go forward "
            "then): pick another time"
        )
    return at


def slot_at(windows: Iterable[RebootWindow], at: datetime) -> Slot | None:
    """The occurrence of a reboot window open at ``at`` (the one ending last, when several
    are), or None."""
    found = [
        Slot(window.name, occurrence, window.checkin_timeout_minutes)
        for window in windows
        for occurrence in occurrences(window.spec, window.zone, at, at + timedelta(seconds=1))
        if occurrence.is_open(at)
    ]
    return max(found, key=lambda slot: (slot.occurrence.end_utc, slot.window), default=None)


def next_slots(windows: Sequence[RebootWindow], after: datetime, count: int = 3) -> list[Slot]:
    """The first ``count`` occurrences of the reboot windows that end after ``after`` (one
    open at ``after`` included), by start."""
    found = [
        Slot(window.name, occurrence, window.checkin_timeout_minutes)
        for window in windows
        for occurrence in next_occurrences(window.spec, window.zone, after, count)
    ]
    found.sort(key=lambda slot: (slot.occurrence.start_utc, slot.window))
    return found[:count]


def check_reboot_time(windows: Sequence[RebootWindow], at: datetime, zone: ZoneInfo) -> Slot:
    """The slot ``at`` falls in; refused (``RebootTimeError``) outside every reboot window,
    naming the next one at or after ``at`` (times in ``zone``, the client's)."""
    slot = slot_at(windows, at)
    if slot is not None:
        return slot
    local = at.astimezone(zone)
    chosen = f"{local:%a %d %b %H:%M} {local.tzname()}"
    if not windows:
        raise RebootTimeError(
            f"{chosen}: the device has no window that allows a reboot (every window that "
            "applies to it has reboot policy never, or none applies)"
        )
    upcoming = next_slots(windows, at, 1)
    if not upcoming:
        raise RebootTimeError(f"{chosen}: the device's reboot windows have no occurrence ahead")
    nxt = upcoming[0]
    start = nxt.occurrence.start_utc.astimezone(zone)
    end = nxt.occurrence.end_utc.astimezone(zone)
    raise RebootTimeError(
        f"{chosen} is outside the device's windows; the next one is {nxt.window} "
        f"{start:%a %d %b %H:%M}–{end:%H:%M} {start.tzname()}"
    )


__all__ = [
    "FORMATS",
    "RebootTimeError",
    "RebootWindow",
    "Slot",
    "check_reboot_time",
    "next_slots",
    "parse_reboot_time",
    "slot_at",
]
