"""The simulated fleet (connectors/simulator): determinism, idempotency, virtual time,
every kind of trouble at its rate, and the patch catalogue."""

from __future__ import annotations

import copy
import dataclasses
import os
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from patchdesk.connectors.base import (
    Connector,
    ConnectorUnavailable,
    JobState,
    RebootOutcome,
)
from patchdesk.connectors.sim.catalogue import build_catalogue
from patchdesk.connectors.sim.entry import cycle_of, default_os_name, os_key
from patchdesk.connectors.simulator import (
    Script,
    SimDevice,
    Simulator,
    SimulatorConfig,
    SimulatorRates,
    SimulatorTimings,
    UnknownDevice,
)
from patchdesk.domain import Classification, OsFamily, RebootPolicy, Role, Severity

START = datetime(2026, 11, 12, 20, 0, tzinfo=UTC)  # two days after Patch Tuesday
NONE = SimulatorRates.none()
FIXED = SimulatorTimings(
    queue_minutes=(1, 1),
    install_overhead_minutes=(3, 3),
    install_jitter=(1, 1),
    reboot_minutes_server=(8, 8),
    reboot_minutes_workstation=(4, 4),
    update_configure_minutes=(5, 5),
    checkin_minutes=(2, 2),
    rollback_minutes=(6, 6),
)
IF_REQUIRED = RebootPolicy.IF_REQUIRED


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def laptop(cid: str = "ws-1", **kw: Any) -> SimDevice:
    return SimDevice(cid, Role.SINGLE_USER, OsFamily.WINDOWS, **kw)


def server(cid: str = "srv-1", **kw: Any) -> SimDevice:
    return SimDevice(cid, Role.SERVER, OsFamily.WINDOWS, **kw)


def fleet(count: int = 30) -> list[SimDevice]:
    kinds: list[Callable[[str], SimDevice]] = [
        server,
        lambda cid: SimDevice(cid, Role.SHARED_WORKSTATION, OsFamily.WINDOWS),
        laptop,
        lambda cid: SimDevice(cid, Role.SINGLE_USER, OsFamily.MACOS),
        lambda cid: SimDevice(cid, Role.SERVER, OsFamily.LINUX, os_name="Ubuntu 22.04 LTS"),
        lambda cid: laptop(cid, os_name="Windows 10 Pro 22H2"),
    ]
    return [kinds[i % len(kinds)](f"dev-{i:03d}") for i in range(count)]


def make(
    devices: list[SimDevice] | None = None,
    *,
    rates: SimulatorRates = NONE,
    timings: SimulatorTimings = FIXED,
    seed: int | str = 1,
    outages: tuple[tuple[datetime, datetime], ...] = (),
) -> tuple[Simulator, Clock]:
    clock = Clock()
    config = SimulatorConfig(rates=rates, timings=timings, outages=outages)
    devices = [laptop()] if devices is None else devices
    return Simulator(devices, seed=seed, clock=clock, config=config), clock


def missing_ids(sim: Simulator, cid: str) -> list[str]:
    return [patch.vendor_id for patch in sim.missing_patches([cid])[cid]]


def install_all(sim: Simulator, cid: str, key: str = "k1") -> str:
    return sim.install(cid, missing_ids(sim, cid), reboot_policy=IF_REQUIRED, idempotency_key=key)


def status(sim: Simulator, cid: str) -> Any:
    return next(s for s in sim.devices() if s.connector_id == cid)


def finish(sim: Simulator, clock: Clock, job_id: str) -> Any:
    """Advance the clock past the job's end; its final status."""
    clock.advance(hours=6)
    return sim.job_status([job_id])[job_id]


def reboot_needed_patch(sim: Simulator, cid: str) -> str:
    found = [p.vendor_id for p in sim.missing_patches([cid])[cid] if p.reboot_required]
    assert found, "the test device should miss a patch that needs a reboot"
    return found[0]


# ------------------------------------------------------------------------- protocol


def test_simulator_is_a_connector() -> None:
    sim, _ = make()
    connector: Connector = sim
    assert connector.name == "simulator"


def test_the_clock_must_be_aware_and_must_not_go_back() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Simulator([], seed=1, clock=lambda: datetime(2026, 11, 12))
    sim, clock = make()
    sim.devices()
    clock.now -= timedelta(seconds=1)
    with pytest.raises(ValueError, match="backwards"):
        sim.devices()


def test_unknown_devices() -> None:
    sim, _ = make()
    with pytest.raises(UnknownDevice):
        sim.install("nope", [], reboot_policy=IF_REQUIRED, idempotency_key="x")
    assert sim.missing_patches(["nope"]) == {}
    assert sim.health(["nope"]) == {}
    assert sim.job_status(["nope"]) == {}
    assert sim.wake("nope") is False
    with pytest.raises(ValueError, match="already registered"):
        sim.add_device(laptop())


# ---------------------------------------------------------------------- determinism


