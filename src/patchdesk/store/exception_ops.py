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

States: ``open`` (nobody owns it) -> ``acknowledged`` (someone took it) -> ``in_progress``
(its owner logged a remediation) -> ``resolved``; ``escalated`` from any unresolved state,
keeping the owner. ``acknowledged_at`` is when the current owner got it (cleared when nobody
owns it). Rules:

- acknowledge: only an exception nobody owns (a conditional UPDATE ``WHERE owner IS NULL``
  checked by its row count, so of two technicians acknowledging at once exactly one wins, on
  SQLite and PostgreSQL; the other gets ``Conflict`` naming the owner). ``open`` becomes
  ``acknowledged``; an escalated one stays ``escalated``.
- release: only by its owner; back to ``open`` (an escalated one stays escalated).
- ownership of the acting operations (escalate, note, log remediation, resolve) on an
  unresolved exception: one nobody owns becomes the operator's (``open`` becomes
  ``acknowledged``) in the same transaction; one someone else owns is refused with
  ``NotYours`` unless ``take_over`` is given, which first writes a ``take_over`` record ("from
  bob") and makes the operator the owner. ``from_owner`` names the owner the technician agreed
  to take over from: when someone else owns it by then, ``Conflict`` (nothing is written).
- take over: an exception someone else owns becomes the operator's (``in_progress`` goes back
  to ``acknowledged``: the new owner has not acted yet; escalated stays escalated); one nobody
  owns is acknowledged instead.
