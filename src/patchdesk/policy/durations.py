"""Durations ("4h", "90m", "3h30m", "2d") and clock times ("HH:MM") as written in policy files."""

from __future__ import annotations

import re
from datetime import time

_DURATION = re.compile(r"(?:(?P<d>\d{1,6})d)?(?:(?P<h>\d{1,6})h)?(?:(?P<m>\d{1,6})m)?")
_CLOCK = re.compile(r"(?P<h>\d\d):(?P<m>\d\d)")

DURATION_HINT = 'a duration is a string such as "4h", "90m", "3h30m" or "2d"'
CLOCK_HINT = 'a start time is a string "HH:MM" on the 24-hour clock, e.g. "22:00"'


def parse_duration(text: str) -> int:
    """Minutes in ``text`` ("4h" -> 240, "3h30m" -> 210, "2d" -> 2880).

    Days, hours and minutes may be combined, in that order. Raises ValueError otherwise.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"{text!r} is not a duration: {DURATION_HINT}")
    days, hours, minutes = (int(match.group(part) or 0) for part in ("d", "h", "m"))
    return (days * 24 + hours) * 60 + minutes


def format_duration(minutes: int) -> str:
    """The policy-file spelling of ``minutes``: 240 -> "4h", 210 -> "3h30m", 45 -> "45m"."""
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours}h{rest}m"
    if hours:
        return f"{hours}h"
    return f"{rest}m"


def parse_clock(text: str) -> time:
    """A wall-clock time from "HH:MM" (00:00 to 23:59). Raises ValueError otherwise."""
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time: {CLOCK_HINT}")
    hour, minute = int(match.group("h")), int(match.group("m"))
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day: {CLOCK_HINT}")
    return time(hour, minute)


def format_clock(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def hours_and_minutes(minutes: int) -> str:
    """Words for a length of time: 240 -> "4 hours", 90 -> "1 hour 30 minutes"."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)
