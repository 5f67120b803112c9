"""When a screen that follows the database reads again, so a big MSP's reads do not keep
the database and the CPU busy: the clients list and a client's detail use it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

REFRESH_SECONDS = 10.0
CLOCK_REFRESH = timedelta(minutes=1)
BUSY_FACTOR = 20


class Pacer:
    """When a screen reads again: ``REFRESH_SECONDS`` after its last read, or once a minute
    of its clock has passed (sooner in the accelerated demo), whichever comes first; but never
    sooner than ``BUSY_FACTOR`` times as long as the last read took (a big MSP's list is
    slow to read: it is then read less often, leaving the database and the CPU mostly idle)."""

    def __init__(self) -> None:
        self.real: float | None = None
        self.clock: datetime | None = None
        self.took = 0.0

    def mark(self, now: datetime) -> None:
        self.real, self.clock = time.monotonic(), now

    def done(self) -> None:
        if self.real is not None:
            self.took = time.monotonic() - self.real

    def due(self, now: datetime) -> bool:
        if self.real is None or self.clock is None:
            return True
        waited = time.monotonic() - self.real
        if waited < self.took * BUSY_FACTOR:
            return False
        return waited >= REFRESH_SECONDS or now - self.clock >= CLOCK_REFRESH
