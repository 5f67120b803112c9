"""Inconsistent fleet data never stops the engine: a device whose link to the fleet is
inconsistent (a connector id another device has, a device the connector refused) gets one
alert and is left alone; the rest of the fleet is patched (``engine.links``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from patchdesk.connectors.simulator import SimDevice, Simulator
from patchdesk.domain import TargetState
from patchdesk.engine import state
from patchdesk.engine.connector import simulator_for_store
from patchdesk.engine.reconcile import Reconciler
from patchdesk.store.db import Database, open_database
from patchdesk.store.inventory_ops import apply_inventory
from patchdesk.store.models import Device, EngineState, Event
from patchdesk.store.policy_ops import apply_policies
from tests.databases import open_migrated
from tests.e2e.test_engine_cli import run
from tests.e2e.test_engine_cli import url as url  # the fixture, for pytest
from tests.engine.test_lifecycle import (
    WINDOW_OPENS,
    World,
    _policies,
    add_devices,
    world,
    ws,
)
from tests.factories import inventory_row

__all__ = ["url", "world"]  # the fixtures, imported for pytest


def _bypass_the_schema(db: Database, hostname: str, connector_id: str) -> None:
    """Give ``hostname`` a connector id another device has, as a database changed behind
    patchdesk's back could (the unique index is dropped first)."""
    with db.writer() as session:
        session.execute(text("DROP INDEX IF EXISTS uq_devices_connector_id"))
        session.execute(
            update(Device).where(Device.hostname == hostname).values(connector_id=connector_id)
        )


def _device_id(db: Database, hostname: str) -> int:
    with db.session() as session:
        found = session.scalars(select(Device.id).where(Device.hostname == hostname)).one()
    return int(found)


def _events(db: Database, *kinds: str) -> list[tuple[str, str, dict[str, Any]]]:
    with db.session() as session:
        events = session.scalars(
            select(Event).where(Event.kind.in_(kinds)).order_by(Event.id)
        ).all()
        return [(e.kind, e.entity_id, dict(e.payload)) for e in events]


def _alerts(db: Database) -> dict[str, Any]:
    with db.session() as session:
        row = session.get(EngineState, state.DEVICE_ALERTS)
        return dict(row.value.get("devices", {})) if row is not None else {}


def _dispatched(db: Database) -> list[str]:
    return sorted(payload["device"] for _, _, payload in _events(db, "target.dispatched"))


def test_a_shared_connector_id_is_one_alert_and_the_rest_is_patched(world: World) -> None:
    add_devices(world, ws("FRONT01"), ws("FRONT02"), ws("FRONT03"))
    _bypass_the_schema(world.db, "FRONT03", "cid-FRONT01")
    copy = _device_id(world.db, "FRONT03")
    world.run(30)  # no step fails
    # The lowest id keeps the connector id: FRONT01 is patched, once; FRONT03 is left alone.
    assert _dispatched(world.db) == ["FRONT01", "FRONT02"]
    assert world.fleet.install_count["cid-FRONT01"] == 1
    assert world.target("FRONT01").state is not TargetState.PENDING
    alerts = _events(world.db, "device.alert", "device.alert_cleared")
    assert [(kind, entity_id) for kind, entity_id, _ in alerts] == [("device.alert", str(copy))]
    payload = alerts[0][2]
    assert (payload["hostname"], payload["connector_id"], payload["problem"]) == (
        "FRONT03",
        "cid-FRONT01",
        "shared",
    )
    assert "FRONT01" in payload["reason"]
    assert set(_alerts(world.db)) == {str(copy)}
    with world.db.session() as session:
        assert session.get(Device, copy).online is None  # type: ignore[union-attr]

    world.run(60)  # steps go on: still one alert
    assert len(_events(world.db, "device.alert", "device.alert_cleared")) == 1

    # Repaired (the device's own connector id): the alert clears, the device has its facts.
    with world.db.writer() as session:
        session.execute(update(Device).where(Device.id == copy).values(connector_id="cid-FRONT03"))
    world.run(2)
    alerts = _events(world.db, "device.alert", "device.alert_cleared")
    assert [(kind, entity_id) for kind, entity_id, _ in alerts] == [
        ("device.alert", str(copy)),
        ("device.alert_cleared", str(copy)),
    ]
    assert _alerts(world.db) == {}
    with world.db.session() as session:
        assert session.get(Device, copy).online is True  # type: ignore[union-attr]
    world.run(30)
    assert len(_events(world.db, "device.alert", "device.alert_cleared")) == 2


