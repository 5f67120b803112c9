"""Servers a window did not reach: their own exception, resolved by the window that patches them.

A server (tier 1-2) whose target the window closed on before its turn (capacity, servers one
at a time) opens an exception of class ``missed`` (DESIGN: failure classes), so someone owns
it; its summary names the next window that will carry the device. A server offline for the
whole window has an ``offline`` exception instead (the device's failure, not the window's).

When a later window verifies the device, the engine resolves its open ``missed`` exception
and says so in the remediation log (actor ``engine``): which window patched it.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState, FailureClass, Tier, tier_of
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.failures import open_exception_for
from patchdesk.engine.rows import DeploymentRow, DeviceRow, TargetRow
from patchdesk.rules.verdicts import Cause, Failure
from patchdesk.store.events import record_event
from patchdesk.store.models import MaintenanceWindow, PatchException
from patchdesk.store.not_patched import next_window_of
from patchdesk.store.remediation_log import LogEntry, append

SERVER_TIERS = frozenset({Tier.CRITICAL_SERVER, Tier.OTHER_SERVER})

_exceptions = cast(Table, PatchException.__table__)


def is_server(device: DeviceRow) -> bool:
    return tier_of(device.role, device.criticality) in SERVER_TIERS


def open_missed(
    session: Session,
    target: TargetRow,
    device: DeviceRow,
    deployment: DeploymentRow,
    now: datetime,
    config: EngineConfig,
    report: StepCounts,
) -> int:
    """Open (or update) the server's ``missed`` exception; returns its id."""
    window = session.get(MaintenanceWindow, deployment.window_id) if deployment.window_id else None
    name = window.name if window is not None else "the window"
    following = next_window_of(session, device.id, now)
    carried = (
        f"next window: {following.describe()}"
        if following is not None
        else "no window of its client ahead will carry it"
    )
    reason = f"missed: {name} closed before its turn (capacity); {carried}"
    return open_exception_for(
        session, target, device, Failure(Cause.NOT_REACHED, reason), now, config, report
    )


def resolve_missed(
    session: Session,
    target: TargetRow,
    device: DeviceRow,
    deployment: DeploymentRow,
    now: datetime,
    config: EngineConfig,
) -> int | None:
    """Resolve the device's open ``missed`` exception once a later window verified it."""
    found = session.execute(
        select(_exceptions.c.id, _exceptions.c.deployment_id).where(
            _exceptions.c.device_id == device.id,
            _exceptions.c.failure_class == FailureClass.MISSED,
            _exceptions.c.state != ExceptionState.RESOLVED,
        )
    ).first()
    if found is None or found.deployment_id == deployment.id:
        return None
    exception_id = int(found.id)
    window = session.get(MaintenanceWindow, deployment.window_id) if deployment.window_id else None
    name = window.name if window is not None else "an emergency deployment"
    note = (
        f"patched and verified in {name} "
        f"(opened {deployment.occurrence_start:%Y-%m-%d %H:%M} UTC, target {target.id})"
    )
    session.execute(
        update(_exceptions)
        .where(_exceptions.c.id == exception_id)
        .values(
            state=ExceptionState.RESOLVED,
            resolved_at=now,
            last_action="resolved by engine: patched",
            last_action_at=now,
            updated_at=now,
        )
    )
    append(
        session,
        LogEntry(
            at=now,
            actor=config.actor,
            operator=config.actor,
            action="resolve",
            outcome="resolved",
            note=note,
            client_id=device.client_id,
            exception_id=exception_id,
            device_id=device.id,
        ),
    )
    record_event(
        session,
        at=now,
        kind="exception.resolved",
        entity="exception",
        entity_id=exception_id,
        client_id=device.client_id,
        payload={
            "operator": config.actor,
            "action": "resolve",
            "state": ExceptionState.RESOLVED.value,
            "device": device.hostname,
            "class": FailureClass.MISSED.value,
            "target": target.id,
        },
    )
    return exception_id
