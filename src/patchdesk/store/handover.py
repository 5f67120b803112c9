"""Shift handover: the notes one technician leaves the next, and what the shift saw.

``add_handover_note`` writes the note and a ``handover.noted`` event (so live views show it)
in one writer transaction; it is not an action on an exception, so it is not in the
remediation log. ``handover_summary`` is what the queue's handover panel shows: unresolved
exceptions and the unassigned ones per tier, what was opened and resolved since the shift
began, what is escalated, the devices a window should have patched this cycle and did
not (``store.not_patched``: reason, next window), and the latest notes. A reopened
exception keeps its first ``opened_at``, so it counts as opened in the shift that first
opened it. The handover document also carries the remediation log's anchor
(``anchors.head_anchor``): pasted into the shift log, it keeps the log's head outside
patchdesk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState, Tier
from patchdesk.store import operator_input as clean
from patchdesk.store.anchors import Anchor, head_anchor
from patchdesk.store.db import Database
from patchdesk.store.events import record_event
from patchdesk.store.exception_views import (
    ALL_STATES,
    QueueFilter,
    QueueRow,
    count_queue,
    queue_rows,
    tier_counts,
    unresolved,
)
from patchdesk.store.models import HandoverNote, PatchException
from patchdesk.store.not_patched import NotPatched, not_patched
from patchdesk.store.operator_input import MAX_HANDOVER_NOTE, Refused

__all__ = [
    "HandoverSummary",
    "NoteView",
    "Refused",
    "add_handover_note",
    "handover_summary",
    "recent_handover_notes",
]


@dataclass(frozen=True)
class NoteView:
    id: int
    author: str
    at: datetime
    text: str  # untrusted, as typed (newlines kept): display it escaped


def add_handover_note(database: Database, author: str, text: str, *, now: datetime) -> NoteView:
    """Store a handover note (non-blank, at most ``MAX_HANDOVER_NOTE`` characters)."""
    author = clean.name(author, "author")
    body = clean.note(text, "handover note", required=True, limit=MAX_HANDOVER_NOTE)
    now = clean.instant(now)
    with database.writer() as session:
        note = HandoverNote(author=author, at=now, text=body)
        session.add(note)
        session.flush()
        record_event(
            session,
            at=now,
            kind="handover.noted",
            entity="handover_note",
            entity_id=note.id,
            payload={"author": author},
        )
        return _view(note)


def recent_handover_notes(
    session: Session, *, limit: int = 10, since: datetime | None = None
) -> list[NoteView]:
    """The latest notes, newest first (only those at or after ``since`` when given)."""
    query = select(HandoverNote).order_by(HandoverNote.at.desc(), HandoverNote.id.desc())
    if since is not None:
        query = query.where(HandoverNote.at >= since)
    return [_view(note) for note in session.scalars(query.limit(limit))]


@dataclass(frozen=True)
class HandoverSummary:
    """The handover panel. Lists are in triage order and hold at most ``limit`` rows; the
    counts are complete."""

    since: datetime
    now: datetime
    open_by_tier: Mapping[Tier, int]
    unassigned_by_tier: Mapping[Tier, int]
    opened_count: int
    opened: tuple[QueueRow, ...]  # opened since the shift began (any state now)
    resolved_count: int
    resolved: tuple[QueueRow, ...]  # resolved since the shift began
    escalated_count: int
    escalated: tuple[QueueRow, ...]  # escalated now
    notes: tuple[NoteView, ...]  # the latest notes, newest first
    # The remediation log's head as an anchor (None: empty or not keyed; the panel omits it).
    anchor: Anchor | None = None
    not_patched_count: int = 0
    not_patched: tuple[NotPatched, ...] = ()  # not patched this cycle, in triage order

    @property
    def open_total(self) -> int:
        return sum(self.open_by_tier.values())

    @property
    def unassigned_total(self) -> int:
        return sum(self.unassigned_by_tier.values())


def handover_summary(
    session: Session, *, since: datetime, now: datetime, limit: int = 20, notes: int = 5
) -> HandoverSummary:
    """What a shift that began at ``since`` hands over at ``now``."""
    opened = QueueFilter(states=ALL_STATES, opened_since=since)
    resolved = QueueFilter(states={ExceptionState.RESOLVED}, resolved_since=since)
    escalated = QueueFilter(states={ExceptionState.ESCALATED})
    missed = not_patched(session, now)
    return HandoverSummary(
        since=since,
        now=now,
        open_by_tier=_by_tier(session, unassigned=False),
        unassigned_by_tier=_by_tier(session, unassigned=True),
        opened_count=count_queue(session, opened),
        opened=tuple(queue_rows(session, opened, limit=limit)),
        resolved_count=count_queue(session, resolved),
        resolved=tuple(queue_rows(session, resolved, limit=limit)),
        escalated_count=count_queue(session, escalated),
        escalated=tuple(queue_rows(session, escalated, limit=limit)),
        notes=tuple(recent_handover_notes(session, limit=notes)),
        anchor=head_anchor(session),
        not_patched_count=len(missed),
        not_patched=tuple(missed[:limit]),
    )


def _by_tier(session: Session, *, unassigned: bool) -> dict[Tier, int]:
    query = (
        select(PatchException.tier, func.count()).where(unresolved()).group_by(PatchException.tier)
    )
    if unassigned:
        query = query.where(PatchException.owner.is_(None))
    return tier_counts([(tier, int(count)) for tier, count in session.execute(query)])


def _view(note: HandoverNote) -> NoteView:
    return NoteView(note.id, note.author, note.at, note.text)
