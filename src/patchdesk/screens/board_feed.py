"""The board's reading side: what changed since the last refresh, read in a worker thread.

``BoardFeed.read(now)`` follows the events feed (an ``EventCursor``: events above the last
id it saw, and any that committed late in a gap below it)
and re-reads only what those events touch: the open windows of the clients they name, the
KPI strip when exceptions or targets moved, the engine line when the lease or the connector
changed (and the engine's step record, a primary-key read, every time). The first read is
a full one. Nothing here touches Textual: the screen applies the ``BoardUpdate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from patchdesk.store.board_views import (
    EngineView,
    Kpis,
    UpcomingWindow,
    WindowProgress,
    client_count,
    last_event_id,
    read_engine,
    read_kpis,
    read_open_windows,
    read_upcoming,
)
from patchdesk.store.db import Database, Session
from patchdesk.store.events import EventCursor
from patchdesk.store.not_patched import ClientNotPatched, by_client, not_patched

EVENT_BATCH = 1000
# Upcoming windows are re-computed at least this often (in the board's clock).
UPCOMING_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class WindowChanges:
    """Open windows to show: all of them (``clients`` None) or those of ``clients`` only
    (their rows replace the ones shown for those clients)."""

    clients: frozenset[str] | None
    rows: tuple[WindowProgress, ...]


@dataclass(frozen=True)
class BoardUpdate:
    last_event_id: int
    events: int  # events read since the previous update
    clients: int
    engine: EngineView
    windows: WindowChanges | None = None  # None: unchanged
    upcoming: tuple[UpcomingWindow, ...] | None = None
    kpis: Kpis | None = None
    not_patched: tuple[ClientNotPatched, ...] | None = None  # None: unchanged


@dataclass
class _Touched:
    clients: set[str]
    windows_all: bool = False
    kpis: bool = False
    upcoming: bool = False


def _touched(session: Session, cursor: EventCursor) -> tuple[_Touched, int]:
    touched = _Touched(clients=set())
    count = 0
    while True:
        before = cursor.last_id
        batch = cursor.read(session, EVENT_BATCH)
        for event in batch:
            family = event.kind.split(".", 1)[0]
            if family in ("target", "deployment"):
                if event.client_id is None:
                    touched.windows_all = True
                else:
                    touched.clients.add(event.client_id)
                touched.kpis = True
                touched.upcoming = touched.upcoming or event.kind.startswith("deployment.")
            elif family in ("exception", "command"):
                touched.kpis = True
            elif family in ("inventory", "policy"):
                touched.windows_all = touched.upcoming = touched.kpis = True
        count += len(batch)
        if cursor.last_id - before < EVENT_BATCH:  # caught up with the feed
            return touched, count


def _not_patched(session: Session, now: datetime) -> tuple[ClientNotPatched, ...]:
    return tuple(by_client(not_patched(session, now)))


class BoardFeed:
    """Reads board updates; one instance per board, used by one worker at a time."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.cursor: EventCursor | None = None
        self._upcoming_read_at: datetime | None = None
        self._next_opening: datetime | None = None

    def read(self, now: datetime) -> BoardUpdate:
        with self.database.session() as session:
            if self.cursor is None:
                return self._full(session, now)
            touched, count = _touched(session, self.cursor)
            windows: WindowChanges | None = None
            if touched.windows_all:
                windows = WindowChanges(None, tuple(read_open_windows(session, now)))
            elif touched.clients:
                rows = read_open_windows(session, now, touched.clients)
                windows = WindowChanges(frozenset(touched.clients), tuple(rows))
            return BoardUpdate(
                last_event_id=self.cursor.last_id,
                events=count,
                clients=client_count(session),
                engine=read_engine(session),
                windows=windows,
                upcoming=self._upcoming(session, now, touched.upcoming),
                kpis=read_kpis(session, now) if touched.kpis else None,
                not_patched=_not_patched(session, now) if touched.kpis else None,
            )

    def _full(self, session: Session, now: datetime) -> BoardUpdate:
        self.cursor = EventCursor(last_event_id(session))
        return BoardUpdate(
            last_event_id=self.cursor.last_id,
            events=0,
            clients=client_count(session),
            engine=read_engine(session),
            windows=WindowChanges(None, tuple(read_open_windows(session, now))),
            upcoming=self._upcoming(session, now, True),
            kpis=read_kpis(session, now),
            not_patched=_not_patched(session, now),
        )

    def _upcoming(
        self, session: Session, now: datetime, force: bool
    ) -> tuple[UpcomingWindow, ...] | None:
        due = (
            force
            or self._upcoming_read_at is None
            or now - self._upcoming_read_at >= UPCOMING_EVERY
            or now < self._upcoming_read_at  # the clock was set back
            or (self._next_opening is not None and now >= self._next_opening)
        )
        if not due:
            return None
        rows = tuple(read_upcoming(session, now))
        self._upcoming_read_at = now
        self._next_opening = rows[0].start if rows else None
        return rows
