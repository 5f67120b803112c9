"""The events feed: one row per state change, read by live views with ``id > last``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

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
            session.connection().execute(_INSERT, batch)
    finally:
        session.info.pop(_BATCH, None)


def events_after(session: Session, last_id: int, limit: int = 1000) -> list[Event]:
    """Events with an id above ``last_id``, oldest first."""
    query = select(Event).where(Event.id > last_id).order_by(Event.id).limit(limit)
    return list(session.scalars(query))
