"""The reconcile step on a scripted fleet: every path of the target lifecycle."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patchdesk.domain import (
    CLASS_RANK,
    Criticality,
    ExceptionState,
    FailureClass,
    RequestKind,
    RequestState,
    Role,
    TargetState,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.reconcile import Reconciler
from patchdesk.policy.load import PolicySet, load_sources
from patchdesk.store.db import Database
from patchdesk.store.inventory_ops import apply_inventory
from patchdesk.store.models import (
    Device,
    DevicePatch,
    Event,
    OperatorRequest,
    PatchException,
    RemediationRecord,
    Target,
)
from patchdesk.store.policy_ops import apply_policies
from patchdesk.store.remediation_log import verify_chain
from tests.connectors.fakefleet import PATCH, FakeFleet
from tests.databases import open_migrated
from tests.factories import inventory_row

WINDOW_OPENS = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # a Friday; the window is daily 02:00-06:00

POLICY = """
[client]
id = "acme"
name = "Acme Dental"
timezone = "UTC"
sla_tier = "gold"

[[client.windows]]
name = "nightly"
recurrence = { type = "weekly", days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] }
start = "02:00"
duration = "4h"
reboot = "always"
max_deferrals = 2
deferral_minutes = 30
checkin_timeout = "30m"
max_concurrent = 10

