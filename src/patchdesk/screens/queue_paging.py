"""The queue's pages: the virtual table (``widgets.queue_table``) holds one page of rows
around what is on screen; scrolling past it asks for another page, read here in a worker
(an exclusive one: only the latest read counts).

A new filter starts a new generation: the table goes back to the top and a page read for an
older filter is dropped when it arrives.
"""

from __future__ import annotations

from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from patchdesk.screens.services import services_of
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store.exception_views import QueueFilter
from patchdesk.store.queue_views import QueuePage, read_page

GROUP = "queue-page"


class PageRead(Message):
    """A page of the queue, read for the filter of ``generation``."""

    def __init__(self, generation: int, page: QueuePage) -> None:
        super().__init__()
        self.generation = generation
        self.page = page


class QueuePaging:
    """The page reads of one queue screen (which posts and handles ``PageRead``)."""

    def __init__(self, screen: Screen[None]) -> None:
        self.screen = screen
        self.generation = 0
        self.total: int | None = None  # rows the current filter selects (None: reading)

    @property
    def table(self) -> QueueTable:
        return self.screen.query_one(QueueTable)

    def restart(self) -> None:
        """A new filter: back to the top, nothing read for it yet."""
        self.generation += 1
        self.table.reset()
        self.total = None

    def load_wanted(self, query: QueueFilter) -> None:
        """Read the page the table wants around what is on screen."""
        offset, limit = self.table.wanted_page()
        self.load(query, offset, limit)

    def load(self, query: QueueFilter, offset: int, limit: int) -> None:
        """Read rows ``offset`` .. ``offset + limit`` in a worker."""
        generation = self.generation
        services = services_of(self.screen.app)

        def run() -> None:
            with services.database.session() as session:
                page = read_page(session, query, offset=offset, limit=limit)
            if not get_current_worker().is_cancelled:
                self.screen.post_message(PageRead(generation, page))

        self.screen.run_worker(run, thread=True, exclusive=True, exit_on_error=False, group=GROUP)

    def take(self, message: PageRead) -> bool:
        """Show a page read by a worker; False when it was read for an older filter."""
        if message.generation != self.generation:
            return False
        self.table.show_page(message.page)
        self.total = message.page.total
        return True


__all__ = ["GROUP", "PageRead", "QueuePaging"]
