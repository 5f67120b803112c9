"""What a technician does to an exception: acknowledge, take over, assign, release, escalate,
note, log remediation (queueing the engine's command when the action needs one), resolve,
reopen.

Each operation takes the ``Database`` and runs in ONE ``Database.writer()`` transaction that
writes the exception change, one remediation-log record (actor and operator: the technician;
action ``acknowledge``, ``take_over``, ``assign``, ``release``, ``escalate``, ``note``,
``remediate:<action>``, ``resolve``, ``reopen``) and one ``exception.<verb>`` event (entity
``exception``); a queued ``OperatorRequest`` joins the same transaction, and so does a
take-over (its own record and event, before the action's). A refused operation raises
``Refused`` (or its subclasses ``NoSuchException``, ``Conflict`` and ``NotYours``) and writes
nothing; so does any error.

The state machine (who owns an exception, and the states it goes through) is
``store.exception_transitions``; what every operation shares is ``store.exception_writes``.
This module is where callers find all of them, and it logs remediations:

- log remediation: the action must be in ``rules.classify.actions_for(class)``; an action
  the engine carries out (retry, reboot, roll back, block, wake, exclude a patch, schedule a
  reboot) also queues the command, refused while the same command is still queued or
  running. ``exclude_patch`` needs a reason (the note) and is refused when the patch is
  excluded on the device already; ``schedule_reboot`` needs the time (``reboot_at``, after
  ``now``, inside one of the device's reboot windows: ``rules.reboot_times``), and its
  command waits for it (``not_before``). The common actions (note, acknowledge, escalate,
  resolve, reopen) are passed to their own operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState, MissingPatchState, RequestKind, RequestState
from patchdesk.rules.reboot_times import RebootTimeError, check_reboot_time
from patchdesk.rules.response_paths import COMMON_ACTIONS, RESPONSE_PATHS, Action, actions_for
from patchdesk.store import exception_writes as writes
from patchdesk.store import operator_input as clean
from patchdesk.store.db import Database
from patchdesk.store.exception_transitions import (
    acknowledge,
    add_note,
    assign,
    escalate,
    release,
    reopen,
    resolve,
    take_over,
)
from patchdesk.store.exception_writes import Conflict, NoSuchException, NotYours, OpResult
from patchdesk.store.exclusions import find_active
from patchdesk.store.models import DevicePatch, OperatorRequest, Patch, PatchException
from patchdesk.store.operator_input import Refused
from patchdesk.store.reboot_windows import device_reboot_windows

__all__ = [
    "COMMON_ACTION_IDS",
    "Conflict",
    "NoSuchException",
    "NotYours",
    "OpResult",
    "Refused",
    "acknowledge",
    "add_note",
    "assign",
    "escalate",
    "log_remediation",
    "release",
    "reopen",
    "resolve",
    "take_over",
]

COMMON_ACTION_IDS = frozenset(action.id for action in COMMON_ACTIONS)
_PATCH_COMMANDS = (RequestKind.ROLLBACK_PATCH, RequestKind.BLOCK_PATCH, RequestKind.EXCLUDE_PATCH)
_BLOCK_SCOPE = {"block_patch_client": "client", "block_patch_global": "global"}


def log_remediation(
    database: Database,
    exception_id: int,
    operator: str,
    action_id: str,
    *,
    now: datetime,
    outcome: str | None = None,
    note: str | None = None,
    patch_id: int | None = None,
    resolve: bool = False,
    take_over: bool = False,
    from_owner: str | None = None,
    reboot_at: datetime | None = None,
) -> OpResult:
    """Log an action of the exception's response path (``actions_for(class)``).

    An action the engine carries out also queues its ``OperatorRequest`` (requested by
    ``operator``): ``rollback_patch``, the blocks and ``exclude_patch`` act on ``patch_id``,
    which must be one of the exception's patches (optional when it has exactly one); a
    block's or an exclusion's reason is the note (required). ``schedule_reboot`` reboots at
    ``reboot_at`` (required, aware; inside one of the device's reboot windows).
    ``outcome`` defaults to ``queued`` for those (``scheduled for ...`` for a reboot) and
    ``done`` otherwise. The
    owner's ``acknowledged`` exception becomes ``in_progress``. ``resolve`` also resolves it in
    the same transaction (a second log record; needs a note; not with an engine action, whose
    result is not known yet). The common actions go to their own operations.
    """
    if action_id in COMMON_ACTION_IDS:
        if reboot_at is not None:
            raise Refused(f"{action_id} takes no reboot time")
        extras = _Extras(outcome, patch_id, resolve, take_over, from_owner)
        return _common_action(database, exception_id, operator, action_id, now, note, extras)
    operator = clean.name(operator)
    text = clean.note(note, required=resolve)
    now = clean.instant(now)
    if reboot_at is not None:
        reboot_at = clean.instant(reboot_at).astimezone(UTC)

    def body(session: Session) -> OpResult:
        row = writes.locked_row(session, exception_id)
        action = _response_action(row, action_id)
        writes.check_unresolved(row)
        if resolve and action.command is not None:
            raise Refused(
                f"{action.id} is carried out by the engine: resolve once its result is in"
            )
        owned = writes.ownership(session, row, operator, now, take_over, from_owner)
        command = _command(session, row, action, operator, text, patch_id, now, reboot_at)
        result = clean.outcome(outcome, _default_outcome(command))
        if row.state is ExceptionState.ACKNOWLEDGED and row.owner == operator:
            row.state = ExceptionState.IN_PROGRESS
        writes.touch(row, f"{action.id}: {result}", now)
        logged = f"remediate:{action.id}"
        seq = writes.log(session, row, operator, logged, result, text, now)
        command_id = command.id if command is not None else None
        writes.event(session, row, "remediated", operator, logged, now, command_id=command_id)
        message = f"exception {row.id}: {action.id} logged ({result})"
        if command is not None and command.not_before is not None:
            message += f"; command {command.id}: the engine reboots it then"
        elif command is not None:
            message += f"; command {command.id} queued for the engine"
        if resolve:
            seq = writes.resolve_row(session, row, operator, text, now)
            message += "; exception resolved"
        return writes.result(row, logged, seq, message + owned, command_id)

    return writes.write(database, body)


def _response_action(row: PatchException, action_id: str) -> Action:
    for action in RESPONSE_PATHS[row.failure_class]:
        if action.id == action_id:
            return action
    offered = ", ".join(action.id for action in actions_for(row.failure_class))
    raise Refused(
        f"{action_id!r} is not an action for {row.failure_class.value} exceptions; "
        f"choose one of: {offered}"
    )


def _command(
    session: Session,
    row: PatchException,
    action: Action,
    operator: str,
    note: str,
    patch_id: int | None,
    now: datetime,
    reboot_at: datetime | None = None,
) -> OperatorRequest | None:
    """The engine command an action needs, validated and added (None: a manual action)."""
    kind = action.command
    if kind is not RequestKind.SCHEDULE_REBOOT and reboot_at is not None:
        raise Refused(f"a reboot time is only given for schedule_reboot, not {action.id}")
    if kind is None:
        if patch_id is not None:
            raise Refused(f"a patch is only chosen for an engine action, not {action.id}")
        return None
    args: dict[str, Any] = {}
    command_patch: int | None = None
    if kind in _PATCH_COMMANDS:
        command_patch = _patch_of(session, row, action, patch_id)
    elif patch_id is not None:
        raise Refused(f"{action.id} acts on the device, not on one patch: give no patch")
    if kind is RequestKind.BLOCK_PATCH:
        if not note.strip():
            raise Refused(f"note: required for {action.id}: it is the block's reason")
        args = {"reason": note, "scope": _BLOCK_SCOPE[action.id]}
    not_before: datetime | None = None
    if kind is RequestKind.EXCLUDE_PATCH:
        assert command_patch is not None
        if not note.strip():
            raise Refused(f"note: required for {action.id}: it is the exclusion's reason")
        _check_not_excluded(session, row, command_patch)
        args = {"reason": note}
    if kind is RequestKind.SCHEDULE_REBOOT:
        not_before = _reboot_time(session, row, reboot_at, now)
        args = {"at": not_before.isoformat()}
    pending = session.scalars(
        select(OperatorRequest).where(
            OperatorRequest.exception_id == row.id,
            OperatorRequest.kind == kind,
            OperatorRequest.state.in_((RequestState.QUEUED, RequestState.RUNNING)),
        )
    ).all()
    for other in pending:
        if other.patch_id == command_patch and other.args.get("scope") == args.get("scope"):
            raise Conflict(
                f"{kind.value} is already {other.state.value} for exception {row.id} "
                f"(command {other.id}); wait for its result",
                row.owner,
            )
    command = OperatorRequest(
        kind=kind,
        state=RequestState.QUEUED,
        exception_id=row.id,
        device_id=row.device_id,
        patch_id=command_patch,
        client_id=row.client_id,
        args=args,
        not_before=not_before,
        requested_by=operator,
        requested_at=now,
        result="",
    )
    session.add(command)
    session.flush()
    return command


def _check_not_excluded(session: Session, row: PatchException, patch_id: int) -> None:
    """Refused when the patch is excluded on the device already, or installed there (an
    exclusion would change nothing)."""
    patch = session.get_one(Patch, patch_id)
    state = session.scalar(
        select(DevicePatch.state).where(
            DevicePatch.device_id == row.device_id, DevicePatch.patch_id == patch_id
        )
    )
    if state is MissingPatchState.INSTALLED:
        raise Refused(
            f"{patch.vendor_id} is installed on this device: nothing to exclude (choose the "
            "patch that failed)"
        )
    found = find_active(session, row.device_id, patch_id)
    if found is None:
        return
    raise Conflict(
        f"{patch.vendor_id} is excluded on this device already (exclusion {found.id}, by "
        f"{found.excluded_by} at {found.excluded_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC)",
        row.owner,
    )


def _reboot_time(
    session: Session, row: PatchException, reboot_at: datetime | None, now: datetime
) -> datetime:
    """``reboot_at`` when it is after ``now`` and inside one of the device's reboot windows."""
    if reboot_at is None:
        raise Refused("reboot time: required for schedule_reboot (when to reboot)")
    found = device_reboot_windows(session, row.device_id)
    assert found is not None  # the exception's device
    local = reboot_at.astimezone(found.zone)
    if reboot_at <= now:
        raise Refused(f"reboot time: {local:%Y-%m-%d %H:%M} {local.tzname()} is not in the future")
    try:
        check_reboot_time(found.windows, reboot_at, found.zone)
    except RebootTimeError as exc:
        raise Refused(f"reboot time: {exc}") from None
    return reboot_at


def _default_outcome(command: OperatorRequest | None) -> str:
    if command is None:
        return "done"
    if command.not_before is not None:
        return f"scheduled for {command.not_before.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return "queued"


def _patch_of(session: Session, row: PatchException, action: Action, patch_id: int | None) -> int:
    patches = list(row.patch_ids)
    if patch_id is not None:
        if patch_id not in patches:
            raise Refused(f"patch {patch_id} is not one of exception {row.id}'s patches")
        return patch_id
    if not patches:
        raise Refused(f"exception {row.id} names no patch for {action.id} to act on")
    if len(patches) > 1:
        names = session.scalars(
            select(Patch.vendor_id).where(Patch.id.in_(patches)).order_by(Patch.vendor_id)
        ).all()
        raise Refused(
            f"exception {row.id} has {len(patches)} patches: choose the one for {action.id} "
            f"({', '.join(names)})"
        )
    return int(patches[0])


@dataclass(frozen=True)
class _Extras:
    """What ``log_remediation`` was given besides the action and the note."""

    outcome: str | None
    patch_id: int | None
    resolve: bool
    take_over: bool
    from_owner: str | None


def _common_action(
    database: Database,
    exception_id: int,
    operator: str,
    action_id: str,
    now: datetime,
    note: str | None,
    given: _Extras,
) -> OpResult:
    extras = [
        label
        for label, present in (
            ("an outcome", bool(given.outcome and given.outcome.strip())),
            ("a patch", given.patch_id is not None),
            ("resolve", given.resolve),
        )
        if present
    ]
    if extras:
        raise Refused(f"{action_id} takes a note only, not {' or '.join(extras)}")
    take, owner = given.take_over, given.from_owner
    if action_id == "note":
        return add_note(
            database, exception_id, operator, note or "", now=now, take_over=take, from_owner=owner
        )
    if action_id == "acknowledge":
        if note and note.strip():
            raise Refused("acknowledge takes no note: acknowledge, then add a note")
        return acknowledge(
            database, exception_id, operator, now=now, take_over=take, from_owner=owner
        )
    if action_id == "escalate":
        return escalate(
            database, exception_id, operator, now=now, note=note, take_over=take, from_owner=owner
        )
    if action_id == "resolve":
        return resolve(
            database, exception_id, operator, note or "", now=now, take_over=take, from_owner=owner
        )
    if action_id == "reopen":
        return reopen(database, exception_id, operator, note or "", now=now)
    raise Refused(f"unknown action {action_id!r}")  # pragma: no cover - COMMON_ACTIONS changed
