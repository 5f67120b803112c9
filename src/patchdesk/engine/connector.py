"""The connector the settings choose, for an engine on a real clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from patchdesk.connectors.base import Connector
from patchdesk.connectors.simulator import SimDevice, Simulator
from patchdesk.settings import Settings
from patchdesk.store.db import Database
from patchdesk.store.link_views import linked_devices


class ConnectorNotAvailable(Exception):
    """The configured connector cannot be used here; the message says why."""


def simulator_for_store(db: Database, seed: int, clock: Callable[[], datetime]) -> Simulator:
    """A simulated fleet standing in for the devices the store holds (by connector id).

    A device it cannot stand in for is left out (``Simulator.refused_devices``: the engine
    alerts on it); of devices sharing a connector id (only a database changed behind the
    schema's back has them) the one with the lowest id is registered."""
    with db.session() as session:
        linked = linked_devices(session)
    devices = [
        SimDevice(
            connector_id=d.connector_id,
            role=d.role,
            os_family=d.os_family,
            os_name=d.os_name,
            hostname=d.hostname,
        )
        for d in linked
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
