"""What changes between a window's opening and a dispatch, and outside windows:
emergency deployments, maintenance mode, patches blocked meanwhile, patches installed out of
band (the reconcile step on the scripted fleet of ``test_lifecycle``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from patchdesk.domain import IN_FLIGHT, ApprovalDecisionKind, MissingPatchState, Role, TargetState
from patchdesk.inventory.patches import MissingRow
from patchdesk.policy.load import PolicySet, load_sources
from patchdesk.store.approval_ops import DecisionRequest, record_decision
from patchdesk.store.device_ops import set_maintenance_mode
from patchdesk.store.missing_patch_ops import apply_missing_patches
from patchdesk.store.models import (
    BlockedPatch,
    Deployment,
    Device,
    DevicePatch,
    Event,
    MaintenanceWindow,
    PatchException,
    Target,
)
from patchdesk.store.policy_ops import apply_policies
from tests.connectors.fakefleet import PATCH
from tests.engine.test_lifecycle import POLICY, WINDOW_OPENS, World, add_devices, world, ws

__all__ = ["world"]  # the fixture, imported for pytest


def _import_missing(w: World, *hostnames: str) -> None:
    rows = [MissingRow(line=n, client_id="acme", hostname=h, patch=PATCH) for n, h in
            enumerate(hostnames, start=2)]  # fmt: skip
    with w.db.writer() as session:
        apply_missing_patches(session, rows, now=w.now)


def _decide(w: World, kind: ApprovalDecisionKind, *hostnames: str, reason: str = "") -> None:
    request = DecisionRequest(
        client_id="acme",
        patch_id=PATCH.vendor_id,
        kind=kind,
        operator="alice",
        reason=reason,
        hostnames=hostnames,
    )
    with w.db.writer() as session:
        record_decision(session, request, now=w.now)


def _targets(w: World) -> dict[str, tuple[TargetState, bool]]:
    """hostname -> (state, in an emergency deployment), of each device's latest target."""
    with w.db.session() as session:
        rows = session.execute(
            select(Device.hostname, Target.state, Deployment.emergency)
            .join(Target, Target.device_id == Device.id)
            .join(Deployment, Deployment.id == Target.deployment_id)
            .order_by(Target.id)
        ).all()
    return {hostname: (state, emergency) for hostname, state, emergency in rows}


def _offline_until(w: World, hostname: str, when: datetime) -> None:
    w.fleet.devices_by_id[f"cid-{hostname}"].online_from = when


def _events(w: World, kind: str) -> list[dict[str, object]]:
    with w.db.session() as session:
        return [e.payload for e in session.scalars(select(Event).where(Event.kind == kind))]


# ---------------------------------------------------------------------------- emergency


def test_an_emergency_deploys_at_once_outside_windows_to_the_chosen_devices(world: World) -> None:
    world.now += timedelta(hours=6)  # 08:00: the nightly window (02:00-06:00) is closed
    add_devices(world, ws("FRONT01"), ws("FRONT02"), ("FS01", Role.SERVER))
    _import_missing(world, "FRONT01", "FRONT02", "FS01")
    _decide(world, ApprovalDecisionKind.EMERGENCY, "FRONT01", "FS01", reason="actively exploited")
    world.run(60)
    assert _targets(world) == {
        "FRONT01": (TargetState.VERIFIED, True),
        "FS01": (TargetState.VERIFIED, True),
    }
    assert world.fleet.install_count == {"cid-FRONT01": 1, "cid-FS01": 1}
    with world.db.session() as session:
        deployment = session.scalars(select(Deployment)).one()
        assert deployment.window_id is None
        assert deployment.emergency
        assert deployment.approval_decision_id is not None
    opened = _events(world, "deployment.opened")
    assert opened == [
        {
            "emergency": True,
            "patch": PATCH.vendor_id,
            "reason": "actively exploited",
            "approved_by": "alice",
            "start": opened[0]["start"],
            "end": opened[0]["end"],
            "targets": 2,
            "devices_named": 2,
            "not_targeted": 0,
        }
    ]
    # Deployed once: further steps, and the deployment's close, open nothing more.
    world.run(300, every=10)
    with world.db.session() as session:
        assert len(session.scalars(select(Deployment)).all()) == 1
        assert session.scalars(select(Deployment.state)).one().value == "closed"
    assert world.fleet.install_count == {"cid-FRONT01": 1, "cid-FS01": 1}


