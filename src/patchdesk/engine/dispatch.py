"""Step 2: dispatch pending targets of open windows, within their limits.

Limits: the window's ``max_concurrent`` targets in flight per deployment, and at most
``servers_per_client`` servers of one client in flight at once (a client never loses all
its servers together). Only devices the connector reports online are dispatched; the others
wait (and are *missed* if the window closes first). Servers go first, then by device tier.

The idempotency key is a function of the target and its attempt number, both stored, so a
step that crashes between the connector call and the write repeats the call with the same
key and gets the same job back: nothing is installed twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from patchdesk.domain import DeploymentState, Role, TargetState, tier_of
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.connectors.base import Connector
from patchdesk.engine.report import StepReport
from patchdesk.engine.sync import IN_FLIGHT
from patchdesk.store.events import record_event
from patchdesk.store.models import Deployment, Device, MaintenanceWindow, Patch, Target


def idempotency_key(target_id: int, attempt: int) -> str:
    return f"pd-t{target_id}-a{attempt}"


def _servers_in_flight(session: Session) -> Counter[str]:
    query = (
        select(Device.client_id)
        .join(Target, Target.device_id == Device.id)
        .where(Target.state.in_(IN_FLIGHT), Device.role == Role.SERVER)
    )
    return Counter(session.scalars(query))


def dispatch(
    session: Session,
    connector: Connector,
    now: datetime,
    config: EngineConfig,
    report: StepReport,
) -> None:
    deployments = session.scalars(
        select(Deployment).where(
            Deployment.state == DeploymentState.OPEN,
            Deployment.occurrence_start <= now,
            Deployment.occurrence_end > now,
        )
    ).all()
    servers = _servers_in_flight(session)
    for deployment in deployments:
        window = session.get(MaintenanceWindow, deployment.window_id)
        if window is None:
            continue
        targets = session.scalars(
            select(Target)
            .where(Target.deployment_id == deployment.id)
            .options(selectinload(Target.patches))
        ).all()
        in_flight = sum(1 for t in targets if t.state in IN_FLIGHT)
        free = window.max_concurrent - in_flight
        pending = [t for t in targets if t.state is TargetState.PENDING]
        if free <= 0 or not pending:
            continue
        devices = {
            d.id: d
            for d in session.scalars(
                select(Device).where(Device.id.in_([t.device_id for t in pending]))
            )
        }
        pending.sort(
            key=lambda t: (
                tier_of(devices[t.device_id].role, devices[t.device_id].criticality).value,
                t.id,
            )
        )
        for target in pending:
            if free <= 0:
                break
            device = devices[target.device_id]
            if not device.online or (target.next_action_at and target.next_action_at > now):
                continue
            if (
                device.role is Role.SERVER
                and servers[device.client_id] >= config.servers_per_client
            ):
                continue
            _dispatch_one(session, connector, target, device, window, now)
            report.dispatched += 1
            free -= 1
            if device.role is Role.SERVER:
                servers[device.client_id] += 1


def _dispatch_one(
    session: Session,
    connector: Connector,
    target: Target,
    device: Device,
    window: MaintenanceWindow,
    now: datetime,
) -> None:
    assert device.connector_id is not None
    attempt = target.attempts + 1
    key = idempotency_key(target.id, attempt)
    vendor_ids = list(
        session.scalars(
            select(Patch.vendor_id)
            .where(Patch.id.in_([p.patch_id for p in target.patches]))
            .order_by(Patch.vendor_id)
        )
    )
    if target.health_before is None:
        target.health_before = dict(
            connector.health([device.connector_id]).get(device.connector_id, {})
        )
    job_id = connector.install(
        device.connector_id, vendor_ids, reboot_policy=window.reboot_policy, idempotency_key=key
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