[[client.approval_rules]]
name = "everything"
match = { any = true }
action = "auto"
"""


@dataclass
class World:
    db: Database
    fleet: FakeFleet
    engine: Reconciler
    now: datetime

    def clock(self) -> datetime:
        return self.now

    def run(self, minutes: int, every: int = 1) -> StepCounts:
        total = StepCounts()
        for _ in range(0, minutes, every):
            total.merge(self.engine.step(self.now))
            self.now += timedelta(minutes=every)
        return total

    def target(self, hostname: str) -> Target:
        with self.db.session() as session:
            return session.scalars(
                select(Target)
                .join(Device, Device.id == Target.device_id)
                .where(Device.hostname == hostname)
                .order_by(Target.id.desc())
            ).first()  # type: ignore[return-value]

    def exceptions(self) -> list[tuple[str, FailureClass, ExceptionState]]:
        with self.db.session() as session:
            rows = session.execute(
                select(Device.hostname, PatchException.failure_class, PatchException.state)
                .join(Device, Device.id == PatchException.device_id)
                .order_by(PatchException.id)
            ).all()
        return [(h, c, s) for h, c, s in rows]


def _policies() -> PolicySet:
    loaded = load_sources([("acme.toml", POLICY)])
    assert isinstance(loaded, PolicySet), loaded
    return loaded


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = open_migrated(tmp_path / "engine.db")
    holder: list[World] = []
    fleet = FakeFleet(lambda: holder[0].now)
    w = World(db, fleet, Reconciler(db, fleet, holder="test-engine"), WINDOW_OPENS)
    holder.append(w)
    with db.writer() as session:
        apply_policies(session, _policies(), now=w.now, operator="tester")
    yield w
    db.dispose()


def add_devices(w: World, *specs: tuple[str, Role], **behaviour: object) -> None:
    rows = [
        inventory_row(
            n,
            "acme",
            hostname,
            role=role,
            criticality=Criticality.CRITICAL if role is Role.SERVER else Criticality.STANDARD,
        )
        for n, (hostname, role) in enumerate(specs, start=2)
    ]
    with w.db.writer() as session:
        apply_inventory(session, rows, now=w.now)
    for hostname, _ in specs:
        w.fleet.add(f"cid-{hostname}", **behaviour)


def ws(name: str) -> tuple[str, Role]:
    return (name, Role.SHARED_WORKSTATION)


def test_happy_path_is_verified_by_data(world: World) -> None:
    add_devices(world, ws("FRONT01"))
    report = world.run(60)
    target = world.target("FRONT01")
    assert target.state is TargetState.VERIFIED
    assert target.reboot_requested_at is not None
    assert target.verified_at is not None
    assert target.installed_at is not None
    assert target.installed_at <= target.reboot_requested_at < target.verified_at
    assert world.exceptions() == []
    assert world.fleet.install_count["cid-FRONT01"] == 1
    assert report.verified == 1
    with world.db.session() as session:
        patch_state = session.scalars(select(DevicePatch.state)).one()
        assert patch_state.value == "installed"
        states = [
            e.payload["to"]
            for e in session.scalars(select(Event).where(Event.kind == "target.state"))
        ]
    assert states[:1] == ["installing"]
    assert states[-1] == "verified"
    assert "rebooting" in states
    assert "awaiting_checkin" in states


def test_install_failure_retries_once_then_raises_an_install_exception(world: World) -> None:
    add_devices(world, ws("FRONT01"), install="fail")
    report = world.run(90)
    target = world.target("FRONT01")
    assert target.state is TargetState.INSTALL_FAILED
    assert target.attempts == 2
    assert target.error_code == "0x80070643"
    assert report.retries == 1
    assert world.fleet.install_count["cid-FRONT01"] == 2
    assert world.exceptions() == [("FRONT01", FailureClass.INSTALL, ExceptionState.OPEN)]


def test_retry_disabled(world: World) -> None:
    world.engine.config = EngineConfig(install_retries=0)
    add_devices(world, ws("FRONT01"), install="fail")
    world.run(30)
    assert world.target("FRONT01").attempts == 1
    assert world.exceptions() == [("FRONT01", FailureClass.INSTALL, ExceptionState.OPEN)]


def test_no_retry_when_the_window_is_nearly_over(world: World) -> None:
    add_devices(world, ws("FRONT01"), install="fail", install_minutes=220)
    world.run(240)
    assert world.target("FRONT01").attempts == 1
    assert world.exceptions() == [("FRONT01", FailureClass.INSTALL, ExceptionState.OPEN)]


def test_hung_reboot_is_a_reboot_failure(world: World) -> None:
    add_devices(world, ws("FRONT01"), reboot="hang")
    world.run(90)
    target = world.target("FRONT01")
    assert target.state is TargetState.REBOOT_FAILED
    assert world.exceptions() == [("FRONT01", FailureClass.REBOOT, ExceptionState.OPEN)]


def test_device_that_rebooted_but_never_checked_in_is_offline(world: World) -> None:
    add_devices(world, ws("FRONT01"), reboot="lost")
    world.run(90)
    assert world.target("FRONT01").state is TargetState.NO_CHECKIN
    assert world.exceptions() == [("FRONT01", FailureClass.OFFLINE, ExceptionState.OPEN)]


def _engine_log(world: World) -> list[tuple[str, str, str]]:
    with world.db.session() as session:
        rows = session.execute(
            select(RemediationRecord.actor, RemediationRecord.action, RemediationRecord.note)
            .where(RemediationRecord.exception_id.is_not(None))
            .order_by(RemediationRecord.seq)
        ).all()
    return [(a, b, c) for a, b, c in rows]


def test_offline_device_back_with_its_patch_installed_is_resolved_by_the_engine(
    world: World,
) -> None:
    add_devices(world, ws("FRONT01"), reboot="lost")
    world.run(90)
    assert world.exceptions() == [("FRONT01", FailureClass.OFFLINE, ExceptionState.OPEN)]
    world.fleet.devices_by_id["cid-FRONT01"].reboot = "ok"  # it comes back
    report = world.run(5)
    assert world.exceptions() == [("FRONT01", FailureClass.OFFLINE, ExceptionState.RESOLVED)]
    assert report.exceptions_resolved == 1
    actor, action, note = _engine_log(world)[-1]
    assert (actor, action) == ("engine", "exception.resolve")
    assert "checked in again" in note
    assert "verified installed" in note
    with world.db.session() as session:
        exception = session.scalars(select(PatchException)).one()
        assert exception.resolved_at is not None
        assert verify_chain(session).ok
    world.run(5)  # settled once: nothing more written
    assert len(_engine_log(world)) == 2


def test_offline_device_back_still_missing_its_patch_becomes_an_install_exception(
    world: World,
) -> None:
    add_devices(world, ws("FRONT01"), reboot="lost")
    world.run(90)
    with world.db.writer() as session:
        offline = session.scalars(select(PatchException)).one()
        offline.state, offline.owner = ExceptionState.ACKNOWLEDGED, "alice"
    device = world.fleet.devices_by_id["cid-FRONT01"]
    device.reboot, device.missing = "ok", [PATCH]  # back, but the patch did not take
    report = world.run(5)
    assert world.exceptions() == [("FRONT01", FailureClass.INSTALL, ExceptionState.ACKNOWLEDGED)]
    assert report.exceptions_reclassified == 1
    with world.db.session() as session:
        exception = session.scalars(select(PatchException)).one()
        assert exception.id == offline.id
        assert exception.owner == "alice"
        assert exception.class_rank == CLASS_RANK[FailureClass.INSTALL]
        assert exception.patch_ids
    actor, action, note = _engine_log(world)[-1]
    assert (actor, action) == ("engine", "exception.reclassify")
    assert "KB5072033" in note


def test_device_offline_for_the_whole_window_back_online_is_resolved_and_carried(
    world: World,
) -> None:
    add_devices(world, ws("LAPTOP01"))
    world.fleet.devices_by_id["cid-LAPTOP01"].online_from = WINDOW_OPENS + timedelta(hours=10)
    world.run(5 * 60)
    assert world.exceptions() == [("LAPTOP01", FailureClass.OFFLINE, ExceptionState.OPEN)]
    world.now = WINDOW_OPENS + timedelta(hours=10)
    world.run(5)
    assert world.exceptions() == [("LAPTOP01", FailureClass.OFFLINE, ExceptionState.RESOLVED)]
    actor, action, note = _engine_log(world)[-1]
    assert (actor, action) == ("engine", "exception.resolve")
    assert "KB5072033" in note
    assert "next window" in note


def test_offline_exception_stays_open_while_the_device_is_still_offline(world: World) -> None:
    add_devices(world, ws("FRONT01"), reboot="lost")
    world.run(24 * 60, every=30)
    assert world.exceptions() == [("FRONT01", FailureClass.OFFLINE, ExceptionState.OPEN)]


def test_device_that_kept_checking_in_without_rebooting_is_a_reboot_failure(world: World) -> None:
    add_devices(world, ws("FRONT01"), reboot="skip")
    world.run(90)
    assert world.target("FRONT01").state is TargetState.REBOOT_FAILED
    assert world.exceptions() == [("FRONT01", FailureClass.REBOOT, ExceptionState.OPEN)]


def test_user_deferrals_are_counted_and_the_reboot_forced_at_the_limit(world: World) -> None:
    add_devices(world, ws("FRONT01"), defers=5)
    world.run(150)
    target = world.target("FRONT01")
    assert target.deferrals_used == 2
    assert target.state is TargetState.VERIFIED
    assert world.fleet.reboot_count["cid-FRONT01"] == 1
    assert world.exceptions() == []
    with world.db.session() as session:
        forced = session.scalars(
            select(Event).where(Event.kind == "target.state").order_by(Event.id)
        ).all()
    rebooting = [e.payload for e in forced if e.payload["to"] == "rebooting"]
    assert rebooting[0]["forced"] is True


def test_device_offline_for_the_whole_window_is_missed_then_carried_over(world: World) -> None:
    add_devices(world, ws("LAPTOP01"))
    world.fleet.devices_by_id["cid-LAPTOP01"].online_from = WINDOW_OPENS + timedelta(hours=10)
    world.run(5 * 60)
    first = world.target("LAPTOP01")
    assert first.state is TargetState.MISSED
    assert world.exceptions() == [("LAPTOP01", FailureClass.OFFLINE, ExceptionState.OPEN)]
    assert world.fleet.install_count["cid-LAPTOP01"] == 0
    # the next night's window takes it again, and this time it is online
    world.now = WINDOW_OPENS + timedelta(days=1)
    world.run(60)
    second = world.target("LAPTOP01")
    assert second.id != first.id
    assert second.state is TargetState.VERIFIED


def test_post_patch_health_failure_is_a_regression(world: World) -> None:
    add_devices(world, ws("FRONT01"), health_fails_after_reboot=("service:Spooler",))
    world.run(60)
    assert world.target("FRONT01").state is TargetState.REGRESSION
    assert world.exceptions() == [("FRONT01", FailureClass.REGRESSION, ExceptionState.OPEN)]
    with world.db.session() as session:
        exception = session.scalars(select(PatchException)).one()
        assert exception.patch_ids  # attributed to the deployment's patches


def test_connector_outage_raises_no_offline_flood_and_resumes(world: World) -> None:
    add_devices(world, *(ws(f"WS{n:02d}") for n in range(5)))
    world.run(12)  # installs done, reboots requested
    world.fleet.down = True
    report = world.run(90)
    assert not report.connector_reachable
    assert world.exceptions() == []
    with world.db.session() as session:
        alerts = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "connector.alert")
        )
        unknown = session.scalar(
            select(func.count()).select_from(Device).where(Device.online.is_(None))
        )
    assert alerts == 1
    assert unknown == 5
    world.fleet.down = False
    world.run(60)
    assert world.exceptions() == []
    assert {world.target(f"WS{n:02d}").state for n in range(5)} == {TargetState.VERIFIED}


def test_servers_of_one_client_are_patched_one_at_a_time(world: World) -> None:
    add_devices(world, *((f"SRV{n}", Role.SERVER) for n in range(3)))
    world.run(2)
    with world.db.session() as session:
        in_flight = session.scalar(
            select(func.count()).select_from(Target).where(Target.state != TargetState.PENDING)
        )
    assert in_flight == 1
    world.run(120)
    assert {world.target(f"SRV{n}").state for n in range(3)} == {TargetState.VERIFIED}


def test_same_device_and_class_is_one_exception(world: World) -> None:
    add_devices(world, ws("FRONT01"), install="fail")
    world.engine.config = EngineConfig(install_retries=0)
    world.run(30)
    world.now = WINDOW_OPENS + timedelta(days=1)
    world.run(30)
    assert world.exceptions() == [("FRONT01", FailureClass.INSTALL, ExceptionState.OPEN)]
    with world.db.session() as session:
        exception = session.scalars(select(PatchException)).one()
        assert exception.last_action == "failed again"


def test_operator_resolve_and_force_reboot_commands(world: World) -> None:
    add_devices(world, ws("FRONT01"), reboot="lost")
    world.run(90)
    with world.db.session() as session:
        exception = session.scalars(select(PatchException)).one()
        session.add(
            OperatorRequest(
                kind=RequestKind.RESOLVE,
                state=RequestState.QUEUED,
                exception_id=exception.id,
                args={"note": "power-cycled by site"},
                requested_by="alice",
                requested_at=world.now,
            )
        )
    world.run(1)
    assert world.exceptions() == [("FRONT01", FailureClass.OFFLINE, ExceptionState.RESOLVED)]
    with world.db.session() as session:
        command = session.scalars(select(OperatorRequest)).one()
        assert command.state is RequestState.DONE
        assert command.result == "resolved: power-cycled by site"
        assert verify_chain(session).ok


def test_attached_engine_dispatches_nothing(world: World) -> None:
    add_devices(world, ws("FRONT01"))
    world.engine.step(world.now)
    other = Reconciler(world.db, world.fleet, holder="second-engine")
    report = other.step(world.now + timedelta(seconds=5))
    assert not report.dispatching
    assert other.last_lease is not None
    assert other.last_lease.holder == "test-engine"
    assert world.fleet.install_count["cid-FRONT01"] == 1


def test_steps_are_idempotent_when_repeated_at_the_same_instant(world: World) -> None:
    add_devices(world, ws("A1"), ws("A2"))
    for _ in range(40):
        world.engine.step(world.now)
        world.engine.step(world.now)
        world.now += timedelta(minutes=1)
    assert world.fleet.install_count == {"cid-A1": 1, "cid-A2": 1}
    assert {world.target("A1").state, world.target("A2").state} == {TargetState.VERIFIED}
