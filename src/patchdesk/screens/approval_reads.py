"""What one read of the approvals screen does, in a worker thread, and what it posts back.

A read looks at the events feed since the last one: when decisions, the block list or
clients changed (``DECISIVE_ENTITIES``) it reads the approvals and the block list again;
when only the engine's progress did (``PROGRESS_ENTITIES``: targets, deployments,
exceptions; rings move on or halt, many times a second in a window) it notes it, and reads
once the last read is ``PROGRESS_SECONDS`` old. A forced read (after an action, a filter, a
screen switch) and the first read always read. Nothing here touches a widget: the screen
applies the ``Loaded`` message and decides when to read next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from patchdesk.rules.approval import StateFilter
from patchdesk.screens.services import Services
from patchdesk.store.approval_views import (
    ApprovalLine,
    ApprovalsRead,
    BlockLine,
    DeviceChoice,
    read_approvals,
    read_blocklist,
)
from patchdesk.store.events import entities_after
from patchdesk.store.queue_views import last_event_id

POLL_SECONDS = 3.0
# Events that change a decision or what a patch needs: read again at the next poll.
DECISIVE_ENTITIES = frozenset({"approval_decision", "blocklist", "client"})
# The engine's progress (ring progress, regressions halting a ring): read again at most
# every PROGRESS_SECONDS, as a window moves them many times a second.
PROGRESS_ENTITIES = frozenset({"deployment", "target", "exception"})
PROGRESS_SECONDS = 15.0


@dataclass(frozen=True)
class ReadRequest:
    generation: int
    state: StateFilter | None
    since_id: int | None  # None: the first read
    force: bool  # read whatever changed (after an action, a filter, a screen switch)
    progress_pending: bool  # engine progress seen earlier and not read yet
    progress_due: bool  # the last read is old enough to read for progress


class Loaded(Message):
    """A read's result: the approvals and block list (None: nothing worth reading)."""

    def __init__(
        self,
        generation: int,
        read: ApprovalsRead | None,
        blocks: list[BlockLine] | None,
        last_event_id: int,
        now: datetime,
        progress: bool,
    ) -> None:
        super().__init__()
        self.generation = generation
        self.read = read
        self.blocks = blocks
        self.last_event_id = last_event_id
        self.now = now
        self.progress = progress  # engine progress seen and not read yet


class DevicesRead(Message):
    """The devices that need the patch of ``line``, read for its emergency form."""

    def __init__(self, line: ApprovalLine, devices: list[DeviceChoice]) -> None:
        super().__init__()
        self.line = line
        self.devices = devices


def read_changes(services: Services, request: ReadRequest) -> Loaded:
    """Read what ``request`` asks for, if anything worth showing changed."""
    now = services.clock()
    since_id = request.since_id
    progress = request.progress_pending
    with services.database.session() as session:
        newest = last_event_id(session)
        changed = request.force or since_id is None
        if not changed and since_id is not None and newest != since_id:
            entities = entities_after(session, since_id)
            changed = bool(entities & DECISIVE_ENTITIES)
            progress = progress or bool(entities & PROGRESS_ENTITIES)
        if not changed and progress and request.progress_due:
            changed = True
        read = blocks = None
        if changed:
            read = read_approvals(session, now=now, state=request.state)
            blocks = read_blocklist(session)
    return Loaded(request.generation, read, blocks, newest, now, progress)


__all__ = [
    "POLL_SECONDS",
    "PROGRESS_SECONDS",
    "DevicesRead",
    "Loaded",
    "ReadRequest",
    "read_changes",
]
