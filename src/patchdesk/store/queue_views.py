"""Reads behind the queue screen: a page of the queue (rows in triage order with each
row's latest engine command) and what changed since the last event the screen saw.

Everything is read in the caller's session (the screen's worker thread) and returned as
frozen values. Text inside (hostnames, summaries, command results) is untrusted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState, RequestKind, RequestState, Tier
from patchdesk.store.exception_views import (
    ALL_STATES,
    QueueFilter,
    QueueRow,
    _filtered,
    failed_installs,
    failed_patches,
    tier_counts,
    unresolved,
)
from patchdesk.store.handover import HandoverSummary, recent_handover_notes
from patchdesk.store.models import Client, Device, Event, OperatorRequest, Patch, PatchException
from patchdesk.store.not_patched import not_patched
from patchdesk.store.triage_order import TRIAGE_ORDER

_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")

# Event entities whose changes the queue shows (an exception itself, a command's result,
# a handover note); the engine's many target events are not the queue's business.
_QUEUE_ENTITIES = ("exception", "command", "handover_note")


@dataclass(frozen=True)
class RequestBrief:
    """The latest operator command for an exception: queued, running, or its result."""

    id: int
    kind: RequestKind
    state: RequestState
    result: str
    requested_by: str
    requested_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class QueueLine:
    row: QueueRow
    command: RequestBrief | None


@dataclass(frozen=True)
class QueuePage:
    """``lines`` are the queue's rows ``offset`` .. ``offset + len(lines) - 1``; ``total`` is
    how many rows the query selects in all."""

    offset: int
    lines: tuple[QueueLine, ...]
    total: int


def read_page(session: Session, query: QueueFilter, *, offset: int, limit: int) -> QueuePage:
    """Rows ``offset`` .. ``offset + limit`` of the queue and its length. An offset past the
    end moves back so the page ends with the last row.

    The same rows as ``exception_views.queue_rows`` (same filter, same triage order), read
    the fast way for a screen that pages through 10,000 rows: the count and the page of ids
    walk the partial triage index of ``exceptions`` alone (devices and clients are joined
    only when a text search needs them: joining 10,000 skipped rows costs 50 ms on SQLite),
    then one plain Core SELECT reads those rows with their device and client."""
    total = _count(session, query)
    offset = max(0, min(offset, total - limit))
    ids = _page_ids(session, query, offset, limit) if total else []
    rows = rows_by_id(session, ids)
    commands = latest_requests(session, ids)
    return QueuePage(
        offset=offset,
        lines=tuple(QueueLine(rows[i], commands.get(i)) for i in ids if i in rows),
        total=total,
    )


def _narrow(statement: _S, query: QueueFilter) -> _S:
    """``statement`` (over ``exceptions``) filtered; joined only if the search needs it."""
    if (query.search or "").strip():
        statement = statement.join(Device, Device.id == PatchException.device_id).join(
            Client, Client.id == PatchException.client_id
        )
    return _filtered(statement, query)


def _count(session: Session, query: QueueFilter) -> int:
    statement = _narrow(select(func.count(PatchException.id)).select_from(PatchException), query)
    return int(session.scalar(statement) or 0)


def _page_ids(session: Session, query: QueueFilter, offset: int, limit: int) -> list[int]:
    statement = _narrow(select(PatchException.id), query).order_by(*TRIAGE_ORDER)
    return list(session.scalars(statement.offset(offset).limit(limit)))


_ROW_COLUMNS = (
    PatchException.id,
    PatchException.tier,
    PatchException.client_id,
    Client.name,
    PatchException.device_id,
    Device.hostname,
    Device.role,
    Device.criticality,
    PatchException.failure_class,
    PatchException.state,
    PatchException.owner,
    PatchException.summary,
    PatchException.patch_ids,
    PatchException.opened_at,
    PatchException.acknowledged_at,
    PatchException.escalated_at,
    PatchException.resolved_at,
    PatchException.reopened_count,
    PatchException.last_action,
    PatchException.last_action_at,
    PatchException.updated_at,
    PatchException.target_id,
)


def rows_by_id(session: Session, ids: Collection[int]) -> dict[int, QueueRow]:
    """The queue rows of these exceptions (any state), by id."""
    if not ids:
        return {}
    found = session.execute(
        select(*_ROW_COLUMNS)
        .join(Device, Device.id == PatchException.device_id)
        .join(Client, Client.id == PatchException.client_id)
        .where(PatchException.id.in_(sorted(ids)))
    ).all()
    patch_ids = {int(p) for row in found for p in row[12]}
    vendor: dict[int, str] = {}
    if patch_ids:
        vendor = {
            patch_id: vendor_id
            for patch_id, vendor_id in session.execute(
                select(Patch.id, Patch.vendor_id).where(Patch.id.in_(sorted(patch_ids)))
            )
        }
    failed = failed_installs(session, {int(row[-1]) for row in found if row[-1] is not None})
    rows: dict[int, QueueRow] = {}
    for values in found:
        # Positionally, in _ROW_COLUMNS' order, which is QueueRow's with the vendor ids added
        # after patch_ids and the target id last (reading a Row's fields by name costs more,
        # 200 rows at a time).
        fields: tuple[Any, ...] = tuple(values)
        numbers = tuple(int(p) for p in fields[12])
        vendor_ids = tuple(vendor.get(p, f"#{p}") for p in numbers)
        target = fields[-1]
        failing = failed_patches(numbers, vendor_ids, failed.get(target, frozenset()))
        arguments: tuple[Any, ...] = (*fields[:12], numbers, vendor_ids, *fields[13:-1], failing)
        rows[fields[0]] = QueueRow(*arguments)
    return rows


def latest_requests(session: Session, exception_ids: Collection[int]) -> dict[int, RequestBrief]:
    """Each exception's most recent operator command (by id), for those that have one."""
    if not exception_ids:
        return {}
    newest = (
        select(func.max(OperatorRequest.id))
        .where(OperatorRequest.exception_id.in_(sorted(exception_ids)))
        .group_by(OperatorRequest.exception_id)
    )
    found = session.scalars(select(OperatorRequest).where(OperatorRequest.id.in_(newest)))
    return {
        command.exception_id: RequestBrief(
            id=command.id,
            kind=command.kind,
            state=command.state,
            result=command.result,
            requested_by=command.requested_by,
            requested_at=command.requested_at,
            completed_at=command.completed_at,
        )
        for command in found
        if command.exception_id is not None
    }


