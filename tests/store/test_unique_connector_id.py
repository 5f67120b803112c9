"""One device per connector id (migration 0007), on a database that already has duplicates."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from patchdesk.domain import Criticality, OsFamily, Role
from patchdesk.store.db import Database, make_engine, open_database
from patchdesk.store.migrate import alembic_config, current_revision, head_revision
from patchdesk.store.models import Client, Device, Event, RemediationRecord
from tests.conftest import NOW

_DEVICE = text(
    "INSERT INTO devices (client_id, hostname, role, criticality, os_family, os_name, "
    "os_version, tags, maintenance_mode, rmm_maintenance_mode, online, connector_id, "
    "created_at, updated_at) VALUES ('old', :hostname, 'server', 'critical', 'windows', '', "
    "'', '[]', :off, :off, :on, :cid, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)
# (hostname, connector id), inserted in this order (ids ascending).
_FLEET = [
    ("FIRST", "trmm-1"),
    ("COPY", "trmm-1"),
    ("OTHER", "trmm-2"),
    ("NEW-A", None),
    ("NEW-B", None),
    ("COPY-2", "trmm-1"),
    ("PAIR-2", "trmm-3"),
    ("PAIR-1", "trmm-3"),
]


def _migrate_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def _old_database_with_duplicates(url: str) -> None:
    _migrate_to(url, "0006")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO clients (id, name, timezone, sla_tier, created_at, updated_at) "
                "VALUES ('old', 'Old', 'UTC', 'gold', '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')"
            )
        )
        for hostname, cid in _FLEET:
            connection.execute(
                _DEVICE, {"hostname": hostname, "cid": cid, "off": False, "on": True}
            )
    engine.dispose()


def test_duplicates_are_settled_and_the_upgrade_goes_through(database_url: str) -> None:
    _old_database_with_duplicates(database_url)
    db = open_database(database_url)  # what every command does first
    try:
        assert current_revision(db.engine) == head_revision()
        with db.session() as session:
            devices = {
                d.hostname: (d.id, d.connector_id, d.online)
                for d in session.scalars(select(Device))
            }
            events = session.scalars(select(Event).order_by(Event.id)).all()
            records = session.scalars(select(RemediationRecord)).all()
    finally:
        db.dispose()
    # The lowest id keeps the connector id; the others lose it and are unknown.
    assert {h: (cid, online) for h, (_, cid, online) in devices.items()} == {
        "FIRST": ("trmm-1", True),
        "COPY": (None, None),
        "OTHER": ("trmm-2", True),
        "NEW-A": (None, True),
        "NEW-B": (None, True),
        "COPY-2": (None, None),
        "PAIR-2": ("trmm-3", True),
        "PAIR-1": (None, None),
    }
    assert [(e.kind, e.entity, e.entity_id, e.client_id) for e in events] == [
        ("device.link_cleared", "device", str(devices[h][0]), "old")
        for h in ("COPY", "COPY-2", "PAIR-1")
    ]
    assert [(e.payload["hostname"], e.payload["connector_id"], e.payload["kept_by"],
             e.payload["kept_by_hostname"]) for e in events] == [
        ("COPY", "trmm-1", devices["FIRST"][0], "FIRST"),
        ("COPY-2", "trmm-1", devices["FIRST"][0], "FIRST"),
        ("PAIR-1", "trmm-3", devices["PAIR-2"][0], "PAIR-2"),
    ]  # fmt: skip
    assert all(e.at.tzinfo is not None for e in events)
    assert records == []  # not a remediation: nobody acted on an exception


def test_a_database_without_duplicates_upgrades_untouched(database_url: str) -> None:
    _migrate_to(database_url, "0006")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO clients (id, name, timezone, sla_tier, created_at, updated_at) "
                "VALUES ('old', 'Old', 'UTC', 'gold', '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')"
            )
        )
        for hostname, cid in [("A", "trmm-1"), ("B", None), ("C", None)]:
            connection.execute(
                _DEVICE, {"hostname": hostname, "cid": cid, "off": False, "on": True}
            )
    engine.dispose()
    db = open_database(database_url)
    try:
        with db.session() as session:
            rows = session.execute(
                select(Device.hostname, Device.connector_id, Device.online).order_by(Device.id)
            ).all()
            assert session.scalars(select(Event)).all() == []
    finally:
        db.dispose()
    assert [tuple(r) for r in rows] == [("A", "trmm-1", True), ("B", None, True), ("C", None, True)]


def _device(hostname: str, connector_id: str | None) -> Device:
    return Device(
        client_id="acme",
        hostname=hostname,
        role=Role.SERVER,
        criticality=Criticality.CRITICAL,
        os_family=OsFamily.WINDOWS,
        tags=[],
        connector_id=connector_id,
        created_at=NOW,
        updated_at=NOW,
    )


def test_the_schema_refuses_a_second_device_with_a_connector_id(database: Database) -> None:
    with database.writer() as session:
        session.add(
            Client(
                id="acme", name="Acme", timezone="UTC", sla_tier="gold", created_at=NOW,
                updated_at=NOW,
            )
        )  # fmt: skip
        # Devices not linked yet: any number.
        session.add_all([_device("A", "trmm-1"), _device("B", None), _device("C", None)])
    with pytest.raises(IntegrityError), database.writer() as session:
        session.add(_device("D", "trmm-1"))
    with database.session() as session:
        assert session.scalars(select(Device.hostname).order_by(Device.id)).all() == [
            "A",
            "B",
            "C",
        ]


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    _old_database_with_duplicates(database_url)
    _migrate_to(database_url, "0007")
    engine = make_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    assert current_revision(engine) == "0006"
    engine.dispose()
    _migrate_to(database_url, "head")
    db = open_database(database_url)
    try:
        with db.session() as session:
            linked = session.scalars(
                select(Device.connector_id).where(Device.connector_id.is_not(None))
            ).all()
    finally:
        db.dispose()
    assert sorted(linked) == ["trmm-1", "trmm-2", "trmm-3"]