def scenario(sim: Simulator, clock: Clock, order: list[str]) -> dict[str, Any]:
    """A run of every kind of call; results keyed by device, whatever the call order."""
    out: dict[str, Any] = {cid: {} for cid in order}
    for cid in order:
        out[cid]["missing"] = sim.missing_patches([cid])[cid]
        try:
            out[cid]["job"] = install_all(sim, cid, key=f"install:{cid}")
        except ConnectorUnavailable:
            out[cid]["job"] = "unavailable"
    clock.advance(minutes=20)
    for cid in order:
        job = out[cid]["job"]
        out[cid]["running"] = sim.job_status([job]) if job != "unavailable" else None
    clock.advance(hours=3)
    for cid in order:
        job = out[cid]["job"]
        out[cid]["done"] = sim.job_status([job]) if job != "unavailable" else None
        out[cid]["reboot"] = sim.reboot(
            cid, allow_deferral=True, deferral_minutes=30, idempotency_key=f"reboot:{cid}"
        )
    clock.advance(hours=1)
    statuses = {s.connector_id: s for s in sim.devices()}
    health = sim.health(order)
    for cid in order:
        out[cid]["status"] = statuses[cid]
        out[cid]["health"] = health[cid]
        out[cid]["missing after"] = sim.missing_patches([cid])[cid]
        out[cid]["installs"] = sim.install_count(cid)
    return out


def test_same_seed_same_results() -> None:
    devices = fleet(40)
    ids = [d.connector_id for d in devices]
    rates = dataclasses.replace(SimulatorRates(), install_failure=0.1, outage_per_hour=0)
    first = scenario(*make(devices, rates=rates, seed=7), ids)
    second = scenario(*make(devices, rates=rates, seed=7), ids)
    assert first == second
    other = scenario(*make(devices, rates=rates, seed=8), ids)
    assert other != first


def test_results_do_not_depend_on_the_order_of_devices() -> None:
    devices = fleet(40)
    ids = [d.connector_id for d in devices]
    rates = dataclasses.replace(SimulatorRates(), install_failure=0.1, outage_per_hour=0)
    forward = scenario(*make(devices, rates=rates, seed=3), ids)
    backward = scenario(*make(devices[::-1], rates=rates, seed=3), ids[::-1])
    assert forward == backward


PROBE = """
import hashlib
from datetime import UTC, datetime, timedelta
from patchdesk.domain import RebootPolicy
from patchdesk.simulation import build_msp
start = datetime(2026, 11, 12, 20, tzinfo=UTC)
msp = build_msp(5, clients=6, devices=150, start=start)
now = [start]
sim = msp.simulator(lambda: now[0])
ids = sim.device_ids()
missing = sim.missing_patches(ids)
jobs = [sim.install(c, [p.vendor_id for p in missing[c]], reboot_policy=RebootPolicy.ALWAYS,
                    idempotency_key=c) for c in ids]
now[0] += timedelta(hours=5)
text = repr((msp, sorted(sim.job_status(jobs).items()), sim.devices(), sim.health(ids)))
print(hashlib.sha256(text.encode()).hexdigest())
"""


def test_results_do_not_depend_on_python_hash_randomisation() -> None:
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_default_rates_produce_some_trouble() -> None:
    devices = fleet(120)
    ids = [d.connector_id for d in devices]
    rates = dataclasses.replace(SimulatorRates(), outage_per_hour=0)
    results = scenario(*make(devices, rates=rates, seed=11), ids)
    states = [r["done"][r["job"]].state for r in results.values()]
    assert JobState.SUCCEEDED in states
    outcomes = {r["reboot"].outcome for r in results.values()}
    assert RebootOutcome.ACCEPTED in outcomes
    assert RebootOutcome.DEFERRED in outcomes


# ---------------------------------------------------------------------- idempotency


def test_a_repeated_install_key_returns_the_same_job_and_installs_once() -> None:
    sim, _clock = make()
    patches = missing_ids(sim, "ws-1")
    first = sim.install("ws-1", patches, reboot_policy=IF_REQUIRED, idempotency_key="t1:a1")
    again = sim.install("ws-1", patches, reboot_policy=IF_REQUIRED, idempotency_key="t1:a1")
    assert again == first
    assert sim.install_count("ws-1") == 1
    assert sim.install_calls == 2
    other = sim.install("ws-1", patches, reboot_policy=IF_REQUIRED, idempotency_key="t1:a2")
    assert other != first
    assert sim.install_count("ws-1") == 2


def test_repeated_reboot_and_rollback_keys_act_once() -> None:
    sim, clock = make()
    patches = missing_ids(sim, "ws-1")
    job = install_all(sim, "ws-1")
    finish(sim, clock, job)
    first = sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    clock.advance(minutes=1)
    again = sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    assert again == first
    assert sim.reboot_count("ws-1") == 1
    clock.advance(hours=1)
    one = sim.rollback("ws-1", patches[0], idempotency_key="rb")
    assert sim.rollback("ws-1", patches[0], idempotency_key="rb") == one
    assert sim.rollback_count("ws-1") == 1


# ---------------------------------------------------------------- jobs and installs


def test_a_job_is_queued_then_running_then_done_at_the_right_times() -> None:
    sim, clock = make()
    sim.devices()
    entries = {entry.vendor_id: entry for entry in sim.catalogue}
    patches = missing_ids(sim, "ws-1")
    job = sim.install("ws-1", patches, reboot_policy=IF_REQUIRED, idempotency_key="k")
    queued = sim.job_status([job])[job]
    assert queued.state is JobState.QUEUED
    assert queued.started_at is None
    clock.advance(seconds=61)
    running = sim.job_status([job])[job]
    assert running.state is JobState.RUNNING
    assert running.started_at == START + timedelta(minutes=1)
    work = 3 + sum(entries[vendor_id].minutes for vendor_id in patches)
    clock.now = START + timedelta(minutes=1 + work) - timedelta(seconds=1)
    assert sim.job_status([job])[job].state is JobState.RUNNING
    clock.advance(seconds=1)
    done = sim.job_status([job])[job]
    assert done.state is JobState.SUCCEEDED
    assert done.finished_at == clock.now
    assert [r.vendor_id for r in done.patches] == patches
    assert all(r.succeeded for r in done.patches)


