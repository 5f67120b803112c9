"""Devices whose link to the fleet is inconsistent: one alert each, the rest goes on.

Inconsistent fleet data never stops the engine. A device it cannot act on safely gets one
alert and is left alone; every other device is followed and dispatched as usual. Problems:

- ``shared``: a device with a lower id has the same connector id. The schema forbids it
  (migration 0007), so only a database changed behind its back holds such devices. As the
  migration decides, the lowest id keeps the id: the sync gives that device the connector's
  facts (``sync.apply_statuses``); the others are left alone;
- ``refused``: the connector refused the device (``RefusesDevices``: the simulator standing
  in for the store's devices could not register it).

A device left alone is unknown (``online`` NULL, never offline): it gets no facts, so it is
never dispatched; a window that closes first misses it, as it does any device the connector
does not report.

The alerts are kept in ``engine_state`` (``state.DEVICE_ALERTS``: device id -> its
connector id, hostname, client, problem, reason, since when). A device newly found gets one
``device.alert`` event naming it; a device no longer found (its connector id changed or
cleared, the other device gone) one ``device.alert_cleared`` event. A step where nothing
changed writes nothing. Shared ids are looked for among every device when the sync read the
whole fleet (the engine's first step, after an outage or a failed step), and among the
alerted devices' connector ids at the other steps; refused devices at every step (a query
only when the connector refused any).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from patchdesk.engine import state
from patchdesk.store.db import Session
from patchdesk.store.events import record_event
from patchdesk.store.link_ops import mark_unknown
from patchdesk.store.link_views import holders_of, shared_connector_ids

SHARED = "shared"
REFUSED = "refused"

_CHUNK = 5_000  # ids per IN (...) list


class Problem(NamedTuple):
    """Why the engine leaves one device alone."""

    device_id: int
    client_id: str
    hostname: str
    connector_id: str
    problem: str  # SHARED or REFUSED
    reason: str  # in words (names the device that keeps a shared id)


@dataclass
class Changes:
    raised: list[Problem] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)  # device ids


def find_problems(
    session: Session, refused: Mapping[str, str], connector_ids: Collection[str] | None = None
) -> dict[int, Problem]:
    """The devices to leave alone, by id: those holding a connector id that a device with a
    lower id holds too, and those holding a connector id the connector refused (``refused``:
    connector id -> why). Shared ids are looked for among ``connector_ids``, or among every
    device when None."""
    wanted = set(refused)
    if connector_ids is None:
        wanted.update(shared_connector_ids(session))
    else:
        wanted.update(connector_ids)
    holders: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    ordered = sorted(wanted)
    for first in range(0, len(ordered), _CHUNK):
        for device_id, client_id, hostname, connector_id in holders_of(
            session, ordered[first : first + _CHUNK]
        ):
            holders[connector_id].append((device_id, client_id, hostname))
    problems: dict[int, Problem] = {}
    for connector_id, devices in sorted(holders.items()):
        devices.sort()
        kept_id, _, kept_hostname = devices[0]
        for device_id, client_id, hostname in devices[1:]:
            problems[device_id] = Problem(
                device_id, client_id, hostname, connector_id, SHARED,
                f"device {kept_id} ({kept_hostname}) has the same connector id and keeps it",
            )  # fmt: skip
        why = refused.get(connector_id)
        if why is not None:
            for device_id, client_id, hostname in devices[:1]:
                problems[device_id] = Problem(
                    device_id, client_id, hostname, connector_id, REFUSED,
                    f"the connector refused it: {why}",
                )  # fmt: skip
    return problems


def read_alerts(session: Session) -> dict[str, dict[str, Any]]:
    """The device alerts raised and not cleared: device id (as text) -> what the alert said."""
    devices = state.read(session, state.DEVICE_ALERTS).get("devices", {})
    return {str(key): dict(value) for key, value in devices.items()}


def update_alerts(
    session: Session,
    now: datetime,
    problems: Mapping[int, Problem],
    alerted: dict[str, dict[str, Any]],
) -> Changes:
    """Raise an alert for each problem not alerted yet (or alerted for another connector id
    or problem), clear those whose problem is gone; ``alerted`` (``read_alerts``) is brought
    up to date, and stored when it changed. A newly alerted device is marked unknown."""
    changes = Changes()
    for key in sorted(alerted, key=int):
        entry = alerted[key]
        found = problems.get(int(key))
        if found is not None and (found.connector_id, found.problem) == (
            entry.get("connector_id"),
            entry.get("problem"),
        ):
            continue
        del alerted[key]
        changes.cleared.append(int(key))
        record_event(
            session,
            at=now,
            kind="device.alert_cleared",
            entity="device",
            entity_id=key,
            client_id=entry.get("client_id"),
            payload={
                "hostname": entry.get("hostname"),
                "connector_id": entry.get("connector_id"),
                "problem": entry.get("problem"),
            },
        )
    for device_id in sorted(problems):
        if str(device_id) in alerted:
            continue
        problem = problems[device_id]
        changes.raised.append(problem)
        alerted[str(device_id)] = {
            "client_id": problem.client_id,
            "hostname": problem.hostname,
            "connector_id": problem.connector_id,
            "problem": problem.problem,
            "reason": problem.reason,
            "since": now.isoformat(),
        }
        record_event(
            session,
            at=now,
            kind="device.alert",
            entity="device",
            entity_id=device_id,
            client_id=problem.client_id,
            payload={
                "hostname": problem.hostname,
                "connector_id": problem.connector_id,
                "problem": problem.problem,
                "reason": problem.reason,
            },
        )
    if changes.raised:
        mark_unknown(session, [problem.device_id for problem in changes.raised])
    if changes.raised or changes.cleared:
        state.write(session, state.DEVICE_ALERTS, {"devices": alerted}, now)
    return changes
