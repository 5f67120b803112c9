"""The monthly patch cycle.

Cycle ``2026-11`` runs from November's Patch Tuesday (the second Tuesday, 2026-11-10) to the
day before December's (2026-12-07 inclusive). Boundaries are dates, so an instant belongs to
a cycle by its local date in a given zone: a client's figures use the client's time zone
(a window that opens on Monday evening in New York, before Patch Tuesday there, belongs to
the previous cycle even if it is already Tuesday in UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo

from patchdesk.rules.calendar import patch_tuesday

_LABEL = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, order=True)
class Cycle:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1900 <= self.year <= 9999:
            raise ValueError(f"no cycle {self.year:04d}-{self.month:02d}")

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __str__(self) -> str:
        return self.label

    @property
    def first_day(self) -> date:
        """Patch Tuesday of the cycle's month: its first day."""
        return patch_tuesday(self.year, self.month)

    @property
    def end_day(self) -> date:
        """The next cycle's first day (exclusive end)."""
        return self.next().first_day

    @property
    def last_day(self) -> date:
        """The day before the next Patch Tuesday (the cycle's last day, inclusive)."""
        return date.fromordinal(self.end_day.toordinal() - 1)

    def next(self) -> Cycle:
        return Cycle(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Cycle:
        return Cycle(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of Patch Tuesday to the next one's."""
        return _midnight(self.first_day, zone), _midnight(self.end_day, zone)

    def contains(self, at: datetime, zone: tzinfo) -> bool:
        start, end = self.bounds(zone)
        return start <= at < end

    def last(self, count: int) -> list[Cycle]:
        """The ``count`` cycles ending with this one, oldest first."""
        cycles = [self]
        while len(cycles) < count:
            cycles.append(cycles[-1].previous())
        return cycles[::-1]


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def parse_cycle(text: str) -> Cycle:
    """``YYYY-MM`` -> the cycle; ValueError otherwise."""
    match = _LABEL.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a cycle: give YYYY-MM, e.g. 2026-11")
    return Cycle(int(match.group(1)), int(match.group(2)))


def cycle_of(at: datetime, zone: tzinfo) -> Cycle:
    """The cycle ``at`` (aware) falls in, by its local date in ``zone``."""
    if at.tzinfo is None:
        raise ValueError("cycle_of needs an aware datetime")
    day = at.astimezone(zone).date()
    cycle = Cycle(day.year, day.month)
    return cycle if day >= cycle.first_day else cycle.previous()