def test_servers_install_more_slowly() -> None:
    sim, clock = make([server(), laptop(os_name="Windows Server 2022 Standard")])
    entries = {entry.vendor_id: entry for entry in sim.catalogue}
    jobs = {}
    for cid in ("srv-1", "ws-1"):
        patches = missing_ids(sim, cid)
        jobs[cid] = (
            sim.install(cid, patches, reboot_policy=IF_REQUIRED, idempotency_key=cid),
            patches,
        )
    clock.advance(hours=6)
    for cid, factor in (("srv-1", 1.8), ("ws-1", 1.0)):
        job, patches = jobs[cid]
        work = sum(entries[vendor_id].minutes for vendor_id in patches) * factor
        expected = START + timedelta(minutes=1 + 3) + timedelta(seconds=round(work * 60))
        assert sim.job_status([job])[job].finished_at == expected


def test_a_second_job_waits_for_the_first() -> None:
    sim, clock = make()
    first = install_all(sim, "ws-1", key="a")
    second = sim.install("ws-1", [], reboot_policy=IF_REQUIRED, idempotency_key="b")
    clock.advance(hours=6)
    done = sim.job_status([first, second])
    first_end = done[first].finished_at
    assert first_end is not None
    assert done[second].started_at == first_end + timedelta(minutes=1)


def test_installed_patches_stop_being_missing_and_a_reboot_is_pending() -> None:
    sim, clock = make()
    patches = missing_ids(sim, "ws-1")
    reboot_needed_patch(sim, "ws-1")
    assert status(sim, "ws-1").needs_reboot is False
    job = install_all(sim, "ws-1")
    clock.advance(minutes=5)
    assert missing_ids(sim, "ws-1") == patches  # still running
    done = finish(sim, clock, job)
    assert done.needs_reboot is True
    assert missing_ids(sim, "ws-1") == []
    assert status(sim, "ws-1").needs_reboot is True
    sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    clock.advance(hours=1)
    assert status(sim, "ws-1").needs_reboot is False


def test_patches_not_missing_succeed_with_nothing_to_do() -> None:
    sim, clock = make()
    job = sim.install("ws-1", ["KB0000001"], reboot_policy=IF_REQUIRED, idempotency_key="k")
    done = finish(sim, clock, job)
    assert done.state is JobState.SUCCEEDED
    assert done.needs_reboot is False


def test_failed_patches_stay_missing_with_windows_update_codes() -> None:
    rates = dataclasses.replace(NONE, install_failure=1.0, repeat_install_failure=1.0)
    sim, clock = make(rates=rates)
    patches = missing_ids(sim, "ws-1")
    done = finish(sim, clock, install_all(sim, "ws-1"))
    assert done.state is JobState.FAILED
    assert all(not r.succeeded and r.error_code for r in done.patches)
    assert done.error_code == done.patches[0].error_code
    assert done.error_code is not None
    assert done.error_code in (done.message or "")
    assert missing_ids(sim, "ws-1") == patches
    retry = finish(sim, clock, install_all(sim, "ws-1", key="k2"))
    assert [r.error_code for r in retry.patches] == [r.error_code for r in done.patches]


def test_a_failed_patch_can_succeed_on_retry() -> None:
    rates = dataclasses.replace(NONE, install_failure=1.0, repeat_install_failure=0.0)
    sim, clock = make(rates=rates)
    assert finish(sim, clock, install_all(sim, "ws-1")).state is JobState.FAILED
    assert finish(sim, clock, install_all(sim, "ws-1", key="k2")).state is JobState.SUCCEEDED
    assert missing_ids(sim, "ws-1") == []


def test_a_scripted_install_failure() -> None:
    sim, clock = make([laptop(script=Script(install_failures=1, error_code="0x800f0922"))])
    done = finish(sim, clock, install_all(sim, "ws-1"))
    assert done.error_code == "0x800f0922"
    assert "CBS_E_INSTALLERS_FAILED" in (done.message or "")
    assert [r.succeeded for r in done.patches].count(False) == 1
    assert finish(sim, clock, install_all(sim, "ws-1", key="k2")).state is JobState.SUCCEEDED


def test_a_scripted_hanging_install_runs_forever_and_installs_nothing() -> None:
    sim, clock = make([laptop(script=Script(hanging_installs=1))])
    patches = missing_ids(sim, "ws-1")
    job = install_all(sim, "ws-1")
    clock.advance(days=3)
    assert sim.job_status([job])[job].state is JobState.RUNNING
    assert missing_ids(sim, "ws-1") == patches
    assert sim.install_count("ws-1") == 1
    assert finish(sim, clock, install_all(sim, "ws-1", key="k2")).state is JobState.SUCCEEDED


# -------------------------------------------------------------------------- reboots


