"""Remediation actions that promise an effect have it: ``exclude_patch`` stops the engine
targeting the patch on the device until the exclusion is lifted; ``schedule_reboot``
reboots the device at the chosen time (not before), inside its windows, and the reboot is
verified as any other. On the scripted fleet of ``test_lifecycle`` and on the simulator."""

from __future__ import annotations

import dataclasses
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from patchdesk.connectors.base import MissingPatch
from patchdesk.connectors.sim.config import Script, SimulatorConfig, SimulatorRates
from patchdesk.domain import (
    Classification,
    ExceptionState,
    FailureClass,
    RebootPolicy,
    RecurrenceKind,
    RequestKind,
    RequestState,
    Severity,
    TargetState,
)
from patchdesk.engine.clock import VirtualClock
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.reconcile import Reconciler
from patchdesk.rules.reboot_times import next_slots
from patchdesk.simulation.builder import build_msp, load_msp
from patchdesk.store import exception_ops as ops
from patchdesk.store import exclusions
from patchdesk.store.db import Database
from patchdesk.store.models import (
    Device,
    MaintenanceWindow,
    OperatorRequest,
    Patch,
    PatchException,
    Target,
)
from patchdesk.store.reboot_windows import device_reboot_windows
from patchdesk.store.remediation_log import verify_chain
from tests.conftest import NOW
from tests.connectors.fakefleet import PATCH
from tests.engine import test_lifecycle
from tests.engine.test_crash_safety import Injector
from tests.engine.test_lifecycle import WINDOW_OPENS, World, add_devices, ws

world = test_lifecycle.world  # the scripted fleet's fixture

OTHER = MissingPatch(
    vendor_id="KB5071999",
    title="2026-11 .NET Framework update (KB5071999)",
    vendor="Microsoft",
    product="Windows 11",
    classification=Classification.SECURITY,
    severity=Severity.IMPORTANT,
    release_date=date(2026, 11, 10),
    reboot_required=False,
)


def open_exception(w: World, failure_class: FailureClass) -> PatchException:
    with w.db.session() as session:
        return session.scalars(
            select(PatchException).where(
                PatchException.failure_class == failure_class,
                PatchException.state != ExceptionState.RESOLVED,
            )
        ).one()


def patch_id(db: Database, vendor_id: str) -> int:
    with db.session() as session:
        found = session.scalars(select(Patch.id).where(Patch.vendor_id == vendor_id)).one()
    return int(found)


def commands(db: Database) -> list[OperatorRequest]:
    with db.session() as session:
        return list(session.scalars(select(OperatorRequest).order_by(OperatorRequest.id)))


def next_night(w: World, days: int = 1) -> None:
    """The next occurrence of the daily 02:00-06:00 window opens."""
    w.now = WINDOW_OPENS + timedelta(days=days)


# --- exclusions ---------------------------------------------------------------------------


def test_an_excluded_patch_is_not_dispatched_until_the_exclusion_is_lifted(world: World) -> None:
    world.engine.config = EngineConfig(install_retries=0)
    add_devices(world, ws("FRONT01"), install="fail")
    world.run(30)
    failed = open_exception(world, FailureClass.INSTALL)
    assert world.fleet.install_count["cid-FRONT01"] == 1
    result = ops.log_remediation(
        world.db,
        failed.id,
        "alice",
        "exclude_patch",
        now=world.now,
        note="breaks the dental imaging driver; vendor fix due in January",
    )
    assert result.command_id is not None
    world.run(1)  # the engine carries the command out at its next step
    (command,) = commands(world.db)
    assert (command.kind, command.state) == (RequestKind.EXCLUDE_PATCH, RequestState.DONE)
    assert "KB5072033 excluded on FRONT01" in command.result
    with world.db.session() as session:
        (active,) = exclusions.list_exclusions(session)
    assert (active.hostname, active.vendor_id, active.excluded_by) == (
        "FRONT01",
        "KB5072033",
        "alice",
    )

    # The next nights: the device still reports the patch missing, and installs would work
    # now; the engine targets nothing on it.
    world.fleet.devices_by_id["cid-FRONT01"].install = "ok"
    for night in (1, 2):
        next_night(world, night)
        world.run(60)
    assert world.fleet.install_count["cid-FRONT01"] == 1
    assert world.target("FRONT01").id == failed.target_id  # no new target was made

    exclusions.lift(world.db, active.id, "bob", now=world.now, note="vendor fix is out")
    next_night(world, 3)
    world.run(60)
    assert world.fleet.install_count["cid-FRONT01"] == 2
    assert world.target("FRONT01").state is TargetState.VERIFIED
    with world.db.session() as session:
        assert verify_chain(session).ok


