"""Devices as linked to the fleet: their connector ids, read for the engine.

``linked_devices`` is what a connector standing in for the store's fleet registers
(``engine.connector``); ``shared_connector_ids`` and ``holders_of`` are what the engine
reads to find devices whose link is inconsistent (``engine.links``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from patchdesk.domain import OsFamily, Role
from patchdesk.store import direct
from patchdesk.store.models import Device


class LinkedDevice(NamedTuple):
    connector_id: str
    role: Role
    os_family: OsFamily
    os_name: str
    hostname: str


def linked_devices(session: Session) -> list[LinkedDevice]:
    """Every device with a connector id, by device id."""
    rows = session.execute(
        select(Device.connector_id, Device.role, Device.os_family, Device.os_name, Device.hostname)
        .where(Device.connector_id.is_not(None))
        .order_by(Device.id)
    ).all()
    return [
        LinkedDevice(cid, role, family, os_name, hostname)
        for cid, role, family, os_name, hostname in rows
        if cid is not None
    ]


_SHARED_IDS = (
    select(Device.connector_id)
    .where(Device.connector_id.is_not(None))
    .group_by(Device.connector_id)
    .having(func.count() > 1)
)
_HOLDERS = (
    select(Device.id, Device.client_id, Device.hostname, Device.connector_id)
    .where(Device.connector_id.in_(bindparam("ids", expanding=True)))
    .order_by(Device.id)
)


def shared_connector_ids(session: Session) -> list[str]:
    """The connector ids more than one device holds."""
    return list(direct.scalars(session.connection(), _SHARED_IDS))


def holders_of(session: Session, connector_ids: Sequence[str]) -> list[tuple[int, str, str, str]]:
    """(device id, client id, hostname, connector id) of the devices holding any of
    ``connector_ids`` (at most a few thousand: one IN list), by device id."""
    return list(direct.rows(session.connection(), _HOLDERS, {"ids": list(connector_ids)}))
