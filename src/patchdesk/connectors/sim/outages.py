"""When the simulated RMM is unreachable: fixed intervals, and outages drawn per hour.

An outage drawn by rate starts in hour ``h`` with probability ``rate``, at a random minute of
that hour, and lasts the configured span; whether one covers an instant is computed from the
few hours before it (an outage lasts at most a day), so nothing needs to be stored. The
draws of the last hours asked are remembered (every call asks about the same few hours): a
pure function of the hour and the zone asked in; so is the drawn outage covering the last
instant asked (the fixed intervals, which ``add`` extends, are looked at every time).
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo

from patchdesk.connectors.sim.config import Interval, check_interval
from patchdesk.connectors.sim.dice import Span, between, key_of, minutes, unit

_MEMO_HOURS = 256  # hours' draws remembered (then forgotten all at once)


class Outages:
    def __init__(
        self, seed: int | str, rate: float, span: Span, intervals: tuple[Interval, ...] = ()
    ) -> None:
        self.rate = rate
        self.span = span
        self.intervals = list(intervals)
        self._key = key_of(seed, "outage")
        self._memo: dict[tuple[int, tzinfo | None], Interval | None] = {}
        # The last instant asked, its zone, and the drawn outage covering it.
        self._last: tuple[datetime | None, tzinfo | None, Interval | None] = (None, None, None)

    def add(self, start: datetime, end: datetime) -> None:
        check_interval("outage", start, end)
        self.intervals.append((start, end))

    def _drawn(self, hour: int, tz: tzinfo | None) -> Interval | None:
        """The outage drawn for ``hour`` (hours since the epoch), if any (remembered)."""
        memo = self._memo
        if (hour, tz) in memo:
            return memo[hour, tz]
        if len(memo) >= _MEMO_HOURS:
            memo.clear()
        drawn = memo[hour, tz] = self._draw(hour, tz)
        return drawn

    def _draw(self, hour: int, tz: tzinfo | None) -> Interval | None:
        if unit(self._key, 3 * hour) >= self.rate:
            return None
        offset = round(unit(self._key, 3 * hour + 1) * 3599)
        start = datetime.fromtimestamp(hour * 3600 + offset, tz)
        return start, start + minutes(between(unit(self._key, 3 * hour + 2), self.span))

    def first_change(self, after: datetime, until: datetime) -> datetime:
        """The first instant in [after, until) at which an outage starts or ends (``until``
        when none does)."""
        instants = [at for interval in self.intervals for at in interval]
        if self.rate > 0:
            first = int(after.timestamp() // 3600) - math.ceil(self.span[1] / 60)
            last = int(until.timestamp() // 3600)
            for hour in range(first, last + 1):
                drawn = self._drawn(hour, after.tzinfo)
                if drawn is not None:
                    instants += drawn
        return min((at for at in instants if after <= at < until), default=until)

    def at(self, now: datetime) -> Interval | None:
        """The outage covering ``now``, if any."""
        for start, end in self.intervals:
            if start <= now < end:
                return start, end
        if self.rate <= 0:
            return None
        last_now, last_tz, last = self._last
        if now == last_now and now.tzinfo is last_tz:  # every call of a step asks at its now
            return last
        found = self._rated_at(now)
        self._last = (now, now.tzinfo, found)
        return found

    def _rated_at(self, now: datetime) -> Interval | None:
        """The outage drawn by rate that covers ``now``, if any (in ``now``'s zone)."""
        hour = int(now.timestamp() // 3600)
        for h in range(hour - math.ceil(self.span[1] / 60), hour + 1):
            drawn = self._drawn(h, now.tzinfo)
            if drawn is not None and drawn[0] <= now < drawn[1]:
                return drawn
        return None