def test_an_emergency_is_not_deployed_for_a_patch_blocked_globally_since(world: World) -> None:
    world.now += timedelta(hours=6)
    add_devices(world, ws("FRONT01"))
    _import_missing(world, "FRONT01")
    _decide(world, ApprovalDecisionKind.EMERGENCY, "FRONT01", reason="exploited")
    with world.db.writer() as session:
        session.add(
            BlockedPatch(
                patch_vendor_id=PATCH.vendor_id.lower(),
                reason="bricks printers",
                blocked_by="bob",
                blocked_at=world.now,
            )
        )
    world.run(30)
    assert _targets(world) == {}
    assert world.fleet.install_count == {}
    [opened] = _events(world, "deployment.opened")
    assert opened["targets"] == 0
    assert opened["not_targeted"] == 1


def test_an_emergency_failure_raises_an_exception_like_any_target(world: World) -> None:
    world.now += timedelta(hours=6)
    add_devices(world, ws("FRONT01"), install="fail")
    _import_missing(world, "FRONT01")
    _decide(world, ApprovalDecisionKind.EMERGENCY, "FRONT01", reason="exploited")
    world.run(60)
    assert _targets(world) == {"FRONT01": (TargetState.INSTALL_FAILED, True)}
    assert [c.value for _, c, _ in world.exceptions()] == ["install"]


# ---------------------------------------------------------------------- maintenance mode


def test_maintenance_mode_reported_by_the_connector_is_synced_and_keeps_devices_out(
    world: World,
) -> None:
    add_devices(world, ws("FRONT01"), ws("FRONT02"))
    world.fleet.devices_by_id["cid-FRONT02"].maintenance = True
    world.run(60)
    assert _targets(world) == {"FRONT01": (TargetState.VERIFIED, False)}
    with world.db.session() as session:
        flags = dict(session.execute(select(Device.hostname, Device.maintenance_mode)).all())
    assert flags == {"FRONT01": False, "FRONT02": True}
    assert [e["maintenance_mode"] for e in _events(world, "device.maintenance_mode")] == [True]
    # Out of maintenance: the device is patched in the next window.
    world.fleet.devices_by_id["cid-FRONT02"].maintenance = False
    world.now += timedelta(hours=23)
    world.run(60)
    assert _targets(world)["FRONT02"] == (TargetState.VERIFIED, False)


def _device_id(w: World, hostname: str) -> int:
    with w.db.session() as session:
        return session.scalars(select(Device.id).where(Device.hostname == hostname)).one()


def test_a_technicians_maintenance_mode_is_kept_by_the_engine_and_keeps_devices_out(
    world: World,
) -> None:
    add_devices(world, ws("FRONT01"), ws("FRONT02"), ws("FRONT03"))
    world.fleet.devices_by_id["cid-FRONT03"].maintenance = True  # the RMM's
    world.now = WINDOW_OPENS - timedelta(minutes=30)
    world.run(1)  # before the window: the first sync puts FRONT03 in, as the RMM says
    with world.db.session() as session:
        assert session.scalars(select(Device.hostname).where(Device.maintenance_mode)).all() == [
            "FRONT03"
        ]
    # A technician puts FRONT02 in and takes FRONT03 out, overriding the RMM.
    set_maintenance_mode(world.db, _device_id(world, "FRONT02"), "alice", True, now=world.now)
    set_maintenance_mode(world.db, _device_id(world, "FRONT03"), "alice", False, now=world.now)
    world.run(90)
    assert _targets(world) == {
        "FRONT01": (TargetState.VERIFIED, False),
        "FRONT03": (TargetState.VERIFIED, False),
    }
    with world.db.session() as session:
        flags = dict(session.execute(select(Device.hostname, Device.maintenance_mode)).all())
    assert flags == {"FRONT01": False, "FRONT02": True, "FRONT03": False}
    # Back to what the RMM says: FRONT02 follows the RMM (off) and is patched next time.
    set_maintenance_mode(world.db, _device_id(world, "FRONT02"), "alice", False, now=world.now)
    world.now += timedelta(hours=23)
    world.run(60)
    assert _targets(world)["FRONT02"] == (TargetState.VERIFIED, False)


