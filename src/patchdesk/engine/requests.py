"""Step 6: operator requests written to the store, carried out by the engine.

Each queued command runs once, at the first step at or after its ``not_before`` (a
scheduled reboot; at once for the others): its result (done or failed, and what happened)
is written on the command row, appended to the remediation log with actor ``engine`` and
the operator who asked, and announced as an event. A command the engine cannot carry out
fails with a reason rather than staying queued.

``exclude_patch`` writes the device's exclusion (``store.exclusions``): from then on the
engine does not target the patch there. ``schedule_reboot`` reboots the device as
``force_reboot`` does (no user deferral: the time was chosen for it), and only inside one
of the device's reboot windows (``rules.reboot_times``), checked again now: a window removed
or blacked out since, or a step that came too late (no engine ran), fails it with the reason
instead of rebooting outside the device's windows. Nor does it reboot for an exception
resolved meanwhile. The reboot is then verified as any other: a boot time later than the
command and a check-in after it, before the window's check-in deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from patchdesk.connectors.base import Connector, RebootOutcome
from patchdesk.domain import (
    ApprovalDecisionKind,
    ExceptionState,
    RebootPolicy,
    RequestKind,
    RequestState,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.step import Step
from patchdesk.rules.reboot_times import Slot, slot_at
from patchdesk.store.approval_ops import DecisionError, DecisionRequest, record_decision
from patchdesk.store.blocklist import add_to_blocklist, blocklist_entry
from patchdesk.store.db import Session
from patchdesk.store.events import record_event
from patchdesk.store.exclusions import exclude
from patchdesk.store.reboot_windows import device_reboot_windows
from patchdesk.store.remediation_log import LogEntry, append
from patchdesk.store.request_ops import (
    finish_request,
    note_on_exception,
    rebooting,
    redispatched,
    reinstall_vendor_ids,
    resolve_for_request,
    start_request,
)
from patchdesk.store.request_views import (
    DeviceRef,
    ExceptionRef,
    RequestRef,
    TargetRef,
    device_ref,
    due_requests,
    exception_ref,
    patch_ref,
    request_target,
    target_window,
)


class RequestFailed(Exception):
    """The command could not be carried out; the message says why, for the technician."""


def run_requests(step: Step) -> None:
    session, now, config = step.session, step.now, step.config
    for command in due_requests(session, now):
        start_request(command, now)
        try:
            result = _run(session, step.connector, command, now, config)
            state = RequestState.DONE
        except RequestFailed as exc:
            result = str(exc)
            state = RequestState.FAILED
        finish_request(command, state, result, now)
        _log(session, command, now, config)
        step.counts.commands_run += 1


def _run(
    session: Session,
    connector: Connector,
    command: RequestRef,
    now: datetime,
    config: EngineConfig,
) -> str:
    exception = exception_ref(session, command.exception_id) if command.exception_id else None
    device_id = command.device_id or (exception.device_id if exception else None)
    device = device_ref(session, device_id) if device_id else None
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
    target = request_target(session, exception, device)
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
        vendor_ids = reinstall_vendor_ids(session, target)
        if not vendor_ids:
            raise RequestFailed(
                "the target has no patches to install (or every one is excluded on the device)"
            )
        window = target_window(session, target)
        attempt = target.attempts + 1
        key = f"pd-t{target.id}-a{attempt}"
        job_id = connector.install(
            device.connector_id,
            vendor_ids,
            reboot_policy=window.reboot_policy if window else RebootPolicy.IF_REQUIRED,
            idempotency_key=key,
        )
        redispatched(session, target, attempt, key, job_id, now)
        return f"install retried now (attempt {attempt}, {len(vendor_ids)} patches)"
    if command.kind is RequestKind.ROLLBACK_PATCH:
        patch = patch_ref(session, command.patch_id) if command.patch_id else None
        if patch is None:
            raise RequestFailed("no patch given")
        job = connector.rollback(
            device.connector_id, patch.vendor_id, idempotency_key=f"pd-cmd{command.id}-rollback"
        )
        return f"rollback of {patch.vendor_id} started (job {job})"
    raise RequestFailed(f"unknown command {command.kind.value}")


def _resolve(exception: ExceptionRef, command: RequestRef, now: datetime) -> str:
    if exception.state is ExceptionState.RESOLVED:
        return "already resolved"
    resolve_for_request(exception, now)
    note = str(command.args.get("note", "")).strip()
    return f"resolved: {note}" if note else "resolved"


def _block(session: Session, command: RequestRef, now: datetime) -> str:
    patch = patch_ref(session, command.patch_id) if command.patch_id else None
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
    command: RequestRef,
    device: DeviceRef,
    target: TargetRef,
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
        window = target_window(session, target)
        timeout = window.checkin_timeout_minutes if window else 30
    rebooting(
        target,
        result.at,
        result.at + config.reboot_timeout,
        result.at + timedelta(minutes=timeout),
        now,
    )
    return result.at


def _check_schedule(
    session: Session,
    command: RequestRef,
    exception: ExceptionRef | None,
    device: DeviceRef,
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


def _exclude(session: Session, command: RequestRef, device: DeviceRef, now: datetime) -> str:
    patch = patch_ref(session, command.patch_id) if command.patch_id else None
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


def _log(session: Session, command: RequestRef, now: datetime, config: EngineConfig) -> None:
    exception = exception_ref(session, command.exception_id) if command.exception_id else None
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
        note_on_exception(exception, f"{command.kind.value}: {command.state.value}", now)
    record_event(
        session,
        at=now,
        kind="command.completed",
        entity="command",
        entity_id=command.id,
        client_id=command.client_id or (exception.client_id if exception else None),
        payload={"kind": command.kind.value, "state": command.state.value},
    )