def test_reboot_offline_for_its_duration_then_boots_then_checks_in() -> None:
    sim, clock = make()
    finish(sim, clock, install_all(sim, "ws-1"))
    before = status(sim, "ws-1")
    command = clock.now
    result = sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    assert result.outcome is RebootOutcome.ACCEPTED
    assert result.at == command
    boot = command + timedelta(minutes=4 + 5)  # reboot time + configuring updates
    clock.advance(minutes=1)
    down = status(sim, "ws-1")
    assert (down.online, down.last_seen, down.last_boot) == (False, command, before.last_boot)
    assert sim.health(["ws-1"]) == {"ws-1": {}}
    clock.now = boot
    booted = status(sim, "ws-1")
    assert (booted.online, booted.last_boot) == (False, boot)
    clock.now = boot + timedelta(minutes=2)
    back = status(sim, "ws-1")
    assert back.online is True
    assert back.last_boot == boot > command
    assert back.last_seen == clock.now > boot


def test_reboot_of_a_device_that_is_down_is_not_sent() -> None:
    offline = (START, START + timedelta(hours=2))
    sim, _clock = make([laptop(script=Script(offline=(offline,)))])
    result = sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    assert result.outcome is RebootOutcome.OFFLINE
    assert sim.reboot_count("ws-1") == 0


def test_hung_reboot_never_boots_and_keeps_the_old_boot_time() -> None:
    sim, clock = make(rates=dataclasses.replace(NONE, hung_reboot=1.0))
    old = status(sim, "ws-1").last_boot
    command = clock.now
    sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    clock.advance(days=2)
    hung = status(sim, "ws-1")
    assert (hung.online, hung.last_boot, hung.last_seen) == (False, old, command)
    assert sim.wake("ws-1") is True  # out-of-band power cycle
    clock.advance(minutes=10)
    back = status(sim, "ws-1")
    assert back.online is True
    assert back.last_boot is not None
    assert back.last_boot > command


def test_device_that_never_returns_boots_but_never_checks_in() -> None:
    sim, clock = make(rates=dataclasses.replace(NONE, never_returns=1.0))
    command = clock.now
    sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    clock.advance(days=1)
    lost = status(sim, "ws-1")
    assert lost.online is False
    assert lost.last_boot == command + timedelta(minutes=4)
    assert lost.last_seen == command
    sim.wake("ws-1")
    clock.advance(minutes=10)
    assert status(sim, "ws-1").online is True


def test_a_failed_wake_leaves_the_device_down() -> None:
    rates = dataclasses.replace(NONE, hung_reboot=1.0, wake_failure_single_user=1.0)
    sim, clock = make(rates=rates)
    sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    clock.advance(hours=1)
    assert sim.wake("ws-1") is True  # sent
    clock.advance(hours=1)
    assert status(sim, "ws-1").online is False


def test_scripted_hang_then_lost_reboots() -> None:
    sim, clock = make([laptop(script=Script(hung_reboots=1, lost_reboots=1))])
    sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r1")
    clock.advance(hours=1)
    assert status(sim, "ws-1").last_boot < START
    sim.wake("ws-1")
    clock.advance(hours=1)
    sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r2")
    clock.advance(hours=1)
    lost = status(sim, "ws-1")
    assert lost.online is False
    assert lost.last_boot > START
    sim.wake("ws-1")
    clock.advance(hours=1)
    sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r3")
    clock.advance(hours=1)
    assert status(sim, "ws-1").online is True


def test_a_scripted_ignored_reboot_leaves_the_device_up_and_unbooted() -> None:
    sim, clock = make([laptop(script=Script(ignored_reboots=1))])
    finish(sim, clock, install_all(sim, "ws-1"))
    before = status(sim, "ws-1")
    result = sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    assert result.outcome is RebootOutcome.ACCEPTED
    clock.advance(hours=1)
    after = status(sim, "ws-1")
    assert after.online is True
    assert after.last_boot == before.last_boot
    assert after.needs_reboot is True


# ------------------------------------------------------------------------- deferral


def test_user_defers_then_a_forced_reboot_is_accepted() -> None:
    sim, clock = make(rates=dataclasses.replace(NONE, deferral_single_user=1.0))
    first = sim.reboot("ws-1", allow_deferral=True, deferral_minutes=30, idempotency_key="r1")
    assert first.outcome is RebootOutcome.DEFERRED
    assert first.deferred_until == clock.now + timedelta(minutes=30)
    assert sim.reboot_count("ws-1") == 0
    clock.advance(minutes=30)
    second = sim.reboot("ws-1", allow_deferral=True, deferral_minutes=30, idempotency_key="r2")
    assert second.outcome is RebootOutcome.DEFERRED
    clock.advance(minutes=30)
    forced = sim.reboot("ws-1", allow_deferral=False, deferral_minutes=30, idempotency_key="r3")
    assert forced.outcome is RebootOutcome.ACCEPTED
    assert sim.reboot_count("ws-1") == 1


def test_servers_never_defer() -> None:
    rates = dataclasses.replace(NONE, deferral_single_user=1.0, deferral_shared=1.0)
    sim, _clock = make([server()], rates=rates)
    result = sim.reboot("srv-1", allow_deferral=True, deferral_minutes=30, idempotency_key="r")
    assert result.outcome is RebootOutcome.ACCEPTED


