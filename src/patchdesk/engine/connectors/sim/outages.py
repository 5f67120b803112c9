"""When the simulated RMM is unreachable: fixed intervals, and outages drawn per hour.

An outage drawn by rate starts in hour ``h`` with probability ``rate``, at a random minute of
that hour, and lasts the configured span; whether one covers an instant is computed from the
few hours before it (an outage lasts at most a day), so nothing needs to be stored.
"""

from __future__ import annotations

import math
from datetime import datetime

from patchdesk.engine.connectors.sim.config import Interval, check_interval
from patchdesk.engine.connectors.sim.dice import Span, between, key_of, minutes, unit


class Outages:
    def __init__(
        self, seed: int | str, rate: float, span: Span, intervals: tuple[Interval, ...] = ()
    ) -> None:
        self.rate = rate
        self.span = span
        self.intervals = list(intervals)
        self._key = key_of(seed, "outage")

    def add(self, start: datetime, end: datetime) -> None:
        check_interval("outage", start, end)
        self.intervals.append((start, end))

    def at(self, now: datetime) -> Interval | None:
        """The outage covering ``now``, if any."""
        for start, end in self.intervals:
            if start <= now < end:
                return start, end
        if self.rate <= 0:
            return None
        hour = int(now.timestamp() // 3600)
        for h in range(hour - math.ceil(self.span[1] / 60), hour + 1):
            if unit(self._key, 3 * h) >= self.rate:
                continue
            offset = round(unit(self._key, 3 * h + 1) * 3599)
            start = datetime.fromtimestamp(h * 3600 + offset, now.tzinfo)
            end = start + minutes(between(unit(self._key, 3 * h + 2), self.span))
            if start <= now < end:
                return start, end
        return None
