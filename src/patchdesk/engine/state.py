"""Facts the engine keeps between steps, in the ``engine_state`` table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patchdesk.store.db import Session
from patchdesk.store.engine_state_ops import write_engine_state
from patchdesk.store.engine_state_views import read_engine_state

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
    return read_engine_state(session, key)


def write(session: Session, key: str, value: dict[str, Any], now: datetime) -> None:
    write_engine_state(session, key, value, now)
