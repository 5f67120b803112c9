"""Approvals: the patches waiting for a technician, per client, and the global block list.

The table lists, client by client (the client's id on its first line), each patch whose
decision is ``pending_manual`` (``S`` shows the other states too): its id, title,
severity, how many devices need it, the rule that sent it to manual approval (or "no rule
matches", "device in no ring") and how long it has waited. The line under the cursor is
shown in full below. ``C`` narrows to one client, ``/`` filters by text.

Decisions, on the patch under the cursor (for its client): ``a`` approve, ``b`` block
(this client, or every client through the global block list; a reason), ``d`` defer (until
a date in the client's time zone), ``E`` emergency deploy (a reason, the devices, a
confirmation). ``g`` shows the global block list instead, where ``n`` adds an entry and
``x`` removes one (with a reason). ``esc`` clears the filters, leaves the block list, and
with nothing to clear walks back to the board. ``space`` marks lines: ``a``, ``b`` and ``d``
then decide every marked patch (``screens.approval_bulk``); ``esc`` clears the marks first.
Every decision goes through the same store
functions as ``patchdesk approvals`` and is in the remediation log with the operator and the
time.

The screen puts together parts with one job each: what is shown (``approval_filters``),
the two tables (``approval_table``, ``approval_blocklist``: the block list is shown in the
approvals' place, so the filter bar, the panel under the table and the keys stay where
they are), what a read does (``approval_reads``), which form a key opens
(``approval_decisions``) and the words (``approval_text``). The screen itself holds the
state, lays them out and runs the reads.

Reads run in thread workers. A one-shot timer looks at the events feed every 3 s; when
decisions, the block list or missing patches changed it reads again, and when only the
engine's progress did (targets, deployments, exceptions: rings move on or halt) at most
every 15 s. It re-arms only once that is done (no overlapping reads, none while another
screen or a modal is on top). Untrusted text is shown as plain ``Text``, made printable.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from patchdesk.rules.approval import StateFilter
from patchdesk.screens.approval_blocklist import BlockListTable, block_text
from patchdesk.screens.approval_bulk import BulkApproveForm, BulkBlockForm, BulkDeferForm
from patchdesk.screens.approval_decisions import ApprovalDecisions
from patchdesk.screens.approval_filters import (
    STATE_CYCLE,
    STATE_WORDS,
    ApprovalsView,
    filter_bar_text,
)
from patchdesk.screens.approval_forms import ApproveForm, BlockForm, DeferForm
from patchdesk.screens.approval_reads import (
    POLL_SECONDS,
    PROGRESS_SECONDS,
    DevicesRead,
    Loaded,
    ReadRequest,
    read_changes,
)
from patchdesk.screens.approval_table import ApprovalsTable
from patchdesk.screens.approval_text import line_text, pending_summary, status_text
from patchdesk.screens.debounce import Debounced
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.marks import Marks, marks_text
from patchdesk.screens.worker_results import notify_worker_error
from patchdesk.store.approval_views import (
    ApprovalLine,
    ApprovalsRead,
    BlockLine,
    devices_needing,
)


class ApprovalsScreen(Screen[None]):
    """Patches awaiting approval per client, decisions on them, the global block list."""

    TITLE = "Approvals"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve", id="approvals.approve"),
        Binding("b", "block", "Block", id="approvals.block"),
        Binding("d", "defer", "Defer", id="approvals.defer"),
        Binding("E", "emergency", "Emergency", key_display="E", id="approvals.emergency"),
        Binding("g", "toggle_blocklist", "Block list", id="approvals.blocklist"),
        Binding("n", "blocklist_add", "Add block", id="approvals.blocklist_add"),
        Binding("x", "blocklist_remove", "Remove block", id="approvals.blocklist_remove"),
        Binding("space", "mark", "Mark line (a b d act on marks)", show=False, id="approvals.mark"),
        Binding("slash", "search", "Filter", id="approvals.search"),
        Binding("S", "cycle_state", "Filter: next state", show=False, id="approvals.filter_state"),
        Binding(
            "C", "cycle_client", "Filter: next client", show=False, id="approvals.filter_client"
        ),
        Binding(
            "escape", "clear_filters", "Clear marks, else filters", show=False, id="approvals.clear"
        ),
    ]

    DEFAULT_CSS = """
    ApprovalsScreen { layout: vertical; }
    ApprovalsScreen #approvals-filters { height: 1; padding: 0 1; background: $boost; }
    ApprovalsScreen #approvals-search { display: none; height: 1; border: none; padding: 0 1; }
    ApprovalsScreen #approvals-search.-shown { display: block; }
    ApprovalsScreen DataTable { height: 1fr; }
    ApprovalsScreen #blocklist-table { display: none; }
    ApprovalsScreen.-blocklist #blocklist-table { display: block; }
    ApprovalsScreen.-blocklist #approvals-table { display: none; }
    ApprovalsScreen #approvals-current {
        height: 4; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.view = ApprovalsView()
        self.read: ApprovalsRead | None = None
        self.blocks: list[BlockLine] | None = None
        self._generation = 0
        self._last_event_id: int | None = None
        self._now: datetime | None = None
        self._reading = False
        self._read_again = False
        self._timer: Timer | None = None
        self._typed_filter = Debounced(self, self._apply_search)
        self._read_at = 0.0  # time.monotonic() of the last full read
        self._progress_pending = False
        self._pending: tuple[int, int] | None = None  # (patches, clients) awaiting approval
        self.marks: Marks[str, ApprovalLine] = Marks()  # by line key
        self.decisions = ApprovalDecisions(
            self,
            self.marks,
            read_now=self._read_now,
            clear_marks=self._clear_marks,
            select_block=self._select_block,
            read_devices=self._read_devices,
        )

    @property
    def services(self) -> Services:
        return services_of(self.app)

    # --- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ClockHeader("Approvals", id="approvals-header")
        yield Static("", id="approvals-filters", markup=False)
        yield Input(
            placeholder="filter: client, patch, title, rule or hostname (enter keeps it, "
            "esc clears)",
            id="approvals-search",
        )
        with Vertical(id="approvals-body"):
            yield ApprovalsTable(id="approvals-table")
            yield BlockListTable(id="blocklist-table")
        yield Static(Text("reading …", "dim"), id="approvals-current", markup=False)
        yield Footer()

    @property
    def table(self) -> ApprovalsTable:
        return self.query_one("#approvals-table", ApprovalsTable)

    @property
    def block_table(self) -> BlockListTable:
        return self.query_one("#blocklist-table", BlockListTable)

    @property
    def shown(self) -> list[ApprovalLine]:
        """The approvals lines the filters select, in the table's order."""
        return self.table.shown

    @property
    def shown_blocks(self) -> list[BlockLine]:
        """The block-list entries the text filter selects, in the table's order."""
        return self.block_table.shown

    def current_line(self) -> ApprovalLine | None:
        return self.table.current()

    def current_block(self) -> BlockLine | None:
        return self.block_table.current()

    def on_mount(self) -> None:
        self.table.focus()
        self._read_now()

    def on_screen_resume(self) -> None:
        if self._last_event_id is not None and self._timer is None:
            self._read_now()

    def on_resize(self) -> None:
        # Compact below 140 columns: at 120, the approval keys and the app's (? help, q quit)
        # fit only without the padding.
        self.query_one(Footer).compact = self.size.width < 140
        if self.table.columns_for != self.size.width:
            self._show_lines()
        self._show_filters()

    def workers_busy(self) -> bool:
        """A read or a write of this screen is still running (tests wait for it)."""
        return self._reading or any(
            worker.node is self and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.app.workers
        )

    # --- reading ---------------------------------------------------------------------------

    def _read_now(self, *, force: bool = True) -> None:
        if self._reading:
            self._read_again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._reading = True
        self._read_again = False
        due = time.monotonic() - self._read_at >= PROGRESS_SECONDS
        self._read_worker(
            ReadRequest(
                self._generation,
                self.view.state,
                self._last_event_id,
                force=force,
                progress_pending=self._progress_pending,
                progress_due=due,
            )
        )

    @work(thread=True, exit_on_error=False, group="approvals-read")
    def _read_worker(self, request: ReadRequest) -> None:
        self.post_message(read_changes(self.services, request))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self._reading = False
        self._last_event_id = message.last_event_id
        self._now = message.now
        if message.read is not None:
            self._read_at = time.monotonic()
            self._progress_pending = False
        else:
            self._progress_pending = message.progress
        if message.generation == self._generation and message.read is not None:
            self.read = message.read
            self.blocks = message.blocks
            # Marks on lines the read no longer has (decided elsewhere meanwhile) go.
            self.marks.keep_only({line.key for line in message.read.lines})
            if self.view.state in (StateFilter.PENDING, None):  # else: the last known count
                self._pending = pending_summary(message.read)
            self._show_lines()
        elif message.generation != self._generation:
            self._read_again = True  # read for a state filter that changed since
        self.query_one(ClockHeader).set_status(
            status_text(
                self._pending, None if self.blocks is None else len(self.blocks), self.services
            )
        )
        self._rearm()

    def _rearm(self) -> None:
        if not self.is_attached:
            return
        if self._read_again:
            self._read_now()
        elif self.is_current:
            self._timer = self.set_timer(POLL_SECONDS, lambda: self._read_now(force=False))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        if event.worker.group == "approvals-read":
            self._reading = False
            self._rearm()
        notify_worker_error(self, event.worker)

    # --- showing ---------------------------------------------------------------------------

    def _show_lines(self) -> None:
        """The lines and block-list entries the view selects, in their tables (each cursor
        stays on its line), then the filter bar and the panel under the table."""
        width = self.size.width or 120
        lines = [] if self.read is None else [x for x in self.read.lines if self.view.shows(x)]
        with self.app.batch_update():
            self.table.show(
                lines,
                width=width,
                state=self.view.state is not StateFilter.PENDING,
                marked=self.marks,
                now=self._now or self.services.clock(),
            )
            blocks = [b for b in self.blocks or [] if self.view.shows_block(b)]
            self.block_table.show(blocks, width=width)
        self._show_filters()
        self._show_current()

    def _show_filters(self) -> None:
        if self.view.blocklist:
            shown = None if self.blocks is None else len(self.shown_blocks)
        else:
            shown = None if self.read is None else len(self.shown)
        blocks = None if self.blocks is None else len(self.blocks)
        bar = filter_bar_text(self.view, shown, blocks=blocks, compact=self.size.width < 100)
        if self.marks and not self.view.blocklist:
            bar = marks_text(len(self.marks), "a b d")
        self.query_one("#approvals-filters", Static).update(bar)

    def _show_current(self) -> None:
        panel = self.query_one("#approvals-current", Static)
        if self.view.blocklist:
            panel.update(block_text(self.current_block()))
        elif self.read is None:
            panel.update(Text("reading …", "dim"))
        elif not self.shown:
            words = STATE_WORDS[self.view.state]
            filtered = self.view.client is not None or bool(self.view.search)
            note = " with these filters (esc clears them)" if filtered else ""
            panel.update(Text(f"no patches {words}{note}", "dim"))
        else:
            panel.update(line_text(self.current_line(), self._now or self.services.clock()))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_current()

    # --- filters ---------------------------------------------------------------------------

    def _set_view(self, view: ApprovalsView) -> None:
        if view == self.view:
            return
        state_changed = view.state != self.view.state
        blocklist_changed = view.blocklist != self.view.blocklist
        self.view = view
        self.set_class(view.blocklist, "-blocklist")
        if blocklist_changed:
            (self.block_table if view.blocklist else self.table).focus()
            self.refresh_bindings()
        if state_changed:
            self._generation += 1
            self.read = None
            self._show_lines()
            self._read_now()
        else:
            self._show_lines()

    def action_cycle_state(self) -> None:
        index = (STATE_CYCLE.index(self.view.state) + 1) % len(STATE_CYCLE)
        self._set_view(replace(self.view, state=STATE_CYCLE[index]))

    def action_cycle_client(self) -> None:
        if self.read is None:
            return
        clients: list[str | None] = [None, *dict.fromkeys(x.client_id for x in self.read.lines)]
        index = clients.index(self.view.client) if self.view.client in clients else 0
        self._set_view(replace(self.view, client=clients[(index + 1) % len(clients)]))

    def action_toggle_blocklist(self) -> None:
        self._set_view(replace(self.view, blocklist=not self.view.blocklist, search=""))
        search = self.query_one("#approvals-search", Input)
        search.value = ""
        search.remove_class("-shown")

    def action_search(self) -> None:
        search = self.query_one("#approvals-search", Input)
        search.add_class("-shown")
        search.focus()

    async def action_clear_filters(self) -> None:
        """``esc``: in the text filter, clears the text; elsewhere every filter, and from the
        block list back to the approvals; with nothing to clear, walks back (the app's
        ``esc``: to the board)."""
        search = self.query_one("#approvals-search", Input)
        self._typed_filter.cancel()
        had_focus = search.has_focus
        if self.marks and not had_focus:
            self._clear_marks()
            return
        if not had_focus and not search.value and self.view == ApprovalsView():
            await self.run_action("app.walk_back")
            return
        search.value = ""
        search.remove_class("-shown")
        if had_focus:
            self._set_view(replace(self.view, search=""))
        elif self.view.blocklist:
            self._set_view(replace(self.view, blocklist=False, search=""))
        else:
            self._set_view(ApprovalsView(blocklist=self.view.blocklist))
        (self.block_table if self.view.blocklist else self.table).focus()

    @on(Input.Changed, "#approvals-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._typed_filter.later(event.value)

    def _apply_search(self, text: str) -> None:
        self._set_view(replace(self.view, search=text))

    @on(Input.Submitted, "#approvals-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self._typed_filter.now(event.value)
        if not event.value:
            event.input.remove_class("-shown")
        (self.block_table if self.view.blocklist else self.table).focus()

    # --- decisions (screens.approval_decisions) -------------------------------------------

    _APPROVAL_ACTIONS = frozenset({"approve", "block", "defer", "emergency"})
    _BLOCKLIST_ACTIONS = frozenset({"blocklist_add", "blocklist_remove"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self._APPROVAL_ACTIONS:
            return not self.view.blocklist
        if action in self._BLOCKLIST_ACTIONS:
            return self.view.blocklist
        return True

    def action_approve(self) -> None:
        self.decisions.decide(ApproveForm, BulkApproveForm, self.current_line())

    def action_block(self) -> None:
        self.decisions.decide(BlockForm, BulkBlockForm, self.current_line())

    def action_defer(self) -> None:
        self.decisions.decide(DeferForm, BulkDeferForm, self.current_line())

    def action_emergency(self) -> None:
        self.decisions.emergency(self.current_line())

    @work(thread=True, exclusive=True, exit_on_error=False, group="approvals-devices")
    def _read_devices(self, line: ApprovalLine) -> None:
        services = self.services
        with services.database.session() as session:
            devices = devices_needing(session, line.client_id, line.patch_id, now=services.clock())
        self.post_message(DevicesRead(line, devices))

    @on(DevicesRead)
    def _devices_read(self, message: DevicesRead) -> None:
        self.decisions.devices_read(message)

    def action_blocklist_add(self) -> None:
        self.decisions.blocklist_add()

    def action_blocklist_remove(self) -> None:
        self.decisions.blocklist_remove(self.current_block())

    def _select_block(self, patch_id: str) -> None:
        self.block_table.select_next = patch_id

    # --- marks -----------------------------------------------------------------------------

    def action_mark(self) -> None:
        """``space``: mark or unmark the line under the cursor, then move down."""
        line = self.current_line()
        if line is None or self.view.blocklist:
            return
        self.marks.toggle(line.key, line)
        self._show_lines()
        self.table.action_cursor_down()

    def _clear_marks(self) -> None:
        self.marks.clear()
        self._show_lines()


__all__ = ["PROGRESS_SECONDS", "ApprovalsScreen"]
