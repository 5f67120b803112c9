"""The exception's state machine: acknowledge, take over, assign, release, escalate, note,
resolve, reopen (``store.exception_ops`` re-exports them beside logging a remediation, and
describes the transaction each one runs in).

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

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState
from patchdesk.store import exception_writes as writes
from patchdesk.store import operator_input as clean
from patchdesk.store.db import Database
from patchdesk.store.exception_writes import Conflict, OpResult
from patchdesk.store.models import PatchException


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
        seen = writes.get_row(session, exception_id)
        writes.check_claimable(seen, operator)
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
            writes.check_claimable(seen, operator)
            raise Conflict(f"exception {exception_id} changed meanwhile; look again", seen.owner)
        seq = writes.log(session, seen, operator, "acknowledge", "acknowledged", "", now)
        writes.event(session, seen, "acknowledged", operator, "acknowledge", now)
        return writes.result(
            seen, "acknowledge", seq, f"exception {seen.id} acknowledged: {operator} owns it"
        )

    return writes.write(database, body)


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
        row = writes.locked_row(session, exception_id)
        writes.check_unresolved(row)
        if row.owner == operator:
            raise Conflict(f"exception {row.id} is already yours", row.owner)
        if row.owner is None:  # released meanwhile (or never owned): acknowledging it
            row.owner = operator
            row.acknowledged_at = now
            if row.state is ExceptionState.OPEN:
                row.state = ExceptionState.ACKNOWLEDGED
            writes.touch(row, "acknowledged", now)
            seq = writes.log(session, row, operator, "acknowledge", "acknowledged", text, now)
            writes.event(session, row, "acknowledged", operator, "acknowledge", now)
            return writes.result(
                row, "acknowledge", seq, f"exception {row.id} acknowledged: {operator} owns it"
            )
        previous = row.owner
        taken = writes.claim(
            session, row, operator, now, take_over=True, from_owner=from_owner, note=text
        )
        assert taken is not None  # someone else owned it: a take-over was written
        return writes.result(
            row, "take_over", taken, f"exception {row.id} taken over from {previous}: yours now"
        )

    return writes.write(database, body)


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
        row = writes.locked_row(session, exception_id)
        writes.check_unresolved(row)
        if row.owner == to:
            raise Conflict(f"exception {row.id} is already owned by {to}", row.owner)
        before = row.owner
        row.owner = to
        row.acknowledged_at = now
        if row.state is ExceptionState.OPEN:
            row.state = ExceptionState.ACKNOWLEDGED
        writes.touch(row, "assigned", now)
        was = before if before is not None else "unassigned"
        log_note = f"to {to} (was {was})" + (f": {text}" if text else "")
        seq = writes.log(session, row, operator, "assign", "assigned", log_note, now)
        writes.event(session, row, "assigned", operator, "assign", now, previous_owner=before)
        return writes.result(row, "assign", seq, f"exception {row.id} assigned to {to} (was {was})")

    return writes.write(database, body)


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
        row = writes.locked_row(session, exception_id)
        writes.check_unresolved(row)
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
        writes.touch(row, "released", now)
        seq = writes.log(session, row, operator, "release", "released", text, now)
        writes.event(session, row, "released", operator, "release", now)
        return writes.result(row, "release", seq, f"exception {row.id} released: back in the queue")

    return writes.write(database, body)


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
        row = writes.locked_row(session, exception_id)
        writes.check_unresolved(row)
        if row.state is ExceptionState.ESCALATED:
            raise Conflict(f"exception {row.id} is already escalated", row.owner)
        owned = writes.ownership(session, row, operator, now, take_over, from_owner)
        row.state = ExceptionState.ESCALATED
        row.escalated_at = now
        writes.touch(row, f"escalated to {target}" if target else "escalated", now)
        log_note = text
        if target:
            log_note = f"to {target}" + (f": {text}" if text else "")
        seq = writes.log(session, row, operator, "escalate", "escalated", log_note, now)
        writes.event(session, row, "escalated", operator, "escalate", now, to=target)
        message = f"exception {row.id} escalated" + (f" to {target}" if target else "")
        return writes.result(row, "escalate", seq, message + owned)

    return writes.write(database, body)


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
        row = writes.locked_row(session, exception_id)
        owned = writes.ownership(session, row, operator, now, take_over, from_owner)
        writes.touch(row, "note", now)
        seq = writes.log(session, row, operator, "note", "noted", text, now)
        writes.event(session, row, "noted", operator, "note", now)
        return writes.result(row, "note", seq, f"note added to exception {row.id}{owned}")

    return writes.write(database, body)


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
        row = writes.locked_row(session, exception_id)
        writes.check_unresolved(row)
        owned = writes.ownership(session, row, operator, now, take_over, from_owner)
        seq = writes.resolve_row(session, row, operator, text, now)
        return writes.result(row, "resolve", seq, f"exception {row.id} resolved{owned}")

    return writes.write(database, body)


def reopen(
    database: Database, exception_id: int, operator: str, note: str, *, now: datetime
) -> OpResult:
    """Reopen a resolved exception (open, unowned); the note (why) is required."""
    operator = clean.name(operator)
    text = clean.note(note, required=True)
    now = clean.instant(now)

    def body(session: Session) -> OpResult:
        row = writes.locked_row(session, exception_id)
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
            raise Conflict(writes.duplicate_open(session, row, other), row.owner)
        row.state = ExceptionState.OPEN
        row.owner = None
        row.acknowledged_at = None
        row.escalated_at = None
        row.resolved_at = None
        row.reopened_count += 1
        writes.touch(row, "reopened", now)
        session.flush()  # the partial unique index speaks here, inside the refusal handling
        seq = writes.log(session, row, operator, "reopen", "reopened", text, now)
        writes.event(session, row, "reopened", operator, "reopen", now)
        times = "once" if row.reopened_count == 1 else f"{row.reopened_count} times"
        return writes.result(row, "reopen", seq, f"exception {row.id} reopened ({times} so far)")

    return writes.write(database, body)
