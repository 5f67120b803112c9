"""Writing the facts the engine keeps between steps (the ``engine_state`` table, one JSON
value per key; the keys and what each holds: ``engine.state``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from patchdesk.store.models import EngineState


def write_engine_state(session: Session, key: str, value: dict[str, Any], now: datetime) -> None:
    """Store ``value`` under ``key`` (replacing what was there), stamped ``now``."""
    row = session.get(EngineState, key)
    if row is None:
        session.add(EngineState(key=key, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now
