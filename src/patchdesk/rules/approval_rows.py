"""The approvals listing: each (client, patch) with its decisions and the devices they cover.

Decisions are made per device (``approval.decide``), but devices of one patch share a
decision unless their ring or an emergency sets them apart, so the listing groups the devices
of a patch by identical decision: a client without rings gets one row per patch, a client
with rings one row per ring (and one for devices in no ring), and an emergency one row for
its chosen devices. Pure: the store loads ``ClientApprovals``, this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from patchdesk.rules.approval import (
    ApprovalPolicy,
    Blocklist,
    Decision,
    ManualDecision,
    StateFilter,
    decide,
)
from patchdesk.rules.approval_rules import PatchFacts
from patchdesk.rules.rings import RingProgress, RingSpec


@dataclass(frozen=True)
class DeviceNeed:
    """An in-scope device that misses the patch, with its ring (None: no ring)."""

    device_id: int
    hostname: str
    ring: RingSpec | None


@dataclass(frozen=True)
class PatchNeed:
    """One patch a client's devices miss, the client's manual decisions on it (oldest
    first) and each ring's progress with it (by ring name)."""

    patch: PatchFacts
    devices: tuple[DeviceNeed, ...]
    decisions: tuple[ManualDecision, ...] = ()
    progress: Mapping[str, RingProgress] = field(default_factory=dict)


@dataclass(frozen=True)
class ClientApprovals:
    client_id: str
    policy: ApprovalPolicy
    needs: tuple[PatchNeed, ...]


@dataclass(frozen=True)
class ApprovalRow:
    """One decision for one patch of one client, and the devices it covers."""

    client_id: str
    patch: PatchFacts
    decision: Decision
    hostnames: tuple[str, ...]

    @property
    def devices(self) -> int:
        return len(self.hostnames)


def patch_rows(
    client_id: str,
    need: PatchNeed,
    *,
    policy: ApprovalPolicy,
    blocklist: Blocklist,
    now: datetime,
) -> list[ApprovalRow]:
    """The patch's devices grouped by decision: rows without a ring first, then by ring."""
    # A decision depends on the device only through its ring and the emergencies naming it,
    # so devices alike in both are decided once.
    chosen = frozenset().union(*(d.device_ids for d in need.decisions))
    decided: dict[tuple[RingSpec | None, int | None], Decision] = {}
    groups: dict[Decision, list[str]] = {}
    for device in need.devices:
        key = (device.ring, device.device_id if device.device_id in chosen else None)
        decision = decided.get(key)
        if decision is None:
            decision = decided[key] = decide(
                need.patch,
                device_id=device.device_id,
                ring=device.ring,
                policy=policy,
                blocklist=blocklist,
                decisions=need.decisions,
                progress=need.progress,
                now=now,
            )
        groups.setdefault(decision, []).append(device.hostname)
    positions = {ring.name: ring.position for ring in policy.rings}
    rows = [
        ApprovalRow(client_id, need.patch, decision, tuple(sorted(hostnames)))
        for decision, hostnames in groups.items()
    ]
    return sorted(rows, key=lambda row: positions.get(row.decision.ring or "", -1))


def client_rows(
    client: ClientApprovals, *, blocklist: Blocklist, now: datetime
) -> list[ApprovalRow]:
    """Every patch of the client, newest release first, then by patch id."""
    needs = sorted(client.needs, key=lambda n: n.patch.vendor_id)
    needs.sort(key=lambda n: n.patch.release_date, reverse=True)
    return [
        row
        for need in needs
        for row in patch_rows(
            client.client_id, need, policy=client.policy, blocklist=blocklist, now=now
        )
    ]


def filter_rows(rows: Iterable[ApprovalRow], state: StateFilter | None) -> list[ApprovalRow]:
    return [row for row in rows if state is None or row.decision.filter is state]
