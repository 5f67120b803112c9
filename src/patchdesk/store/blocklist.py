"""Technicians' changes to the global block list: add a known-bad patch, lift a block (the
approvals screen's block list, ``patchdesk approvals blocklist add|remove``, and the engine
carrying out a ``block_patch_global`` remediation).

Each change is one ``blocked_patches`` row added or removed, one ``blocklist.added`` /
``blocklist.removed`` event and one remediation-log record (action ``blocklist.add`` /
``blocklist.remove``, actor and operator the technician, the reason in the note), in the
caller's transaction (use ``Database.writer()``). A request is validated whole first and
refused with every problem (``DecisionError``, as approval decisions are), writing nothing.

The block list wins over every approval, emergencies included (``rules.approval``); the
engine drops a blocked patch from targets not yet dispatched. Lifting a block lets the
client's rules and decisions apply again. (``policy apply`` also adds and updates entries;
it never removes them.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.store.approval_ops import MAX_OPERATOR, DecisionError, find_patch
from patchdesk.store.events import record_event
from patchdesk.store.models import BlockedPatch
from patchdesk.store.remediation_log import LogEntry, append
from patchdesk.text import printable

MAX_PATCH_ID = 200


@dataclass(frozen=True)
class BlocklistChange:
    """What was written: the patch id as listed, and the remediation-log note."""

    patch_id: str
    note: str
    known: bool  # a device has reported this patch


def _common_problems(patch_id: str, reason: str, operator: str) -> list[str]:
    problems: list[str] = []
    if not patch_id.strip():
        problems.append("patch: must not be blank (a KB number or package id)")
    elif len(patch_id.strip()) > MAX_PATCH_ID:
        problems.append(f"patch: longer than {MAX_PATCH_ID} characters")
    elif printable(patch_id) != patch_id:
        problems.append("patch: must not contain control characters")
    if not reason.strip():
        problems.append("reason: required: say why, for the log")
    elif "\x00" in reason:
        problems.append("reason: must not contain NUL characters")
    if not operator.strip():
        problems.append("operator: must not be blank (set --operator or the operator setting)")
    elif len(operator.strip()) > MAX_OPERATOR:
        problems.append(f"operator: longer than {MAX_OPERATOR} characters")
    return problems


def blocklist_entry(session: Session, patch_id: str) -> BlockedPatch | None:
    """The global block list's entry for ``patch_id`` (case-insensitive), if any."""
    return session.scalars(
        select(BlockedPatch).where(
            func.lower(BlockedPatch.patch_vendor_id) == patch_id.strip().lower()
        )
    ).first()


def add_to_blocklist(
    session: Session, patch_id: str, reason: str, operator: str, *, now: datetime
) -> BlocklistChange:
    """Block ``patch_id`` for every client. A patch some device reported is listed under
    its known id; an id no device reported yet may be listed too (blocked ahead)."""
    problems = _common_problems(patch_id, reason, operator)
    if not problems and blocklist_entry(session, patch_id) is not None:
        problems.append(f"patch: {patch_id.strip()} is already on the global block list")
    if problems:
        raise DecisionError(problems)
    patch = find_patch(session, patch_id.strip())
    vendor_id = patch.vendor_id if patch is not None else patch_id.strip()
    row = BlockedPatch(
        patch_vendor_id=vendor_id, reason=reason.strip(), blocked_by=operator, blocked_at=now
    )
    session.add(row)
    session.flush()
    note = f"added {vendor_id} to the global block list: {row.reason}"
    _log(session, "add", row, note, now, known=patch is not None)
    return BlocklistChange(vendor_id, note, patch is not None)


def remove_from_blocklist(
    session: Session, patch_id: str, reason: str, operator: str, *, now: datetime
) -> BlocklistChange:
    """Lift the global block on ``patch_id``: the clients' rules and decisions apply again."""
    problems = _common_problems(patch_id, reason, operator)
    entry = None if problems else blocklist_entry(session, patch_id)
    if not problems and entry is None:
        problems.append(f"patch: {patch_id.strip()} is not on the global block list")
    if problems or entry is None:
        raise DecisionError(problems)
    note = (
        f"removed {entry.patch_vendor_id} from the global block list: {reason.strip()} "
        f"(blocked by {entry.blocked_by} on {entry.blocked_at.date().isoformat()}: {entry.reason})"
    )
    known = find_patch(session, entry.patch_vendor_id) is not None
    _log(session, "remove", entry, note, now, known=known, lifted_by=operator, why=reason.strip())
    session.delete(entry)
    session.flush()
    return BlocklistChange(entry.patch_vendor_id, note, known)


def _log(
    session: Session,
    verb: str,
    row: BlockedPatch,
    note: str,
    now: datetime,
    *,
    known: bool,
    lifted_by: str | None = None,
    why: str | None = None,
) -> None:
    operator = lifted_by or row.blocked_by
    payload = {
        "patch_id": row.patch_vendor_id,
        "reason": row.reason,
        "blocked_by": row.blocked_by,
        "blocked_at": row.blocked_at.isoformat(),
        "known_patch": known,
    }
    if verb == "remove":
        payload |= {"removed_by": operator, "removal_reason": why}
    record_event(
        session,
        at=now,
        kind=f"blocklist.{'added' if verb == 'add' else 'removed'}",
        entity="blocklist",
        entity_id=row.patch_vendor_id,
        payload=payload,
    )
    append(
        session,
        LogEntry(
            at=now,
            actor=operator,
            operator=operator,
            action=f"blocklist.{verb}",
            outcome="recorded",
            note=note,
        ),
    )