def test_only_the_excluded_patch_is_left_out_of_the_device_s_next_target(world: World) -> None:
    world.engine.config = EngineConfig(install_retries=0)
    add_devices(world, ws("FRONT01"), ws("FRONT02"), install="fail", missing=[PATCH, OTHER])
    world.run(30)
    with world.db.session() as session:
        failed = session.scalars(
            select(PatchException)
            .join(Device, Device.id == PatchException.device_id)
            .where(Device.hostname == "FRONT01")
        ).one()
    ops.log_remediation(
        world.db,
        failed.id,
        "alice",
        "exclude_patch",
        now=world.now,
        note="KB5072033 breaks its printer driver",
        patch_id=patch_id(world.db, "KB5072033"),
    )
    world.run(1)
    for device in world.fleet.devices_by_id.values():
        device.install = "ok"
    jobs_before = len(world.fleet.jobs)
    next_night(world)
    world.run(60)
    sent = {job.device: job.vendor_ids for job in list(world.fleet.jobs.values())[jobs_before:]}
    assert sent == {
        "cid-FRONT01": ("KB5071999",),  # the other patch still goes
        "cid-FRONT02": ("KB5071999", "KB5072033"),  # another device is not excluded
    }


def test_a_pending_target_loses_a_patch_excluded_after_the_window_opened(world: World) -> None:
    """The exclusion arrives while the device's target waits (the device is offline): the
    engine takes the patch out before dispatch and skips the target it leaves empty."""
    world.engine.config = EngineConfig(install_retries=0)
    add_devices(world, ws("FRONT01"), install="fail")
    world.run(30)
    failed = open_exception(world, FailureClass.INSTALL)
    device = world.fleet.devices_by_id["cid-FRONT01"]
    device.install = "ok"
    next_night(world)
    device.online_from = world.now + timedelta(minutes=30)  # offline when the window opens
    world.run(5)
    waiting = world.target("FRONT01")
    assert waiting.state is TargetState.PENDING
    ops.log_remediation(
        world.db, failed.id, "alice", "exclude_patch", now=world.now, note="known bad here"
    )
    world.run(60)
    assert world.fleet.install_count["cid-FRONT01"] == 1  # the failed first night only
    skipped = world.target("FRONT01")
    assert skipped.id == waiting.id
    assert skipped.state is TargetState.SKIPPED
    assert skipped.error_message == (
        "every patch was blocked, deferred or excluded since the window opened"
    )


def test_a_retry_leaves_an_excluded_patch_out(world: World) -> None:
    world.engine.config = EngineConfig(install_retries=0)
    add_devices(world, ws("FRONT01"), install="fail", missing=[PATCH, OTHER])
    world.run(30)
    failed = open_exception(world, FailureClass.INSTALL)
    ops.log_remediation(
        world.db,
        failed.id,
        "alice",
        "exclude_patch",
        now=world.now,
        note="bad on this box",
        patch_id=patch_id(world.db, "KB5072033"),
    )
    world.run(1)
    ops.log_remediation(world.db, failed.id, "alice", "retry_install", now=world.now)
    world.run(1)
    retried = list(world.fleet.jobs.values())[-1]
    assert retried.vendor_ids == ("KB5071999",)


# --- scheduled reboots ----------------------------------------------------------------------


def reboot_exception(w: World) -> PatchException:
    """FRONT01 installs, then ignores the engine's reboot: a reboot exception."""
    add_devices(w, ws("FRONT01"), reboot="skip")
    w.run(90)
    failed = open_exception(w, FailureClass.REBOOT)
    # From now on the device reboots when asked (and has not rebooted yet).
    device = w.fleet.devices_by_id["cid-FRONT01"]
    device.reboot, device.reboot_at = "ok", None
    return failed


