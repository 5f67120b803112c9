"""The one protocol every fleet speaks (docs/architecture.md: a new connector).

A connector reports devices and the patches they miss, installs patches as jobs, reboots
devices, reports job results and health checks. Two failures must never be confused:

- the *connector* is unreachable (the RMM's API is down, a monitoring blackout): every call
  raises :class:`ConnectorUnavailable`, and the engine marks devices ``unknown``;
- a *device* is offline: the connector answers, and says so (``DeviceStatus.online`` false).

Everything a connector returns is untrusted text (hostnames, titles, error messages).
Times are aware UTC. Calls that change a device carry an idempotency key: repeating a call
with the same key returns the first call's result and never acts twice.

A connector that can tell which devices and jobs changed since an instant also implements
:class:`ReportsChanges`; the engine then asks it for those instead of listing the whole
fleet and polling every job at every step. A connector that was given the devices to manage
and refused some (the simulator standing in for the store's devices) says which in
:class:`RefusesDevices`; the engine alerts on each and leaves it alone (``engine.links``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from patchdesk.domain import MissingPatch as MissingPatch
from patchdesk.domain import RebootPolicy


class ConnectorUnavailable(Exception):
    """The connector itself cannot be reached; says nothing about any device."""


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    connector_id: str
    online: bool
    last_seen: datetime | None  # the latest check-in
    last_boot: datetime | None  # the boot time the device last reported
    needs_reboot: bool  # a reboot is pending on the device
    maintenance_mode: bool = False


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class PatchResult:
    vendor_id: str
    succeeded: bool
    error_code: str | None = None


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: JobState
    started_at: datetime | None = None
    finished_at: datetime | None = None
    patches: tuple[PatchResult, ...] = ()
    error_code: str | None = None  # the job's first error, as the RMM reports it
    message: str | None = None
    needs_reboot: bool = False  # the install left a reboot pending


class RebootOutcome(StrEnum):
    ACCEPTED = "accepted"  # the reboot command was sent to the device
    DEFERRED = "deferred"  # the logged-in user postponed it (only when deferral was allowed)
    OFFLINE = "offline"  # the device is not reachable, nothing was sent


@dataclass(frozen=True)
class RebootResult:
    outcome: RebootOutcome
    at: datetime  # when the command was sent (or refused/deferred)
    deferred_until: datetime | None = None


class Connector(Protocol):
    """What the engine needs from a fleet. Every method may raise ConnectorUnavailable."""

    name: str

    def devices(self) -> Sequence[DeviceStatus]:
        """Every device the connector manages, with its current status."""
        ...

    def missing_patches(self, connector_ids: Sequence[str]) -> Mapping[str, Sequence[MissingPatch]]:
        """For each device, the patches it is missing now."""
        ...

    def install(
        self,
        connector_id: str,
        vendor_ids: Sequence[str],
        *,
        reboot_policy: RebootPolicy,
        idempotency_key: str,
    ) -> str:
        """Start installing; returns a job id. Never reboots (the engine asks for that).

        The same idempotency key returns the same job id and installs nothing again.
        """
        ...

    def job_status(self, job_ids: Sequence[str]) -> Mapping[str, JobStatus]: ...

    def reboot(
        self,
        connector_id: str,
        *,
        allow_deferral: bool,
        deferral_minutes: int,
        idempotency_key: str,
    ) -> RebootResult:
        """Ask the device to reboot; a user may postpone it when ``allow_deferral``."""
        ...

    def health(self, connector_ids: Sequence[str]) -> Mapping[str, Mapping[str, bool]]:
        """Health checks per device: check name -> passing (empty: none reported)."""
        ...

    def wake(self, connector_id: str) -> bool:
        """Send wake-on-LAN (or the RMM's equivalent); True when it was sent."""
        ...

    def rollback(self, connector_id: str, vendor_id: str, *, idempotency_key: str) -> str:
        """Uninstall one patch; returns a job id (same key, same job)."""
        ...


@runtime_checkable
class ReportsChanges(Protocol):
    """Optional: a connector that can list only the devices and jobs that changed."""

    def device_changes(self, since: datetime) -> Sequence[DeviceStatus] | None:
        """Every device whose status may have changed at or after ``since`` (listing more is
        fine), with its current status; None when the connector cannot tell (then the engine
        asks ``devices()``)."""
        ...

    def job_changes(self, since: datetime) -> Mapping[str, JobStatus] | None:
        """Every job whose state may have changed at or after ``since`` (listing more is
        fine), with its current status; None when the connector cannot tell (then the engine
        asks ``job_status`` for every job it waits on)."""
        ...


@runtime_checkable
class RefusesDevices(Protocol):
    """Optional: the devices a connector was given to manage and refused (connector id ->
    why, untrusted text)."""

    refused_devices: Mapping[str, str]
