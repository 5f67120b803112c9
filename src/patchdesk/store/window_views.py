"""Stored maintenance windows as calendar specs, and their upcoming occurrences."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from patchdesk.rules.calendar import (
    WEEKDAYS,
    Blackout,
    Occurrence,
    WindowSpec,
    next_occurrences,
    occurrences,
)
from patchdesk.store import direct
from patchdesk.store.models import Client, MaintenanceWindow


def window_name(session: Session, window_id: int | None) -> str | None:
    """The window's name; None for no window (an emergency deployment has none) or one
    that is gone."""
    window = session.get(MaintenanceWindow, window_id) if window_id else None
    return window.name if window is not None else None


def spec_of(window: MaintenanceWindow) -> WindowSpec:
    """The calendar's view of a stored window."""
    return WindowSpec(
        name=window.name,
        recurrence=window.recurrence,
        start=window.start_time,
        duration=timedelta(minutes=window.duration_minutes),
        weekdays=tuple(WEEKDAYS.index(day) for day in window.weekdays),
        nth=window.nth,
        offset_days=window.offset_days or 0,
        blackouts=tuple(Blackout(b.start_date, b.end_date, b.reason) for b in window.blackouts),
    )


@dataclass(frozen=True)
class ClientWindow:
    """One active window of one client, ready for the calendar."""

    client_id: str
    client_name: str
    zone: ZoneInfo
    window_id: int
    spec: WindowSpec

    @property
    def timezone(self) -> str:
        return self.zone.key


@dataclass(frozen=True)
class Scheduled:
    """An occurrence with the window and client it belongs to."""

    window: ClientWindow
    occurrence: Occurrence


def load_windows(
    session: Session, *, client_id: str | None = None, window_name: str | None = None
) -> list[ClientWindow]:
    """Active windows, ordered by client and name, optionally for one client / one name."""
    query = (
        select(MaintenanceWindow, Client)
        .join(Client, Client.id == MaintenanceWindow.client_id)
        .where(MaintenanceWindow.active)
        .options(selectinload(MaintenanceWindow.blackouts))
        .order_by(Client.id, MaintenanceWindow.name)
    )
    if client_id is not None:
        query = query.where(MaintenanceWindow.client_id == client_id)
    if window_name is not None:
        query = query.where(MaintenanceWindow.name == window_name)
    return [
        ClientWindow(
            client_id=client.id,
            client_name=client.name,
            zone=ZoneInfo(client.timezone),
            window_id=window.id,
            spec=spec_of(window),
        )
        for window, client in session.execute(query).all()
    ]


def _order(item: Scheduled) -> tuple[datetime, str, str]:
    return (item.occurrence.start_utc, item.window.client_id, item.window.spec.name)


def in_range(windows: Sequence[ClientWindow], start: datetime, end: datetime) -> list[Scheduled]:
    """Every occurrence overlapping [start, end), by start time (then client, window)."""
    found = [
        Scheduled(window, occurrence)
        for window in windows
        for occurrence in occurrences(window.spec, window.zone, start, end)
    ]
    return sorted(found, key=_order)


def upcoming(windows: Sequence[ClientWindow], start: datetime, count: int) -> list[Scheduled]:
    """The first ``count`` occurrences of all ``windows`` together that end after ``start``."""
    per_window = (
        [Scheduled(w, o) for o in next_occurrences(w.spec, w.zone, start, count)] for w in windows
    )
    return heapq.nsmallest(count, (item for items in per_window for item in items), key=_order)


_VERSION = select(
    *(
        part.scalar_subquery()
        for part in (
            select(func.count()).select_from(MaintenanceWindow),
            select(func.max(MaintenanceWindow.updated_at)),
            select(func.count()).select_from(Client),
            select(func.max(Client.updated_at)),
        )
    )
)


def windows_version(session: Session) -> tuple[Any, ...]:
    """What changes whenever a window (blackouts included: a change to them stamps the
    window) or its client's zone is written: the count and the newest stamp of each."""
    (version,) = direct.rows(session.connection(), _VERSION)
    return version
