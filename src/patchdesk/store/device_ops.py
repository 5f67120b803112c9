"""What a technician does to a device itself (not to one of its exceptions): switch its
maintenance mode.

Maintenance mode normally comes from the RMM (``engine.sync`` stores what the connector
reports as ``rmm_maintenance_mode``). A technician's switch is an *override*
(``devices.maintenance_override``, with who and when) that the sync never touches, so the
next sync does not silently undo it. Switching back to what the RMM reports clears the
override: the device follows the RMM again. ``maintenance_mode``, which the engine acts on,
is the override when there is one, else the RMM's value.

Written in ONE ``Database.writer()`` transaction with a remediation-log record (no exception;
action ``device.maintenance_on`` or ``device.maintenance_off``, actor and operator the
technician) and a ``device.maintenance_mode`` event; or refused (``Refused``) writing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patchdesk.store import operator_input as clean
from patchdesk.store.db import Database, locked
from patchdesk.store.events import record_event
from patchdesk.store.models import Device
from patchdesk.store.operator_input import Refused
from patchdesk.store.remediation_log import LogEntry, append

__all__ = ["MaintenanceResult", "Refused", "set_maintenance_mode"]


@dataclass(frozen=True)
class MaintenanceResult:
    """The device's maintenance mode after the switch; ``message`` holds untrusted text
    (the hostname): display it escaped."""

    device_id: int
    maintenance_mode: bool
    override: bool | None  # None: the device follows the RMM again
    record_seq: int
    message: str


def set_maintenance_mode(
    database: Database,
    device_id: int,
    operator: str,
    on: bool,
    *,
    now: datetime,
    note: str | None = None,
) -> MaintenanceResult:
    """Put the device in maintenance mode (``on``) or take it out, as ``operator``.

    Refused when the device is already in that mode (someone else may have been quicker, or
    the RMM switched it meanwhile), or does not exist."""
    operator = clean.name(operator)
    text = clean.note(note, required=False)
    now = clean.instant(now)
    with database.writer() as session:
        device = locked(session, Device, device_id)
        if device is None:
            raise Refused(f"no device with id {device_id}")
        word = "in" if on else "out of"
        if device.maintenance_mode == on:
            raise Refused(f"{device.hostname} is already {word} maintenance mode; look again")
        follows_rmm = on == device.rmm_maintenance_mode
        device.maintenance_mode = on
        device.maintenance_override = None if follows_rmm else on
        device.maintenance_override_by = None if follows_rmm else operator
        device.maintenance_override_at = None if follows_rmm else now
        device.updated_at = now
        rmm = "on" if device.rmm_maintenance_mode else "off"
        how = (
            f"matches the RMM ({rmm}): follows the RMM again"
            if follows_rmm
            else f"overrides the RMM ({rmm}) until switched back"
        )
        record = append(
            session,
            LogEntry(
                at=now,
                actor=operator,
                operator=operator,
                action="device.maintenance_on" if on else "device.maintenance_off",
                outcome=how[:100],
                note=text,
                client_id=device.client_id,
                device_id=device.id,
            ),
        )
        record_event(
            session,
            at=now,
            kind="device.maintenance_mode",
            entity="device",
            entity_id=device.id,
            client_id=device.client_id,
            payload={
                "maintenance_mode": on,
                "override": device.maintenance_override,
                "operator": operator,
                "rmm": device.rmm_maintenance_mode,
            },
        )
        return MaintenanceResult(
            device_id=device.id,
            maintenance_mode=on,
            override=device.maintenance_override,
            record_seq=record.seq,
            message=f"{device.hostname} is now {word} maintenance mode ({how})",
        )
