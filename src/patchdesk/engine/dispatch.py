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

from patchdesk.connectors.base import Connector
from patchdesk.domain import RebootPolicy, Role, TargetState, tier_of
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.skips import screen
from patchdesk.engine.step import Step
from patchdesk.store.db import Session
from patchdesk.store.dispatch_views import (
    Candidate,
    candidates,
    open_at,
    servers_in_flight,
    target_counts,
)
from patchdesk.store.events import record_event
from patchdesk.store.patch_views import vendor_ids as vendor_ids_of
from patchdesk.store.target_rows import (
    DeviceRow,
    TargetRow,
    load_devices,
    load_targets,
    load_windows,
    save,
)


def idempotency_key(target_id: int, attempt: int) -> str:
    return f"pd-t{target_id}-a{attempt}"


def dispatch(step: Step) -> None:
    session, now, config = step.session, step.now, step.config
    open_rows = open_at(session, now)
    if not open_rows:
        return
    in_flight: Counter[int] = Counter()
    pending: Counter[int] = Counter()
    for deployment_id, state, count in target_counts(session, [row.id for row in open_rows]):
        (pending if state is TargetState.PENDING else in_flight)[deployment_id] += count
    emergency = config.emergency_max_concurrent  # an emergency deployment has no window
    limits = {
        row.id: emergency if row.max_concurrent is None else row.max_concurrent for row in open_rows
    }
    free = {
        deployment_id: limit - in_flight[deployment_id]
        for deployment_id, limit in limits.items()
        if limit > in_flight[deployment_id] and pending[deployment_id]
    }
    if not free:
        return
    servers = servers_in_flight(session)
    # Clients with all the servers in flight they may have: none of theirs can be chosen.
    full = sorted(client for client, n in servers.items() if n >= config.servers_per_client)
    by_deployment = _candidates(session, free, now, full)
    chosen: list[tuple[int, int | None, datetime]] = []  # (target, window, its end), in order
    devices: set[int] = set()  # one target per device this step, too
    for deployment_id, window_id, end, _ in open_rows:
        room = free.get(deployment_id, 0)
        for candidate in by_deployment.get(deployment_id, ()):
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
        _dispatch_all(session, step.connector, chosen, now, config)
        step.counts.dispatched += len(chosen)


def _candidates(
    session: Session, room: Mapping[int, int], now: datetime, full: Sequence[str] = ()
) -> dict[int, list[Candidate]]:
    """Per deployment, its pending targets on online devices, in dispatch order (by device
    tier, servers first, then target id): every server (but those of the clients in
    ``full``), and as many others as ``room`` lets it dispatch (the rest could not be chosen
    this step)."""
    found: dict[int, list[Candidate]] = {}
    for row in candidates(session, room, now, full):
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
    vendor = vendor_ids_of(session, patch_ids)
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
