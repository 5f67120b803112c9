"""When a simulated device's status, or a job's state, may change: so the engine can ask
what changed instead of listing everything.

``Simulator.device_changes(since)`` answers with the devices whose status may have changed
at an instant in ``[since, now]``, in time proportional to those changes rather than to the
fleet (listing 50,000 devices at every engine step is what made the simulation slow). The
instants come from two places:

- natural offline periods, drawn per device and UTC day: a day's starts and ends are added
  for the whole fleet when the clock first reaches that day (a period lasts less than a day,
  so the day before the log's start is added too);
- what was done to a device: the simulator notes the instants at which the effects show
  (a reboot's command, boot and check-in, a job's end that leaves a reboot pending, a wake, a
  scripted offline period, a maintenance-mode switch).

``Simulator.job_changes(since)`` likewise answers with the jobs that started or finished in
``[since, now]`` (a job's times are decided when it is created).

More than what changed is fine (the engine compares with what it stored). Each answer
forgets the instants before its ``since``; a question from earlier than that (or than the
log's start) is answered ``None``: "cannot tell, ask for everything".
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Generic, TypeVar

from patchdesk.connectors.sim.device_state import DAY_SECONDS, day_of

K = TypeVar("K", int, str)
# The instants of one device's natural offline periods that start on one UTC day.
DayPeriods = Callable[[int, int], Iterable[datetime]]  # (device index, day) -> instants


class Instants(Generic[K]):
    """Keys and the instants they may change at; which changed in [since, now]."""

    def __init__(self, start: datetime) -> None:
        self.floor = start
        self._future: list[tuple[datetime, K]] = []  # a heap
        self._past: list[tuple[datetime, K]] = []  # instants reached, in order

    def note(self, key: K, *instants: datetime | None) -> None:
        """``key`` may change at each of ``instants`` (None: never)."""
        for at in instants:
            if at is not None:
                heapq.heappush(self._future, (at, key))

    def since(self, since: datetime, now: datetime) -> list[K] | None:
        """Keys (sorted) that may have changed in [since, now]; None when ``since`` is
        earlier than what the log still knows."""
        if since < self.floor:
            return None
        future, past = self._future, self._past
        while future and future[0][0] <= now:
            past.append(heapq.heappop(future))
        first = bisect_left(past, since, key=lambda item: item[0])
        found = sorted({key for _, key in past[first:]})
        del past[:first]
        self.floor = since
        return found

    def upcoming(self, until: datetime) -> Iterator[tuple[datetime, K]]:
        """The noted instants not yet reached (by a ``since``) before ``until``, in order,
        without consuming them."""
        future = self._future
        if not future:
            return
        frontier = [(future[0], 0)]  # the heap walked in order: a heap of its positions
        while frontier:
            item, position = heapq.heappop(frontier)
            if item[0] >= until:
                return
            yield item
            for child in (2 * position + 1, 2 * position + 2):
                if child < len(future):
                    heapq.heappush(frontier, (future[child], child))


class ChangeLog(Instants[int]):
    """Devices (by registration index) and the instants their status may change at."""

    def __init__(self, start: datetime, periods: DayPeriods) -> None:
        super().__init__(start)
        self._periods = periods
        self._first_day = day_of(start) - 1
        self._next_day = self._first_day  # days before this one are in the log
        self._devices = 0

    def add_device(self) -> int:
        """Register the next device (indexes follow registration); returns its index."""
        index = self._devices
        self._devices += 1
        for day in range(self._first_day, self._next_day):
            self.note(index, *self._periods(index, day))
        return index

    def since(self, since: datetime, now: datetime) -> list[int] | None:
        if since >= self.floor:
            while self._next_day <= day_of(now):
                for index in range(self._devices):
                    instants = self._periods(index, self._next_day)
                    if instants:  # most devices, most days: no natural period
                        self.note(index, *instants)
                self._next_day += 1
        return super().since(since, now)

    @property
    def drawn_until(self) -> datetime:
        """The natural periods starting before this instant are in the log (later days are
        added when the clock reaches them)."""
        return datetime.fromtimestamp(self._next_day * DAY_SECONDS, UTC)