- assign: anyone may hand an unresolved exception to someone (a lead reassigning work).
- log remediation: the action must be in ``engine.classify.actions_for(class)``; an action
  the engine carries out (retry, reboot, roll back, block, wake, exclude a patch, schedule a
  reboot) also queues the command, refused while the same command is still queued or
  running. ``exclude_patch`` needs a reason (the note) and is refused when the patch is
  excluded on the device already; ``schedule_reboot`` needs the time (``reboot_at``, after
  ``now``, inside one of the device's reboot windows: ``engine.reboot_times``), and its
  command waits for it (``not_before``). The common actions (note, acknowledge, escalate,
  resolve, reopen) are passed to their own operations.
- escalate may name its target (``to``: a person or a queue, free text), logged as
  "to TARGET" before the note.
- resolve needs a note and is written here, at once (not as the engine's ``resolve``
  command, so it works while no engine runs). The owner is kept (who handled it); resolving
  does not cancel a command still queued for the engine.
- reopen needs a note and is refused while the device has another unresolved exception of
  the same class (the store holds one open exception per device and class). The reopened
  exception is open and unowned again, ``reopened_count`` grows by one, ``resolved_at`` is
  cleared and ``opened_at`` kept: MTTR counts a reopened exception once, from its first
  opening to its last resolution, so a premature resolve never shortens it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState, MissingPatchState, RequestKind, RequestState
from patchdesk.rules.reboot_times import RebootTimeError, check_reboot_time
from patchdesk.rules.response_paths import COMMON_ACTIONS, RESPONSE_PATHS, Action, actions_for
from patchdesk.store import operator_input as clean
from patchdesk.store.db import Database, locked
from patchdesk.store.events import record_event
from patchdesk.store.exclusions import find_active
from patchdesk.store.models import Device, DevicePatch, OperatorRequest, Patch, PatchException
from patchdesk.store.operator_input import Refused
from patchdesk.store.reboot_windows import device_reboot_windows
from patchdesk.store.remediation_log import LogEntry, append

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
_UNIQUE_OPEN = "uq_exceptions_open_device_class"


class NoSuchException(Refused):
    """No exception has that id."""


class Conflict(Refused):
    """The exception's state or owner does not allow it (perhaps someone was quicker).

    ``owner`` is the exception's owner as the refusal found it.
    """

    def __init__(self, message: str, owner: str | None = None) -> None:
        super().__init__(message)
        self.owner = owner


class NotYours(Conflict):
    """Someone else (``owner``) owns the exception: acting on it needs a take-over."""

    def __init__(self, exception_id: int, owner: str) -> None:
        super().__init__(f"exception {exception_id} is owned by {owner}; take it over first", owner)
        self.exception_id = exception_id
        self.owner: str = owner


@dataclass(frozen=True)
class OpResult:
    """What an operation wrote: the exception's new state and owner, the log record's seq,
    the queued command (if any), and one line for the technician (untrusted text inside:
    display it escaped)."""

    exception_id: int
    action: str
    state: ExceptionState
    owner: str | None
    record_seq: int
    command_id: int | None
    message: str


# --- the operations -------------------------------------------------------------------------


def acknowledge(
    database: Database,
    exception_id: int,
    operator: str,
    *,
    now: datetime,
    take_over: bool = False,
    from_owner: str | None = None,
) -> OpResult:
    """Take ownership of an exception nobody owns; ``open`` becomes ``acknowledged``.
    ``take_over``: someone else's is taken over instead (see ``take_over``)."""
    if take_over:
        return _take_over(database, exception_id, operator, now, from_owner, None)
    operator = clean.name(operator)
    now = clean.instant(now)

    def body(session: Session) -> OpResult:
        seen = _get(session, exception_id)
        _check_claimable(seen, operator)
        new_state = ExceptionState.ACKNOWLEDGED if seen.state is ExceptionState.OPEN else seen.state
        claimed = session.execute(  # an UPDATE: its result is a cursor result
            update(PatchException)
            .where(
                PatchException.id == exception_id,
                PatchException.owner.is_(None),
                PatchException.state == seen.state,
            )
            .values(
                owner=operator,
                state=new_state,
                acknowledged_at=now,
                last_action="acknowledged",
                last_action_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        session.refresh(seen)
        if cast("CursorResult[Any]", claimed).rowcount != 1:
            # Someone else changed it between our read and our update: say who owns it now.
            _check_claimable(seen, operator)
            raise Conflict(f"exception {exception_id} changed meanwhile; look again", seen.owner)
        seq = _log(session, seen, operator, "acknowledge", "acknowledged", "", now)
        _event(session, seen, "acknowledged", operator, "acknowledge", now)
        return _result(
            seen, "acknowledge", seq, f"exception {seen.id} acknowledged: {operator} owns it"
        )

    return _write(database, body)


def take_over(
    database: Database,
    exception_id: int,
    operator: str,
    *,
    now: datetime,
    from_owner: str | None = None,
    note: str | None = None,
) -> OpResult:
    """Take over an exception someone else owns: its own ``take_over`` record ("from bob").
    ``from_owner``: the owner the technician agreed to take it from (``Conflict`` if someone
    else owns it by now). One nobody owns is acknowledged instead."""
    return _take_over(database, exception_id, operator, now, from_owner, note)


def _take_over(
    database: Database,
    exception_id: int,
    operator: str,
    now: datetime,
    from_owner: str | None,
    note: str | None,
) -> OpResult:
    operator = clean.name(operator)
    text = clean.note(note, required=False)
    now = clean.instant(now)

    def body(session: Session) -> OpResult:
        row = _locked(session, exception_id)
        _check_unresolved(row)
        if row.owner == operator:
            raise Conflict(f"exception {row.id} is already yours", row.owner)
        if row.owner is None:  # released meanwhile (or never owned): acknowledging it
            row.owner = operator
            row.acknowledged_at = now
            if row.state is ExceptionState.OPEN:
                row.state = ExceptionState.ACKNOWLEDGED
            _touch(row, "acknowledged", now)
            seq = _log(session, row, operator, "acknowledge", "acknowledged", text, now)
            _event(session, row, "acknowledged", operator, "acknowledge", now)
            return _result(
                row, "acknowledge", seq, f"exception {row.id} acknowledged: {operator} owns it"
            )
        previous = row.owner
        taken = _claim(
            session, row, operator, now, take_over=True, from_owner=from_owner, note=text
        )
        assert taken is not None  # someone else owned it: a take-over was written
        return _result(
            row, "take_over", taken, f"exception {row.id} taken over from {previous}: yours now"
        )

    return _write(database, body)


def assign(
    database: Database,
    exception_id: int,
    operator: str,
    to: str,
    *,
    now: datetime,
    note: str | None = None,
) -> OpResult:
    """Make ``to`` the owner (anyone may assign); ``open`` becomes ``acknowledged``."""
    operator = clean.name(operator)
    to = clean.name(to, "assignee")
    text = clean.note(note, required=False)
    now = clean.instant(now)

    def body(session: Session) -> OpResult:
        row = _locked(session, exception_id)
        _check_unresolved(row)
        if row.owner == to:
            raise Conflict(f"exception {row.id} is already owned by {to}", row.owner)
        before = row.owner
        row.owner = to
        row.acknowledged_at = now
        if row.state is ExceptionState.OPEN:
            row.state = ExceptionState.ACKNOWLEDGED
        _touch(row, "assigned", now)
        was = before if before is not None else "unassigned"
        log_note = f"to {to} (was {was})" + (f": {text}" if text else "")
        seq = _log(session, row, operator, "assign", "assigned", log_note, now)
        _event(session, row, "assigned", operator, "assign", now, previous_owner=before)
        return _result(row, "assign", seq, f"exception {row.id} assigned to {to} (was {was})")

    return _write(database, body)


def release(
    database: Database,
    exception_id: int,
    operator: str,
    *,
    now: datetime,
    note: str | None = None,
) -> OpResult:
    """Give an exception back to the queue; only its owner may."""
    operator = clean.name(operator)
    text = clean.note(note, required=False)
    now = clean.instant(now)

    def body(session: Session) -> OpResult:
        row = _locked(session, exception_id)
        _check_unresolved(row)
        if row.owner is None:
            raise Conflict(f"exception {row.id} is not owned by anyone")
        if row.owner != operator:
            raise Conflict(
                f"exception {row.id} is owned by {row.owner}; only they can release it "
                "(or assign it to someone)",
                row.owner,
            )
        row.owner = None
        row.acknowledged_at = None
        if row.state in (ExceptionState.ACKNOWLEDGED, ExceptionState.IN_PROGRESS):
            row.state = ExceptionState.OPEN
        _touch(row, "released", now)
        seq = _log(session, row, operator, "release", "released", text, now)
        _event(session, row, "released", operator, "release", now)
        return _result(row, "release", seq, f"exception {row.id} released: back in the queue")

    return _write(database, body)


def escalate(
    database: Database,
    exception_id: int,
    operator: str,
    *,
    now: datetime,
    note: str | None = None,
    to: str | None = None,
    take_over: bool = False,
    from_owner: str | None = None,
) -> OpResult:
    """Mark an unresolved exception escalated (``escalated_at``), to ``to`` (a person or a
    queue, free text) when given; the owner stays (one nobody owned becomes the operator's)."""
    operator = clean.name(operator)
    text = clean.note(note, required=False)
    target = clean.name(to, "escalate to") if to is not None else None
    now = clean.instant(now)

    def body(session: Session) -> OpResult:
        row = _locked(session, exception_id)
        _check_unresolved(row)
        if row.state is ExceptionState.ESCALATED:
            raise Conflict(f"exception {row.id} is already escalated", row.owner)
        owned = _ownership(session, row, operator, now, take_over, from_owner)
        row.state = ExceptionState.ESCALATED
        row.escalated_at = now
        _touch(row, f"escalated to {target}" if target else "escalated", now)
        log_note = text
        if target:
            log_note = f"to {target}" + (f": {text}" if text else "")
        seq = _log(session, row, operator, "escalate", "escalated", log_note, now)
        _event(session, row, "escalated", operator, "escalate", now, to=target)
        message = f"exception {row.id} escalated" + (f" to {target}" if target else "")
        return _result(row, "escalate", seq, message + owned)

    return _write(database, body)


def add_note(
    database: Database,
    exception_id: int,
    operator: str,
    note: str,
    *,
    now: datetime,
    take_over: bool = False,
    from_owner: str | None = None,
) -> OpResult:
    """A note on the exception's history (any state, resolved included: a resolved one needs
    no owner); the note is required."""
    operator = clean.name(operator)
    text = clean.note(note, required=True)
    now = clean.instant(now)

    def body(session: Session) -> OpResult:
        row = _locked(session, exception_id)
        owned = _ownership(session, row, operator, now, take_over, from_owner)
        _touch(row, "note", now)
        seq = _log(session, row, operator, "note", "noted", text, now)
        _event(session, row, "noted", operator, "note", now)
        return _result(row, "note", seq, f"note added to exception {row.id}{owned}")

    return _write(database, body)


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
        row = _locked(session, exception_id)
        action = _response_action(row, action_id)
        _check_unresolved(row)
        if resolve and action.command is not None:
            raise Refused(
                f"{action.id} is carried out by the engine: resolve once its result is in"
            )
        owned = _ownership(session, row, operator, now, take_over, from_owner)
        command = _command(session, row, action, operator, text, patch_id, now, reboot_at)
        result = clean.outcome(outcome, _default_outcome(command))
        if row.state is ExceptionState.ACKNOWLEDGED and row.owner == operator:
            row.state = ExceptionState.IN_PROGRESS
        _touch(row, f"{action.id}: {result}", now)
        logged = f"remediate:{action.id}"
        seq = _log(session, row, operator, logged, result, text, now)
        command_id = command.id if command is not None else None
        _event(session, row, "remediated", operator, logged, now, command_id=command_id)
        message = f"exception {row.id}: {action.id} logged ({result})"
        if command is not None and command.not_before is not None:
            message += f"; command {command.id}: the engine reboots it then"
        elif command is not None:
            message += f"; command {command.id} queued for the engine"
        if resolve:
            seq = _resolve_row(session, row, operator, text, now)
            message += "; exception resolved"
        return _result(row, logged, seq, message + owned, command_id)

    return _write(database, body)


def resolve(
    database: Database,
    exception_id: int,
    operator: str,
    note: str,
    *,
    now: datetime,
    take_over: bool = False,
    from_owner: str | None = None,
) -> OpResult:
    """Resolve an exception; the note (what fixed it) is required. The owner is kept (one
    nobody owned becomes the operator's: who handled it)."""
    operator = clean.name(operator)
    text = clean.note(note, required=True)
    now = clean.instant(now)

    def body(session: Session) -> OpResult:
        row = _locked(session, exception_id)
        _check_unresolved(row)
        owned = _ownership(session, row, operator, now, take_over, from_owner)
        seq = _resolve_row(session, row, operator, text, now)
        return _result(row, "resolve", seq, f"exception {row.id} resolved{owned}")

    return _write(database, body)


def reopen(
    database: Database, exception_id: int, operator: str, note: str, *, now: datetime
) -> OpResult:
    """Reopen a resolved exception (open, unowned); the note (why) is required."""
    operator = clean.name(operator)
    text = clean.note(note, required=True)
    now = clean.instant(now)

    def body(session: Session) -> OpResult:
        row = _locked(session, exception_id)
        if row.state is not ExceptionState.RESOLVED:
            raise Conflict(
                f"exception {row.id} is not resolved (it is {row.state.value})", row.owner
            )
        other = session.scalars(
            select(PatchException.id).where(
                PatchException.device_id == row.device_id,
                PatchException.failure_class == row.failure_class,
                PatchException.state != ExceptionState.RESOLVED,
                PatchException.id != row.id,
            )
        ).first()
        if other is not None:
            raise Conflict(_duplicate_open(session, row, other), row.owner)
        row.state = ExceptionState.OPEN
        row.owner = None
        row.acknowledged_at = None
        row.escalated_at = None
        row.resolved_at = None
        row.reopened_count += 1
        _touch(row, "reopened", now)
        session.flush()  # the partial unique index speaks here, inside the refusal handling
        seq = _log(session, row, operator, "reopen", "reopened", text, now)
        _event(session, row, "reopened", operator, "reopen", now)
        times = "once" if row.reopened_count == 1 else f"{row.reopened_count} times"
        return _result(row, "reopen", seq, f"exception {row.id} reopened ({times} so far)")

    return _write(database, body)


# --- the machinery --------------------------------------------------------------------------


def _write(database: Database, body: Callable[[Session], OpResult]) -> OpResult:
    """Run ``body`` in one writer transaction; a refusal or an error rolls all of it back."""
    try:
        with database.writer() as session:
            return body(session)
    except IntegrityError as exc:
        if _UNIQUE_OPEN in str(exc.orig) or "exceptions.device_id" in str(exc.orig):
            raise Conflict(
                "the device already has an unresolved exception of this class "
                "(one open exception per device and class); work on that one"
            ) from None
        raise


def _get(session: Session, exception_id: int) -> PatchException:
    row = session.get(PatchException, exception_id)
    if row is None:
        raise NoSuchException(f"no exception with id {exception_id}")
    return row


def _locked(session: Session, exception_id: int) -> PatchException:
    """The exception, locked for this transaction (FOR UPDATE on PostgreSQL; on SQLite the
    writer session's BEGIN IMMEDIATE already serialises writers)."""
    row = locked(session, PatchException, exception_id)
    if row is None:
        raise NoSuchException(f"no exception with id {exception_id}")
    return row


def _check_claimable(row: PatchException, operator: str) -> None:
    _check_unresolved(row)
    if row.owner == operator:
        raise Conflict(f"exception {row.id} is already yours", row.owner)
    if row.owner is not None:
        raise Conflict(f"exception {row.id} is already acknowledged by {row.owner}", row.owner)


def _check_unresolved(row: PatchException) -> None:
    if row.state is ExceptionState.RESOLVED:
        raise Conflict(f"exception {row.id} is resolved; reopen it first", row.owner)


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


def _resolve_row(
    session: Session, row: PatchException, operator: str, note: str, now: datetime
) -> int:
    _check_unresolved(row)
    row.state = ExceptionState.RESOLVED
    row.resolved_at = now
    _touch(row, "resolved", now)
    seq = _log(session, row, operator, "resolve", "resolved", note, now)
    _event(session, row, "resolved", operator, "resolve", now)
    return seq


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


def _ownership(
    session: Session,
    row: PatchException,
    operator: str,
    now: datetime,
    take_over: bool,
    from_owner: str | None,
) -> str:
    """``_claim``, and what to add to the message about it ("" when the owner stays)."""
    before = row.owner
    _claim(session, row, operator, now, take_over=take_over, from_owner=from_owner)
    if before == row.owner:
        return ""
    return " (yours now)" if before is None else f" (taken over from {before})"


def _claim(
    session: Session,
    row: PatchException,
    operator: str,
    now: datetime,
    *,
    take_over: bool,
    from_owner: str | None,
    note: str = "",
) -> int | None:
    """Ownership before an action on ``row``: an unresolved one nobody owns becomes the
    operator's; someone else's is refused (``NotYours``) unless ``take_over``, which writes
    the take-over record (its seq is returned). A resolved one needs no owner."""
    if row.state is ExceptionState.RESOLVED or row.owner == operator:
        return None
    if row.owner is None:
        row.owner = operator
        row.acknowledged_at = now
        if row.state is ExceptionState.OPEN:
            row.state = ExceptionState.ACKNOWLEDGED
        return None
    previous = row.owner
    if not take_over:
        raise NotYours(row.id, previous)
    if from_owner is not None and previous != from_owner:
        raise Conflict(
            f"exception {row.id} is owned by {previous} now, not {from_owner}; look again",
            previous,
        )
    row.owner = operator
    row.acknowledged_at = now
    if row.state is ExceptionState.IN_PROGRESS:
        row.state = ExceptionState.ACKNOWLEDGED
    _touch(row, f"taken over from {previous}", now)
    log_note = f"from {previous}" + (f": {note}" if note else "")
    seq = _log(session, row, operator, "take_over", "taken over", log_note, now)
    _event(session, row, "taken_over", operator, "take_over", now, previous_owner=previous)
    return seq


def _touch(row: PatchException, last_action: str, now: datetime) -> None:
    row.last_action = last_action[:100]
    row.last_action_at = now
    row.updated_at = now


def _log(
    session: Session,
    row: PatchException,
    operator: str,
    action: str,
    outcome: str,
    note: str,
    now: datetime,
) -> int:
    record = append(
        session,
        LogEntry(
            at=now,
            actor=operator,
            operator=operator,
            action=action,
            outcome=outcome,
            note=note,
            client_id=row.client_id,
            exception_id=row.id,
            device_id=row.device_id,
        ),
    )
    return record.seq


def _event(
    session: Session,
    row: PatchException,
    verb: str,
    operator: str,
    action: str,
    now: datetime,
    **extra: Any,
) -> None:
    record_event(
        session,
        at=now,
        kind=f"exception.{verb}",
        entity="exception",
        entity_id=row.id,
        client_id=row.client_id,
        payload={
            "operator": operator,
            "action": action,
            "state": row.state.value,
            "owner": row.owner,
            "class": row.failure_class.value,
            "tier": row.tier.value,
            **extra,
        },
    )


def _result(
    row: PatchException, action: str, seq: int, message: str, command_id: int | None = None
) -> OpResult:
    return OpResult(row.id, action, row.state, row.owner, seq, command_id, message)


def _duplicate_open(session: Session, row: PatchException, other: int) -> str:
    device = session.get(Device, row.device_id)
    hostname = device.hostname if device is not None else f"id {row.device_id}"
    return (
        f"device {hostname} already has unresolved {row.failure_class.value} exception "
        f"{other} (one open exception per device and class): work on that one"
    )