def test_a_scheduled_reboot_happens_at_its_time_and_not_before(world: World) -> None:
    failed = reboot_exception(world)
    before = world.fleet.reboot_count["cid-FRONT01"]
    at = WINDOW_OPENS + timedelta(days=1, hours=1)  # tomorrow 03:00, inside the window
    result = ops.log_remediation(
        world.db, failed.id, "alice", "schedule_reboot", now=world.now, reboot_at=at
    )
    assert "the engine reboots it then" in result.message
    world.run(2)  # steps right after: nothing is sent
    assert world.fleet.reboot_count["cid-FRONT01"] == before
    world.now = at - timedelta(minutes=2)
    assert world.engine.next_due(world.now) == at  # the scheduler wakes the engine then
    world.run(2)  # 02:58 and 02:59
    assert world.fleet.reboot_count["cid-FRONT01"] == before
    (command,) = commands(world.db)
    assert command.state is RequestState.QUEUED
    assert world.now == at
    world.run(1)
    assert world.fleet.reboot_count["cid-FRONT01"] == before + 1
    assert world.fleet.devices_by_id["cid-FRONT01"].reboot_at == at
    (command,) = commands(world.db)
    assert (command.state, command.completed_at) == (RequestState.DONE, at)
    assert command.result.startswith("reboot sent at 03:00 UTC as scheduled")
    target = world.target("FRONT01")
    assert (target.state, target.reboot_requested_at) == (TargetState.REBOOTING, at)
    world.run(15)  # boots five minutes later and checks in: verified by data
    target = world.target("FRONT01")
    assert target.state is TargetState.VERIFIED
    assert target.verified_at is not None
    assert target.verified_at > at


def test_a_scheduled_reboot_outside_the_device_s_windows_is_refused(world: World) -> None:
    failed = reboot_exception(world)
    noon = WINDOW_OPENS + timedelta(days=1, hours=10)  # 12:00: the window is 02:00-06:00
    with pytest.raises(ops.Refused, match="outside the device's windows; the next one is "
                       "nightly Sun 29 Nov 02:00–06:00 UTC"):  # fmt: skip
        ops.log_remediation(
            world.db, failed.id, "alice", "schedule_reboot", now=world.now, reboot_at=noon
        )
    with pytest.raises(ops.Refused, match="reboot time: required"):
        ops.log_remediation(world.db, failed.id, "alice", "schedule_reboot", now=world.now)
    with pytest.raises(ops.Refused, match="not in the future"):
        ops.log_remediation(
            world.db, failed.id, "alice", "schedule_reboot", now=world.now, reboot_at=world.now
        )
    assert commands(world.db) == []


def test_a_scheduled_reboot_whose_window_went_away_is_not_sent(world: World) -> None:
    failed = reboot_exception(world)
    at = WINDOW_OPENS + timedelta(days=1, hours=1)
    ops.log_remediation(
        world.db, failed.id, "alice", "schedule_reboot", now=world.now, reboot_at=at
    )
    with world.db.writer() as session:  # the client's window is retired meanwhile
        for window in session.scalars(select(MaintenanceWindow)):
            window.active = False
    before = world.fleet.reboot_count["cid-FRONT01"]
    world.now = at
    world.run(1)
    assert world.fleet.reboot_count["cid-FRONT01"] == before
    (command,) = commands(world.db)
    assert command.state is RequestState.FAILED
    assert "outside the device's reboot windows" in command.result


def test_a_scheduled_reboot_for_an_exception_resolved_meanwhile_is_not_sent(
    world: World,
) -> None:
    failed = reboot_exception(world)
    at = WINDOW_OPENS + timedelta(days=1, hours=1)
    ops.log_remediation(
        world.db, failed.id, "alice", "schedule_reboot", now=world.now, reboot_at=at
    )
    ops.resolve(world.db, failed.id, "alice", "user rebooted it herself", now=world.now)
    before = world.fleet.reboot_count["cid-FRONT01"]
    world.now = at
    world.run(1)
    assert world.fleet.reboot_count["cid-FRONT01"] == before
    (command,) = commands(world.db)
    assert command.state is RequestState.FAILED
    assert command.result == f"not rebooted: exception {failed.id} was resolved meanwhile"


