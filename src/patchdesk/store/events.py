"""The events feed: one row per state change, read by live views with ``id > last``.

Live views follow it with an :class:`EventCursor` rather than a bare ``id > last``: on
PostgreSQL ids come from a sequence when a row is inserted, not when its transaction
commits, so a transaction that commits after a later one (an operator's acknowledge while
the engine's step commits) makes an id appear *below* the position a reader already passed.
The cursor remembers such gaps for a while and reads them again. (On SQLite writers are
serialised, so ids commit in order and gaps only come from rollbacks.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from patchdesk.store.bulk import execute_many
from patchdesk.store.models import Event

_BATCH = "patchdesk.events"  # key of a batch in Session.info
_INSERT = insert(cast(Table, Event.__table__))


def record_event(
    session: Session,
    *,
    at: datetime,
    kind: str,
    entity: str,
    entity_id: str | int,
    client_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Event | None:
    """Append an event in the caller's transaction (it commits or rolls back with the change).

    Inside :func:`batched_events` the event is written at the end of the batch (and None is
    returned); otherwise it is added to the session and returned.
    """
    values = {
        "at": at,
        "kind": kind,
        "entity": entity,
        "entity_id": str(entity_id),
        "client_id": client_id,
        "payload": payload or {},
    }
    batch = session.info.get(_BATCH)
    if batch is not None:
        batch.append(values)
        return None
    event = Event(**values)
    session.add(event)
    return event


@contextmanager
def batched_events(session: Session) -> Iterator[None]:
    """Events recorded in this block are written together when it ends, in the order they
    were recorded (one statement for all: the engine records thousands per step). Nothing in
    the block may read the events it recorded."""
    batch: list[dict[str, Any]] = []
    session.info[_BATCH] = batch
    try:
        yield
        if batch:
            execute_many(session.connection(), _INSERT, batch)
    finally:
        session.info.pop(_BATCH, None)


def events_after(session: Session, last_id: int, limit: int = 1000) -> list[Event]:
    """Events with an id above ``last_id``, oldest first."""
    query = select(Event).where(Event.id > last_id).order_by(Event.id).limit(limit)
    return list(session.scalars(query))


def entities_after(session: Session, last_id: int) -> set[str]:
    """The kinds of entity (``client``, ``target`` ...) that events above ``last_id`` are
    about: a live view reads again only when one it shows changed."""
    query = select(Event.entity).where(Event.id > last_id).distinct()
    return set(session.scalars(query))


class EventCursor:
    """A position in the events feed that does not lose late commits.

    ``read`` returns the events above the position, and any that since appeared in a gap
    below it (ids skipped when the position moved past them), oldest first. A gap is
    forgotten after ``gap_seconds`` (a rolled-back transaction leaves one for ever); at most
    ``max_gaps`` are remembered, the newest.
    """

    def __init__(
        self,
        last_id: int = 0,
        *,
        gap_seconds: float = 60.0,
        max_gaps: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.last_id = last_id
        self.gap_seconds = gap_seconds
        self.max_gaps = max_gaps
        self.clock = clock
        self.gaps: dict[int, float] = {}  # missing id -> when it was first missed

    def read(self, session: Session, limit: int = 1000) -> list[Event]:
        now = self.clock()
        self.gaps = {i: t for i, t in self.gaps.items() if now - t < self.gap_seconds}
        late: list[Event] = []
        if self.gaps:
            late = list(
                session.scalars(
                    select(Event).where(Event.id.in_(sorted(self.gaps))).order_by(Event.id)
                )
            )
            for event in late:
                self.gaps.pop(event.id, None)
        new = events_after(session, self.last_id, limit)
        expected = self.last_id + 1
        for event in new:
            for missing in range(expected, event.id):
                self.gaps[missing] = now
            expected = event.id + 1
        if new:
            self.last_id = new[-1].id
        if len(self.gaps) > self.max_gaps:
            self.gaps = dict(sorted(self.gaps.items())[-self.max_gaps :])
        return sorted([*late, *new], key=lambda event: event.id)