def test_scripted_deferrals_are_used_up() -> None:
    sim, _clock = make([laptop(script=Script(deferrals=1))])
    outcomes = [
        sim.reboot("ws-1", allow_deferral=True, deferral_minutes=15, idempotency_key=key).outcome
        for key in ("a", "b")
    ]
    assert outcomes == [RebootOutcome.DEFERRED, RebootOutcome.ACCEPTED]


# --------------------------------------------------------------------------- health


def test_health_regression_after_the_reboot() -> None:
    sim, clock = make(rates=dataclasses.replace(NONE, health_regression=1.0))
    before = sim.health(["ws-1"])["ws-1"]
    assert before
    assert all(before.values())
    reboot_needed_patch(sim, "ws-1")
    finish(sim, clock, install_all(sim, "ws-1"))
    assert all(sim.health(["ws-1"])["ws-1"].values())  # not rebooted yet
    sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    clock.advance(hours=1)
    after = sim.health(["ws-1"])["ws-1"]
    broken = [check for check, passing in after.items() if not passing]
    assert len(broken) == 1
    assert before[broken[0]] is True


def test_rolling_back_the_culprit_repairs_the_check() -> None:
    sim, clock = make([laptop(script=Script(regression="service:Spooler"))])
    culprit = reboot_needed_patch(sim, "ws-1")
    job = sim.install("ws-1", [culprit], reboot_policy=IF_REQUIRED, idempotency_key="k")
    finish(sim, clock, job)
    sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="r")
    clock.advance(hours=1)
    assert sim.health(["ws-1"])["ws-1"]["service:Spooler"] is False
    rollback = sim.rollback("ws-1", culprit, idempotency_key="rb")
    assert finish(sim, clock, rollback).state is JobState.SUCCEEDED
    assert sim.health(["ws-1"])["ws-1"]["service:Spooler"] is True
    assert culprit in missing_ids(sim, "ws-1")


def test_rollback_of_a_patch_that_is_not_installed_fails() -> None:
    sim, clock = make()
    job = sim.rollback("ws-1", "KB5000000", idempotency_key="rb")
    done = finish(sim, clock, job)
    assert done.state is JobState.FAILED
    assert done.error_code == "0x80070490"


def test_a_scripted_regression_must_name_a_check_of_the_device() -> None:
    sim, _clock = make()
    with pytest.raises(ValueError, match="no health check"):
        sim.script("ws-1", Script(regression="http:nowhere"))


# -------------------------------------------------------------------------- offline


def test_install_on_a_device_that_is_down_is_refused_and_not_counted() -> None:
    offline = (START - timedelta(hours=1), START + timedelta(hours=2))
    sim, clock = make([laptop(script=Script(offline=(offline,)))])
    down = status(sim, "ws-1")
    assert (down.online, down.last_seen) == (False, offline[0])
    job = install_all(sim, "ws-1")
    done = sim.job_status([job])[job]
    assert done.state is JobState.FAILED
    assert done.error_code == "AGENT_OFFLINE"
    assert sim.install_count("ws-1") == 0
    clock.now = offline[1]
    assert status(sim, "ws-1").online is True


def test_last_seen_is_where_back_to_back_down_stretches_began() -> None:
    first = (START - timedelta(hours=3), START - timedelta(hours=1))
    second = (START - timedelta(hours=1), START + timedelta(hours=1))
    sim, clock = make([laptop(script=Script(offline=(second, first)))])
    assert status(sim, "ws-1").last_seen == first[0]
    clock.now = second[1]
    assert status(sim, "ws-1").last_seen == second[1]


