"""Step 0: the fleet's facts into the store (device status, check-ins), and connector health.

Only what changed is written, in one bulk statement. A connector that reports changes
(``ReportsChanges``) is asked only for the devices that may have changed since this
engine's last sync; the engine lists the whole fleet when it has no such sync to go from
(its first step, after an outage, after a failed step). So an online device's stored
``last_seen`` is when a sync last found something new about it, not every poll: an online
device is checking in now, and the engine reads it so (``progress``). Maintenance mode comes
from the RMM: what the connector reports is stored as ``rmm_maintenance_mode`` (an event
marks each switch), and ``maintenance_mode``, the value the engine acts on, follows it unless
a technician set ``maintenance_override`` from the device screen, which the sync never
touches. A device in maintenance mode gets no target and its pending targets are skipped
(``engine.skips``).

When the connector is unreachable the step records one ``connector.alert`` event when it
goes down (not one per step), marks every device ``unknown`` (``online`` NULL, never
offline), and skips everything that needs the connector. When it comes back, one
``connector.recovered`` event, and the deadlines of targets in flight move on by the length
of the outage, so the blackout does not turn into a flood of offline exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from patchdesk.connectors.base import (
    Connector,
    ConnectorUnavailable,
    DeviceStatus,
    ReportsChanges,
)
from patchdesk.domain import EVIDENCE_STATES
from patchdesk.engine import state
from patchdesk.store.db import Session
from patchdesk.store.events import record_event
from patchdesk.store.fleet_ops import (
    NewCheckIn,
    NewFacts,
    extend_deadlines,
    mark_all_unknown,
    record_checkins,
    write_facts,
)
from patchdesk.store.fleet_views import (
    DeviceTarget,
    StoredFacts,
    device_facts,
    linked_device_facts,
    targets_of_devices,
)


@dataclass(frozen=True)
class FleetFacts:
    """What the connector said about devices: every device, or those that may have changed."""

    statuses: Sequence[DeviceStatus]
    complete: bool


def fetch_statuses(connector: Connector, since: datetime | None = None) -> FleetFacts | None:
    """Device statuses, or None when the connector is unreachable.

    With ``since`` (the last sync this engine wrote) and a connector that reports changes,
    only the devices that may have changed since then; otherwise every device.
    """
    try:
        if since is not None and isinstance(connector, ReportsChanges):
            changed = connector.device_changes(since)
            if changed is not None:
                return FleetFacts(changed, complete=False)
        return FleetFacts(connector.devices(), complete=True)
    except ConnectorUnavailable:
        return None


def connector_down(session: Session, now: datetime, reason: str) -> bool:
    """Record the connector as unreachable; True when it just went down (not already)."""
    known = state.read(session, state.CONNECTOR)
    went_down = bool(known.get("reachable", True))
    if went_down:
        state.write(session, state.CONNECTOR, {"reachable": False, "since": now.isoformat()}, now)
        record_event(
            session,
            at=now,
            kind="connector.alert",
            entity="connector",
            entity_id="fleet",
            payload={"reachable": False, "reason": reason},
        )
    mark_all_unknown(session)
    return went_down


def connector_up(session: Session, now: datetime) -> timedelta | None:
    """Record a recovery; returns how long the outage lasted (None: there was none)."""
    known = state.read(session, state.CONNECTOR)
    if known.get("reachable", True):
        return None
    since = datetime.fromisoformat(str(known["since"]))
    outage = now - since
    state.write(session, state.CONNECTOR, {"reachable": True, "since": now.isoformat()}, now)
    record_event(
        session,
        at=now,
        kind="connector.recovered",
        entity="connector",
        entity_id="fleet",
        payload={"reachable": True, "outage_seconds": int(outage.total_seconds())},
    )
    extend_deadlines(session, outage, now)
    return outage


# What the engine wrote of a device's facts:
# (device id, online, last_seen, last_boot, the RMM's maintenance mode).
Facts = tuple[int, bool | None, datetime | None, datetime | None, bool]


class News(NamedTuple):
    """What changed in a device's facts at a sync, and the device's targets as they stood
    then (read once, for the check-ins here and for ``attention``)."""

    boot: bool  # a new last_boot
    seen: bool  # a new last_seen
    online: bool | None  # online now (the new value, changed or not)
    targets: tuple[DeviceTarget, ...] = ()


def apply_statuses(
    session: Session, facts: FleetFacts, now: datetime, known: dict[str, Facts] | None = None
) -> dict[int, News]:
    """Write changed device facts (one bulk statement); keep check-ins of devices with a
    target in flight. Returns the devices whose facts changed (by id), and how.

    ``known`` (by connector id) is what the caller remembers of the stored facts; devices
    missing from it are read from the store, and it is brought up to date. The write names
    the device's id and connector id, so a device whose connector id was changed since
    (``inventory import``) is left alone rather than given another device's facts.
    """
    reported = {status.connector_id: status for status in facts.statuses}
    known = known if known is not None else {}
    if not reported:
        return {}
    if facts.complete:
        known.clear()
        _remember(known, linked_device_facts(session))
    else:
        unknown = sorted(cid for cid in reported if cid not in known)
        _remember(known, device_facts(session, unknown))
    changes: list[NewFacts] = []
    news: dict[int, News] = {}
    seen: list[tuple[int, DeviceStatus]] = []  # last_seen or last_boot changed
    maintenance: list[tuple[int, str, bool]] = []  # maintenance mode switched
    for (device_id, online, last_seen, last_boot, in_maintenance), connector_id in sorted(
        (known[cid], cid) for cid in reported if cid in known
    ):
        status = reported[connector_id]
        seen_changed = status.last_seen != last_seen
        boot_changed = status.last_boot != last_boot
        if status.maintenance_mode != in_maintenance:
            maintenance.append((device_id, connector_id, status.maintenance_mode))
        if (
            status.online != online
            or seen_changed
            or boot_changed
            or status.maintenance_mode != in_maintenance
        ):
            changes.append(
                (
                    device_id,
                    connector_id,
                    status.online,
                    status.last_seen,
                    status.last_boot,
                    status.maintenance_mode,
                )
            )
            known[connector_id] = (
                device_id,
                status.online,
                status.last_seen,
                status.last_boot,
                status.maintenance_mode,
            )
            news[device_id] = News(boot_changed, seen_changed, status.online)
        if (seen_changed or boot_changed) and status.last_seen:
            seen.append((device_id, status))
    if changes:
        write_facts(session, changes, now)
    targets = targets_of_devices(session, sorted(news))
    for device_id, found in targets.items():
        news[device_id] = news[device_id]._replace(targets=tuple(found))
    if seen:
        _record_checkins(session, seen, targets)
    for device_id, connector_id, on in maintenance:
        record_event(
            session,
            at=now,
            kind="device.maintenance_mode",
            entity="device",
            entity_id=device_id,
            payload={"connector_id": connector_id, "maintenance_mode": on},
        )
    return news


def _remember(known: dict[str, Facts], rows: Iterable[StoredFacts]) -> None:
    """Each connector id's stored facts, from ``store.fleet_views`` rows. When several devices
    hold one connector id (the schema forbids it: only a database changed behind its back
    has them) the lowest id keeps it, as migration 0007 decided; ``engine.links`` alerts on
    the others, which get no facts."""
    for row in rows:
        connector_id: str = row[1]
        held = known.get(connector_id)
        if held is None or row[0] < held[0]:
            known[connector_id] = (row[0], row[2], row[3], row[4], row[5])


def _record_checkins(
    session: Session,
    seen: list[tuple[int, DeviceStatus]],
    targets: Mapping[int, Sequence[DeviceTarget]],
) -> None:
    """A check-in row for each device seen anew that has a target waiting for evidence."""
    target_of: dict[int, int] = {}
    for device_id in sorted({device_id for device_id, _ in seen}):
        for target in targets.get(device_id, ()):
            if target.state in EVIDENCE_STATES:
                target_of[device_id] = target.id
    checkins: list[NewCheckIn] = [
        (device_id, target_of[device_id], status.last_seen, status.last_boot)
        for device_id, status in seen
        if device_id in target_of
    ]
    if checkins:
        record_checkins(session, checkins)