def test_the_simulator_reboots_at_the_scheduled_time(database: Database) -> None:
    """On the simulated MSP: a device ignores the window's reboot (a reboot exception); a
    reboot scheduled inside its next window is sent by the engine at that minute, the
    simulated device boots, checks in, and the target is verified."""
    msp = build_msp(7, clients=1, devices=4, start=NOW, demo=True)
    with database.writer() as session:
        load_msp(session, msp, now=NOW)
    clock = VirtualClock(NOW)
    config = SimulatorConfig(rates=dataclasses.replace(SimulatorRates.none()))
    sim = msp.simulator(clock, config)
    for sim_device in msp.devices:
        sim.script(sim_device.connector_id, Script(ignored_reboots=1))
    engine = Reconciler(database, sim, holder="t")
    failed = None
    for _ in range(400):
        engine.step(clock.now)
        with database.session() as session:
            failed = session.scalars(
                select(PatchException).where(PatchException.failure_class == FailureClass.REBOOT)
            ).first()
        if failed is not None:
            break
        clock.now += timedelta(minutes=2)
    assert failed is not None, "no device ignored its reboot"
    with database.session() as session:
        device = session.get_one(Device, failed.device_id)
        found = device_reboot_windows(session, device.id)
    assert device.connector_id is not None
    assert found is not None
    slot = next(
        s
        for s in next_slots(found.windows, clock.now + timedelta(minutes=30), 3)
        if s.occurrence.end_utc - timedelta(minutes=20) > clock.now + timedelta(minutes=30)
    )
    at = max(slot.occurrence.start_utc, clock.now + timedelta(minutes=30)) + timedelta(minutes=5)
    at = at.replace(second=0, microsecond=0)
    ops.log_remediation(
        database, failed.id, "alice", "schedule_reboot", now=clock.now, reboot_at=at
    )
    reboots = sim.reboot_count(device.connector_id)
    while clock.now < at:  # the engine's own pace: woken when something is due
        due = engine.next_due(clock.now)
        assert due is not None
        assert due <= at
        clock.now = max(due, clock.now + timedelta(seconds=30))
        if clock.now < at:
            engine.step(clock.now)
            assert sim.reboot_count(device.connector_id) == reboots
    clock.now = at
    engine.step(clock.now)
    assert sim.reboot_count(device.connector_id) == reboots + 1
    for _ in range(60):
        clock.now += timedelta(minutes=1)
        engine.step(clock.now)
    with database.session() as session:
        target = session.get_one(Target, failed.target_id)
        booted = session.get_one(Device, failed.device_id).last_boot
    assert target.reboot_requested_at == at
    assert target.state is TargetState.VERIFIED
    assert booted is not None
    assert booted > at


def test_a_scheduled_reboot_killed_at_every_write_is_sent_once(world: World) -> None:
    """The step that carries the scheduled reboot out dies at each of its writes in turn and
    is run again at the same instant: the device is asked to reboot once (the same
    idempotency key), and the command ends done."""
    failed = reboot_exception(world)
    at = WINDOW_OPENS + timedelta(days=1, hours=1)
    ops.log_remediation(
        world.db, failed.id, "alice", "schedule_reboot", now=world.now, reboot_at=at
    )
    before = world.fleet.reboot_count["cid-FRONT01"]
    world.now = at - timedelta(minutes=2)
    injector = Injector(world)
    injector.run(world, 20)
    assert injector.crashes > 0
    assert world.fleet.reboot_count["cid-FRONT01"] == before + 1
    (command,) = commands(world.db)
    assert (command.state, command.completed_at) == (RequestState.DONE, at)
    assert world.target("FRONT01").state is TargetState.VERIFIED
    with world.db.session() as session:
        assert verify_chain(session).ok


def test_a_scheduled_reboot_takes_the_check_in_timeout_of_its_window(world: World) -> None:
    """The reboot happens in a window other than the one the device failed in: its check-in
    deadline is that window's (45 minutes), not the first one's (30)."""
    failed = reboot_exception(world)
    with world.db.writer() as session:
        nightly = session.scalars(select(MaintenanceWindow)).one()
        nightly.reboot_policy = RebootPolicy.NEVER  # no reboots in it any more
        session.add(
            MaintenanceWindow(
                client_id="acme",
                name="reboots",
                recurrence=RecurrenceKind.WEEKLY,
                weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                start_time=time(7, 0),
                duration_minutes=60,
                reboot_policy=RebootPolicy.ALWAYS,
                checkin_timeout_minutes=45,
                max_concurrent=5,
                updated_at=world.now,
            )
        )
    at = WINDOW_OPENS + timedelta(days=1, hours=5, minutes=30)  # 07:30 tomorrow
    ops.log_remediation(
        world.db, failed.id, "alice", "schedule_reboot", now=world.now, reboot_at=at
    )
    world.now = at
    world.run(1)
    target = world.target("FRONT01")
    assert (target.reboot_requested_at, target.checkin_deadline) == (at, at + timedelta(minutes=45))
