"""Servers a window did not reach: their own exception, resolved by the window that patches them.

A server (tier 1-2) whose target the window closed on before its turn (capacity, servers one
at a time) opens an exception of class ``missed`` (not a failure class), so someone owns
it; its summary names the next window that will carry the device. A server offline for the
whole window has an ``offline`` exception instead (the device's failure, not the window's).

When a later window verifies the device, the engine resolves its open ``missed`` exception
and says so in the remediation log (actor ``engine``): which window patched it.
"""

from __future__ import annotations

from datetime import datetime

from patchdesk.domain import ExceptionState, FailureClass, Tier, tier_of
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.failures import open_exception_for
from patchdesk.rules.verdicts import Cause, Failure
from patchdesk.store.db import Session
from patchdesk.store.engine_exception_ops import resolve_by_engine
from patchdesk.store.engine_exception_views import unresolved_missed
from patchdesk.store.events import record_event
from patchdesk.store.not_patched import next_window_of
from patchdesk.store.remediation_log import LogEntry, append
from patchdesk.store.target_rows import DeploymentRow, DeviceRow, TargetRow
from patchdesk.store.window_views import window_name

SERVER_TIERS = frozenset({Tier.CRITICAL_SERVER, Tier.OTHER_SERVER})


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
    name = window_name(session, deployment.window_id)
    name = name if name is not None else "the window"
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
    found = unresolved_missed(session, device.id)
    if found is None or found[1] == deployment.id:
        return None
    exception_id = found[0]
    name = window_name(session, deployment.window_id)
    name = name if name is not None else "an emergency deployment"
    note = (
        f"patched and verified in {name} "
        f"(opened {deployment.occurrence_start:%Y-%m-%d %H:%M} UTC, target {target.id})"
    )
    resolve_by_engine(session, exception_id, "resolved by engine: patched", now, via_session=True)
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
