"""Patch compliance at an instant, pure.

Device level: the share of in-scope devices with no *approved and due* patch missing. A
patch is due on a device when it is approved for the device and at least one of the
device's maintenance-window occurrences has passed since the approval (started at or after
the approval and ended by the instant); an emergency approval is due once its emergency
deployment has ended. A device with nothing approved, or nothing due yet, is compliant.

Patch level: installed / approved-and-applicable, counted over (device, patch) pairs: every
in-scope patch an in-scope device needed (missing or installed) whose approval decision at
the instant is ``approved``; the numerator is those of them installed by the instant.

Both rates are None when their denominator is 0 (no devices; nothing approved).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction


@dataclass(frozen=True)
class Interval:
    """A window occurrence (or an emergency deployment), [start, end) in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class PairFacts:
    """One in-scope patch one device needs (or needed), as of the instant."""

    patch_id: int
    installed: bool
    approved_from: datetime | None  # None: not approved at the instant
    emergency_until: datetime | None = None  # approved as an emergency: its deployment's end


@dataclass(frozen=True)
class DeviceFacts:
    """An in-scope device: the occurrences of the windows that apply to it, and its pairs."""

    device_id: int
    windows: tuple[Interval, ...]
    pairs: tuple[PairFacts, ...]


@dataclass(frozen=True)
class ComplianceFigures:
    at: datetime
    devices: int
    compliant_devices: int
    approved_pairs: int
    installed_pairs: int
    # Devices with an approved, due patch missing, and how many such patches each.
    noncompliant: tuple[tuple[int, int], ...] = ()

    @property
    def device_rate(self) -> Fraction | None:
        return Fraction(self.compliant_devices, self.devices) if self.devices else None

    @property
    def patch_rate(self) -> Fraction | None:
        return Fraction(self.installed_pairs, self.approved_pairs) if self.approved_pairs else None

    @property
    def due_missing(self) -> int:
        return sum(count for _, count in self.noncompliant)


def is_due(pair: PairFacts, windows: Iterable[Interval], at: datetime) -> bool:
    """Approved at ``at`` and a window (or its emergency deployment) passed since."""
    approved = pair.approved_from
    if approved is None or approved > at:
        return False
    if pair.emergency_until is not None and pair.emergency_until <= at:
        return True
    return any(w.start >= approved and w.end <= at for w in windows)


def due_missing(device: DeviceFacts, at: datetime) -> int:
    """How many approved, due patches the device is missing at ``at``."""
    return sum(
        1 for pair in device.pairs if not pair.installed and is_due(pair, device.windows, at)
    )


def compliance(devices: Sequence[DeviceFacts], at: datetime) -> ComplianceFigures:
    """Both compliance figures over ``devices`` (the in-scope devices) at ``at``."""
    noncompliant = []
    approved = installed = 0
    for device in devices:
        missing = due_missing(device, at)
        if missing:
            noncompliant.append((device.device_id, missing))
        for pair in device.pairs:
            if pair.approved_from is not None and pair.approved_from <= at:
                approved += 1
                installed += pair.installed
    return ComplianceFigures(
        at=at,
        devices=len(devices),
        compliant_devices=len(devices) - len(noncompliant),
        approved_pairs=approved,
        installed_pairs=installed,
        noncompliant=tuple(noncompliant),
    )


def combined(figures: Iterable[ComplianceFigures], at: datetime) -> ComplianceFigures:
    """Several clients' figures as one (overall): counts add up, rates follow."""
    items = list(figures)
    return ComplianceFigures(
        at=at,
        devices=sum(f.devices for f in items),
        compliant_devices=sum(f.compliant_devices for f in items),
        approved_pairs=sum(f.approved_pairs for f in items),
        installed_pairs=sum(f.installed_pairs for f in items),
        noncompliant=tuple(pair for f in items for pair in f.noncompliant),
    )
