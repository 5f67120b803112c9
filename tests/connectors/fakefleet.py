"""A scripted fleet for engine tests: each device does exactly what the test says.

Lazy: a device's state is computed from the test's clock when asked. Behaviours per device:
install ``ok``/``fail``/``hang`` (never finishes), reboot ``ok``/``hang`` (never boots)/
``lost`` (boots, never checks in)/``skip`` (keeps checking in, never reboots), user
deferrals (how many times the user postpones), health checks that fail after the reboot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from patchdesk.connectors.base import (
    ConnectorUnavailable,
    DeviceStatus,
    JobState,
    JobStatus,
    MissingPatch,
    PatchResult,
    RebootOutcome,
    RebootResult,
)
from patchdesk.domain import Classification, RebootPolicy, Severity

PATCH = MissingPatch(
    vendor_id="KB5072033",
    title="2026-11 Cumulative Update for Windows 11 (KB5072033)",
    vendor="Microsoft",
    product="Windows 11",
    classification=Classification.SECURITY,
    severity=Severity.CRITICAL,
    release_date=date(2026, 11, 10),
    reboot_required=True,
)


@dataclass
class FakeDevice:
    connector_id: str
    online_from: datetime | None  # None: online from the start
    boot: datetime
    install: str = "ok"
    install_minutes: int = 10
    reboot: str = "ok"
    reboot_minutes: int = 5
    defers: int = 0
    health_fails_after_reboot: tuple[str, ...] = ()
    missing: list[MissingPatch] = field(default_factory=lambda: [PATCH])
    reboot_at: datetime | None = None
    deferred: int = 0
    installed: bool = False
    maintenance: bool = False  # the RMM's maintenance mode


@dataclass
class FakeJob:
    job_id: str
    device: str
    vendor_ids: tuple[str, ...]
    started: datetime


class FakeFleet:
    name = "fake"

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.devices_by_id: dict[str, FakeDevice] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.by_key: dict[str, object] = {}
        self.install_count: Counter[str] = Counter()
        self.reboot_count: Counter[str] = Counter()
        self.down = False

    def add(self, connector_id: str, **kwargs: object) -> FakeDevice:
        now = self.clock()
        device = FakeDevice(connector_id, None, now - timedelta(days=3), **kwargs)  # type: ignore[arg-type]
        self.devices_by_id[connector_id] = device
        return device

    def _check(self) -> None:
        if self.down:
            raise ConnectorUnavailable("fake outage")

    # -- device state, computed from the clock
    def _status(self, d: FakeDevice) -> DeviceStatus:
        now = self.clock()
        online = d.online_from is None or now >= d.online_from
        last_seen: datetime | None = now if online else None
        boot = d.boot
        if d.reboot_at is not None:
            back = d.reboot_at + timedelta(minutes=d.reboot_minutes)
            if d.reboot == "skip":
                pass
            elif d.reboot == "hang" or now < back:
                online, last_seen = False, d.reboot_at
            elif d.reboot == "lost":
                online, last_seen, boot = False, d.reboot_at, back
            else:
                boot = back
        return DeviceStatus(
            connector_id=d.connector_id,
            online=online,
            last_seen=last_seen,
            last_boot=boot,
            needs_reboot=d.installed and d.reboot_at is None,
            maintenance_mode=d.maintenance,
        )

    def devices(self) -> Sequence[DeviceStatus]:
        self._check()
        return [self._status(d) for d in self.devices_by_id.values()]

    def missing_patches(self, connector_ids: Sequence[str]) -> Mapping[str, Sequence[MissingPatch]]:
        self._check()
        return {cid: list(self.devices_by_id[cid].missing) for cid in connector_ids}

    def install(
        self,
        connector_id: str,
        vendor_ids: Sequence[str],
        *,
        reboot_policy: RebootPolicy,
        idempotency_key: str,
    ) -> str:
        self._check()
        if idempotency_key in self.by_key:
            return str(self.by_key[idempotency_key])
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = FakeJob(job_id, connector_id, tuple(vendor_ids), self.clock())
        self.by_key[idempotency_key] = job_id
        self.install_count[connector_id] += 1
        return job_id

    def job_status(self, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
        self._check()
        found = {}
        now = self.clock()
        for job_id in job_ids:
            job = self.jobs[job_id]
            device = self.devices_by_id[job.device]
            done = job.started + timedelta(minutes=device.install_minutes)
            if device.install == "hang" or now < done:
                found[job_id] = JobStatus(job_id, JobState.RUNNING, started_at=job.started)
            elif device.install == "fail":
                found[job_id] = JobStatus(
                    job_id,
                    JobState.FAILED,
                    job.started,
                    done,
                    tuple(PatchResult(v, False, "0x80070643") for v in job.vendor_ids),
                    "0x80070643",
                    "Installation Failure: Windows failed to install the following update",
                )
            else:
                device.installed = True
                device.missing = []
                found[job_id] = JobStatus(
                    job_id,
                    JobState.SUCCEEDED,
                    job.started,
                    done,
                    tuple(PatchResult(v, True) for v in job.vendor_ids),
                    needs_reboot=True,
                )
        return found

    def reboot(
        self,
        connector_id: str,
        *,
        allow_deferral: bool,
        deferral_minutes: int,
        idempotency_key: str,
    ) -> RebootResult:
        self._check()
        if idempotency_key in self.by_key:
            result = self.by_key[idempotency_key]
            assert isinstance(result, RebootResult)
            return result
        device = self.devices_by_id[connector_id]
        now = self.clock()
        if allow_deferral and device.deferred < device.defers:
            device.deferred += 1
            result = RebootResult(
                RebootOutcome.DEFERRED, now, now + timedelta(minutes=deferral_minutes)
            )
        else:
            device.reboot_at = now
            self.reboot_count[connector_id] += 1
            result = RebootResult(RebootOutcome.ACCEPTED, now)
        self.by_key[idempotency_key] = result
        return result

    def health(self, connector_ids: Sequence[str]) -> Mapping[str, Mapping[str, bool]]:
        self._check()
        found = {}
        for cid in connector_ids:
            device = self.devices_by_id[cid]
            rebooted = device.reboot_at is not None
            checks = {"service:Spooler": True, "http:intranet": True}
            for name in device.health_fails_after_reboot:
                checks[name] = not rebooted
            found[cid] = checks
        return found

    def wake(self, connector_id: str) -> bool:
        self._check()
        return True

    def rollback(self, connector_id: str, vendor_id: str, *, idempotency_key: str) -> str:
        self._check()
        return f"rollback-{vendor_id}"
