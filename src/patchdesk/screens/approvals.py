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

Reads run in thread workers. A one-shot timer looks at the events feed every 3 s; when
decisions, the block list or missing patches changed it reads again, and when only the
engine's progress did (targets, deployments, exceptions: rings move on or halt) at most
every 15 s. It re-arms only once that is done (no overlapping reads, none while another
screen or a modal is on top). Untrusted text is shown as plain ``Text``, made printable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from sqlalchemy import select
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from patchdesk.domain import Severity
from patchdesk.rules.approval import ApprovalState, StateFilter
from patchdesk.screens.approval_bulk import BulkApproveForm, BulkBlockForm, BulkDeferForm
from patchdesk.screens.approval_forms import (
    ApprovalForm,
    ApproveForm,
    BlockForm,
    BlocklistAddForm,
    BlocklistRemoveForm,
    DeferForm,
    EmergencyForm,
)
from patchdesk.screens.burst import keys_wait_for
from patchdesk.screens.debounce import Debounced
from patchdesk.screens.form_screen import push_if_in_front
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.marks import GLYPH, Marks, marks_text
from patchdesk.screens.widgets.timetext import duration
from patchdesk.screens.worker_results import notify_worker_error
from patchdesk.store.approval_views import (
    ApprovalLine,
    ApprovalsRead,
    BlockLine,
    DeviceChoice,
    devices_needing,
    read_approvals,
    read_blocklist,
)
from patchdesk.store.models import Event
from patchdesk.store.queue_views import last_event_id
from patchdesk.text import printable

POLL_SECONDS = 3.0
# Events that change a decision or what a patch needs: read again at the next poll.
DECISIVE_ENTITIES = frozenset({"approval_decision", "blocklist", "client"})
# The engine's progress (ring progress, regressions halting a ring): read again at most
# every PROGRESS_SECONDS, as a window moves them many times a second.
PROGRESS_ENTITIES = frozenset({"deployment", "target", "exception"})
PROGRESS_SECONDS = 15.0
STATE_CYCLE: tuple[StateFilter | None, ...] = (
    StateFilter.PENDING,
    StateFilter.WAITING,
    StateFilter.APPROVED,
    StateFilter.DEFERRED,
    StateFilter.BLOCKED,
    None,
)
STATE_WORDS = {
    StateFilter.PENDING: "awaiting approval",
    StateFilter.WAITING: "waiting for a ring",
    StateFilter.APPROVED: "approved",
    StateFilter.DEFERRED: "deferred",
    StateFilter.BLOCKED: "blocked",
    None: "all states",
}
SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.IMPORTANT: "yellow",
    Severity.MODERATE: "",
    Severity.LOW: "dim",
    Severity.UNSPECIFIED: "dim",
}
SEVERITY_SHORT = {
    Severity.CRITICAL: "crit",
    Severity.IMPORTANT: "imp",
    Severity.MODERATE: "mod",
    Severity.LOW: "low",
    Severity.UNSPECIFIED: "-",
}
STATE_SHORT = {
    ApprovalState.PENDING_MANUAL: "pending",
    ApprovalState.NOT_YET: "not yet",
    ApprovalState.APPROVED: "approved",
    ApprovalState.DEFERRED: "deferred",
    ApprovalState.BLOCKED: "blocked",
}


@dataclass(frozen=True)
class ApprovalsView:
    """What the technician asked to see."""

    state: StateFilter | None = StateFilter.PENDING
    client: str | None = None
    search: str = ""
    blocklist: bool = False

    def shows(self, line: ApprovalLine) -> bool:
        if self.client is not None and line.client_id != self.client:
            return False
        if not self.search:
            return True
        needle = self.search.casefold()
        haystack = (
            line.client_id,
            line.client_name,
            line.patch_id,
            line.title,
            line.product,
            line.why,
            *line.hostnames,
        )
        return any(needle in value.casefold() for value in haystack)

    def shows_block(self, line: BlockLine) -> bool:
        if not self.search:
            return True
        needle = self.search.casefold()
        values = (line.patch_id, line.reason, line.blocked_by, line.title or "")
        return any(needle in value.casefold() for value in values)


# --- text ---------------------------------------------------------------------------------


