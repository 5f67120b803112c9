"""Emergency deployments: an emergency approval carried out at once, outside any window.

An emergency approval (``patchdesk approvals emergency``, the approvals screen) names one
patch, one client and the devices to patch, with a reason. At its next step the engine
opens one deployment for it, with no window: open from now for
``EngineConfig.emergency_duration``, with the reboot policy, concurrency and check-in
timeout the config gives emergencies. Its targets are the named devices that are reachable,
not in maintenance mode, not already in flight elsewhere, still miss the patch and for which
the approval rules say the emergency is in effect (the global block list overrides even
emergencies). From there the targets move through the same lifecycle as any other.

A deployment records the decision it carries out (``approval_decision_id``, unique), so an
emergency is deployed once, however many steps or engines see it; an emergency no device
needs any more still gets its (empty) deployment, which says so and closes.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from patchdesk.connectors.base import Connector
from patchdesk.domain import ApprovalDecisionKind, DeploymentState
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.deployments import add_targets, reachable, refresh_missing
from patchdesk.engine.rows import WindowRow
from patchdesk.rules.approval import ApprovalState, decide
from patchdesk.store import direct
from patchdesk.store.approval_inputs import load_client
from patchdesk.store.approval_policy import load_blocklist
from patchdesk.store.events import record_event
from patchdesk.store.models import ApprovalDecision, Deployment, Patch

_deployments = cast(Table, Deployment.__table__)
# Emergency decisions no deployment carries out yet, oldest first.
UNDEPLOYED = (
    select(ApprovalDecision)
    .outerjoin(_deployments, _deployments.c.approval_decision_id == ApprovalDecision.id)
    .where(
        ApprovalDecision.decision == ApprovalDecisionKind.EMERGENCY,
        _deployments.c.id.is_(None),
    )
    .order_by(ApprovalDecision.id)
)


def emergency_window(config: EngineConfig) -> WindowRow:
    """What a window would say of an emergency deployment (id 0: there is none)."""
    return WindowRow(
        id=0,
        reboot_policy=config.emergency_reboot_policy,
        max_deferrals=config.emergency_max_deferrals,
        deferral_minutes=int(config.emergency_deferral.total_seconds() // 60),
        checkin_timeout_minutes=int(config.emergency_checkin_timeout.total_seconds() // 60),
    )


def open_emergencies(
    session: Session,
    connector: Connector,
    now: datetime,
    config: EngineConfig,
    report: StepCounts,
) -> None:
    """Open a deployment for every emergency decision made by ``now`` that has none."""
    # A plain Core look first: at nearly every step there is none (ORM objects cost more).
    if not direct.rows(session.connection(), _WAITING, {"now": now}):
        return
    for decision in session.scalars(UNDEPLOYED.where(ApprovalDecision.decided_at <= now)):
        _open(session, connector, decision, now, config, report)


_WAITING = (
    UNDEPLOYED.with_only_columns(ApprovalDecision.id)
    .where(ApprovalDecision.decided_at <= bindparam("now"))
    .limit(1)
)


def _open(
    session: Session,
    connector: Connector,
    decision: ApprovalDecision,
    now: datetime,
    config: EngineConfig,
    report: StepCounts,
) -> None:
    patch = session.get_one(Patch, decision.patch_id)
    named = set(decision.device_ids)
    devices = {
        device_id: candidate
        for device_id, candidate in reachable(session, decision.client_id).items()
        if device_id in named
    }
    refresh_missing(session, connector, decision.client_id, devices.values(), now)
    chosen = _approved(session, decision, patch.vendor_id, set(devices), now)
    deployment = Deployment(
        client_id=decision.client_id,
        window_id=None,
        occurrence_start=now,
        occurrence_end=now + config.emergency_duration,
        state=DeploymentState.OPEN,
        emergency=True,
        approval_decision_id=decision.id,
        opened_at=now,
    )
    session.add(deployment)
    session.flush()
    approved = {device_id: [patch.id] for device_id in chosen}
    add_targets(session, deployment.id, approved, deployment.occurrence_end, now)
    record_event(
        session,
        at=now,
        kind="deployment.opened",
        entity="deployment",
        entity_id=deployment.id,
        client_id=decision.client_id,
        payload={
            "emergency": True,
            "patch": patch.vendor_id,
            "reason": decision.reason,
            "approved_by": decision.operator,
            "start": now.isoformat(),
            "end": deployment.occurrence_end.isoformat(),
            "targets": len(chosen),
            "devices_named": len(named),
            # Named but not targeted: unreachable, in maintenance mode, busy in another
            # deployment, no longer missing the patch, or blocked since.
            "not_targeted": len(named) - len(chosen),
        },
    )
    report.deployments_opened += 1
    report.targets_created += len(chosen)


def _approved(
    session: Session,
    decision: ApprovalDecision,
    vendor_id: str,
    device_ids: set[int],
    now: datetime,
) -> list[int]:
    """The devices (of those given) that miss the patch and for which the emergency is the
    decision in effect now."""
    loaded = load_client(session, decision.client_id)
    if loaded is None or not device_ids:
        return []
    blocklist = load_blocklist(session)
    chosen: list[int] = []
    for need in loaded.needs:
        if need.patch.vendor_id != vendor_id:
            continue
        for device in need.devices:
            if device.device_id not in device_ids:
                continue
            verdict = decide(
                need.patch,
                device_id=device.device_id,
                ring=device.ring,
                policy=loaded.policy,
                blocklist=blocklist,
                decisions=need.decisions,
                progress=need.progress,
                now=now,
            )
            if verdict.state is ApprovalState.APPROVED and verdict.emergency:
                chosen.append(device.device_id)
    return sorted(chosen)
