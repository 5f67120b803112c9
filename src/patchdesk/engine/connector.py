"""The connector the settings choose, for an engine on a real clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from patchdesk.connectors.base import Connector
from patchdesk.connectors.simulator import SimDevice, Simulator
from patchdesk.settings import Settings
from patchdesk.store.db import Database
from patchdesk.store.models import Device


class ConnectorNotAvailable(Exception):
    """The configured connector cannot be used here; the message says why."""


def simulator_for_store(db: Database, seed: int, clock: Callable[[], datetime]) -> Simulator:
    """A simulated fleet standing in for the devices the store holds (by connector id).

    A device it cannot stand in for is left out (``Simulator.refused_devices``: the engine
    alerts on it); of devices sharing a connector id (only a database changed behind the
    schema's back has them) the one with the lowest id is registered."""
    with db.session() as session:
        rows = session.execute(
            select(
                Device.connector_id, Device.role, Device.os_family, Device.os_name, Device.hostname
            )
            .where(Device.connector_id.is_not(None))
            .order_by(Device.id)
        ).all()
    devices = [
        SimDevice(connector_id=cid, role=role, os_family=family, os_name=os_name, hostname=hostname)
        for cid, role, family, os_name, hostname in rows
        if cid is not None
    ]
    simulator = Simulator(seed=seed, clock=clock)
    simulator.register(devices)
    return simulator


def make_connector(settings: Settings, db: Database, clock: Callable[[], datetime]) -> Connector:
    kind = settings.connector.kind
    if kind == "simulator":
        return simulator_for_store(db, settings.connector.simulator.seed, clock)
    raise ConnectorNotAvailable(
        f'the {kind!r} connector is not built yet; set connector.kind = "simulator"'
    )
