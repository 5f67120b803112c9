"""Step 1: open a deployment for every window occurrence that has started, with its targets;
close deployments whose window has ended and whose targets are all settled.

A target is an in-scope, not-in-maintenance-mode device the window applies to, with the
approved patches it misses (``engine.approval`` decides, rings respected). A device with
nothing approved gets no target; a device already in flight in another deployment is left
to that one. The missing patches of the window's devices are refreshed from the connector
first, so the targets match what the devices report now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.domain import DeploymentState, MissingPatchState, TargetState
from patchdesk.engine.approval import ApprovalState, Blocklist, decide
from patchdesk.engine.calendar import occurrences
from patchdesk.engine.connectors.base import Connector
from patchdesk.engine.report import StepReport
from patchdesk.engine.scope import fold
from patchdesk.engine.sync import IN_FLIGHT
from patchdesk.engine.windows import ClientWindow, load_windows
from patchdesk.missing_patches import MissingRow, apply_missing_patches
from patchdesk.store.approvals import load_blocklist, load_client
from patchdesk.store.events import record_event
from patchdesk.store.models import (
    Deployment,
    Device,
    MaintenanceWindow,
    Patch,
    Site,
    Target,
    TargetPatch,
)

SETTLED = frozenset(
    {
        TargetState.VERIFIED,
        TargetState.INSTALL_FAILED,
        TargetState.REBOOT_FAILED,
        TargetState.NO_CHECKIN,
        TargetState.REGRESSION,
        TargetState.MISSED,
        TargetState.SKIPPED,
    }
)
_TICK = timedelta(microseconds=1)


def open_now(session: Session, now: datetime) -> list[tuple[ClientWindow, datetime, datetime]]:
    """(window, start, end) of every occurrence open at ``now`` with no deployment yet."""
    found = []
    for window in load_windows(session):
        for occurrence in occurrences(window.spec, window.zone, now, now + _TICK):
            exists = session.scalar(
                select(Deployment.id).where(
                    Deployment.window_id == window.window_id,
                    Deployment.occurrence_start == occurrence.start_utc,
                )
            )
            if exists is None:
                found.append((window, occurrence.start_utc, occurrence.end_utc))
    return found


def applies(window: MaintenanceWindow, device: Device, site: str | None) -> bool:
    """Every narrowing list the window gives must match (tags: any one of them)."""
    if window.applies_roles and device.role.value not in window.applies_roles:
        return False
    if window.applies_tags and not fold(window.applies_tags) & fold(device.tags):
        return False
    return not (window.applies_sites and fold([site or ""]) - fold(window.applies_sites))


def _candidates(session: Session, window: MaintenanceWindow) -> dict[int, Device]:
    """Devices the window applies to that the engine can reach and may patch now."""
    busy = set(session.scalars(select(Target.device_id).where(Target.state.in_(IN_FLIGHT))))
    query = (
        select(Device, Site.name)
        .outerjoin(Site, Device.site_id == Site.id)
        .where(
            Device.client_id == window.client_id,
            Device.connector_id.is_not(None),
            Device.maintenance_mode.is_(False),
        )
    )
    return {
        device.id: device
        for device, site in session.execute(query)
        if device.id not in busy and applies(window, device, site)
    }


def refresh_missing(
    session: Session, connector: Connector, client_id: str, devices: Iterable[Device], now: datetime
) -> None:
    """Record what the connector says these devices miss (added or reopened, never removed)."""
    by_connector = {device.connector_id: device for device in devices if device.connector_id}
    if not by_connector:
        return
    reported = connector.missing_patches(sorted(by_connector))
    rows = [
        MissingRow(line=0, client_id=client_id, hostname=by_connector[cid].hostname, patch=patch)
        for cid, patches in sorted(reported.items())
        if cid in by_connector
        for patch in patches
    ]
    if rows:
        apply_missing_patches(session, rows, now=now)


def approved_patches(
    session: Session,
    client_id: str,
    device_ids: Iterable[int],
    blocklist: Blocklist,
    now: datetime,
) -> dict[int, list[int]]:
    """Device id -> ids of the patches approved for it now."""
    wanted = set(device_ids)
    loaded = load_client(session, client_id)
    if loaded is None:
        return {}
    vendor_ids = [need.patch.vendor_id for need in loaded.needs]
    query = select(Patch.vendor_id, Patch.id).where(Patch.vendor_id.in_(vendor_ids))
    patch_ids = {vendor_id: patch_id for vendor_id, patch_id in session.execute(query)}
    approved: dict[int, list[int]] = defaultdict(list)
    for need in loaded.needs:
        for device in need.devices:
            if device.device_id not in wanted:
                continue
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
            if decision.state is ApprovalState.APPROVED:
                approved[device.device_id].append(patch_ids[need.patch.vendor_id])
    return approved


def open_deployment(
    session: Session,
    connector: Connector,
    window: ClientWindow,
    start: datetime,
    end: datetime,
    now: datetime,
    report: StepReport,
) -> Deployment:
    row = session.get(MaintenanceWindow, window.window_id)
    assert row is not None
    devices = _candidates(session, row)
    refresh_missing(session, connector, window.client_id, devices.values(), now)
    approved = approved_patches(session, window.client_id, devices, load_blocklist(session), now)
    deployment = Deployment(
        client_id=window.client_id,
        window_id=window.window_id,
        occurrence_start=start,
        occurrence_end=end,
        state=DeploymentState.OPEN,
        opened_at=now,
    )
    session.add(deployment)
    session.flush()
    for device_id in sorted(approved):
        session.add(
            Target(
                deployment_id=deployment.id,
                device_id=device_id,
                state=TargetState.PENDING,
                updated_at=now,
                patches=[
                    TargetPatch(patch_id=patch_id, state=MissingPatchState.MISSING)
                    for patch_id in sorted(set(approved[device_id]))
                ],
            )
        )
    record_event(
        session,
        at=now,
        kind="deployment.opened",
        entity="deployment",
        entity_id=deployment.id,
        client_id=window.client_id,
        payload={
            "window": window.spec.name,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "targets": len(approved),
        },
    )
    report.deployments_opened += 1
    report.targets_created += len(approved)
    return deployment


def close_finished(session: Session, now: datetime, report: StepReport) -> None:
    """Close deployments past their window whose every target has settled."""
    open_rows = session.scalars(
        select(Deployment).where(
            Deployment.state == DeploymentState.OPEN, Deployment.occurrence_end <= now
        )
    ).all()
    for deployment in open_rows:
        states = _target_states(session, [deployment.id]).get(deployment.id, [])
        if all(state in SETTLED for state in states):
            deployment.state = DeploymentState.CLOSED
            deployment.closed_at = now
            record_event(
                session,
                at=now,
                kind="deployment.closed",
                entity="deployment",
                entity_id=deployment.id,
                client_id=deployment.client_id,
                payload=_counts(states),
            )
            report.deployments_closed += 1


def _target_states(
    session: Session, deployment_ids: Sequence[int]
) -> Mapping[int, list[TargetState]]:
    found: dict[int, list[TargetState]] = defaultdict(list)
    query = select(Target.deployment_id, Target.state).where(
        Target.deployment_id.in_(deployment_ids)
    )
    for deployment_id, state in session.execute(query):
        found[deployment_id].append(state)
    return found


def _counts(states: Iterable[TargetState]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for state in states:
        counts[state.value] += 1
    return dict(counts)
