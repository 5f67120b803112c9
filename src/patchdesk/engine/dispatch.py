"""Step 2: dispatch pending targets of open windows, within their limits.

Limits: the window's ``max_concurrent`` targets in flight per deployment, and at most
``servers_per_client`` servers of one client in flight at once (a client never loses all
its servers together). Only devices the connector reports online are dispatched; the others
wait (and are *missed* if the window closes first). Servers go first, then by device tier.
A device is never sent two installs at once: a target whose device has another target in
flight (overlapping windows, an emergency) waits until that one has settled.

The idempotency key is a function of the target and its attempt number, both stored, so a
step that crashes between the connector call and the write repeats the call with the same
key and gets the same job back: nothing is installed twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from patchdesk.connectors.base import Connector
from patchdesk.domain import (
    IN_FLIGHT,
    Criticality,
    DeploymentState,
    RebootPolicy,
    Role,
    TargetState,
    tier_of,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.rows import (
    DeviceRow,
    TargetRow,
    load_devices,
    load_targets,
    load_windows,
    save,
)
from patchdesk.engine.skips import screen
from patchdesk.store import direct
from patchdesk.store.events import record_event
from patchdesk.store.models import Deployment, Device, MaintenanceWindow, Patch, Target


def idempotency_key(target_id: int, attempt: int) -> str:
    return f"pd-t{target_id}-a{attempt}"


_SERVERS_IN_FLIGHT = (
    select(Device.client_id)
    .join(Target, Target.device_id == Device.id)
    .where(Target.state.in_(IN_FLIGHT), Device.role == Role.SERVER)
)


def _servers_in_flight(session: Session) -> Counter[str]:
    return Counter(direct.scalars(session.connection(), _SERVERS_IN_FLIGHT))


_OPEN = (
    select(
        Deployment.id,
        MaintenanceWindow.id,
        Deployment.occurrence_end,
        MaintenanceWindow.max_concurrent,
    )
    .outerjoin(MaintenanceWindow, Deployment.window_id == MaintenanceWindow.id)
    .where(
        Deployment.state == DeploymentState.OPEN,
        Deployment.occurrence_start <= bindparam("now"),
        Deployment.occurrence_end > bindparam("now"),
    )
    .order_by(Deployment.id)
)
# (Pending targets count only on an online device: those are the ones dispatch can choose.)
_COUNTS = (
    select(Target.deployment_id, Target.state, func.count())
    .join(Device, Target.device_id == Device.id)
    .where(
        Target.deployment_id.in_(bindparam("deployments", expanding=True)),
        Target.state.in_((TargetState.PENDING, *IN_FLIGHT)),
        (Target.state != TargetState.PENDING) | Device.online.is_(True),
    )
    .group_by(Target.deployment_id, Target.state)
)


def dispatch(
    session: Session,
    connector: Connector,
    now: datetime,
    config: EngineConfig,
    report: StepCounts,
) -> None:
    open_rows = direct.rows(session.connection(), _OPEN, {"now": now})
    if not open_rows:
        return
    in_flight: Counter[int] = Counter()
    pending: Counter[int] = Counter()
    for deployment_id, state, count in direct.rows(
        session.connection(), _COUNTS, {"deployments": [row[0] for row in open_rows]}
    ):
        (pending if state is TargetState.PENDING else in_flight)[deployment_id] += count
    limits = {  # an emergency deployment (no window) has the config's limit
        row[0]: config.emergency_max_concurrent if row[3] is None else row[3] for row in open_rows
    }
    free = {
        deployment_id: limit - in_flight[deployment_id]
        for deployment_id, limit in limits.items()
        if limit > in_flight[deployment_id] and pending[deployment_id]
    }
    if not free:
        return
    servers = _servers_in_flight(session)
    # Clients with all the servers in flight they may have: none of theirs can be chosen.
    full = sorted(client for client, n in servers.items() if n >= config.servers_per_client)
    candidates = _candidates(session, free, now, full)
    chosen: list[tuple[int, int | None, datetime]] = []  # (target, window, its end), in order
    devices: set[int] = set()  # one target per device this step, too
    for deployment_id, window_id, end, _ in open_rows:
        room = free.get(deployment_id, 0)
        for candidate in candidates.get(deployment_id, ()):
            if room <= 0:
                break
            if candidate.next_action_at and candidate.next_action_at > now:
                continue
            if candidate.device_id in devices:
                continue
            if candidate.role is Role.SERVER:
                if servers[candidate.client_id] >= config.servers_per_client:
                    continue
                servers[candidate.client_id] += 1
            chosen.append((candidate.id, window_id, end))
            devices.add(candidate.device_id)
            room -= 1
    if chosen:  # less those skipped or trimmed to nothing since the window opened
        still = set(screen(session, [target_id for target_id, _, _ in chosen], now))
        chosen = [choice for choice in chosen if choice[0] in still]
    if chosen:
        _dispatch_all(session, connector, chosen, now, config)
        report.dispatched += len(chosen)


# The pending targets whose device is online (the others wait), with what dispatch needs.
_COLUMNS = (
    Target.id,
    Target.deployment_id,
    Target.device_id,
    Target.next_action_at,
    Device.role,
    Device.criticality,
    Device.client_id,
)
_OTHER = aliased(Target)
_PENDING_ONLINE = (
    Target.deployment_id.in_(bindparam("deployments", expanding=True)),
    Target.state == TargetState.PENDING,
    Device.online.is_(True),
    ~exists().where(_OTHER.device_id == Target.device_id, _OTHER.state.in_(IN_FLIGHT)),
)
_SERVERS = (
    select(*_COLUMNS)
    .join(Device, Target.device_id == Device.id)
    .where(*_PENDING_ONLINE, Device.role == Role.SERVER)
)
# The same, less the servers of clients that have all the servers in flight they may have
# (a client's servers wait one at a time: most pending servers are theirs, step after step).
_SERVERS_OF_OTHERS = _SERVERS.where(Device.client_id.not_in(bindparam("full", expanding=True)))
# The others by deployment in dispatch order (tier, then id), only as many as there is room
# for: those waiting before a retry (``next_action_at``) are passed over anyway.
_RANKED = (
    select(
        *_COLUMNS,
        func.row_number()
        .over(
            partition_by=Target.deployment_id,
            order_by=(
                case((Device.role == Role.SHARED_WORKSTATION, 3), else_=4),
                Target.id,
            ),
        )
        .label("rank"),
    )
    .join(Device, Target.device_id == Device.id)
    .where(
        *_PENDING_ONLINE,
        Device.role != Role.SERVER,
        or_(Target.next_action_at.is_(None), Target.next_action_at <= bindparam("now")),
    )
    .subquery()
)
_OTHERS = select(*(_RANKED.c[c.key] for c in _COLUMNS)).where(_RANKED.c.rank <= bindparam("room"))


class Candidate(NamedTuple):
    """A pending target dispatch may choose (the columns of ``_COLUMNS``)."""

    id: int
    deployment_id: int
    device_id: int
    next_action_at: datetime | None
    role: Role
    criticality: Criticality
    client_id: str


def _candidates(
    session: Session, room: Mapping[int, int], now: datetime, full: Sequence[str] = ()
) -> dict[int, list[Candidate]]:
    """Per deployment, its pending targets on online devices, in dispatch order (by device
    tier, servers first, then target id): every server (but those of the clients in
    ``full``), and as many others as ``room`` lets it dispatch (the rest could not be chosen
    this step)."""
    found: dict[int, list[Candidate]] = {}
    deployments = {"deployments": sorted(room)}
    if full:
        params = {**deployments, "full": list(full)}
        servers = direct.rows(session.connection(), _SERVERS_OF_OTHERS, params)
    else:
        servers = direct.rows(session.connection(), _SERVERS, deployments)
    others = direct.rows(
        session.connection(), _OTHERS, {**deployments, "now": now, "room": max(room.values())}
    )
    for values in (*servers, *others):
        row = Candidate(*values)
        found.setdefault(row.deployment_id, []).append(row)
    for rows in found.values():
        rows.sort(key=lambda row: (tier_of(row.role, row.criticality).value, row.id))
    return found


def _dispatch_all(
    session: Session,
    connector: Connector,
    chosen: list[tuple[int, int | None, datetime]],
    now: datetime,
    config: EngineConfig,
) -> None:
    """Dispatch these targets (in this order), each with its next attempt's key."""
    targets = {target.id: target for target in load_targets(session, [c[0] for c in chosen])}
    policies: dict[int | None, RebootPolicy] = {None: config.emergency_reboot_policy}
    windows = load_windows(session, {c[1] for c in chosen if c[1] is not None})
    policies.update((window_id, window.reboot_policy) for window_id, window in windows.items())
    devices = load_devices(session, {target.device_id for target in targets.values()})
    patch_ids = sorted({p.patch_id for target in targets.values() for p in target.patches})
    vendor = dict(direct.rows(session.connection(), _VENDOR_IDS, {"ids": patch_ids}))
    baseline = [
        devices[t.device_id].connector_id for t in targets.values() if t.health_before is None
    ]
    health = connector.health([cid for cid in baseline if cid]) if baseline else {}
    for target_id, window_id, end in chosen:
        target = targets[target_id]
        device = devices[target.device_id]
        assert device.connector_id is not None
        if target.health_before is None:
            target.health_before = dict(health.get(device.connector_id, {}))
        vendor_ids = sorted(vendor[p.patch_id] for p in target.patches)
        _dispatch_one(session, connector, target, device, policies[window_id], vendor_ids, now)
        target.check_at = end  # the install's result is due by the window's end
    save(session, list(targets.values()))


_VENDOR_IDS = select(Patch.id, Patch.vendor_id).where(
    Patch.id.in_(bindparam("ids", expanding=True))
)


def _dispatch_one(
    session: Session,
    connector: Connector,
    target: TargetRow,
    device: DeviceRow,
    reboot_policy: RebootPolicy,
    vendor_ids: list[str],
    now: datetime,
) -> None:
    assert device.connector_id is not None
    attempt = target.attempts + 1
    key = idempotency_key(target.id, attempt)
    job_id = connector.install(
        device.connector_id, vendor_ids, reboot_policy=reboot_policy, idempotency_key=key
    )
    target.attempts = attempt
    target.idempotency_key = key
    target.job_id = job_id
    target.state = TargetState.DISPATCHED
    target.dispatched_at = now
    target.next_action_at = None
    target.error_code = None
    target.error_message = None
    target.updated_at = now
    record_event(
        session,
        at=now,
        kind="target.dispatched",
        entity="target",
        entity_id=target.id,
        client_id=device.client_id,
        payload={"device": device.hostname, "attempt": attempt, "patches": len(vendor_ids)},
    )