def filter_bar_text(
    view: ApprovalsView, shown: int | None, *, blocks: int | None, compact: bool
) -> Text:
    """``6 patches awaiting approval  S pending  C client all  / text  g block list (1)``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if view.blocklist:
        if shown is None:
            text.append("reading …", "dim")
        else:
            text.append(f"global block list: {shown} entr{'y' if shown == 1 else 'ies'}", "bold")
    elif shown is None:
        text.append("reading …", "dim")
    else:
        noun = "line" if shown == 1 else "lines"
        text.append(f"{shown} {noun} {STATE_WORDS[view.state]}", "bold")

    def part(key: str, word: str, value: str, active: bool) -> None:
        label = value if compact and value else f"{word} {value}".strip()
        text.append("  ")
        text.append(f" {key} " if active else key, "reverse bold" if active else "bold")
        if label:
            text.append(f" {label}", "bold" if active else "dim")

    if not view.blocklist:
        state = view.state.value if view.state else "all"
        part("S", "state", state, view.state is not StateFilter.PENDING)
        client = printable(view.client) if view.client else "all"
        part("C", "client", client, view.client is not None)
    search = f"“{printable(view.search)}”" if view.search else ("" if compact else "text")
    part("/", "", search, bool(view.search))
    if view.blocklist:
        part("g", "", "approvals", False)
    else:
        count = "" if blocks is None else f" ({blocks})"
        part("g", "", f"block list{count}", False)
    return text


def waited(line: ApprovalLine, now: datetime) -> str:
    return "-" if line.waiting_since is None else duration(now - line.waiting_since)


def line_text(line: ApprovalLine | None, now: datetime) -> Text:
    """The line under the cursor in full: client, patch, decision and why, devices."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if line is None:
        text.append("no patch selected", "dim")
        return text
    text.append(printable(line.client_id), "bold")
    if line.client_name:
        text.append(f" ({printable(line.client_name)})")
    text.append(f" · {printable(line.zone)} · ")
    text.append(printable(line.patch_id), "bold")
    text.append(f" · {line.severity.value} {line.classification.value}")
    if line.product:
        text.append(f" · {printable(line.product)}")
    text.append(f" · released {line.release_date.isoformat()}")
    if line.waiting_since is not None:
        text.append(f" · missing for {duration(now - line.waiting_since)}")
    text.append("\n")
    text.append(printable(line.title), "italic")
    text.append("\n")
    text.append(f"{line.state.value}", "bold")
    if line.ring:
        text.append(f" (ring {printable(line.ring)})")
    text.append(f": {printable(line.reason)}")
    text.append("\n")
    count = line.devices
    text.append(f"{count} device{'' if count == 1 else 's'}: ", "bold")
    text.append(", ".join(printable(h) for h in line.hostnames))
    return text


def block_text(line: BlockLine | None) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if line is None:
        text.append("the global block list is empty: n adds a patch", "dim")
        return text
    text.append(printable(line.patch_id), "bold")
    text.append(" · blocked by ")
    text.append(printable(line.blocked_by), "bold")
    text.append(f" on {line.blocked_at:%Y-%m-%d %H:%M} UTC")
    missing = line.devices_missing
    verb = "device reports" if missing == 1 else "devices report"
    text.append(f" · {missing} {verb} it missing")
    text.append("\n")
    if line.title is None:
        text.append("no device has reported this patch yet", "dim")
    else:
        text.append(printable(line.title), "italic")
    text.append("\n")
    text.append("reason: ", "bold")
    text.append(printable(line.reason))
    return text


def pending_summary(read: ApprovalsRead) -> tuple[int, int]:
    """(patches, clients) waiting for a technician among ``read``'s lines."""
    pending = [line for line in read.lines if line.state is ApprovalState.PENDING_MANUAL]
    return len({(line.client_id, line.patch_id) for line in pending}), len(
        {line.client_id for line in pending}
    )


def status_text(pending: tuple[int, int] | None, blocks: int | None, services: Services) -> Text:
    """``operator alice · 6 patches awaiting approval in 1 client · global block list 1``."""
    text = Text()
    text.append("operator ", "dim")
    text.append(printable(services.operator), "bold")
    if pending is not None:
        patches, clients = pending
        text.append(
            f"  ·  {patches} patch{'' if patches == 1 else 'es'} awaiting approval"
            f" in {clients} client{'' if clients == 1 else 's'}"
        )
    if blocks is not None:
        text.append(f"  ·  global block list {blocks}")
    if services.readonly:
        text.append("  ·  read-only", "bold")
    return text


