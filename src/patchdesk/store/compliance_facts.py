"""The inputs of the compliance metric for one client at one instant (``rules.metrics``).

As of ``at``: the client's in-scope devices that existed then (the scope as it stands now:
scope changes are not versioned), the in-scope patches each needed by then
(``device_patches`` detected by ``at``; installed by ``at`` when ``installed_at`` is), each
pair's approval decision at ``at`` (``rules.approval.decide`` with ``now=at``: decisions
made later, block-list entries added later and ring progress reached later do not count),
the occurrences of the client's active windows that apply to the device and ended by ``at``
(a year back at most), and for emergency approvals the end of their emergency deployment.
A (device, patch) pair a technician had excluded at ``at`` (``store.exclusions``) is not due,
as a patch not approved for the device is not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from patchdesk.domain import FailureClass, MissingPatchState
from patchdesk.rules.approval import (
    ApprovalPolicy,
    ApprovalState,
    BlockEntry,
    Blocklist,
    Decision,
    decide,
)
from patchdesk.rules.approval_rules import PatchFacts
from patchdesk.rules.calendar import occurrences
from patchdesk.rules.metrics.compliance import DeviceFacts, Interval, PairFacts
from patchdesk.rules.narrowing import applies
from patchdesk.rules.rings import (
    DeviceOutcome,
    Outcome,
    RingProgress,
    RingSpec,
    outcome_of,
    ring_of,
    ring_progress,
)
from patchdesk.rules.scope import device_in_scope, patch_in_scope
from patchdesk.store.approval_inputs import patch_facts
from patchdesk.store.approval_policy import (
    decisions_of,
    load_rings,
    load_rules,
    load_scope,
    scoped_device,
)
from patchdesk.store.exclusions import pairs_at
from patchdesk.store.models import (
    BlockedPatch,
    Client,
    Deployment,
    Device,
    DevicePatch,
    MaintenanceWindow,
    Patch,
    PatchException,
    Site,
    Target,
    TargetPatch,
)
from patchdesk.store.window_views import spec_of

LOOKBACK = timedelta(days=366)


@dataclass(frozen=True)
class ClientComplianceFacts:
    client_id: str
    at: datetime
    devices: tuple[DeviceFacts, ...]
    hostnames: dict[int, str]


@dataclass(frozen=True)
class _Device:
    id: int
    hostname: str
    ring: RingSpec | None
    windows: tuple[Interval, ...]


@dataclass(frozen=True)
class _Pair:
    device_id: int
    patch_id: int
    installed: bool


def compliance_facts(session: Session, client_id: str, at: datetime) -> ClientComplianceFacts:
    client = session.get(Client, client_id)
    if client is None:
        return ClientComplianceFacts(client_id, at, (), {})
    zone = ZoneInfo(client.timezone)
    policy = ApprovalPolicy(load_rules(session, client_id), load_rings(session, client_id), zone)
    devices = _devices(session, client_id, zone, policy.rings, at)
    pairs, patches = _pairs(session, client_id, devices, at)
    patch_ids = sorted(patches)
    decisions = {
        patch_id: found
        for (_, patch_id), found in decisions_of(
            session, [(client_id, p) for p in patch_ids]
        ).items()
    }
    excluded = pairs_at(session, client_id, at)
    counted = [p for p in pairs if (p.device_id, p.patch_id) not in excluded]
    progress = _progress(session, client_id, patch_ids, devices, counted, policy.rings, at)
    blocklist = _blocklist(session, at)
    emergency_ends = _emergency_ends(session, client_id)
    chosen = {
        patch_id: frozenset().union(*(d.device_ids for d in found))
        for patch_id, found in decisions.items()
    }
    cache: dict[tuple[int, RingSpec | None, int | None], Decision] = {}
    by_device: dict[int, list[PairFacts]] = defaultdict(list)
    for pair in pairs:
        device = devices[pair.device_id]
        if (pair.device_id, pair.patch_id) in excluded:
            by_device[device.id].append(PairFacts(pair.patch_id, pair.installed, None))
            continue
        emergency_key = device.id if device.id in chosen.get(pair.patch_id, ()) else None
        key = (pair.patch_id, device.ring, emergency_key)
        decision = cache.get(key)
        if decision is None:
            decision = cache[key] = decide(
                patches[pair.patch_id],
                device_id=device.id,
                ring=device.ring,
                policy=policy,
                blocklist=blocklist,
                decisions=decisions.get(pair.patch_id, ()),
                progress=progress.get(pair.patch_id, {}),
                now=at,
            )
        by_device[device.id].append(_pair_facts(pair, decision, emergency_ends))
    facts = tuple(
        DeviceFacts(device.id, device.windows, tuple(by_device.get(device.id, ())))
        for device in devices.values()
    )
    return ClientComplianceFacts(
        client_id, at, facts, {device.id: device.hostname for device in devices.values()}
    )


def _pair_facts(pair: _Pair, decision: Decision, emergency_ends: dict[int, datetime]) -> PairFacts:
    if decision.state is not ApprovalState.APPROVED:
        return PairFacts(pair.patch_id, pair.installed, None)
    until = None
    if decision.emergency and decision.manual is not None and decision.manual.id is not None:
        until = emergency_ends.get(decision.manual.id)
    return PairFacts(pair.patch_id, pair.installed, decision.approved_from, until)


def _devices(
    session: Session, client_id: str, zone: ZoneInfo, rings: Sequence[RingSpec], at: datetime
) -> dict[int, _Device]:
    scope = load_scope(session, client_id)
    windows = session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.client_id == client_id, MaintenanceWindow.active)
        .options(selectinload(MaintenanceWindow.blackouts))
        .order_by(MaintenanceWindow.name)
    ).all()
    passed = {
        window.id: tuple(
            Interval(o.start_utc, o.end_utc)
            for o in occurrences(spec_of(window), zone, at - LOOKBACK, at)
            if o.end_utc <= at
        )
        for window in windows
    }
    rows = session.execute(
        select(Device, Site.name)
        .outerjoin(Site, Site.id == Device.site_id)
        .where(Device.client_id == client_id, Device.created_at <= at)
        .order_by(Device.hostname, Device.id)
    ).all()
    found: dict[int, _Device] = {}
    for device, site in rows:
        if not device_in_scope(scope, scoped_device(device, site)):
            continue
        intervals = sorted(
            (
                interval
                for window in windows
                if applies(window, device.role, device.tags, site)
                for interval in passed[window.id]
            ),
            key=lambda i: (i.start, i.end),
        )
        found[device.id] = _Device(
            device.id, device.hostname, ring_of(device.tags, rings), tuple(intervals)
        )
    return found


def _pairs(
    session: Session, client_id: str, devices: dict[int, _Device], at: datetime
) -> tuple[list[_Pair], dict[int, PatchFacts]]:
    scope = load_scope(session, client_id)
    rows = session.execute(
        select(
            DevicePatch.device_id,
            DevicePatch.patch_id,
            DevicePatch.state,
            DevicePatch.installed_at,
        )
        .join(Device, Device.id == DevicePatch.device_id)
        .where(Device.client_id == client_id, DevicePatch.detected_at <= at)
        .order_by(DevicePatch.device_id, DevicePatch.patch_id)
    ).all()
    patch_rows = session.scalars(select(Patch).where(Patch.id.in_({r[1] for r in rows}))).all()
    patches = {
        patch.id: patch_facts(patch)
        for patch in patch_rows
        if patch_in_scope(scope, patch.classification, patch.product)
    }
    pairs = [
        _Pair(
            device_id,
            patch_id,
            state is MissingPatchState.INSTALLED and (installed_at is None or installed_at <= at),
        )
        for device_id, patch_id, state, installed_at in rows
        if device_id in devices and patch_id in patches
    ]
    return pairs, patches


def _blocklist(session: Session, at: datetime) -> Blocklist:
    return Blocklist(
        BlockEntry(row.patch_vendor_id, row.reason, row.blocked_by, row.blocked_at)
        for row in session.scalars(select(BlockedPatch).where(BlockedPatch.blocked_at <= at))
    )


def _emergency_ends(session: Session, client_id: str) -> dict[int, datetime]:
    rows = session.execute(
        select(Deployment.approval_decision_id, Deployment.occurrence_end).where(
            Deployment.client_id == client_id, Deployment.approval_decision_id.is_not(None)
        )
    )
    return {int(decision_id): end for decision_id, end in rows if decision_id is not None}


_OUTCOMES = (
    select(
        TargetPatch.patch_id,
        Target.device_id,
        Target.state,
        TargetPatch.state,
        Target.verified_at,
        Target.updated_at,
    )
    .join(Target, TargetPatch.target_id == Target.id)
    .join(Deployment, Target.deployment_id == Deployment.id)
    .where(
        Deployment.client_id == bindparam("client"),
        Deployment.opened_at <= bindparam("at"),
        TargetPatch.patch_id.in_(bindparam("patches", expanding=True)),
    )
    .order_by(Deployment.occurrence_start, Target.id)
)


def _progress(
    session: Session,
    client_id: str,
    patch_ids: Sequence[int],
    devices: dict[int, _Device],
    pairs: Sequence[_Pair],
    rings: Sequence[RingSpec],
    at: datetime,
) -> dict[int, dict[str, RingProgress]]:
    """Each ring's progress with each patch as it stood at ``at``: an outcome reached later
    was still in progress then."""
    if not rings or not patch_ids:
        return {}
    outcomes: dict[tuple[int, str], list[DeviceOutcome]] = defaultdict(list)
    params = {"client": client_id, "at": at, "patches": list(patch_ids)}
    for patch_id, device_id, target_state, patch_state, verified_at, updated_at in session.execute(
        _OUTCOMES, params
    ):
        device = devices.get(device_id)
        if device is None or device.ring is None:
            continue
        outcome = outcome_of(target_state, patch_state)
        reached = verified_at if outcome is Outcome.SUCCEEDED and verified_at else updated_at
        if reached > at:
            outcome, reached = Outcome.IN_PROGRESS, at
        outcomes[(patch_id, device.ring.name)].append(DeviceOutcome(device_id, outcome, reached))
    needing: dict[tuple[int, str], int] = defaultdict(int)
    for pair in pairs:
        ring = devices[pair.device_id].ring
        if ring is not None and not pair.installed:
            needing[(pair.patch_id, ring.name)] += 1
    regressions = _regressions(session, client_id, patch_ids, devices, at)
    return {
        patch_id: {
            ring.name: ring_progress(
                outcomes.get((patch_id, ring.name), ()),
                needing=needing[(patch_id, ring.name)],
                open_regressions=regressions.get((patch_id, ring.name), 0),
            )
            for ring in rings
        }
        for patch_id in patch_ids
    }


def _regressions(
    session: Session,
    client_id: str,
    patch_ids: Sequence[int],
    devices: dict[int, _Device],
    at: datetime,
) -> dict[tuple[int, str], int]:
    """Regression exceptions naming the patch that were open at ``at``."""
    wanted = set(patch_ids)
    rows = session.execute(
        select(PatchException.device_id, PatchException.patch_ids, PatchException.resolved_at)
        .where(
            PatchException.client_id == client_id,
            PatchException.failure_class == FailureClass.REGRESSION,
            PatchException.opened_at <= at,
        )
        .order_by(PatchException.id)
    )
    found: dict[tuple[int, str], int] = defaultdict(int)
    for device_id, named, resolved_at in rows:
        device = devices.get(device_id)
        if device is None or device.ring is None or (resolved_at is not None and resolved_at <= at):
            continue
        for patch_id in set(named) & wanted:
            found[(patch_id, device.ring.name)] += 1
    return found
