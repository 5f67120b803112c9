"""Facts the engine keeps between steps, in the ``engine_state`` table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from patchdesk.store.models import EngineState

CONNECTOR = "connector"
# Devices the engine leaves alone, their link to the fleet being inconsistent
# (``engine.links``): {"devices": {device id: {connector_id, hostname, client_id, problem,
# reason, since}}}.
DEVICE_ALERTS = "device_alerts"
# The runner's last step: who, when (engine time), what it did, and whether the time is a
# simulation's virtual time (the demo's live runner, ``patchdesk simulate``): commands and
# other UIs on a simulated database then use that time as theirs (``live.simulated_now``).
RUNNER = "runner"


def read(session: Session, key: str) -> dict[str, Any]:
    row = session.get(EngineState, key)
    return dict(row.value) if row is not None else {}


def write(session: Session, key: str, value: dict[str, Any], now: datetime) -> None:
    row = session.get(EngineState, key)
    if row is None:
        session.add(EngineState(key=key, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now
