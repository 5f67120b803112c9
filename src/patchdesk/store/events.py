"""The events feed: one row per state change, read by live views with ``id > last``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.store.models import Event


def record_event(
    session: Session,
    *,
    at: datetime,
    kind: str,
    entity: str,
    entity_id: str | int,
    client_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append an event in the caller's transaction (it commits or rolls back with the change)."""
    event = Event(
        at=at,
        kind=kind,
        entity=entity,
        entity_id=str(entity_id),
        client_id=client_id,
        payload=payload or {},
    )
    session.add(event)
    return event


def events_after(session: Session, last_id: int, limit: int = 1000) -> list[Event]:
    """Events with an id above ``last_id``, oldest first."""
    query = select(Event).where(Event.id > last_id).order_by(Event.id).limit(limit)
    return list(session.scalars(query))
