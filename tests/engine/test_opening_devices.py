"""The devices a window opening reaches: one read of the client's devices gives what
``reachable(..., waiting_is_busy=True)`` gives (both backends)."""

from __future__ import annotations

from datetime import time, timedelta
from itertools import product

from patchdesk.domain import (
    Criticality,
    DeploymentState,
    OsFamily,
    RebootPolicy,
    RecurrenceKind,
    Role,
    TargetState,
)
from patchdesk.engine.deployments import _opening_devices, reachable
from patchdesk.store.db import Database
from patchdesk.store.models import Client, Deployment, Device, MaintenanceWindow, Site, Target
from tests.conftest import NOW

CLIENT = "acme"
OTHER = "other"


def _window(client_id: str, name: str, **applies: list[str]) -> MaintenanceWindow:
    return MaintenanceWindow(
        client_id=client_id,
        name=name,
        recurrence=RecurrenceKind.WEEKLY,
        weekdays=["fri"],
        start_time=time(2),
        duration_minutes=240,
        reboot_policy=RebootPolicy.ALWAYS,
        checkin_timeout_minutes=30,
        max_concurrent=10,
        updated_at=NOW,
        **applies,
    )


def test_opening_devices_are_reachable_ones(database: Database) -> None:
    with database.writer() as session:
        for client_id in (CLIENT, OTHER):
            session.add(
                Client(
                    id=client_id,
                    name=client_id,
                    timezone="UTC",
                    sla_tier="gold",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        session.flush()
        sites = [Site(client_id=CLIENT, name="Berlin"), Site(client_id=CLIENT, name="Bonn")]
        session.add_all(sites)
        session.flush()
        devices: list[Device] = []
        # Every mix of role, tags, site, maintenance mode and connector id.
        for n, (role, tags, site, maintenance, connector) in enumerate(
            product(
                (Role.SERVER, Role.SINGLE_USER),
                ([], ["cad"], ["CAD", "pilot"]),
                (None, *sites),
                (False, True),
                (True, False),
            )
        ):
            devices.append(
                Device(
                    client_id=CLIENT,
                    site_id=None if site is None else site.id,
                    hostname=f"dev-{n:03d}",
                    role=role,
                    criticality=Criticality.STANDARD,
                    os_family=OsFamily.WINDOWS,
                    tags=tags,
                    maintenance_mode=maintenance,
                    connector_id=f"cid-{n}" if connector else None,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        other = Device(
            client_id=OTHER,
            hostname="other-01",
            role=Role.SERVER,
            criticality=Criticality.CRITICAL,
            os_family=OsFamily.WINDOWS,
            tags=[],
            connector_id="cid-other",
            created_at=NOW,
            updated_at=NOW,
        )
        session.add_all([*devices, other])
        windows = [
            _window(CLIENT, "all"),
            _window(CLIENT, "servers", applies_roles=["server"]),
            _window(CLIENT, "cad", applies_tags=["cad"]),
            _window(CLIENT, "bonn", applies_sites=["bonn"]),
            _window(
                CLIENT,
                "cad-servers-berlin",
                applies_roles=["server"],
                applies_tags=["Cad"],
                applies_sites=["Berlin"],
            ),
        ]
        session.add_all(windows)
        session.flush()
        deployment = Deployment(
            client_id=CLIENT,
            window_id=windows[0].id,
            occurrence_start=NOW - timedelta(hours=1),
            occurrence_end=NOW + timedelta(hours=3),
            state=DeploymentState.OPEN,
            opened_at=NOW - timedelta(hours=1),
        )
        session.add(deployment)
        session.flush()
        # Pending, in flight and settled targets; one on the other client's device.
        states = (TargetState.PENDING, TargetState.INSTALLING, TargetState.VERIFIED)
        for device, state in zip(devices[::3], states * len(devices), strict=False):
            session.add(
                Target(
                    deployment_id=deployment.id, device_id=device.id, state=state, updated_at=NOW
                )
            )
        session.add(
            Target(
                deployment_id=deployment.id,
                device_id=other.id,
                state=TargetState.PENDING,
                updated_at=NOW,
            )
        )
        session.flush()
        window_ids = [window.id for window in windows]
    with database.session() as session:
        for window_id in window_ids:
            row = session.get_one(MaintenanceWindow, window_id)
            expected = reachable(session, CLIENT, row, waiting_is_busy=True)
            client_devices, found = _opening_devices(session, CLIENT, row)
            assert found == expected
            assert list(found) == list(expected)  # by device id, as reachable
            assert [device[0] for device in client_devices] == sorted(d.id for d in devices)
        assert expected  # (the narrowest window still reaches a device)
