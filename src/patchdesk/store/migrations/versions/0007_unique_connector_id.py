"""devices: one device per connector id

A unique index on ``devices.connector_id`` replaces the plain ``ix_devices_connector_id``.
NULL (a device not linked to the RMM yet) stays allowed on any number of devices. Two
devices with one connector id made every engine stop (the simulator refused the second), and
the RMM's facts and actions for that id could have been either device's.

With one connector per installation (settings ``connector.kind``) the id is unique on its
own. When a second connector lands and devices name theirs in a column, the index becomes
(connector, connector_id).

A database may already hold such devices, and migrations run at the start of every command:
rather than an IntegrityError that stops them all, the duplicates are settled first. Per
connector id the device with the lowest id (the first imported) keeps it; on each other
device the connector id is cleared, ``online`` with it (the device is unknown, not offline,
until it is linked again: ``inventory import`` with its own ``external_id``), and one
``device.link_cleared`` event names the device, the connector id and the device that kept
it. Nothing goes in the remediation log, which records what a technician or the engine did.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 09:00:00.000000

"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from patchdesk.store.types import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_devices = sa.table(
    "devices",
    sa.column("id", sa.Integer()),
    sa.column("client_id", sa.String()),
    sa.column("hostname", sa.String()),
    sa.column("connector_id", sa.String()),
    sa.column("online", sa.Boolean()),
    sa.column("updated_at", UTCDateTime()),
)
_events = sa.table(
    "events",
    sa.column("at", UTCDateTime()),
    sa.column("kind", sa.String()),
    sa.column("entity", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("client_id", sa.String()),
    sa.column("payload", sa.JSON()),
)


def _clear_duplicates() -> None:
    """Keep each connector id on the device with the lowest id; clear it on the others."""
    bind = op.get_bind()
    shared = (
        sa.select(_devices.c.connector_id)
        .where(_devices.c.connector_id.is_not(None))
        .group_by(_devices.c.connector_id)
        .having(sa.func.count() > 1)
    )
    rows = bind.execute(
        sa.select(_devices.c.id, _devices.c.client_id, _devices.c.hostname, _devices.c.connector_id)
        .where(_devices.c.connector_id.in_(shared))
        .order_by(_devices.c.connector_id, _devices.c.id)
    ).all()
    if not rows:
        return
    holders: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for device_id, client_id, hostname, connector_id in rows:
        holders[connector_id].append((device_id, client_id, hostname))
    now = datetime.now(UTC)
    cleared: list[int] = []
    events: list[dict[str, object]] = []
    for connector_id, devices in holders.items():
        (kept_id, _, kept_hostname), *others = devices
        for device_id, client_id, hostname in others:
            cleared.append(device_id)
            events.append(
                {
                    "at": now,
                    "kind": "device.link_cleared",
                    "entity": "device",
                    "entity_id": str(device_id),
                    "client_id": client_id,
                    "payload": {
                        "hostname": hostname,
                        "connector_id": connector_id,
                        "kept_by": kept_id,
                        "kept_by_hostname": kept_hostname,
                        "reason": "another device has this connector id (migration 0007)",
                    },
                }
            )
    bind.execute(
        sa.update(_devices)
        .where(_devices.c.id.in_(cleared))
        .values(connector_id=None, online=None, updated_at=now)
    )
    bind.execute(sa.insert(_events), events)


def upgrade() -> None:
    """Upgrade schema."""
    _clear_duplicates()
    op.drop_index("ix_devices_connector_id", table_name="devices")
    op.create_index("uq_devices_connector_id", "devices", ["connector_id"], unique=True)


def downgrade() -> None:
    """Downgrade schema (connector ids cleared by the upgrade stay cleared)."""
    op.drop_index("uq_devices_connector_id", table_name="devices")
    op.create_index("ix_devices_connector_id", "devices", ["connector_id"], unique=False)
