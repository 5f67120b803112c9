"""The active windows and their next occurrences, kept between engine steps.

Reading every window and computing its occurrences at every step cost more than the rest of
a quiet step (hundreds of windows for a large MSP). The schedule keeps them, and re-reads the
windows when the stored ones may have changed: windows are only written by ``policy apply``,
which stamps ``updated_at`` on every window (and client) it changes, so a change shows as a
different count or a later newest stamp. (A change stamped earlier than the newest stored
one, by a host whose clock is behind, is noticed at the next re-read: after a later change,
or when the engine restarts.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patchdesk.rules.calendar import Occurrence, next_occurrences
from patchdesk.store.db import Session
from patchdesk.store.window_views import ClientWindow, load_windows, windows_version


class WindowSchedule:
    def __init__(self) -> None:
        self._version: tuple[Any, ...] | None = None
        self._windows: list[ClientWindow] = []
        # Per window: its occurrences that end after the instant they were computed for.
        self._next: dict[int, list[Occurrence]] = {}
        # The occurrences open from one instant until (not including) the next boundary.
        self._open: list[tuple[ClientWindow, Occurrence]] = []
        self._open_span: tuple[datetime, datetime] | None = None
        # An instant and the next boundary after it: the next boundary from any instant
        # between them (no window opens or closes in between).
        self._boundary_span: tuple[datetime, datetime] | None = None
        # (window id, occurrence start) of occurrences known to have a deployment.
        self.deployed: set[tuple[int, datetime]] = set()

    def forget(self) -> None:
        self._version = None
        self._open_span = None
        self._boundary_span = None
        self.deployed.clear()

    def refresh(self, session: Session) -> None:
        """Re-read the windows if the stored ones changed."""
        version = windows_version(session)
        if version != self._version:
            self._windows = load_windows(session)
            self._next = {}
            self._open_span = None
            self._boundary_span = None
            self._version = version

    def _upcoming(self, window: ClientWindow, now: datetime) -> list[Occurrence]:
        found = self._next.get(window.window_id)
        if found is None or found[0].end_utc <= now:
            found = next_occurrences(window.spec, window.zone, now, 2)
            self._next[window.window_id] = found
        return found

    def open_at(self, now: datetime) -> list[tuple[ClientWindow, Occurrence]]:
        """Every occurrence open at ``now``, window by window (client, then name)."""
        span = self._open_span
        if span is not None and span[0] <= now < span[1]:
            return self._open
        self._open = [
            (window, occurrence)
            for window in self._windows
            for occurrence in self._upcoming(window, now)
            if occurrence.start_utc <= now < occurrence.end_utc
        ]
        boundary = self.next_boundary(now)
        self._open_span = (now, boundary) if boundary is not None else None
        return self._open

    def next_boundary(self, now: datetime) -> datetime | None:
        """The next instant a window opens or closes, after ``now``. (Asked at nearly every
        step and between them: kept from one instant until that boundary.)"""
        span = self._boundary_span
        if span is not None and span[0] <= now < span[1]:
            return span[1]
        boundary = min(
            (
                instant
                for window in self._windows
                for occurrence in self._upcoming(window, now)
                for instant in (occurrence.start_utc, occurrence.end_utc)
                if instant > now
            ),
            default=None,
        )
        self._boundary_span = None if boundary is None else (now, boundary)
        return boundary
