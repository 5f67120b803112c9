"""What every operation on an exception shares (``store.exception_ops`` and
``store.exception_transitions``): the refusals, the result, the one writer transaction, the
row locked, the ownership claim before an action, and the remediation-log record and
``exception.<verb>`` event each operation writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState
from patchdesk.store.db import Database, locked
from patchdesk.store.events import record_event
from patchdesk.store.models import Device, PatchException
from patchdesk.store.operator_input import Refused
from patchdesk.store.remediation_log import LogEntry, append

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


def write(database: Database, body: Callable[[Session], OpResult]) -> OpResult:
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


def get_row(session: Session, exception_id: int) -> PatchException:
    row = session.get(PatchException, exception_id)
    if row is None:
        raise NoSuchException(f"no exception with id {exception_id}")
    return row


def locked_row(session: Session, exception_id: int) -> PatchException:
    """The exception, locked for this transaction (FOR UPDATE on PostgreSQL; on SQLite the
    writer session's BEGIN IMMEDIATE already serialises writers)."""
    row = locked(session, PatchException, exception_id)
    if row is None:
        raise NoSuchException(f"no exception with id {exception_id}")
    return row


def check_claimable(row: PatchException, operator: str) -> None:
    check_unresolved(row)
    if row.owner == operator:
        raise Conflict(f"exception {row.id} is already yours", row.owner)
    if row.owner is not None:
        raise Conflict(f"exception {row.id} is already acknowledged by {row.owner}", row.owner)


def check_unresolved(row: PatchException) -> None:
    if row.state is ExceptionState.RESOLVED:
        raise Conflict(f"exception {row.id} is resolved; reopen it first", row.owner)


def resolve_row(
    session: Session, row: PatchException, operator: str, note: str, now: datetime
) -> int:
    check_unresolved(row)
    row.state = ExceptionState.RESOLVED
    row.resolved_at = now
    touch(row, "resolved", now)
    seq = log(session, row, operator, "resolve", "resolved", note, now)
    event(session, row, "resolved", operator, "resolve", now)
    return seq


def ownership(
    session: Session,
    row: PatchException,
    operator: str,
    now: datetime,
    take_over: bool,
    from_owner: str | None,
) -> str:
    """``claim``, and what to add to the message about it ("" when the owner stays)."""
    before = row.owner
    claim(session, row, operator, now, take_over=take_over, from_owner=from_owner)
    if before == row.owner:
        return ""
    return " (yours now)" if before is None else f" (taken over from {before})"


def claim(
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
    touch(row, f"taken over from {previous}", now)
    log_note = f"from {previous}" + (f": {note}" if note else "")
    seq = log(session, row, operator, "take_over", "taken over", log_note, now)
    event(session, row, "taken_over", operator, "take_over", now, previous_owner=previous)
    return seq


def touch(row: PatchException, last_action: str, now: datetime) -> None:
    row.last_action = last_action[:100]
    row.last_action_at = now
    row.updated_at = now


def log(
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


def event(
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


def result(
    row: PatchException, action: str, seq: int, message: str, command_id: int | None = None
) -> OpResult:
    return OpResult(row.id, action, row.state, row.owner, seq, command_id, message)


def duplicate_open(session: Session, row: PatchException, other: int) -> str:
    device = session.get(Device, row.device_id)
    hostname = device.hostname if device is not None else f"id {row.device_id}"
    return (
        f"device {hostname} already has unresolved {row.failure_class.value} exception "
        f"{other} (one open exception per device and class): work on that one"
    )
