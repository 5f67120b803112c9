"""The exception queue: the handover screen.

Open exceptions in triage order (tier, class, age) in a virtual table that draws only what
is on screen; the row under the cursor in full below it; the handover panel at the bottom.

Live and off the UI thread: every read runs in a thread worker. A one-shot timer polls the
events feed (``store.queue_views.changes_since``); when exceptions, commands or handover
notes changed it re-reads the page on screen and the handover figures, and re-arms itself
only when that is done, so polls never overlap. Scrolling past the page read so far asks
for another page (``screens.queue_paging``); the filters are ``screens.queue_filters``.

``enter`` opens the device screen (``screens.device_detail``) of the row's device, the
row's exception selected; ``i`` the exception's summary over the queue.

Acting on an exception someone else owns asks "take over from NAME?" first
(``screens.ownership``); ``A`` assigns it, ``o`` reopens a resolved one. ``space`` marks rows:
``a``, ``t``, ``x``, ``e`` and ``A`` then act on all the marked ones (``screens.queue_bulk``).

Actions write through ``store.exception_ops`` in workers, as ``services.operator`` at
``services.clock()`` (``screens.queue_actions``, shared with the device screen); a refusal
(someone else acknowledged it first, it was resolved meanwhile ...) is told in a
notification. Untrusted text is shown through plain ``Text`` or segments, made printable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from patchdesk.domain import FailureClass
from patchdesk.screens.clients import open_client
from patchdesk.screens.device_detail import show_device
from patchdesk.screens.handover import HandoverPanel, shift_start
from patchdesk.screens.missed import open_missed
from patchdesk.screens.ownership import someone_else
from patchdesk.screens.queue_actions import ExceptionActions, RemediationRead, SummaryRead
from patchdesk.screens.queue_bulk import BULK_KEYS, QueueBulk
from patchdesk.screens.queue_filters import SEARCH_ID, QueueFilters, QueueView, filter_bar_text
from patchdesk.screens.queue_paging import PageRead, QueuePaging
from patchdesk.screens.queue_poll import Polled, PollRequest, read_changes
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.marks import marks_text
from patchdesk.screens.widgets.queue_confirm import force_reboot_question
from patchdesk.screens.widgets.queue_current import current_text, status_text
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.screens.worker_results import ActionDone, notify_worker_error
from patchdesk.store.exception_views import QueueRow
from patchdesk.store.queue_views import QueueLine
from patchdesk.text import printable

POLL_SECONDS = 1.0

__all__ = ["POLL_SECONDS", "QueueScreen"]


class QueueScreen(Screen[None]):
    """Open exceptions in triage order, the selected one in full, and the handover panel."""

    TITLE = "Exception queue"

    # The footer shows the keys for any row; t, b and u apply to some rows only: the panel
    # under the table names them when they do (redrawing the footer per row costs far more
    # than moving the cursor).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "detail", "Device", id="queue.detail"),
        Binding("i", "summary", "Exception summary", show=False, id="queue.summary"),
        Binding("c", "client", "Client", show=False, id="queue.client"),
        Binding("a", "acknowledge", "Ack", id="queue.acknowledge"),
        Binding("r", "remediate", "Remediate", id="queue.remediate"),
        Binding("t", "retry", "Retry install now", show=False, id="queue.retry"),
        Binding("b", "reboot", "Force reboot", show=False, id="queue.reboot"),
        Binding("e", "escalate", "Escalate", id="queue.escalate"),
        Binding("x", "resolve", "Resolve", id="queue.resolve"),
        Binding("u", "release", "Release ownership", show=False, id="queue.release"),
        Binding("A", "assign", "Assign to a technician", show=False, id="queue.assign"),
        Binding("o", "reopen", "Reopen (resolved)", show=False, id="queue.reopen"),
        Binding("space", "mark", "Mark row (a t x e A act on marks)", show=False, id="queue.mark"),
        Binding("n", "handover_note", "Note", id="queue.handover_note"),
        Binding("N", "not_patched", "Not patched", show=False, id="queue.not_patched"),
        Binding("slash", "search", "Filter", id="queue.search"),
        Binding("T", "cycle_tier", "Filter: next tier", show=False, id="queue.filter_tier"),
        Binding("C", "cycle_class", "Filter: next class", show=False, id="queue.filter_class"),
        Binding("S", "cycle_state", "Filter: next state", show=False, id="queue.filter_state"),
        Binding("M", "toggle_mine", "Filter: mine", show=False, id="queue.filter_mine"),
        Binding(
            "U", "toggle_unassigned", "Filter: unassigned", show=False, id="queue.filter_unassigned"
        ),
        Binding(
            "escape", "clear_filters", "Clear marks, else filters", show=False, id="queue.clear"
        ),
    ]

    DEFAULT_CSS = """
    QueueScreen { layout: vertical; }
    QueueScreen #queue-filters { height: 1; padding: 0 1; background: $boost; }
    QueueScreen #queue-search { display: none; height: 1; border: none; padding: 0 1; }
    QueueScreen #queue-search.-shown { display: block; }
    QueueScreen QueueTable { height: 1fr; }
    QueueScreen #queue-current {
        height: 3; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis;
    }
    QueueScreen.-compact HandoverPanel { height: 5; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._last_event_id: int | None = None
        self._since: datetime | None = None
        self._now: datetime | None = None
        self._polling = False
        self._poll_again = False
        self._handover_due = True
        self._timer: Timer | None = None
        self.filters = QueueFilters(self, self._filtered)
        self.paging = QueuePaging(self)
        self.actions = ExceptionActions(
            self,
            read_group="queue-detail",
            write_group="queue-action",
            after=self._poll,
            after_note=self.poll_now,
        )
        self.bulk = QueueBulk(self, shown=self.show_marks, after=self.poll_now)

    @property
    def services(self) -> Services:
        return services_of(self.app)

    @property
    def view(self) -> QueueView:
        """What the technician asked to see."""
        return self.filters.view

    # --- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        services = self.services
        yield ClockHeader("Exception queue", id="queue-header")
        yield Static("", id="queue-filters", markup=False)
        yield Input(
            placeholder="filter: hostname, client, summary or owner (enter keeps it, esc clears)",
            id=SEARCH_ID,
        )
        yield QueueTable(operator=services.operator, now=services.clock(), id="queue-table")
        yield Static(Text("reading …", "dim"), id="queue-current", markup=False)
        yield HandoverPanel(services.local_zone, id="handover")
        yield Footer()

    def workers_busy(self) -> bool:
        """A read or a write of this screen is still running (tests wait for it)."""
        return self._polling or any(
            worker.node is self and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.app.workers
        )

    @property
    def table(self) -> QueueTable:
        return self.query_one(QueueTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._poll()

    def on_screen_resume(self) -> None:
        if self._last_event_id is not None and self._timer is None:
            self._poll()  # catch up at once after another screen, mode or modal

    def on_resize(self) -> None:
        self.set_class(self.size.height < 30, "-compact")
        self.query_one(Footer).compact = self.size.width < 100
        self._show_filters()

    def _show_filters(self) -> None:
        if self.bulk:
            bar = marks_text(len(self.bulk.marks), BULK_KEYS)
        else:
            total = self.paging.total
            bar = filter_bar_text(self.view, total, compact=self.size.width < 100)
        self.query_one("#queue-filters", Static).update(bar, layout=False)

    def show_marks(self) -> None:
        """The marks changed: the bar above the table counts them."""
        self._show_filters()

    def poll_now(self) -> None:
        """Read again at once, handover figures included (after an action)."""
        self._handover_due = True
        self._poll()

    # --- reading ---------------------------------------------------------------------------

    def _poll(self) -> None:
        """Look at the events feed now (after the running poll, if one is running)."""
        if self._polling:
            self._poll_again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        services = self.services
        now = services.clock()
        since = shift_start(now, services.local_zone)
        handover = self._handover_due or since != self._since
        self._since = since
        self._handover_due = False
        self._polling = True
        self._poll_again = False
        self._poll_worker(
            PollRequest(
                last_event_id=self._last_event_id,
                generation=self.paging.generation,
                query=self.view.query(services.operator),
                page=self.table.wanted_page(),
                since=since,
                handover=handover,
            )
        )

    @work(thread=True, exit_on_error=False, group="queue-poll")
    def _poll_worker(self, request: PollRequest) -> None:
        read_changes(self.services, request, self.post_message)

    @on(Polled)
    def _polled(self, message: Polled) -> None:
        self.apply_poll(message)

    def apply_poll(self, message: Polled) -> None:
        """A poll's result on screen (UI thread; the benchmark times it)."""
        self._polling = False
        self._last_event_id = message.last_event_id
        self._now = message.now
        self.table.set_now(message.now)
        if message.summary is not None:
            self.query_one(HandoverPanel).show(message.summary)
            services = self.services
            status = status_text(
                message.summary,
                message.unacknowledged,
                services.operator,
                readonly=services.readonly,
            )
            self.query_one(ClockHeader).set_status(status)
        self._show_current(self.table.current)
        self._rearm()

    def _rearm(self) -> None:
        """Poll again after ``POLL_SECONDS``; while another screen or a modal is on top the
        queue stops polling (``on_screen_resume`` catches up)."""
        if not self.is_attached:
            return
        if self._poll_again:
            self._poll()
        elif self.is_current:
            self._timer = self.set_timer(POLL_SECONDS, self._poll)

    @on(PageRead)
    def _page_read(self, message: PageRead) -> None:
        self.apply_page(message)

    def apply_page(self, message: PageRead) -> None:
        """A page read by a worker, on screen (UI thread; the benchmark times it)."""
        if not self.paging.take(message):
            return  # read for a filter that has changed since
        self._show_filters()
        self._show_current(self.table.current)

    @on(QueueTable.PageWanted)
    def _page_wanted(self, message: QueueTable.PageWanted) -> None:
        query = self.view.query(self.services.operator)
        self.paging.load(query, message.offset, message.limit)

    @on(QueueTable.Highlighted)
    def _highlighted(self, message: QueueTable.Highlighted) -> None:
        self._show_current(message.line)

    def _show_current(self, line: QueueLine | None) -> None:
        now = self._now or self.services.clock()
        # Fixed size: no layout pass (a layout of the whole screen per cursor key is the
        # most expensive part of a key otherwise).
        self.query_one("#queue-current", Static).update(
            current_text(line, now, self.services.operator), layout=False
        )

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        if event.worker.group == "queue-poll":
            self._polling = False
            self._rearm()
        notify_worker_error(self, event.worker)

    # --- filters ---------------------------------------------------------------------------

    def _filtered(self, view: QueueView) -> None:
        """A new filter: its first page read from the top."""
        self.paging.restart()
        self._show_filters()
        self.paging.load_wanted(view.query(self.services.operator))

    def action_cycle_tier(self) -> None:
        self.filters.cycle_tier()

    def action_cycle_class(self) -> None:
        self.filters.cycle_class()

    def action_cycle_state(self) -> None:
        self.filters.cycle_state()

    def action_toggle_mine(self) -> None:
        self.filters.toggle_mine()

    def action_toggle_unassigned(self) -> None:
        self.filters.toggle_unassigned()

    def action_search(self) -> None:
        self.filters.open_search()

    def action_clear_filters(self) -> None:
        """``esc``: in the text filter, clears the text only; elsewhere the marks if rows are
        marked, else every filter."""
        if self.bulk and not self.filters.typing:
            self.filters.cancel_typed()
            self.bulk.clear()
        else:
            self.filters.clear()

    @on(Input.Changed, f"#{SEARCH_ID}")
    def _search_changed(self, event: Input.Changed) -> None:
        self.filters.typed(event.value)

    @on(Input.Submitted, f"#{SEARCH_ID}")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.filters.submitted(event.value)

    # --- the row under the cursor, or the marked rows ---------------------------------------

    def _row(self, *, writes: bool = True) -> QueueRow | None:
        """The row under the cursor (told when there is none, or when writes are refused).

        The footer's keys stay the same whatever the row: redrawing the footer rebuilds its
        keys (widgets and styles), far more work than moving the cursor."""
        line = self.table.current
        if line is None:
            self.notify("no exception under the cursor", severity="warning")
            return None
        if writes and self.actions.refused_read_only():
            return None
        return line.row

    def _on_marks(self, act: Callable[[], None]) -> bool:
        """Rows are marked: the key acts on them (``act``), not on the cursor's row."""
        if not self.bulk:
            return False
        if not self.actions.refused_read_only():
            act()
        return True

    def action_mark(self) -> None:
        """``space``: mark or unmark the row under the cursor, then move down."""
        if (row := self._row(writes=False)) is not None:
            self.bulk.toggle(row)
            self.table.action_cursor(1)

    # --- actions ---------------------------------------------------------------------------

    def action_acknowledge(self) -> None:
        if not self._on_marks(self.bulk.acknowledge) and (row := self._row()) is not None:
            self.actions.acknowledge(row)

    def action_release(self) -> None:
        if (row := self._row()) is not None:
            self.actions.release(row)

    def action_retry(self) -> None:
        if self._on_marks(self.bulk.retry):
            return
        row = self._row()
        if row is not None and self._offers(row, FailureClass.INSTALL, "t retries an install"):
            self.actions.retry(row)

    def _offers(self, row: QueueRow, failure_class: FailureClass, what: str) -> bool:
        if row.failure_class is failure_class:
            return True
        self.notify(
            f"{what}; exception {row.id} is in class {row.failure_class.value}: r lists its"
            " actions",
            markup=False,
        )
        return False

    def action_reboot(self) -> None:
        if (row := self._row()) is None:
            return
        if not self._offers(
            row, FailureClass.REBOOT, "b forces the reboot a reboot exception waits for"
        ):
            return
        question = force_reboot_question(row.hostname, row.client_id)
        other = someone_else(row.owner, self.services.operator)
        if other is not None:  # one question: the reboot and the take-over
            question.append("\nIt is owned by ")
            question.append(printable(other), "bold")
            question.append(": yes also takes it over from them (logged).")
        self.actions.force_reboot(question, row.id, other)

    def action_escalate(self) -> None:
        """``e``: escalate to a target (a person or a queue) with an optional note."""
        if not self._on_marks(self.bulk.escalate) and (row := self._row()) is not None:
            self.actions.escalate(row)

    def action_resolve(self) -> None:
        if not self._on_marks(self.bulk.resolve) and (row := self._row()) is not None:
            self.actions.resolve(row)

    def action_assign(self) -> None:
        """``A``: hand the exception (or the marked ones) to a technician."""
        if not self._on_marks(self.bulk.assign) and (row := self._row()) is not None:
            self.actions.assign(row)

    def action_reopen(self) -> None:
        """``o``: reopen a resolved exception (a note is required: why it is not fixed)."""
        if (row := self._row()) is not None:
            self.actions.reopen(row)

    def action_handover_note(self) -> None:
        self.actions.handover_note()

    def action_remediate(self) -> None:
        if (row := self._row()) is not None:
            self.actions.remediate(row)

    @on(RemediationRead)
    def _remediation_read(self, message: RemediationRead) -> None:
        self.actions.show_remediation(message)

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        self.actions.done(message)

    # --- elsewhere -------------------------------------------------------------------------

    def action_detail(self) -> None:
        """The device screen of the row's device, with the row's exception selected."""
        if (row := self._row(writes=False)) is not None:
            show_device(self.app, row.device_id, exception_id=row.id)

    def action_not_patched(self) -> None:
        """The devices not patched this cycle (``:missed``)."""
        open_missed(self.app)

    def action_client(self) -> None:
        """The row's client: policy, windows, figures (``esc`` comes back here)."""
        if (row := self._row(writes=False)) is not None:
            open_client(self.app, row.client_id)

    def action_summary(self) -> None:
        """The exception and its device in brief, over the queue."""
        if (row := self._row(writes=False)) is not None:
            self.actions.summary(row)

    @on(SummaryRead)
    def _summary_read(self, message: SummaryRead) -> None:
        self.actions.show_summary(message)
