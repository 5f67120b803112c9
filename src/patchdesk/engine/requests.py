"""Step 6: operator commands written to the store, carried out by the engine.

Each queued command runs once, at the first step at or after its ``not_before`` (a
scheduled reboot; at once for the others): its result (done or failed, and what happened)
is written on the command row, appended to the remediation log with actor ``engine`` and
the operator who asked, and announced as an event. A command the engine cannot carry out
fails with a reason rather than staying queued.

``exclude_patch`` writes the device's exclusion (``store.exclusions``): from then on the
engine does not target the patch there. ``schedule_reboot`` reboots the device as
``force_reboot`` does (no user deferral: the time was chosen for it), and only inside one
of the device's reboot windows (``engine.reboot_times``), checked again now: a window removed
or blacked out since, or a step that came too late (no engine ran), fails it with the reason
instead of rebooting outside the device's windows. Nor does it reboot for an exception
resolved meanwhile. The reboot is then verified as any other: a boot time later than the
command and a check-in after it, before the window's check-in deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from patchdesk.connectors.base import Connector, RebootOutcome
from patchdesk.domain import (
    ApprovalDecisionKind,
    ExceptionState,
    RebootPolicy,
    RequestKind,
    RequestState,
    TargetState,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.rules.reboot_times import Slot, slot_at
from patchdesk.store import direct
from patchdesk.store.approval_ops import DecisionError, DecisionRequest, record_decision
from patchdesk.store.blocklist import add_to_blocklist, blocklist_entry
from patchdesk.store.events import record_event
from patchdesk.store.exclusions import active_for_devices, exclude
from patchdesk.store.models import (
    Deployment,
    Device,
    MaintenanceWindow,
    OperatorRequest,
    Patch,
    PatchException,
    Target,
)
from patchdesk.store.reboot_windows import device_reboot_windows
from patchdesk.store.remediation_log import LogEntry, append


class RequestFailed(Exception):
    """The command could not be carried out; the message says why, for the technician."""


_DUE_NOW = or_(OperatorRequest.not_before.is_(None), OperatorRequest.not_before <= bindparam("now"))
# A queued command due at ``now`` (bind ``now``).
QUEUED = (
    select(OperatorRequest.id)
    .where(OperatorRequest.state == RequestState.QUEUED, _DUE_NOW)
    .limit(1)
)
# When the next queued command that waits for its time is due (bind ``now``).
WAITING_UNTIL = select(func.min(OperatorRequest.not_before)).where(
    OperatorRequest.state == RequestState.QUEUED, OperatorRequest.not_before > bindparam("now")
)


def requests_queued(session: Session, now: datetime) -> bool:
    """Some queued command is due at ``now``."""
    return bool(direct.rows(session.connection(), QUEUED, {"now": now}))


def run_requests(
    session: Session,
    connector: Connector,
    now: datetime,
    config: EngineConfig,
    report: StepCounts,
) -> None:
    queued = session.scalars(
        select(OperatorRequest)
        .where(
            OperatorRequest.state == RequestState.QUEUED,
            or_(OperatorRequest.not_before.is_(None), OperatorRequest.not_before <= now),
        )
        .order_by(OperatorRequest.id)
    ).all()
    for command in queued:
        command.started_at = now
        try:
            result = _run(session, connector, command, now, config)
            command.state = RequestState.DONE
        except RequestFailed as exc:
            result = str(exc)
            command.state = RequestState.FAILED
        command.result = result
        command.completed_at = now
        _log(session, command, now, config)
        report.commands_run += 1


def _run(
    session: Session,
    connector: Connector,
    command: OperatorRequest,
    now: datetime,
    config: EngineConfig,
) -> str:
    exception = session.get(PatchException, command.exception_id) if command.exception_id else None
    device_id = command.device_id or (exception.device_id if exception else None)
    device = session.get(Device, device_id) if device_id else None
    if command.kind is RequestKind.RESOLVE:
        if exception is None:
            raise RequestFailed("no exception given")
        return _resolve(exception, command, now)
    if command.kind is RequestKind.BLOCK_PATCH:
        return _block(session, command, now)
    if command.kind is RequestKind.EXCLUDE_PATCH:
        if device is None:
            raise RequestFailed("no device given")
        return _exclude(session, command, device, now)
    if device is None or device.connector_id is None:
        raise RequestFailed("no device the connector knows")
    target = _target(session, exception, device)
    if command.kind is RequestKind.WAKE_DEVICE:
        sent = connector.wake(device.connector_id)
        if not sent:
            raise RequestFailed("wake-on-LAN could not be sent")
        return "wake-on-LAN sent"
    if command.kind is RequestKind.FORCE_REBOOT:
        if target is None:
            raise RequestFailed("no deployment target for this device")
        sent_at = _reboot(session, connector, command, device, target, now, config)
        return f"reboot sent at {sent_at:%H:%M} UTC; waiting for the device to come back"
    if command.kind is RequestKind.SCHEDULE_REBOOT:
        slot = _check_schedule(session, command, exception, device, now)
        if target is None:
            raise RequestFailed("no deployment target for this device")
        sent_at = _reboot(
            session, connector, command, device, target, now, config, slot.checkin_timeout_minutes
        )
        return (
            f"reboot sent at {sent_at:%H:%M} UTC as scheduled; waiting for the device to come back"
        )
    if command.kind is RequestKind.RETRY_INSTALL:
        if target is None:
            raise RequestFailed("no deployment target for this device")
        vendor_ids = _vendor_ids(session, target)
        if not vendor_ids:
            raise RequestFailed(
                "the target has no patches to install (or every one is excluded on the device)"
            )
        window = _window(session, target)
        attempt = target.attempts + 1
        key = f"pd-t{target.id}-a{attempt}"
        job_id = connector.install(
            device.connector_id,
            vendor_ids,
            reboot_policy=window.reboot_policy if window else RebootPolicy.IF_REQUIRED,
            idempotency_key=key,
        )
        target.attempts, target.idempotency_key, target.job_id = attempt, key, job_id
        target.state = TargetState.DISPATCHED
        target.dispatched_at = now
        target.reboot_requested_at = None
        target.reboot_deadline = target.checkin_deadline = None
        target.updated_at = now
        target.check_at = now  # the engine looks at it again at its next step
        deployment = session.get(Deployment, target.deployment_id)
        if deployment is not None and deployment.occurrence_end <= now:
            # Outside the window: give the retry its own hour to report a result.
            deployment.occurrence_end = now + timedelta(hours=1)
        return f"install retried now (attempt {attempt}, {len(vendor_ids)} patches)"
    if command.kind is RequestKind.ROLLBACK_PATCH:
        patch = session.get(Patch, command.patch_id) if command.patch_id else None
        if patch is None:
            raise RequestFailed("no patch given")
        job = connector.rollback(
            device.connector_id, patch.vendor_id, idempotency_key=f"pd-cmd{command.id}-rollback"
        )
        return f"rollback of {patch.vendor_id} started (job {job})"
    raise RequestFailed(f"unknown command {command.kind.value}")


def _resolve(exception: PatchException, command: OperatorRequest, now: datetime) -> str:
    if exception.state is ExceptionState.RESOLVED:
        return "already resolved"
    exception.state = ExceptionState.RESOLVED
    exception.resolved_at = now
    exception.last_action = "resolved"
    exception.last_action_at = now
    exception.updated_at = now
    note = str(command.args.get("note", "")).strip()
    return f"resolved: {note}" if note else "resolved"


def _block(session: Session, command: OperatorRequest, now: datetime) -> str:
    patch = session.get(Patch, command.patch_id) if command.patch_id else None
    if patch is None:
        raise RequestFailed("no patch given")
    reason = str(command.args.get("reason", "")).strip()
    if not reason:
        raise RequestFailed("a block needs a reason")
    if command.args.get("scope") == "client":
        if command.client_id is None:
            raise RequestFailed("no client given for a client block")
        try:
            record_decision(
                session,
                DecisionRequest(
                    client_id=command.client_id,
                    patch_id=patch.vendor_id,
                    kind=ApprovalDecisionKind.BLOCK,
                    operator=command.requested_by,
                    reason=reason,
                ),
                now=now,
            )
        except DecisionError as exc:
            raise RequestFailed("; ".join(exc.problems)) from exc
        return f"{patch.vendor_id} blocked for {command.client_id}"
    if blocklist_entry(session, patch.vendor_id) is not None:
        return f"{patch.vendor_id} was already on the global block list"
    try:  # as a technician's block from the approvals screen: its event and log record too
        add_to_blocklist(session, patch.vendor_id, reason, command.requested_by, now=now)
    except DecisionError as exc:
        raise RequestFailed("; ".join(exc.problems)) from exc
    return f"{patch.vendor_id} added to the global block list"


def _reboot(
    session: Session,
    connector: Connector,
    command: OperatorRequest,
    device: Device,
    target: Target,
    now: datetime,
    config: EngineConfig,
    checkin_timeout_minutes: int | None = None,
) -> datetime:
    """Reboot the device now, no deferral, and follow the target's reboot; when it was sent.
    The check-in timeout is the given one (the window the reboot happens in), else that of
    the target's window."""
    assert device.connector_id is not None
    key = f"pd-cmd{command.id}-reboot"
    result = connector.reboot(
        device.connector_id, allow_deferral=False, deferral_minutes=0, idempotency_key=key
    )
    if result.outcome is not RebootOutcome.ACCEPTED:
        raise RequestFailed(f"reboot not sent: device is {result.outcome.value}")
    timeout = checkin_timeout_minutes
    if timeout is None:
        window = _window(session, target)
        timeout = window.checkin_timeout_minutes if window else 30
    target.reboot_requested_at = result.at
    target.reboot_deadline = result.at + config.reboot_timeout
    target.checkin_deadline = result.at + timedelta(minutes=timeout)
    target.state = TargetState.REBOOTING
    target.updated_at = now
    target.check_at = now  # the engine looks at it again at its next step
    return result.at


