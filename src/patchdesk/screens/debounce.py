"""Apply a typed filter once typing has paused: each key replaces the application still
waiting (the ``/`` filters re-query when the technician stops typing, not at every key);
``enter`` applies it at once."""

from __future__ import annotations

from collections.abc import Callable

from textual.timer import Timer
from textual.widget import Widget

SEARCH_DELAY = 0.25  # seconds of quiet before a typed filter is applied


class Debounced:
    def __init__(
        self, owner: Widget, apply: Callable[[str], object], delay: float = SEARCH_DELAY
    ) -> None:
        self.owner = owner
        self.apply = apply  # takes the typed text, stripped
        self.delay = delay
        self._timer: Timer | None = None

    def later(self, text: str) -> None:
        """Apply ``text`` after ``delay`` unless more is typed first."""
        self.cancel()
        self._timer = self.owner.set_timer(self.delay, lambda: self.apply(text.strip()))

    def now(self, text: str) -> None:
        self.cancel()
        self.apply(text.strip())

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
