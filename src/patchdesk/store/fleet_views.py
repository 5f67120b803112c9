"""The device facts the engine last stored from the fleet, and the targets of devices whose
facts changed (``engine.sync``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, select

from patchdesk.domain import TargetState
from patchdesk.store import direct
from patchdesk.store.db import Session
from patchdesk.store.models import Device, Target

CHUNK = 5_000  # ids per IN (...) list
_devices = cast(Table, Device.__table__)
_DEVICE_FACTS = select(
    _devices.c.id, _devices.c.connector_id, _devices.c.online, _devices.c.last_seen,
    _devices.c.last_boot, _devices.c.rmm_maintenance_mode,
)  # fmt: skip
# (Filtered here: with a condition on the state too, SQLite may read by the state index.)
_TARGETS_OF = select(Target.device_id, Target.id, Target.state, Target.verified_at).where(
    Target.device_id.in_(bindparam("devices", expanding=True))
)

# A device's stored facts: id, connector id, online, last seen, last boot, the RMM's
# maintenance mode.
StoredFacts = Sequence[Any]


def linked_device_facts(session: Session) -> list[StoredFacts]:
    """The stored facts of every device with a connector id."""
    query = _DEVICE_FACTS.where(_devices.c.connector_id.is_not(None))
    return list(session.execute(query))


def device_facts(session: Session, connector_ids: Sequence[str]) -> list[StoredFacts]:
    """The stored facts of the devices with these connector ids."""
    found: list[StoredFacts] = []
    for first in range(0, len(connector_ids), CHUNK):
        query = _DEVICE_FACTS.where(
            _devices.c.connector_id.in_(connector_ids[first : first + CHUNK])
        )
        found += session.execute(query)
    return found


class DeviceTarget(NamedTuple):
    id: int
    state: TargetState
    verified_at: datetime | None


def targets_of_devices(session: Session, devices: Sequence[int]) -> dict[int, list[DeviceTarget]]:
    """Every target of these devices (by id)."""
    found: dict[int, list[DeviceTarget]] = {}
    for first in range(0, len(devices), CHUNK):
        chunk = list(devices[first : first + CHUNK])
        for device_id, target_id, target_state, verified_at in direct.rows(
            session.connection(), _TARGETS_OF, {"devices": chunk}
        ):
            found.setdefault(device_id, []).append(
                DeviceTarget(target_id, target_state, verified_at)
            )
    return found