# --- messages from the workers --------------------------------------------------------------


class Loaded(Message):
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


@dataclass(frozen=True)
class _ReadRequest:
    generation: int
    state: StateFilter | None
    since_id: int | None  # None: the first read
    force: bool  # read whatever changed (after an action, a filter, a screen switch)
    progress_pending: bool  # engine progress seen earlier and not read yet
    progress_due: bool  # the last read is old enough to read for progress


class DevicesRead(Message):
    def __init__(self, line: ApprovalLine, devices: list[DeviceChoice]) -> None:
        super().__init__()
        self.line = line
        self.devices = devices


# --- the screen -----------------------------------------------------------------------------


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
        self.shown: list[ApprovalLine] = []
        self.shown_blocks: list[BlockLine] = []
        self._generation = 0
        self._last_event_id: int | None = None
        self._now: datetime | None = None
        self._reading = False
        self._read_again = False
        self._timer: Timer | None = None
        self._typed_filter = Debounced(self, self._apply_search)
        self._columns_for: int | None = None
        self._block_columns_for: int | None = None
        self._read_at = 0.0  # time.monotonic() of the last full read
        self._progress_pending = False
        self._select_block: str | None = None  # a block-list entry just added
        self._pending: tuple[int, int] | None = None  # (patches, clients) awaiting approval
        self.marks: Marks[str, ApprovalLine] = Marks()  # by line key

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
            yield DataTable(id="approvals-table", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="blocklist-table", cursor_type="row", zebra_stripes=True)
        yield Static(Text("reading …", "dim"), id="approvals-current", markup=False)
        yield Footer()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#approvals-table", DataTable)

    @property
    def block_table(self) -> DataTable[Text]:
        return self.query_one("#blocklist-table", DataTable)

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
        if self._columns_for != self.size.width:
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
            _ReadRequest(
                self._generation,
                self.view.state,
                self._last_event_id,
                force=force,
                progress_pending=self._progress_pending,
                progress_due=due,
            )
        )

    @work(thread=True, exit_on_error=False, group="approvals-read")
    def _read_worker(self, request: _ReadRequest) -> None:
        services = self.services
        now = services.clock()
        since_id = request.since_id
        progress = request.progress_pending
        with services.database.session() as session:
            newest = last_event_id(session)
            changed = request.force or since_id is None
            if not changed and newest != since_id:
                entities = set(
                    session.scalars(select(Event.entity).where(Event.id > since_id).distinct())
                )
                changed = bool(entities & DECISIVE_ENTITIES)
                progress = progress or bool(entities & PROGRESS_ENTITIES)
            if not changed and progress and request.progress_due:
                changed = True
            read = blocks = None
            if changed:
                read = read_approvals(session, now=now, state=request.state)
                blocks = read_blocklist(session)
        self.post_message(Loaded(request.generation, read, blocks, newest, now, progress))

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
            self._keep_marks(message.read)
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

    def _columns(self, width: int) -> list[tuple[str, str, int | None]]:
        """(key, label, width) of the approvals table's columns for ``width`` cells."""
        state = self.view.state is not StateFilter.PENDING
        if width >= 100:
            columns = [
                ("client", "Client", 18),
                ("patch", "Patch", None),
                ("severity", "Severity", 11),
                ("devices", "Dev", 4),
                ("why", "Why", 24),
                ("waiting", "Waiting", 7),
            ]
            if state:
                columns.insert(2, ("state", "State", 8))
        else:
            columns = [
                ("client", "Client", 14),
                ("patch", "Patch", None),
                ("severity", "Sev", 4),
                ("devices", "Dev", 3),
                ("why", "Why", 16),
                ("waiting", "Wait", 6),
            ]
            if state:
                columns.insert(2, ("state", "State", 8))
        if self.marks:
            columns.insert(0, ("mark", "", 1))
        fixed = sum(w for _, _, w in columns if w is not None) + 2 * len(columns) + 4
        return [
            (key, label, w if w is not None else max(12, width - fixed))
            for key, label, w in columns
        ]

    def _cells(
        self, line: ApprovalLine, keys: Sequence[str], first: bool, now: datetime, compact: bool
    ) -> list[Text]:
        severity = SEVERITY_SHORT[line.severity] if compact else line.severity.value
        patch = Text(printable(line.patch_id), "bold")
        if line.title and line.title != line.patch_id:
            patch.append("  ")
            patch.append(printable(line.title), "dim")
        values: dict[str, Text] = {
            "client": Text(printable(line.client_id) if first else "", "bold"),
            "patch": patch,
            "state": Text(STATE_SHORT[line.state]),
            "severity": Text(severity, SEVERITY_STYLE[line.severity]),
            "devices": Text(str(line.devices), justify="right"),
            "why": Text(printable(line.why) + (f" · {printable(line.ring)}" if line.ring else "")),
            "waiting": Text(waited(line, now), justify="right"),
            "mark": Text(GLYPH if line.key in self.marks else "", "bold"),
        }
        for text in values.values():
            text.no_wrap = True
            text.overflow = "ellipsis"
        return [values[key] for key in keys]

    def _show_lines(self) -> None:
        """The lines the view selects, in the table; the cursor stays on its line."""
        now = self._now or self.services.clock()
        table = self.table
        width = self.size.width or 120
        columns = self._columns(width)
        keys = [key for key, _, _ in columns]
        current = self.current_line()
        with self.app.batch_update():
            if (
                self._columns_for != width
                or [str(c.key.value) for c in table.columns.values()] != keys
            ):
                table.clear(columns=True)
                for key, label, column_width in columns:
                    table.add_column(label, key=key, width=column_width)
                self._columns_for = width
            else:
                table.clear()
            lines = [] if self.read is None else [x for x in self.read.lines if self.view.shows(x)]
            self.shown = lines
            previous = None
            used: set[str] = set()
            for line in lines:
                first = line.client_id != previous
                previous = line.client_id
                key = line.key
                while key in used:  # (never expected; a duplicate key would crash the table)
                    key += "\x1f+"
                used.add(key)
                table.add_row(*self._cells(line, keys, first, now, width < 100), key=key)
            if current is not None:
                for index, line in enumerate(lines):
                    if line.key == current.key:
                        table.move_cursor(row=index, animate=False)
                        break
            self._show_blocks()
        self._show_filters()
        self._show_current()

    def _block_columns(self, width: int) -> list[tuple[str, str, int | None]]:
        if width >= 100:
            columns = [
                ("patch", "Patch", 24),
                ("by", "Blocked by", 12),
                ("since", "Since", 10),
                ("missing", "Missing", 7),
                ("reason", "Reason", None),
            ]
        else:
            columns = [
                ("patch", "Patch", 18),
                ("by", "By", 10),
                ("missing", "Miss", 4),
                ("reason", "Reason", None),
            ]
        fixed = sum(w for _, _, w in columns if w is not None) + 2 * len(columns) + 4
        return [
            (k, label, w if w is not None else max(12, width - fixed)) for k, label, w in columns
        ]

    def _show_blocks(self) -> None:
        table = self.block_table
        current = self.current_block()
        width = self.size.width or 120
        columns = self._block_columns(width)
        keys = [key for key, _, _ in columns]
        if [str(c.key.value) for c in table.columns.values()] != keys or (
            self._block_columns_for != width
        ):
            table.clear(columns=True)
            for key, label, column_width in columns:
                table.add_column(label, key=key, width=column_width)
            self._block_columns_for = width
        else:
            table.clear()
        blocks = [b for b in self.blocks or [] if self.view.shows_block(b)]
        self.shown_blocks = blocks
        for block in blocks:
            values = {
                "patch": Text(printable(block.patch_id), "bold"),
                "by": Text(printable(block.blocked_by)),
                "since": Text(f"{block.blocked_at:%Y-%m-%d}"),
                "missing": Text(str(block.devices_missing), justify="right"),
                "reason": Text(printable(block.reason)),
            }
            for text in values.values():
                text.no_wrap = True
                text.overflow = "ellipsis"
            table.add_row(*(values[key] for key in keys), key=block.patch_id)
        wanted = self._select_block or (current.patch_id if current is not None else None)
        for index, block in enumerate(blocks):
            if block.patch_id == wanted:
                table.move_cursor(row=index, animate=False)
                if block.patch_id == self._select_block:
                    self._select_block = None
                break

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

    def current_line(self) -> ApprovalLine | None:
        row = self.table.cursor_row
        if self.shown and 0 <= row < len(self.shown):
            return self.shown[row]
        return None

    def current_block(self) -> BlockLine | None:
        row = self.block_table.cursor_row
        if self.shown_blocks and 0 <= row < len(self.shown_blocks):
            return self.shown_blocks[row]
        return None

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

    # --- actions ---------------------------------------------------------------------------

    _APPROVAL_ACTIONS = frozenset({"approve", "block", "defer", "emergency"})
    _BLOCKLIST_ACTIONS = frozenset({"blocklist_add", "blocklist_remove"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self._APPROVAL_ACTIONS:
            return not self.view.blocklist
        if action in self._BLOCKLIST_ACTIONS:
            return self.view.blocklist
        return True

    def _writable(self) -> bool:
        if self.services.readonly:
            self.notify("read-only session: nothing can be changed", severity="warning")
            return False
        return True

    def _line(self) -> ApprovalLine | None:
        line = self.current_line()
        if line is None:
            self.notify("no patch under the cursor", severity="warning")
            return None
        return line if self._writable() else None

    def action_approve(self) -> None:
        if self.marks:
            self._bulk(BulkApproveForm)
        elif (line := self._line()) is not None:
            self._form(ApproveForm(line))

    def action_block(self) -> None:
        if self.marks:
            self._bulk(BulkBlockForm)
        elif (line := self._line()) is not None:
            self._form(BlockForm(line))

    def action_defer(self) -> None:
        if self.marks:
            self._bulk(BulkDeferForm)
        elif (line := self._line()) is not None:
            self._form(DeferForm(line))

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

    def _keep_marks(self, read: ApprovalsRead) -> None:
        """Marks on lines a fresh read no longer has (decided elsewhere meanwhile) go."""
        self.marks.keep_only({line.key for line in read.lines})

    def _bulk(self, form: Callable[[list[ApprovalLine]], ApprovalForm]) -> None:
        if not self._writable():
            return
        lines = self.marks.rows()

        def done(message: str | None) -> None:
            if message:
                self._clear_marks()
                self.notify(printable(message), markup=False)
                self._read_now()

        self.app.push_screen(form(lines), done)

    def action_emergency(self) -> None:
        if (line := self._line()) is not None:
            keys_wait_for(self.app, self._read_devices(line))

    @work(thread=True, exclusive=True, exit_on_error=False, group="approvals-devices")
    def _read_devices(self, line: ApprovalLine) -> None:
        services = self.services
        with services.database.session() as session:
            devices = devices_needing(session, line.client_id, line.patch_id, now=services.clock())
        self.post_message(DevicesRead(line, devices))

    @on(DevicesRead)
    def _devices_read(self, message: DevicesRead) -> None:
        if not message.devices:
            self.notify(
                f"no device of {printable(message.line.client_id)} needs "
                f"{printable(message.line.patch_id)} any more",
                severity="warning",
                markup=False,
            )
            self._read_now()
            return
        # The devices were read in a worker: by now another form may be open (b pressed
        # meanwhile). It stays in front, and keeps its keys.
        form = EmergencyForm(message.line, message.devices)
        push_if_in_front(self, form, self._form_done(form), what="the emergency form")

    def action_blocklist_add(self) -> None:
        if self._writable():
            self._form(BlocklistAddForm())

    def action_blocklist_remove(self) -> None:
        block = self.current_block()
        if block is None:
            self.notify("no block-list entry under the cursor", severity="warning")
            return
        if self._writable():
            self._form(BlocklistRemoveForm(block))

    def _form(self, form: ApprovalForm) -> None:
        self.app.push_screen(form, self._form_done(form))

    def _form_done(self, form: ApprovalForm) -> Callable[[str | None], None]:
        def done(message: str | None) -> None:
            if isinstance(form, BlocklistAddForm) and form.added is not None:
                self._select_block = form.added  # the cursor goes to the new entry
            if message:
                self.notify(printable(message), markup=False)
                self._read_now()

        return done


__all__ = ["ApprovalsScreen", "ApprovalsView", "filter_bar_text", "line_text"]
