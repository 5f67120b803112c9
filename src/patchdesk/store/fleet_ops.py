"""What the engine writes from the fleet's facts (``engine.sync``): changed device facts,
check-ins kept as evidence, every device unknown while the connector is down, and the
deadlines of targets in flight moved on by an outage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Boolean, Table, bindparam, func, insert, select, update

from patchdesk.domain import IN_FLIGHT
from patchdesk.store.bulk import execute_many
from patchdesk.store.db import Session
from patchdesk.store.models import CheckIn, Device, Target

_devices = cast(Table, Device.__table__)
_INSERT_CHECKINS = insert(cast(Table, CheckIn.__table__))
_UPDATE_FACTS = (
    update(_devices)
    .where(_devices.c.id == bindparam("b_id"), _devices.c.connector_id == bindparam("b_cid"))
    .values(
        online=bindparam("b_online"),
        last_seen=bindparam("b_seen"),
        last_boot=bindparam("b_boot"),
        rmm_maintenance_mode=bindparam("b_maintenance"),
        # A technician's override wins over the RMM's report (until they clear it).
        maintenance_mode=func.coalesce(
            _devices.c.maintenance_override, bindparam("b_maintenance", type_=Boolean())
        ),
        updated_at=bindparam("b_now"),
    )
)

# A device's new facts: (device id, connector id, online, last_seen, last_boot, the RMM's
# maintenance mode).
NewFacts = tuple[int, str, bool | None, datetime | None, datetime | None, bool]


def write_facts(session: Session, changes: Sequence[NewFacts], now: datetime) -> None:
    """Write the devices' new facts (one bulk statement). The write names the device's id
    and connector id: a device whose connector id changed since it was read is left alone."""
    rows = [
        {
            "b_id": device_id,
            "b_cid": connector_id,
            "b_online": online,
            "b_seen": seen,
            "b_boot": boot,
            "b_maintenance": maintenance,
            "b_now": now,
        }
        for device_id, connector_id, online, seen, boot, maintenance in changes
    ]
    execute_many(session.connection(), _UPDATE_FACTS, rows)


# A check-in: (device id, target id, when seen, last boot).
NewCheckIn = tuple[int, int, datetime | None, datetime | None]


def record_checkins(session: Session, checkins: Sequence[NewCheckIn]) -> None:
    """Keep these check-ins (reported by the connector) as evidence for their targets."""
    rows = [
        {"device_id": device_id, "target_id": target_id, "at": at, "boot_time": boot,
         "source": "connector"}
        for device_id, target_id, at, boot in checkins
    ]  # fmt: skip
    execute_many(session.connection(), _INSERT_CHECKINS, rows)


def mark_all_unknown(session: Session) -> None:
    """Every device's status unknown (``online`` NULL: never offline): the fleet is out of
    reach."""
    session.execute(update(Device).where(Device.online.is_not(None)).values(online=None))


def extend_deadlines(session: Session, outage: timedelta, now: datetime) -> None:
    """Move the deadlines of the targets in flight on by the outage, and look at each of
    them again now."""
    targets = session.scalars(select(Target).where(Target.state.in_(IN_FLIGHT))).all()
    for target in targets:
        if target.reboot_deadline is not None:
            target.reboot_deadline += outage
        if target.checkin_deadline is not None:
            target.checkin_deadline += outage
        target.check_at = now  # look at each of them again, with the new deadlines