def test_a_pending_target_whose_device_enters_maintenance_mode_is_skipped(world: World) -> None:
    add_devices(world, ws("FRONT01"))
    _offline_until(world, "FRONT01", WINDOW_OPENS + timedelta(hours=1))
    world.run(5)  # the window opened; the device is offline, its target waits
    assert _targets(world) == {"FRONT01": (TargetState.PENDING, False)}
    world.fleet.devices_by_id["cid-FRONT01"].maintenance = True
    world.run(120)
    assert _targets(world) == {"FRONT01": (TargetState.SKIPPED, False)}
    assert world.fleet.install_count == {}
    assert world.exceptions() == []


def test_an_offline_device_in_maintenance_mode_is_skipped_not_missed(world: World) -> None:
    add_devices(world, ws("FRONT01"))
    _offline_until(world, "FRONT01", WINDOW_OPENS + timedelta(days=2))
    world.run(5)
    world.fleet.devices_by_id["cid-FRONT01"].maintenance = True
    world.run(260, every=5)  # past the window's end
    assert _targets(world) == {"FRONT01": (TargetState.SKIPPED, False)}
    with world.db.session() as session:
        assert session.scalars(select(PatchException)).all() == []


# ------------------------------------------------------------------ blocked meanwhile


def test_a_patch_blocked_after_the_window_opened_is_not_dispatched(world: World) -> None:
    add_devices(world, ws("FRONT01"))
    _offline_until(world, "FRONT01", WINDOW_OPENS + timedelta(hours=1))
    world.run(5)
    assert _targets(world) == {"FRONT01": (TargetState.PENDING, False)}
    _decide(world, ApprovalDecisionKind.BLOCK, reason="breaks the practice software")
    world.run(120)
    assert _targets(world) == {"FRONT01": (TargetState.SKIPPED, False)}
    assert world.fleet.install_count == {}
    [skipped] = [e for e in _events(world, "target.state") if e["to"] == "skipped"]
    assert skipped["reason"] == (
        "every patch was blocked, deferred or excluded since the window opened"
    )


# ---------------------------------------------------------------- installed out of band


def test_a_patch_the_device_no_longer_reports_is_marked_installed(world: World) -> None:
    add_devices(world, ws("FRONT01"))
    _import_missing(world, "FRONT01")
    world.fleet.devices_by_id["cid-FRONT01"].missing = []  # installed by hand meanwhile
    world.run(10)
    assert _targets(world) == {}  # nothing left to install: no target
    with world.db.session() as session:
        state, installed_at = session.execute(
            select(DevicePatch.state, DevicePatch.installed_at)
        ).one()
    assert state is MissingPatchState.INSTALLED
    assert installed_at is not None
    assert _events(world, "patches.no_longer_missing") == [{"installed": 1}]


def test_next_due_knows_of_undeployed_emergencies_and_emergency_ends(world: World) -> None:
    """A driver of virtual time that skips idle steps must not skip an emergency."""
    world.now += timedelta(hours=6)
    add_devices(world, ws("FRONT01"))
    _import_missing(world, "FRONT01")
    world.run(2)
    nothing = world.engine.next_due(world.now)
    assert nothing is None or nothing > world.now + timedelta(hours=1)
    _decide(world, ApprovalDecisionKind.EMERGENCY, "FRONT01", reason="exploited")
    assert world.engine.next_due(world.now) == world.now
    world.run(60)  # deployed and verified; the deployment stays open to its end
    with world.db.session() as session:
        end = session.scalars(select(Deployment.occurrence_end)).one()
    due = world.engine.next_due(world.now)
    assert due is not None
    assert due <= end


