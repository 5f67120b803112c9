"""What one poll of the queue reads: the events since the last one, and when they concern
the queue (or on the first poll) the page on screen and the handover figures.

The screen polls from a one-shot timer and re-arms it only once the poll's ``Polled`` is
handled, so polls never overlap; the reading here runs in the poll's worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from patchdesk.screens.queue_paging import PageRead
from patchdesk.screens.services import Services
from patchdesk.store.exception_views import QueueFilter
from patchdesk.store.handover import HandoverSummary
from patchdesk.store.queue_views import (
    Changes,
    changes_since,
    last_event_id,
    read_page,
    shift_summary,
    unacknowledged_count,
)

HANDOVER_NOTES = 4


@dataclass(frozen=True)
class PollRequest:
    last_event_id: int | None  # None: the first poll (start from the newest event)
    generation: int
    query: QueueFilter
    page: tuple[int, int]
    since: datetime
    handover: bool  # re-read the handover figures whatever changed


class Polled(Message):
    def __init__(
        self,
        last_event_id: int,
        summary: HandoverSummary | None,
        now: datetime,
        unacknowledged: int = 0,  # read with ``summary``
    ) -> None:
        super().__init__()
        self.last_event_id = last_event_id
        self.summary = summary
        self.now = now
        self.unacknowledged = unacknowledged


def read_changes(
    services: Services, request: PollRequest, post: Callable[[Message], object]
) -> None:
    """Read what ``request`` asks for and ``post`` it: a ``PageRead`` when the queue changed,
    then the ``Polled`` that ends the poll."""
    now = services.clock()
    first = request.last_event_id is None
    with services.database.session() as session:
        if first:  # everything is read now: follow the feed from its newest event on
            changes = Changes(last_event_id(session), frozenset(), False)
        else:
            changes = changes_since(session, request.last_event_id or 0)
        last_id = changes.last_event_id
        if first or changes.any:
            offset, limit = request.page
            page = read_page(session, request.query, offset=offset, limit=limit)
            post(PageRead(request.generation, page))
        summary, unacknowledged = None, 0
        if first or changes.exceptions or changes.handover or request.handover:
            summary = shift_summary(session, since=request.since, now=now, notes=HANDOVER_NOTES)
            unacknowledged = unacknowledged_count(session)
    post(Polled(last_id, summary, now, unacknowledged))


__all__ = ["HANDOVER_NOTES", "PollRequest", "Polled", "read_changes"]