def _check_schedule(
    session: Session,
    command: OperatorRequest,
    exception: PatchException | None,
    device: Device,
    now: datetime,
) -> Slot:
    """A scheduled reboot goes ahead only for an unresolved exception, inside a window (the
    slot it happens in)."""
    if exception is not None and exception.state is ExceptionState.RESOLVED:
        raise RequestFailed(f"not rebooted: exception {exception.id} was resolved meanwhile")
    found = device_reboot_windows(session, device.id)
    windows = found.windows if found is not None else ()
    slot = slot_at(windows, now)
    if slot is None:
        due = command.not_before or now
        raise RequestFailed(
            f"not rebooted: {now:%Y-%m-%d %H:%M} UTC is outside the device's reboot windows "
            f"(it was scheduled for {due:%Y-%m-%d %H:%M} UTC); schedule it again"
        )
    return slot


def _exclude(session: Session, command: OperatorRequest, device: Device, now: datetime) -> str:
    patch = session.get(Patch, command.patch_id) if command.patch_id else None
    if patch is None:
        raise RequestFailed("no patch given")
    reason = str(command.args.get("reason", "")).strip()
    if not reason:
        raise RequestFailed("an exclusion needs a reason")
    row, made = exclude(
        session,
        device_id=device.id,
        patch_id=patch.id,
        reason=reason,
        operator=command.requested_by,
        now=now,
        exception_id=command.exception_id,
        command_id=command.id,
    )
    if not made:
        return (
            f"{patch.vendor_id} was excluded on {device.hostname} already "
            f"(exclusion {row.id}, by {row.excluded_by})"
        )
    return (
        f"{patch.vendor_id} excluded on {device.hostname} (exclusion {row.id}): not targeted "
        "there until the exclusion is lifted"
    )


