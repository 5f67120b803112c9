"""Step 1: open a deployment for every window occurrence that has started, with its targets;
close deployments whose window has ended and whose targets are all settled.

A target is an in-scope, not-in-maintenance-mode device the window applies to, with the
approved patches it misses (``rules.approval`` decides, rings respected). A device with
nothing approved gets no target; a device already in flight in another deployment, or
waiting there to be dispatched (windows of one client may overlap), is left to that one.
The missing patches of the window's devices are refreshed from the connector first, so the
targets match what the devices report now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import datetime
from typing import NamedTuple, cast

from patchdesk.connectors.base import Connector
from patchdesk.domain import ApprovalDecisionKind, TargetState
from patchdesk.engine.schedule import WindowSchedule
from patchdesk.engine.step import Step
from patchdesk.rules.approval import ApprovalState, Blocklist, decide
from patchdesk.rules.narrowing import Narrowed, applies_to, narrowness
from patchdesk.store.approval_inputs import DeviceRow, load_for_devices
from patchdesk.store.approval_policy import load_blocklist
from patchdesk.store.db import Session
from patchdesk.store.deployment_ops import add_targets, close_deployment, insert_deployment
from patchdesk.store.deployment_views import (
    ClientDevice,
    busy_devices,
    client_devices,
    deployed_occurrences,
    open_deployments,
    stored_window,
    unsettled,
    window_narrowing,
)
from patchdesk.store.events import record_event
from patchdesk.store.missing_refresh import record_reported
from patchdesk.store.patch_views import ids_by_vendor_id
from patchdesk.store.window_views import ClientWindow


def open_now(
    session: Session, now: datetime, schedule: WindowSchedule | None = None
) -> list[tuple[ClientWindow, datetime, datetime]]:
    """(window, start, end) of every occurrence open at ``now`` with no deployment yet.

    The schedule remembers occurrences found with a deployment (its caller opens one for
    each occurrence returned), so an open window costs no query after its first step.
    """
    schedule = schedule if schedule is not None else WindowSchedule()
    schedule.refresh(session)
    unknown = [
        (window, occurrence)
        for window, occurrence in schedule.open_at(now)
        if (window.window_id, occurrence.start_utc) not in schedule.deployed
    ]
    if not unknown:
        return []
    schedule.deployed.update(
        deployed_occurrences(
            session,
            sorted({window.window_id for window, _ in unknown}),
            sorted({occurrence.start_utc for _, occurrence in unknown}),
        )
    )
    found = [
        (window, occurrence.start_utc, occurrence.end_utc)
        for window, occurrence in unknown
        if (window.window_id, occurrence.start_utc) not in schedule.deployed
    ]
    schedule.deployed.update((window.window_id, start) for window, start, _ in found)
    return found


def opening_order(
    session: Session, found: Sequence[tuple[ClientWindow, datetime, datetime]]
) -> list[tuple[ClientWindow, datetime, datetime]]:
    """Occurrences starting together open narrowest window first: a device both a role's
    window and a catch-all window apply to is patched in its role's window (with that
    window's reboot policy), the catch-all keeping those no narrower window took."""

    def key(item: tuple[ClientWindow, datetime, datetime]) -> tuple[datetime, int, int]:
        window, start, _ = item
        row = stored_window(session, window.window_id)
        return (start, -(narrowness(row) if row is not None else 0), window.window_id)

    return sorted(found, key=key)


class Candidate(NamedTuple):
    id: int
    connector_id: str
    hostname: str


def reachable(
    session: Session,
    client_id: str,
    window: Narrowed | None = None,
    *,
    waiting_is_busy: bool = False,
) -> dict[int, Candidate]:
    """The client's devices the engine can reach and may patch now (with a connector id,
    not in maintenance mode, not in flight in a deployment; with ``waiting_is_busy`` not
    pending in another deployment either), those the window applies to."""
    busy = busy_devices(session, client_id, waiting_is_busy=waiting_is_busy)
    return _reachable_among(client_devices(session, client_id), busy, window)


def _opening_devices(
    session: Session, client_id: str, window: Narrowed
) -> tuple[list[ClientDevice], dict[int, Candidate]]:
    """The client's devices, and of them ``reachable(..., window, waiting_is_busy=True)``."""
    busy = busy_devices(session, client_id, waiting_is_busy=True)
    devices = client_devices(session, client_id)
    return devices, _reachable_among(devices, busy, window)


def _reachable_among(
    devices: Iterable[ClientDevice],
    busy: Set[int],
    window: Narrowed | None,
) -> dict[int, Candidate]:
    """``reachable`` from rows already read: a connector id, not in maintenance mode, not
    busy, the window (if any) applying to it; by id."""
    check = None if window is None else applies_to(window)
    return {
        device_id: Candidate(device_id, connector_id or "", hostname)
        for device_id, hostname, role, _, tags, site, connector_id, maintenance in devices
        if connector_id is not None
        and not maintenance
        and device_id not in busy
        and (check is None or check(role, tags, site))
    }


