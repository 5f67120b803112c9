"""Run something once typing has paused: each call replaces the one still waiting (the
``/`` filters re-query when the technician stops typing, not at every key)."""

from __future__ import annotations

from collections.abc import Callable

from textual.timer import Timer
from textual.widget import Widget

SEARCH_DELAY = 0.25  # seconds of quiet before a typed filter is applied


class Debounced:
    def __init__(self, owner: Widget, delay: float = SEARCH_DELAY) -> None:
        self.owner = owner
        self.delay = delay
        self._timer: Timer | None = None

    def call(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` after ``delay`` unless another call comes first."""
        self.cancel()
        self._timer = self.owner.set_timer(self.delay, callback)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
