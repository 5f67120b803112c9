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

from patchdesk.engine.config import EngineConfig
from patchdesk.engine.deployments import reachable, refresh_missing
from patchdesk.engine.step import Step
from patchdesk.rules.approval import ApprovalState, decide
from patchdesk.store.approval_inputs import load_client
from patchdesk.store.approval_policy import load_blocklist
from patchdesk.store.db import Session
from patchdesk.store.deployment_ops import add_targets, insert_emergency_deployment
from patchdesk.store.emergency_views import Emergency, undeployed_emergencies
from patchdesk.store.events import record_event
from patchdesk.store.patch_views import vendor_id_of
from patchdesk.store.target_rows import WindowRow


def emergency_window(config: EngineConfig) -> WindowRow:
    """What a window would say of an emergency deployment (id 0: there is none)."""
    return WindowRow(
        id=0,
        reboot_policy=config.emergency_reboot_policy,
        max_deferrals=config.emergency_max_deferrals,
        deferral_minutes=int(config.emergency_deferral.total_seconds() // 60),
        checkin_timeout_minutes=int(config.emergency_checkin_timeout.total_seconds() // 60),
    )


def open_emergencies(step: Step) -> None:
    """Open a deployment for every emergency decision made by ``now`` that has none."""
    for decision in undeployed_emergencies(step.session, step.now):
        _open(step, decision)


def _open(step: Step, decision: Emergency) -> None:
    session, now = step.session, step.now
    vendor_id = vendor_id_of(session, decision.patch_id)
    named = set(decision.device_ids)
    devices = {
        device_id: candidate
        for device_id, candidate in reachable(session, decision.client_id).items()
        if device_id in named
    }
    refresh_missing(session, step.connector, decision.client_id, devices.values(), now)
    chosen = _approved(session, decision, vendor_id, set(devices), now)
    end = now + step.config.emergency_duration
    deployment_id = insert_emergency_deployment(session, decision.client_id, decision.id, end, now)
    approved = {device_id: [decision.patch_id] for device_id in chosen}
    add_targets(session, deployment_id, approved, end, now)
    record_event(
        session,
        at=now,
        kind="deployment.opened",
        entity="deployment",
        entity_id=deployment_id,
        client_id=decision.client_id,
        payload={
            "emergency": True,
            "patch": vendor_id,
            "reason": decision.reason,
            "approved_by": decision.operator,
            "start": now.isoformat(),
            "end": end.isoformat(),
            "targets": len(chosen),
            "devices_named": len(named),
            # Named but not targeted: unreachable, in maintenance mode, busy in another
            # deployment, no longer missing the patch, or blocked since.
            "not_targeted": len(named) - len(chosen),
        },
    )
    step.counts.deployments_opened += 1
    step.counts.targets_created += len(chosen)


def _approved(
    session: Session,
    decision: Emergency,
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