def refresh_missing(
    session: Session,
    connector: Connector,
    client_id: str,
    devices: Iterable[Candidate],
    now: datetime,
) -> dict[int, frozenset[int]]:
    """Record what the connector says these devices miss: patches added or reopened, and
    patches a device no longer reports marked installed (out of band: by hand, by another
    tool, superseded). A device the connector says nothing about is left as it was.

    Returns what the devices the connector answered for miss now (device id -> patch ids
    of its rows not installed: ``record_reported``'s)."""
    by_connector: dict[str, Candidate] = {}
    for device in devices:
        # Of devices sharing a connector id (only a database changed behind the schema's
        # back has them: ``engine.links``) the answer is the lowest id's, as the sync's is.
        held = by_connector.get(device.connector_id)
        if device.connector_id and (held is None or device.id < held.id):
            by_connector[device.connector_id] = device
    if not by_connector:
        return {}
    reported = connector.missing_patches(sorted(by_connector))
    rows = [
        (by_connector[cid].id, patches)
        for cid, patches in sorted(reported.items())
        if cid in by_connector
    ]
    return record_reported(session, client_id, rows, now)


def approved_patches(
    session: Session,
    client_id: str,
    device_ids: Iterable[int],
    blocklist: Blocklist,
    now: datetime,
    device_rows: Iterable[DeviceRow] | None = None,
    missing: Mapping[int, Set[int]] | None = None,
) -> dict[int, list[int]]:
    """Device id -> ids of the patches approved for it now. ``device_rows``: the client's
    devices, and ``missing``: what some devices miss, when already read in this transaction
    (see ``load_for_devices``)."""
    wanted = set(device_ids)
    loaded = load_for_devices(session, client_id, wanted, device_rows, missing)
    if loaded is None:
        return {}
    vendor_ids = [need.patch.vendor_id for need in loaded.needs]
    patch_ids = ids_by_vendor_id(session, vendor_ids)
    approved: dict[int, list[int]] = defaultdict(list)
    for need in loaded.needs:
        # The decision depends on the device through its ring, and through its id only
        # when an emergency decision names devices: decide once per ring otherwise.
        per_device = any(d.kind is ApprovalDecisionKind.EMERGENCY for d in need.decisions)
        decided: dict[object, bool] = {}
        for device in need.devices:
            if device.device_id not in wanted:
                continue
            key = device.device_id if per_device else (device.ring.name if device.ring else None)
            if key not in decided:
                decision = decide(
                    need.patch,
                    device_id=device.device_id,
                    ring=device.ring,
                    policy=loaded.policy,
                    blocklist=blocklist,
                    decisions=need.decisions,
                    progress=need.progress,
                    now=now,
                )
                decided[key] = decision.state is ApprovalState.APPROVED
            if decided[key]:
                approved[device.device_id].append(patch_ids[need.patch.vendor_id])
    return approved


def open_deployment(step: Step, window: ClientWindow, start: datetime, end: datetime) -> int:
    """Open the occurrence's deployment with its targets; its id."""
    session, now = step.session, step.now
    narrowing = window_narrowing(session, window.window_id)
    everyone, devices = _opening_devices(session, window.client_id, narrowing)
    missing = refresh_missing(session, step.connector, window.client_id, devices.values(), now)
    # (refresh_missing writes patches and device_patches only: the devices read stand; what
    # it returns is what the devices it refreshed miss now, so their rows are not read again.)
    approved = approved_patches(
        session,
        window.client_id,
        devices,
        load_blocklist(session),
        now,
        [cast(DeviceRow, device[:6]) for device in everyone],
        missing,
    )
    deployment_id = insert_deployment(session, window.client_id, window.window_id, start, end, now)
    add_targets(session, deployment_id, approved, end, now)
    record_event(
        session,
        at=now,
        kind="deployment.opened",
        entity="deployment",
        entity_id=deployment_id,
        client_id=window.client_id,
        payload={
            "window": window.spec.name,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "targets": len(approved),
        },
    )
    step.counts.deployments_opened += 1
    step.counts.targets_created += len(approved)
    return deployment_id


def close_finished(step: Step) -> None:
    """Close deployments past their window whose every target has settled."""
    session, now = step.session, step.now
    open_rows = open_deployments(session)
    ended = [deployment_id for deployment_id, _, end in open_rows if end <= now]
    still = unsettled(session, ended)
    started = 0
    for deployment_id, start, end in open_rows:
        if end <= now and deployment_id not in still:
            _close(session, deployment_id, now)
            step.counts.deployments_closed += 1
        elif start <= now:
            started += 1
    step.counts.open_deployments = started


def _close(session: Session, deployment_id: int, now: datetime) -> None:
    client_id, states = close_deployment(session, deployment_id, now)
    record_event(
        session,
        at=now,
        kind="deployment.closed",
        entity="deployment",
        entity_id=deployment_id,
        client_id=client_id,
        payload=_counts(states),
    )


def _counts(states: Iterable[TargetState]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for state in states:
        counts[state.value] += 1
    return dict(counts)
