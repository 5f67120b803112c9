"""Step 0: the fleet's facts into the store (device status, check-ins), and connector health.

When the connector is unreachable the step records one ``connector.alert`` event when it
goes down (not one per step), marks every device ``unknown`` (``online`` NULL, never
offline), and skips everything that needs the connector. When it comes back, one
``connector.recovered`` event, and the deadlines of targets in flight move on by the length
of the outage, so the blackout does not turn into a flood of offline exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from patchdesk.domain import TargetState
from patchdesk.engine import state
from patchdesk.engine.connectors.base import Connector, ConnectorUnavailable, DeviceStatus
from patchdesk.store.events import record_event
from patchdesk.store.models import CheckIn, Device, Target

# Targets whose device's check-ins are evidence worth keeping.
EVIDENCE_STATES = (
    TargetState.INSTALLED,
    TargetState.REBOOT_PENDING,
    TargetState.REBOOTING,
    TargetState.AWAITING_CHECKIN,
    TargetState.DEFERRED,
)
IN_FLIGHT = (
    TargetState.DISPATCHED,
    TargetState.INSTALLING,
    *EVIDENCE_STATES,
)


def fetch_statuses(connector: Connector) -> dict[str, DeviceStatus] | None:
    """Every device's status by connector id, or None when the connector is unreachable."""
    try:
        return {status.connector_id: status for status in connector.devices()}
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
    session.execute(update(Device).where(Device.online.is_not(None)).values(online=None))
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
    _extend_deadlines(session, outage)
    return outage


def _extend_deadlines(session: Session, outage: timedelta) -> None:
    targets = session.scalars(select(Target).where(Target.state.in_(IN_FLIGHT))).all()
    for target in targets:
        if target.reboot_deadline is not None:
            target.reboot_deadline += outage
        if target.checkin_deadline is not None:
            target.checkin_deadline += outage


def apply_statuses(session: Session, statuses: Mapping[str, DeviceStatus], now: datetime) -> None:
    """Write changed device facts; keep check-ins of devices with a target in flight."""
    evidence = set(
        session.execute(
            select(Target.device_id, Target.id).where(Target.state.in_(EVIDENCE_STATES))
        ).all()
    )
    target_of = {device_id: target_id for device_id, target_id in evidence}
    devices = session.scalars(select(Device).where(Device.connector_id.is_not(None))).all()
    for device in devices:
        status = statuses.get(device.connector_id or "")
        if status is None:
            continue
        seen_changed = status.last_seen != device.last_seen
        boot_changed = status.last_boot != device.last_boot
        if status.online != device.online or seen_changed or boot_changed:
            device.online = status.online
            device.last_seen = status.last_seen
            device.last_boot = status.last_boot
            device.updated_at = now
        if (seen_changed or boot_changed) and device.id in target_of and status.last_seen:
            session.add(
                CheckIn(
                    device_id=device.id,
                    target_id=target_of[device.id],
                    at=status.last_seen,
                    boot_time=status.last_boot,
                    source="connector",
                )
            )