def test_a_device_whose_link_was_cleared_in_flight_does_not_stop_the_engine(
    world: World,
) -> None:
    """What migration 0007 does to a duplicate that had a target in flight."""
    add_devices(world, ws("FRONT01"), ws("FRONT02"))
    world.run(3)
    assert world.target("FRONT01").state is TargetState.INSTALLING
    with world.db.writer() as session:
        session.execute(
            update(Device)
            .where(Device.hostname == "FRONT01")
            .values(connector_id=None, online=None)
        )
    world.run(60)  # the install finishes; no reboot can be sent
    assert world.target("FRONT01").state is TargetState.REBOOT_PENDING
    assert world.fleet.reboot_count["cid-FRONT01"] == 0
    assert world.target("FRONT02").state is TargetState.VERIFIED


# --------------------------------------------------------------------- a refused device

HOSTS = ("FRONT01", "FRONT02", "FRONT03", "FRONT04")
REFUSED = "cid-FRONT02"


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator refuses one device (with a message an RMM could send)."""
    add_device = Simulator.add_device

    def refuse_one(self: Simulator, spec: SimDevice) -> None:
        if spec.connector_id == REFUSED:
            raise ValueError(f"no agent for {spec.connector_id}\x1b[2J")
        add_device(self, spec)

    monkeypatch.setattr(Simulator, "add_device", refuse_one)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Database]:
    db = open_migrated(tmp_path / "engine.db")
    with db.writer() as session:
        apply_policies(session, _policies(), now=WINDOW_OPENS, operator="tester")
        rows = [inventory_row(n, "acme", host) for n, host in enumerate(HOSTS, start=2)]
        apply_inventory(session, rows, now=WINDOW_OPENS)
        # An engine before this one saw it online.
        session.execute(update(Device).where(Device.hostname == "FRONT02").values(online=True))
    yield db
    db.dispose()


@pytest.mark.usefixtures("refusing")
def test_a_device_the_connector_refuses_is_one_alert_and_the_rest_is_patched(
    store: Database,
) -> None:
    now = [WINDOW_OPENS]
    simulator = simulator_for_store(store, 7, lambda: now[0])
    assert set(simulator.refused_devices) == {REFUSED}
    assert sorted(simulator.device_ids()) == ["cid-FRONT01", "cid-FRONT03", "cid-FRONT04"]
    engine = Reconciler(store, simulator, holder="test-engine")
    for _ in range(90):
        engine.step(now[0])
        now[0] += timedelta(minutes=1)
    assert _dispatched(store) == ["FRONT01", "FRONT03", "FRONT04"]
    refused = _device_id(store, "FRONT02")
    alerts = _events(store, "device.alert", "device.alert_cleared")
    assert [(kind, entity_id) for kind, entity_id, _ in alerts] == [("device.alert", str(refused))]
    payload = alerts[0][2]
    assert (payload["hostname"], payload["problem"]) == ("FRONT02", "refused")
    assert payload["reason"] == "the connector refused it: no agent for cid-FRONT02\x1b[2J"
    with store.session() as session:
        assert session.get(Device, refused).online is None  # type: ignore[union-attr]


@pytest.mark.usefixtures("refusing")
def test_a_new_engine_that_no_longer_refuses_the_device_clears_the_alert(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [WINDOW_OPENS]
    first = Reconciler(store, simulator_for_store(store, 7, lambda: now[0]), holder="one")
    first.step(now[0])
    assert len(_alerts(store)) == 1
    monkeypatch.undo()  # repaired: the next engine's simulator takes the device
    now[0] += timedelta(minutes=1)
    second = Reconciler(store, simulator_for_store(store, 7, lambda: now[0]), holder="one")
    second.step(now[0])
    assert _alerts(store) == {}
    kinds = [kind for kind, _, _ in _events(store, "device.alert", "device.alert_cleared")]
    assert kinds == ["device.alert", "device.alert_cleared"]


def test_engine_once_goes_on_past_devices_sharing_a_connector_id(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The case that made every `patchdesk engine` stop: the simulator refused the copy."""
    db = open_database(url)
    try:
        _bypass_the_schema(db, "HDG-BOS-FS01", "trmm-7f3a9c21e4")  # HDG-BOS-DC01's
        copy = _device_id(db, "HDG-BOS-FS01")
    finally:
        db.dispose()
    log = tmp_path / "engine.log"
    assert run(["--db", url, "engine", "--once", "--log-file", str(log)]) == 0
    assert capsys.readouterr().out.startswith("opened ")
    assert "HDG-BOS-FS01" in log.read_text()
    db = open_database(url)
    try:
        alerts = _events(db, "device.alert")
    finally:
        db.dispose()
    assert [(entity_id, p["hostname"], p["problem"]) for _, entity_id, p in alerts] == [
        (str(copy), "HDG-BOS-FS01", "shared")
    ]
