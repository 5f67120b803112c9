"""Reading the facts the engine keeps between steps (the ``engine_state`` table, one JSON
value per key; the keys and what each holds: ``engine.state``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from patchdesk.store.models import EngineState


def read_engine_state(session: Session, key: str) -> dict[str, Any]:
    """The value stored under ``key`` (a copy); empty when none is."""
    row = session.get(EngineState, key)
    return dict(row.value) if row is not None else {}
