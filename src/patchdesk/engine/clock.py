"""The virtual clock a simulated engine and its simulated fleet share (``patchdesk demo``,
``patchdesk simulate``): it stands still until the runner moves it on."""

from __future__ import annotations

from datetime import datetime


class VirtualClock:
    """A callable clock: ``clock()`` is ``clock.now``, which only its runner sets."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