def _target(session: Session, exception: PatchException | None, device: Device) -> Target | None:
    if exception is not None and exception.target_id is not None:
        return session.get(Target, exception.target_id)
    return session.scalars(
        select(Target).where(Target.device_id == device.id).order_by(Target.id.desc()).limit(1)
    ).first()


def _window(session: Session, target: Target) -> MaintenanceWindow | None:
    deployment = session.get(Deployment, target.deployment_id)
    if deployment is None or deployment.window_id is None:
        return None
    return session.get(MaintenanceWindow, deployment.window_id)


def _vendor_ids(session: Session, target: Target) -> list[str]:
    """The target's patches to install again. Those excluded on its device since are taken
    out of the target (as dispatch does with a pending one's), unless that leaves none."""
    excluded = active_for_devices(session, [target.device_id])
    kept = [p for p in target.patches if (target.device_id, p.patch_id) not in excluded]
    if not kept:
        return []
    if len(kept) < len(target.patches):
        target.patches = kept
    ids = [p.patch_id for p in kept]
    return list(
        session.scalars(select(Patch.vendor_id).where(Patch.id.in_(ids)).order_by(Patch.vendor_id))
    )


def _log(session: Session, command: OperatorRequest, now: datetime, config: EngineConfig) -> None:
    exception = session.get(PatchException, command.exception_id) if command.exception_id else None
    append(
        session,
        LogEntry(
            at=now,
            actor=config.actor,
            operator=command.requested_by,
            action=f"command.{command.kind.value}",
            outcome=command.state.value,
            note=command.result,
            client_id=command.client_id or (exception.client_id if exception else None),
            exception_id=command.exception_id,
            device_id=command.device_id or (exception.device_id if exception else None),
        ),
    )
    if exception is not None and exception.state is not ExceptionState.RESOLVED:
        exception.last_action = f"{command.kind.value}: {command.state.value}"
        exception.last_action_at = now
        exception.updated_at = now
    record_event(
        session,
        at=now,
        kind="command.completed",
        entity="command",
        entity_id=command.id,
        client_id=command.client_id or (exception.client_id if exception else None),
        payload={"kind": command.kind.value, "state": command.state.value},
    )