def test_natural_offline_periods_are_shorter_than_a_day() -> None:
    devices = [laptop(f"ws-{i}") for i in range(20)]
    sim, clock = make(devices, rates=dataclasses.replace(NONE, offline_single_user=1.0))
    seen_down: set[str] = set()
    seen_up: set[str] = set()
    for _ in range(4 * 24 * 4):  # four days, every 15 minutes
        for device in sim.devices():
            (seen_up if device.online else seen_down).add(device.connector_id)
            assert device.last_seen is not None
            assert device.last_seen <= clock.now
        clock.advance(minutes=15)
    assert len(seen_down) == len(seen_up) == 20
    day = int(START.timestamp() // 86_400)
    for cid in sim.device_ids():
        for offset in range(10):
            periods = list(sim.model.natural_periods(sim._devices[cid], day + offset))
            assert len(periods) == 1  # rate 1: one period every day
            start, end = periods[0]
            assert timedelta(hours=2) <= end - start <= timedelta(hours=16)


def test_a_device_offline_at_window_start_can_be_woken() -> None:
    devices = [SimDevice(f"pc-{i}", Role.SHARED_WORKSTATION, OsFamily.WINDOWS) for i in range(30)]
    sim, clock = make(devices, rates=dataclasses.replace(NONE, offline_shared=1.0))
    clock.advance(hours=12)
    down = [s.connector_id for s in sim.devices() if not s.online]
    assert down
    for cid in down:
        assert sim.wake(cid) is True
    clock.advance(minutes=10)
    statuses = {s.connector_id: s for s in sim.devices()}
    assert all(statuses[cid].online for cid in down)


# -------------------------------------------------------------------------- outages


def every_call(sim: Simulator) -> list[Callable[[], object]]:
    return [
        sim.devices,
        lambda: sim.missing_patches(["ws-1"]),
        lambda: sim.install("ws-1", [], reboot_policy=IF_REQUIRED, idempotency_key="o1"),
        lambda: sim.job_status(["x"]),
        lambda: sim.reboot("ws-1", allow_deferral=False, deferral_minutes=0, idempotency_key="o"),
        lambda: sim.health(["ws-1"]),
        lambda: sim.wake("ws-1"),
        lambda: sim.rollback("ws-1", "KB1", idempotency_key="o2"),
    ]


def test_an_outage_makes_every_method_raise_and_then_recovers() -> None:
    outage = (START + timedelta(minutes=10), START + timedelta(minutes=40))
    sim, clock = make(outages=(outage,))
    job = install_all(sim, "ws-1")
    clock.now = outage[0]
    assert sim.in_outage()
    for call in every_call(sim):
        with pytest.raises(ConnectorUnavailable):
            call()
    clock.now = outage[1]
    assert not sim.in_outage()
    for call in every_call(sim):
        call()
    clock.advance(hours=6)
    assert sim.job_status([job])[job].state is JobState.SUCCEEDED  # work went on meanwhile


def test_outages_drawn_by_rate() -> None:
    sim, clock = make(rates=dataclasses.replace(NONE, outage_per_hour=0.5))
    hits = 0
    for _ in range(24 * 60):
        clock.advance(minutes=5)
        try:
            sim.devices()
        except ConnectorUnavailable:
            hits += 1
    assert 0 < hits < 24 * 60
    quiet, clock = make()
    for _ in range(24 * 60):
        clock.advance(minutes=5)
        quiet.devices()


def test_add_outage_checks_its_interval() -> None:
    sim, _clock = make()
    with pytest.raises(ValueError, match="end after"):
        sim.add_outage(START, START)


# ---------------------------------------------------------------- rates at 0 and 1


def test_with_every_rate_at_zero_nothing_goes_wrong() -> None:
    devices = fleet(60)
    ids = [d.connector_id for d in devices]
    sim, clock = make(devices)
    for _ in range(48):
        assert all(s.online for s in sim.devices())
        clock.advance(hours=1)
    results = scenario(sim, clock, ids)
    for cid, result in results.items():
        assert result["done"][result["job"]].state is JobState.SUCCEEDED, cid
        assert result["reboot"].outcome is RebootOutcome.ACCEPTED
        assert result["status"].online is True
        assert all(result["health"].values())
        assert result["missing after"] == ()


ALWAYS: list[tuple[str, dict[str, float]]] = [
    ("install", {"install_failure": 1.0, "repeat_install_failure": 1.0}),
    ("hung", {"hung_reboot": 1.0}),
    ("lost", {"never_returns": 1.0}),
    ("regression", {"health_regression": 1.0}),
    ("deferral", {"deferral_single_user": 1.0, "deferral_shared": 1.0}),
    ("baseline", {"baseline_check_failure": 1.0}),
]


@pytest.mark.parametrize(("what", "rates"), ALWAYS, ids=[what for what, _ in ALWAYS])
def test_with_a_rate_at_one_it_always_happens(what: str, rates: dict[str, float]) -> None:
    devices = [d for d in fleet(36) if d.role is not Role.SERVER]
    ids = [d.connector_id for d in devices]
    sim, clock = make(devices, rates=dataclasses.replace(NONE, **rates))
    results = [r for r in scenario(sim, clock, ids).values() if r["missing"]]
    assert len(results) > 20
    if what == "install":
        assert all(r["done"][r["job"]].state is JobState.FAILED for r in results)
    elif what == "deferral":
        assert all(r["reboot"].outcome is RebootOutcome.DEFERRED for r in results)
    elif what in ("hung", "lost"):
        assert all(not r["status"].online for r in results)
        booted = [r["status"].last_boot > START for r in results]
        assert all(booted) if what == "lost" else not any(booted)
    else:
        assert all(r["health"] and not all(r["health"].values()) for r in results)


def test_rates_must_be_probabilities() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        SimulatorRates(hung_reboot=1.5)
    with pytest.raises(ValueError, match="shorter than 24 hours"):
        SimulatorTimings(offline_hours_single_user=(2, 30))


# ------------------------------------------------------------------------ catalogue


def test_the_catalogue_has_every_classification_and_believable_titles() -> None:
    entries = build_catalogue(date(2026, 11, 10))
    assert {e.patch.classification for e in entries} == set(Classification)
    assert {e.patch.severity for e in entries} == set(Severity)
    ids = [e.vendor_id for e in entries]
    assert len(ids) == len(set(ids))
    titles = [e.patch.title for e in entries]
    assert any(
        t.startswith("2026-11 Cumulative Update for Windows 11 Version 24H2") for t in titles
    )
    assert any("KB2267602" in t for t in titles)
    assert any(t.startswith("Feature update to Windows 11") for t in titles)
    for product in ("Google Chrome", "Mozilla Firefox", "Adobe Acrobat Reader", "7-Zip",
                    "Zoom Workplace", "Notepad++"):  # fmt: skip
        assert any(e.patch.product == product for e in entries), product
    assert {e.patch.vendor for e in entries} >= {"Microsoft", "Apple", "Canonical", "Red Hat"}


def test_catalogue_dates_follow_the_cycle() -> None:
    november = build_catalogue(date(2026, 11, 10))
    december = build_catalogue(date(2026, 12, 8))
    cumulative = [e for e in november if "Cumulative Update for Windows" in e.patch.title]
    assert all(e.patch.release_date == date(2026, 11, 10) for e in cumulative)
    assert {e.vendor_id for e in november} != {e.vendor_id for e in december}
    assert cycle_of(date(2026, 11, 9)) == date(2026, 10, 13)
    assert cycle_of(date(2026, 11, 10)) == date(2026, 11, 10)
    assert cycle_of(date(2027, 1, 3)) == date(2026, 12, 8)


def test_each_device_misses_patches_of_its_own_os() -> None:
    sim, _clock = make(fleet(60))
    entries = {entry.vendor_id: entry for entry in sim.catalogue}
    reported = sim.missing_patches(sim.device_ids())
    assert sum(1 for patches in reported.values() if patches) > 50
    for spec in fleet(60):
        key = os_key(spec.os_family, spec.os_name or default_os_name(spec.os_family, spec.role))
        for patch in reported[spec.connector_id]:
            entry = entries[patch.vendor_id]
            assert entry.applies_to(key, spec.role), (spec, patch)
            assert entry.released_at <= START


def test_superseded_definitions_are_not_reported() -> None:
    devices = [laptop(f"ws-{i}") for i in range(10)]
    sim, clock = make(devices)

    def definitions(cid: str) -> list[str]:
        return [p.vendor_id for p in sim.missing_patches([cid])[cid]
                if p.classification is Classification.DEFINITION]  # fmt: skip

    cid = next(d.connector_id for d in devices if definitions(d.connector_id))
    first = definitions(cid)
    assert len(first) == 1
    clock.advance(days=7)
    later = definitions(cid)
    assert len(later) == 1
    assert later != first


# ------------------------------------------------------------------- virtual-time skipping


def _observed(sim: Simulator) -> tuple[Any, ...]:
    """What the connector reports, less an online device's last_seen (it reads now)."""
    devices = tuple(
        (s.connector_id, s.online, s.last_boot, s.needs_reboot, None if s.online else s.last_seen)
        for s in sim.devices()
    )
    jobs = tuple(sorted((j.job_id, j.state) for j in sim.job_status(list(sim._jobs)).values()))
    return devices, jobs, tuple(sorted(sim.health(sim.device_ids()).items(), key=str))


def test_nothing_reported_changes_before_next_change() -> None:
    rates = dataclasses.replace(SimulatorRates(), outage_per_hour=0)
    sim, clock = make(fleet(12), rates=rates, timings=SimulatorTimings())
    for cid in sim.device_ids()[:6]:
        install_all(sim, cid, key=f"k-{cid}")
    end = START + timedelta(hours=30)
    changes = 0
    while clock.now < end:
        sim.device_changes(clock.now)  # reported, as an engine step asks (and draws the
        sim.job_changes(clock.now)  # day's periods)
        before = _observed(sim)
        change = sim.next_change(clock.now, end)
        assert change >= clock.now
        minute = clock.now
        while minute + timedelta(minutes=1) < change:
            minute += timedelta(minutes=1)
            clock.now = minute
            assert _observed(sim) == before, f"changed at {minute} before {change}"
        clock.now = max(change, clock.now + timedelta(minutes=1))
        changes += 1
    assert changes > 10


def test_next_change_counts_only_the_devices_asked_about() -> None:
    rates = dataclasses.replace(SimulatorRates(), outage_per_hour=0)
    sim, clock = make(fleet(30), rates=rates, timings=SimulatorTimings())
    end = START + timedelta(days=2)
    sim.device_changes(clock.now)
    every = sim.next_change(clock.now, end)
    none = sim.next_change(clock.now, end, lambda ids: [])
    one = sim.next_change(clock.now, end, lambda ids: [i for i in ids if i == "dev-002"])
    assert every <= one <= none
    assert none == sim._changes.drawn_until  # only the next day's periods, not yet drawn


def test_next_change_sees_outages() -> None:
    outage = (START + timedelta(minutes=10), START + timedelta(minutes=40))
    sim, clock = make(outages=(outage,))
    end = START + timedelta(hours=2)
    sim.device_changes(clock.now)
    assert sim.next_change(clock.now, end, lambda ids: []) == outage[0]
    clock.now = outage[1]
    assert sim.next_change(clock.now, end, lambda ids: []) == outage[1]
    clock.now = outage[1] + timedelta(minutes=1)
    assert sim.next_change(clock.now, end, lambda ids: []) == end


# ------------------------------------------------------------------- remembered facts
# The simulator remembers pure per-device facts (natural periods per day, the last
# instant's day, baseline health, what a device reports per release instants passed, outage
# draws per hour, job statuses per state). Asked in any order, or after a jump, they must
# equal what a device with nothing remembered says.

TROUBLE = dataclasses.replace(
    NONE,
    offline_server=0.5,
    offline_shared=0.7,
    offline_single_user=0.9,
    hung_reboot=0.2,
    never_returns=0.1,
    health_regression=0.5,
    baseline_check_failure=0.2,
    wake_failure=0.3,
    wake_failure_single_user=0.3,
    pending_reboot=0.3,
    install_failure=0.3,
)


def _forgetful(sim: Simulator, cid: str) -> tuple[Any, Any]:
    """A copy of the device with nothing remembered, and a model with nothing remembered."""
    from patchdesk.connectors.sim.device import DeviceModel

    device = copy.deepcopy(sim._devices[cid])
    device.periods.clear()
    device.cache_day = -1
    device.healthy = None
    device.reported_rank = -1
    return device, DeviceModel(sim.model.rates, sim.model.timings)


def _facts(sim: Simulator, model: Any, device: Any, at: datetime) -> tuple[Any, ...]:
    day = int(at.timestamp() // 86_400)
    return (
        model.is_down(device, at),
        model.status(device, at),
        model.health(device, at),
        model.needs_reboot(device, at),
        tuple(model.natural_periods(device, day)),
        sim.book.reported(device, at),
    )


def test_remembered_facts_are_right_in_any_order_of_instants() -> None:
    sim, clock = make(fleet(12), rates=TROUBLE, seed=5)
    for round_ in range(12):  # installs, reboots and wakes, so every record has something
        for cid in sim.device_ids():
            install_all(sim, cid, key=f"i{round_}:{cid}")
            sim.reboot(cid, allow_deferral=False, deferral_minutes=0, idempotency_key=f"r{round_}")
            sim.wake(cid)
        clock.advance(hours=5)
    rng = random.Random(3)
    # Backwards, forwards, the same instant twice, jumps of days, across releases.
    instants = [START + timedelta(minutes=rng.randrange(-5 * 1440, 5 * 1440)) for _ in range(80)]
    instants += [instants[0], instants[0], START - timedelta(days=30), START + timedelta(days=30)]
    for cid in sim.device_ids():
        device = sim._devices[cid]
        for at in instants:
            fresh, model = _forgetful(sim, cid)
            assert _facts(sim, sim.model, device, at) == _facts(sim, model, fresh, at), (cid, at)


def test_a_wake_cut_reaches_remembered_natural_periods() -> None:
    rates = dataclasses.replace(NONE, offline_single_user=1.0)
    sim, clock = make([laptop()], rates=rates)
    device = sim._devices["ws-1"]
    day = int(START.timestamp() // 86_400)
    (start, end), *_ = [*sim.model.natural_periods(device, day + 1)]
    clock.now = start + (end - start) / 2
    assert sim.model.is_down(device, clock.now)  # the day's periods are remembered now
    assert sim.wake("ws-1") is True
    (_start, cut), *_ = [*sim.model.natural_periods(device, day + 1)]
    assert cut < end  # the remembered period was forgotten and drawn again, cut
    clock.now = cut
    assert status(sim, "ws-1").online is True
    fresh, model = _forgetful(sim, "ws-1")
    assert _facts(sim, sim.model, device, clock.now) == _facts(sim, model, fresh, clock.now)


def test_reported_patches_follow_release_instants_both_ways() -> None:
    sim, clock = make([laptop()])
    device = sim._devices["ws-1"]
    releases = sorted({entry.released_at for entry in sim.catalogue})
    later = [at for at in releases if at > START][:2]
    asked = [START, *later, START, releases[0] - timedelta(seconds=1), *reversed(later)]
    for at in asked:
        fresh, _model = _forgetful(sim, "ws-1")
        assert sim.book.reported(device, at) == sim.book.reported(fresh, at)
    job = install_all(sim, "ws-1")
    done = finish(sim, clock, job)
    assert done.state is JobState.SUCCEEDED
    assert sim.book.reported(device, clock.now) == ()  # installs apply to the remembered list
    assert sim.book.reported(device, START) != ()  # before the install finished: missing


def test_job_statuses_are_right_asked_in_any_order() -> None:
    sim, _clock = make([laptop()], timings=FIXED)
    job_id = install_all(sim, "ws-1")
    job = sim._jobs[job_id]
    assert job.started_at is not None
    assert job.finished_at is not None
    queued, running, done = START, job.started_at, job.finished_at
    order = [done, queued, running, done, running, queued]
    states = [job.status(at).state for at in order]
    assert states == [
        JobState.SUCCEEDED,
        JobState.QUEUED,
        JobState.RUNNING,
        JobState.SUCCEEDED,
        JobState.RUNNING,
        JobState.QUEUED,
    ]
    fresh = dataclasses.replace(job)  # a job with no status built yet
    assert [job.status(at) for at in order] == [fresh.status(at) for at in order]


def test_remembered_outage_draws_are_right_in_any_order() -> None:
    rates = dataclasses.replace(NONE, outage_per_hour=0.3)
    sim, _clock = make(rates=rates, seed=9)
    rng = random.Random(4)
    # More hours than are remembered at once, asked out of order.
    instants = [START + timedelta(minutes=rng.randrange(-40 * 1440, 40 * 1440)) for _ in range(600)]
    elsewhere = timezone(timedelta(hours=-5))
    for at in instants:
        fresh, _ = make(rates=rates, seed=9)
        assert sim.in_outage(at) == fresh.in_outage(at), at
        # The same instant asked in another zone: the same outage, in that zone.
        for zone in (elsewhere, UTC):
            found = sim.outages.at(at.astimezone(zone))
            assert found == fresh.outages.at(at)
            assert found is None or found[0].tzinfo is zone
        assert sim.outages.first_change(at, at + timedelta(hours=6)) == fresh.outages.first_change(
            at, at + timedelta(hours=6)
        )