# ------------------------------------------------------- one install at a time per device

OVERLAPPING = POLICY.replace(
    "[[client.approval_rules]]",
    """[[client.windows]]
name = "workstations"
recurrence = { type = "weekly", days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] }
start = "02:00"
duration = "3h"
reboot = "always"
checkin_timeout = "30m"
max_concurrent = 10
applies_to = { roles = ["shared_workstation"] }

[[client.approval_rules]]""",
)


def _in_flight_per_device(w: World) -> dict[str, int]:
    with w.db.session() as session:
        rows = session.execute(
            select(Device.hostname, func.count())
            .join(Target, Target.device_id == Device.id)
            .where(Target.state.in_(IN_FLIGHT))
            .group_by(Device.hostname)
        ).all()
    return {hostname: count for hostname, count in rows}


def test_overlapping_windows_give_a_device_one_target(world: World) -> None:
    """Two windows of one client open at the same instant, the nightly one for every
    device, the other for shared workstations: each device gets one target, in the
    narrowest window that applies to it (seen in the demo: a laptop got an install from each
    window, one while the other was still running)."""
    loaded = load_sources([("acme.toml", OVERLAPPING)])
    assert isinstance(loaded, PolicySet), loaded
    with world.db.writer() as session:
        apply_policies(session, loaded, now=world.now, operator="tester")
    add_devices(world, ws("FRONT01"), ws("FRONT02"), ("FS01", Role.SERVER))
    world.run(120)
    with world.db.session() as session:
        where = session.execute(
            select(Device.hostname, MaintenanceWindow.name)
            .join(Target, Target.device_id == Device.id)
            .join(Deployment, Deployment.id == Target.deployment_id)
            .join(MaintenanceWindow, MaintenanceWindow.id == Deployment.window_id)
        ).all()
    assert sorted(where) == [
        ("FRONT01", "workstations"),
        ("FRONT02", "workstations"),
        ("FS01", "nightly"),
    ]
    assert world.fleet.install_count == {"cid-FRONT01": 1, "cid-FRONT02": 1, "cid-FS01": 1}
    assert {h: s for h, (s, _) in _targets(world).items()} == {
        "FRONT01": TargetState.VERIFIED,
        "FRONT02": TargetState.VERIFIED,
        "FS01": TargetState.VERIFIED,
    }


def test_a_device_with_a_target_in_flight_is_not_sent_a_second(world: World) -> None:
    """An emergency for a device whose window target waits (the device is offline): both
    targets are pending when it comes online; it gets one install, the other after."""
    add_devices(world, ws("FRONT01"))
    _offline_until(world, "FRONT01", WINDOW_OPENS + timedelta(minutes=30))
    _import_missing(world, "FRONT01")
    world.run(10)
    assert _targets(world) == {"FRONT01": (TargetState.PENDING, False)}
    _decide(world, ApprovalDecisionKind.EMERGENCY, "FRONT01", reason="actively exploited")
    world.run(5)
    with world.db.session() as session:
        states = session.scalars(select(Target.state)).all()
    assert states == [TargetState.PENDING, TargetState.PENDING]
    for _ in range(150):  # through the device's return and both installs
        world.run(1)
        assert all(count == 1 for count in _in_flight_per_device(world).values())
    with world.db.session() as session:
        states = session.scalars(select(Target.state).order_by(Target.id)).all()
    assert states == [TargetState.VERIFIED, TargetState.VERIFIED]
    # The second install's reboot does not pull the first (verified) target back.
    moves = [(e["from"], e["to"]) for e in _events(world, "target.state")]
    assert [move for move in moves if move[0] == "verified"] == []
    assert world.fleet.install_count == {"cid-FRONT01": 2}