@dataclass(frozen=True)
class Changes:
    """What the events after some id say about the queue."""

    last_event_id: int  # the newest event read (the next poll starts after it)
    exceptions: frozenset[int]  # exceptions changed (a command's result counts for its exception)
    handover: bool  # a handover note was written

    @property
    def any(self) -> bool:
        return bool(self.exceptions) or self.handover


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Event.id))) or 0)


def changes_since(session: Session, last_id: int, *, limit: int = 10_000) -> Changes:
    """The queue's changes among the events after ``last_id`` (at most ``limit`` events are
    read; the rest come with the next call). Reads only the columns it needs: the engine
    writes thousands of events per step and the poll runs every second."""
    found = session.execute(
        select(Event.id, Event.entity, Event.entity_id)
        .where(Event.id > last_id)
        .order_by(Event.id)
        .limit(limit)
    ).all()
    if not found:
        return Changes(last_id, frozenset(), False)
    exceptions: set[int] = set()
    commands: set[int] = set()
    handover = False
    for _id, entity, entity_id in found:
        if entity not in _QUEUE_ENTITIES:
            continue
        if entity == "handover_note":
            handover = True
        elif entity_id.isdigit():
            (exceptions if entity == "exception" else commands).add(int(entity_id))
    if commands:
        exceptions.update(
            exception_id
            for exception_id in session.scalars(
                select(OperatorRequest.exception_id).where(OperatorRequest.id.in_(sorted(commands)))
            )
            if exception_id is not None
        )
    return Changes(int(found[-1][0]), frozenset(exceptions), handover)


def shift_summary(
    session: Session, *, since: datetime, now: datetime, notes: int = 5
) -> HandoverSummary:
    """The handover panel's figures: ``handover.handover_summary``'s counts and notes
    (without its row lists), each count walking ``exceptions`` alone."""
    opened = QueueFilter(states=ALL_STATES, opened_since=since)
    resolved = QueueFilter(states={ExceptionState.RESOLVED}, resolved_since=since)
    escalated = QueueFilter(states={ExceptionState.ESCALATED})
    missed = not_patched(session, now)
    return HandoverSummary(
        since=since,
        now=now,
        open_by_tier=_open_by_tier(session, unassigned=False),
        unassigned_by_tier=_open_by_tier(session, unassigned=True),
        opened_count=_count(session, opened),
        opened=(),
        resolved_count=_count(session, resolved),
        resolved=(),
        escalated_count=_count(session, escalated),
        escalated=(),
        notes=tuple(recent_handover_notes(session, limit=notes)),
        not_patched_count=len(missed),
        not_patched=tuple(missed),
    )


def unacknowledged_count(session: Session) -> int:
    """Exceptions in the state ``open`` (nobody has acknowledged them): what the queue lists
    with its state filter on "open"."""
    return _count(session, QueueFilter(states={ExceptionState.OPEN}))


def _open_by_tier(session: Session, *, unassigned: bool) -> dict[Tier, int]:
    query = (
        select(PatchException.tier, func.count()).where(unresolved()).group_by(PatchException.tier)
    )
    if unassigned:
        query = query.where(PatchException.owner.is_(None))
    return tier_counts([(tier, int(count)) for tier, count in session.execute(query)])
