"""Step 6: operator commands written to the store, carried out by the engine.

Each queued command runs once: its result (done or failed, and what happened) is written on
the command row, appended to the remediation log with actor ``engine`` and the operator who
asked, and announced as an event. A command the engine cannot carry out fails with a reason
rather than staying queued.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.domain import (
    ApprovalDecisionKind,
    CommandKind,
    CommandState,
    ExceptionState,
    RebootPolicy,
    TargetState,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.connectors.base import Connector, RebootOutcome
from patchdesk.engine.report import StepReport
from patchdesk.store import direct
from patchdesk.store.approvals import DecisionError, DecisionRequest, record_decision
from patchdesk.store.audit import AuditEntry, append
from patchdesk.store.blocklist import add_to_blocklist, blocklist_entry
from patchdesk.store.events import record_event
from patchdesk.store.models import (
    Deployment,
    Device,
    MaintenanceWindow,
    OperatorCommand,
    Patch,
    PatchException,
    Target,
)


class CommandFailed(Exception):
    """The command could not be carried out; the message says why, for the technician."""


QUEUED = select(OperatorCommand.id).where(OperatorCommand.state == CommandState.QUEUED).limit(1)


def commands_queued(session: Session) -> bool:
    return bool(direct.rows(session.connection(), QUEUED))


def run_commands(
    session: Session,
    connector: Connector,
    now: datetime,
    config: EngineConfig,
    report: StepReport,
) -> None:
    queued = session.scalars(
        select(OperatorCommand)
        .where(OperatorCommand.state == CommandState.QUEUED)
        .order_by(OperatorCommand.id)
    ).all()
    for command in queued:
        command.started_at = now
        try:
            result = _run(session, connector, command, now, config)
            command.state = CommandState.DONE
        except CommandFailed as exc:
            result = str(exc)
            command.state = CommandState.FAILED
        command.result = result
        command.completed_at = now
        _log(session, command, now, config)
        report.commands_run += 1


def _run(
    session: Session,
    connector: Connector,
    command: OperatorCommand,
    now: datetime,
    config: EngineConfig,
) -> str:
    exception = session.get(PatchException, command.exception_id) if command.exception_id else None
    device_id = command.device_id or (exception.device_id if exception else None)
    device = session.get(Device, device_id) if device_id else None
    if command.kind is CommandKind.RESOLVE:
        if exception is None:
            raise CommandFailed("no exception given")
        return _resolve(exception, command, now)
    if command.kind is CommandKind.BLOCK_PATCH:
        return _block(session, command, now)
    if device is None or device.connector_id is None:
        raise CommandFailed("no device the connector knows")
    target = _target(session, exception, device)
    if command.kind is CommandKind.WAKE_DEVICE:
        sent = connector.wake(device.connector_id)
        if not sent:
            raise CommandFailed("wake-on-LAN could not be sent")
        return "wake-on-LAN sent"
    if command.kind is CommandKind.FORCE_REBOOT:
        if target is None:
            raise CommandFailed("no deployment target for this device")
        key = f"pd-cmd{command.id}-reboot"
        result = connector.reboot(
            device.connector_id, allow_deferral=False, deferral_minutes=0, idempotency_key=key
        )
        if result.outcome is not RebootOutcome.ACCEPTED:
            raise CommandFailed(f"reboot not sent: device is {result.outcome.value}")
        window = _window(session, target)
        timeout = window.checkin_timeout_minutes if window else 30
        target.reboot_requested_at = result.at
        target.reboot_deadline = result.at + config.reboot_timeout
        target.checkin_deadline = result.at + timedelta(minutes=timeout)
        target.state = TargetState.REBOOTING
        target.updated_at = now
        target.check_at = now  # the engine looks at it again at its next step
        return f"reboot sent at {result.at:%H:%M} UTC; waiting for the device to come back"
    if command.kind is CommandKind.RETRY_INSTALL:
        if target is None:
            raise CommandFailed("no deployment target for this device")
        vendor_ids = _vendor_ids(session, target)
        if not vendor_ids:
            raise CommandFailed("the target has no patches to install")
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
    if command.kind is CommandKind.ROLLBACK_PATCH:
        patch = session.get(Patch, command.patch_id) if command.patch_id else None
        if patch is None:
            raise CommandFailed("no patch given")
        job = connector.rollback(
            device.connector_id, patch.vendor_id, idempotency_key=f"pd-cmd{command.id}-rollback"
        )
        return f"rollback of {patch.vendor_id} started (job {job})"
    raise CommandFailed(f"unknown command {command.kind.value}")


def _resolve(exception: PatchException, command: OperatorCommand, now: datetime) -> str:
    if exception.state is ExceptionState.RESOLVED:
        return "already resolved"
    exception.state = ExceptionState.RESOLVED
    exception.resolved_at = now
    exception.last_action = "resolved"
    exception.last_action_at = now
    exception.updated_at = now
    note = str(command.args.get("note", "")).strip()
    return f"resolved: {note}" if note else "resolved"


def _block(session: Session, command: OperatorCommand, now: datetime) -> str:
    patch = session.get(Patch, command.patch_id) if command.patch_id else None
    if patch is None:
        raise CommandFailed("no patch given")
    reason = str(command.args.get("reason", "")).strip()
    if not reason:
        raise CommandFailed("a block needs a reason")
    if command.args.get("scope") == "client":
        if command.client_id is None:
            raise CommandFailed("no client given for a client block")
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
            raise CommandFailed("; ".join(exc.problems)) from exc
        return f"{patch.vendor_id} blocked for {command.client_id}"
    if blocklist_entry(session, patch.vendor_id) is not None:
        return f"{patch.vendor_id} was already on the global block list"
    try:  # as a technician's block from the approvals screen: its event and log record too
        add_to_blocklist(session, patch.vendor_id, reason, command.requested_by, now=now)
    except DecisionError as exc:
        raise CommandFailed("; ".join(exc.problems)) from exc
    return f"{patch.vendor_id} added to the global block list"


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
    ids = [p.patch_id for p in target.patches]
    return list(
        session.scalars(select(Patch.vendor_id).where(Patch.id.in_(ids)).order_by(Patch.vendor_id))
    )


def _log(session: Session, command: OperatorCommand, now: datetime, config: EngineConfig) -> None:
    exception = session.get(PatchException, command.exception_id) if command.exception_id else None
    append(
        session,
        AuditEntry(
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
