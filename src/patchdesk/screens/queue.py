"""The exception queue: the handover screen.

Open exceptions in triage order (tier, class, age) in a virtual table that draws only what
is on screen; the row under the cursor in full below it; the handover panel at the bottom.

Live and off the UI thread: every read runs in a thread worker. A one-shot timer polls the
events feed (``store.queue_views.changes_since``); when exceptions, commands or handover
notes changed it re-reads the window on screen and the handover figures, and re-arms itself
only when that is done, so polls never overlap. Scrolling past the window read so far asks
for another window (an exclusive worker: only the latest one counts).

``enter`` opens the device screen (``screens.device_detail``) of the row's device, the
row's exception selected; ``i`` the exception's summary over the queue.

Acting on an exception someone else owns asks "take over from NAME?" first
(``screens.ownership``); ``A`` assigns it, ``o`` reopens a resolved one. ``space`` marks rows:
``a``, ``t``, ``x``, ``e`` and ``A`` then act on all the marked ones (``screens.queue_bulk``).

Actions write through ``store.exception_ops`` in workers, as ``services.operator`` at
``services.clock()``; a refusal (someone else acknowledged it first, it was resolved
meanwhile ...) is told in a notification. Untrusted text is shown through plain ``Text`` or
segments, made printable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from patchdesk.ages import age
from patchdesk.domain import ExceptionState, FailureClass, Tier
from patchdesk.screens.burst import keys_wait_for
from patchdesk.screens.clients import open_client
from patchdesk.screens.debounce import Debounced
from patchdesk.screens.device_detail import show_device
from patchdesk.screens.form_screen import push_if_in_front
from patchdesk.screens.handover import HandoverPanel, NoteModal, shift_start
from patchdesk.screens.missed import open_missed
from patchdesk.screens.ownership import refusal_text, someone_else, with_ownership
from patchdesk.screens.queue_bulk import BULK_KEYS, QueueBulk
from patchdesk.screens.queue_detail import ExceptionDetailScreen
from patchdesk.screens.queue_forms import assign_form, escalate_form, reopen_form, resolve_form
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.marks import marks_text
from patchdesk.screens.widgets.queue_cells import (
    ROLE_LABELS,
    STATE_LABELS,
    command_text,
)
from patchdesk.screens.widgets.queue_confirm import ConfirmModal, force_reboot_question
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.screens.worker_results import ActionDone, notify_worker_error
from patchdesk.store import exception_ops as ops
from patchdesk.store.exception_views import (
    UNRESOLVED,
    ExceptionDetail,
    QueueFilter,
    QueueRow,
    exception_detail,
)
from patchdesk.store.handover import HandoverSummary, add_handover_note
from patchdesk.store.operator_input import Refused
from patchdesk.store.queue_views import (
    Changes,
    QueueLine,
    QueueWindow,
    changes_since,
    last_event_id,
    read_window,
    shift_summary,
    unacknowledged_count,
)
from patchdesk.text import printable

POLL_SECONDS = 1.0
HANDOVER_NOTES = 4

TIER_CYCLE: tuple[Tier | None, ...] = (None, *Tier)
CLASS_CYCLE: tuple[FailureClass | None, ...] = (
    None,
    FailureClass.OFFLINE,
    FailureClass.REGRESSION,
    FailureClass.REBOOT,
    FailureClass.INSTALL,
    FailureClass.MISSED,
)
STATE_CYCLE: tuple[ExceptionState | None, ...] = (None, *ExceptionState)  # None: unresolved


@dataclass(frozen=True)
class QueueView:
    """What the technician asked to see (the quick keys and the text filter)."""

    tier: Tier | None = None
    failure_class: FailureClass | None = None
    state: ExceptionState | None = None
    mine: bool = False
    unassigned: bool = False
    search: str = ""

    def query(self, operator: str) -> QueueFilter:
        return QueueFilter(
            tier=self.tier,
            failure_class=self.failure_class,
            states=UNRESOLVED if self.state is None else {self.state},
            owner=operator if self.mine else None,
            unassigned=self.unassigned,
            search=self.search or None,
        )

    @property
    def filtered(self) -> bool:
        return self != QueueView()


def _next(cycle: tuple[object, ...], value: object) -> int:
    return (cycle.index(value) + 1) % len(cycle)


def filter_bar_text(view: QueueView, total: int | None, *, compact: bool = False) -> Text:
    """``58 exceptions  T tier 1  C class all  S state unresolved  M mine ...``; ``compact``
    (under 100 columns) leaves the words tier, class and state out."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if total is None:
        text.append("reading …", "dim")
    else:
        noun = "exception" if total == 1 else "exceptions"
        text.append(f"{total:,} {noun}", "bold")

    def part(key: str, word: str, value: str, active: bool) -> None:
        label = value if compact and value else f"{word} {value}".strip()
        text.append("  ")
        text.append(f" {key} " if active else key, "reverse bold" if active else "bold")
        if label:
            text.append(f" {label}", "bold" if active else "dim")

    part("T", "tier", view.tier.value if view.tier else "all", view.tier is not None)
    klass = view.failure_class.value if view.failure_class else "all"
    part("C", "class", klass, view.failure_class is not None)
    state = STATE_LABELS[view.state] if view.state else "unresolved"
    part("S", "state", state, view.state is not None)
    part("M", "mine", "", view.mine)
    part("U", "unassigned", "", view.unassigned)
    search = f"“{printable(view.search)}”" if view.search else ("" if compact else "text")
    part("/", "", search, bool(view.search))
    if view.filtered:
        text.append("  esc clears", "dim")
    return text


def current_text(line: QueueLine | None, now: datetime, operator: str) -> Text:
    """The row under the cursor in full: who and what, the summary, the engine command."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if line is None:
        text.append("no exception selected", "dim")
        return text
    row = line.row
    text.append(f"#{row.id} ", "dim")
    text.append(printable(row.hostname), "bold")
    text.append(f" · {printable(row.client_id)} ({printable(row.client_name)})")
    text.append(f" · {ROLE_LABELS[row.role]}, {row.criticality.value} · {row.failure_class.value}")
    failed = row.failed_patches or row.patches
    if failed:
        text.append(" · " + ", ".join(printable(p) for p in failed))
        if len(failed) < len(row.patches):
            text.append(f" failed (of {len(row.patches)} patches)")
    text.append(f" · {STATE_LABELS[row.state]}")
    if row.owner:
        mine = row.owner == operator
        text.append(" by ")
        text.append(printable(row.owner), "bold" if mine else "")
    text.append(f" · open {age(row.age(now))}")
    text.append("\n")
    text.append(printable(row.summary) or "-", "italic")
    text.append("\n")
    hints = row_keys(row, operator)
    if hints:
        text.append(hints, "bold")
        text.append(" │ ", "dim")
    if line.command is None:
        text.append("no engine command yet", "dim")
    else:
        text.append("engine: ", "bold")
        text.append(command_text(line.command))
    return text


def row_keys(row: QueueRow, operator: str) -> str:
    """The keys that apply to this row beyond the footer's: ``t retry now · u release``."""
    keys = []
    if row.failure_class is FailureClass.INSTALL:
        keys.append("t retry now")
    if row.failure_class is FailureClass.REBOOT:
        keys.append("b force reboot")
    if row.owner == operator:
        keys.append("u release")
    return " · ".join(keys)


def status_text(summary: HandoverSummary, unacknowledged: int, services: Services) -> Text:
    """The header's second line: who is at the keyboard and what waits for someone, in the
    table's terms: ``58 unresolved (41 open), 40 unassigned`` are the rows it lists with the
    state filter on "unresolved" (the default), on "open", and with ``U``."""
    text = Text()
    text.append("operator ", "dim")
    text.append(printable(services.operator), "bold")
    text.append(
        f"  ·  {summary.open_total} unresolved ({unacknowledged} open), "
        f"{summary.unassigned_total} unassigned"
    )
    first = next((tier for tier in Tier if summary.unassigned_by_tier.get(tier)), None)
    if first is not None:
        text.append(f" (tier {first.value} first)")
    if services.readonly:
        text.append("  ·  read-only", "bold")
    return text


# --- messages from the workers --------------------------------------------------------------


class WindowRead(Message):
    def __init__(self, generation: int, window: QueueWindow) -> None:
        super().__init__()
        self.generation = generation
        self.window = window


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


class DetailRead(Message):
    def __init__(
        self, detail: ExceptionDetail | None, purpose: str, take_over_from: str | None = None
    ) -> None:
        super().__init__()
        self.detail = detail
        self.purpose = purpose
        self.take_over_from = take_over_from  # agreed to before the read (remediate)


@dataclass(frozen=True)
class _PollRequest:
    last_event_id: int | None  # None: the first poll (start from the newest event)
    generation: int
    query: QueueFilter
    window: tuple[int, int]
    since: datetime
    handover: bool  # re-read the handover figures whatever changed


# --- the screen -----------------------------------------------------------------------------


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
        self.view = QueueView()
        self._generation = 0
        self._last_event_id: int | None = None
        self._since: datetime | None = None
        self._now: datetime | None = None
        self._polling = False
        self._poll_again = False
        self._handover_due = True
        self._timer: Timer | None = None
        self._typed_filter = Debounced(self, self._apply_search)
        self._total: int | None = None  # rows the current filter selects (None: reading)
        self.bulk = QueueBulk(self)

    @property
    def services(self) -> Services:
        return services_of(self.app)

    # --- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        services = self.services
        yield ClockHeader("Exception queue", id="queue-header")
        yield Static("", id="queue-filters", markup=False)
        yield Input(
            placeholder="filter: hostname, client, summary or owner (enter keeps it, esc clears)",
            id="queue-search",
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
            bar = filter_bar_text(self.view, self._total, compact=self.size.width < 100)
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
            _PollRequest(
                last_event_id=self._last_event_id,
                generation=self._generation,
                query=self.view.query(services.operator),
                window=self.table.wanted_window(),
                since=since,
                handover=handover,
            )
        )

    @work(thread=True, exit_on_error=False, group="queue-poll")
    def _poll_worker(self, request: _PollRequest) -> None:
        services = self.services
        now = services.clock()
        first = request.last_event_id is None
        with services.database.session() as session:
            if first:  # everything is read now: follow the feed from its newest event on
                changes = Changes(last_event_id(session), frozenset(), False)
            else:
                changes = changes_since(session, request.last_event_id or 0)
            last_id = changes.last_event_id
            if first or changes.any:
                offset, limit = request.window
                window = read_window(session, request.query, offset=offset, limit=limit)
                self.post_message(WindowRead(request.generation, window))
            summary, unacknowledged = None, 0
            if first or changes.exceptions or changes.handover or request.handover:
                summary = shift_summary(session, since=request.since, now=now, notes=HANDOVER_NOTES)
                unacknowledged = unacknowledged_count(session)
        self.post_message(Polled(last_id, summary, now, unacknowledged))

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
            status = status_text(message.summary, message.unacknowledged, self.services)
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

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-window")
    def _load_window(self, generation: int, query: QueueFilter, offset: int, limit: int) -> None:
        with self.services.database.session() as session:
            window = read_window(session, query, offset=offset, limit=limit)
        if not get_current_worker().is_cancelled:
            self.post_message(WindowRead(generation, window))

    @on(WindowRead)
    def _window_read(self, message: WindowRead) -> None:
        self.apply_window(message)

    def apply_window(self, message: WindowRead) -> None:
        """A window read by a worker, on screen (UI thread; the benchmark times it)."""
        if message.generation != self._generation:
            return  # read for a filter that has changed since
        self.table.show_window(message.window)
        self._total = message.window.total
        self._show_filters()
        self._show_current(self.table.current)

    @on(QueueTable.WindowWanted)
    def _window_wanted(self, message: QueueTable.WindowWanted) -> None:
        query = self.view.query(self.services.operator)
        self._load_window(self._generation, query, message.offset, message.limit)

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

    def _set_view(self, view: QueueView) -> None:
        if view == self.view:
            return
        self.view = view
        self._generation += 1
        self.table.reset()
        self._total = None
        self._show_filters()
        query = view.query(self.services.operator)
        offset, limit = self.table.wanted_window()
        self._load_window(self._generation, query, offset, limit)

    def action_cycle_tier(self) -> None:
        self._set_view(replace(self.view, tier=TIER_CYCLE[_next(TIER_CYCLE, self.view.tier)]))

    def action_cycle_class(self) -> None:
        index = _next(CLASS_CYCLE, self.view.failure_class)
        self._set_view(replace(self.view, failure_class=CLASS_CYCLE[index]))

    def action_cycle_state(self) -> None:
        self._set_view(replace(self.view, state=STATE_CYCLE[_next(STATE_CYCLE, self.view.state)]))

    def action_toggle_mine(self) -> None:
        self._set_view(replace(self.view, mine=not self.view.mine, unassigned=False))

    def action_toggle_unassigned(self) -> None:
        self._set_view(replace(self.view, unassigned=not self.view.unassigned, mine=False))

    def action_search(self) -> None:
        search = self.query_one("#queue-search", Input)
        search.add_class("-shown")
        search.focus()

    def action_clear_filters(self) -> None:
        """``esc``: in the text filter, clears the text only; elsewhere the marks if rows are
        marked, else every filter."""
        search = self.query_one("#queue-search", Input)
        self._typed_filter.cancel()
        if self.bulk and not search.has_focus:
            self.bulk.clear()
            return
        if search.has_focus:
            search.value = ""
            self._hide_search()
            self._set_view(replace(self.view, search=""))
            return
        search.value = ""
        self._hide_search()
        self._set_view(QueueView())

    def _hide_search(self) -> None:
        search = self.query_one("#queue-search", Input)
        if not search.value:
            search.remove_class("-shown")
        self.table.focus()

    @on(Input.Changed, "#queue-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._typed_filter.later(event.value)

    def _apply_search(self, text: str) -> None:
        self._set_view(replace(self.view, search=text))

    @on(Input.Submitted, "#queue-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self._typed_filter.now(event.value)
        self._hide_search()

    # --- which actions apply to the row under the cursor -----------------------------------

    def _row(self, *, writes: bool = True) -> QueueRow | None:
        """The row under the cursor (told when there is none, or when writes are refused).

        The footer's keys stay the same whatever the row: redrawing the footer rebuilds its
        keys (widgets and styles), far more work than moving the cursor."""
        line = self.table.current
        if line is None:
            self.notify("no exception under the cursor", severity="warning")
            return None
        if writes and self.services.readonly:
            self.notify("read-only session: nothing can be changed", severity="warning")
            return None
        return line.row

    # --- actions ---------------------------------------------------------------------------

    def _on_marks(self, act: Callable[[], None]) -> bool:
        """Rows are marked: the key acts on them (``act``), not on the cursor's row."""
        if not self.bulk:
            return False
        if self.services.readonly:
            self.notify("read-only session: nothing can be changed", severity="warning")
        else:
            act()
        return True

    def _owned(self, row: QueueRow, proceed: Callable[[str | None], None], what: str = "") -> None:
        """``proceed(from_owner)``, once taking over from another owner was agreed."""
        with_ownership(
            self.app,
            exception_id=row.id,
            hostname=row.hostname,
            owner=row.owner,
            operator=self.services.operator,
            proceed=proceed,
            what=what,
        )

    def action_mark(self) -> None:
        """``space``: mark or unmark the row under the cursor, then move down."""
        if (row := self._row(writes=False)) is not None:
            self.bulk.toggle(row)
            self.table.action_cursor(1)

    def action_acknowledge(self) -> None:
        if self._on_marks(self.bulk.acknowledge):
            return
        if (row := self._row()) is None:
            return
        exception_id = row.id

        def go(from_owner: str | None) -> None:
            if from_owner is None:
                self._write(
                    lambda s: ops.acknowledge(s.database, exception_id, s.operator, now=s.clock())
                )
            else:
                self._write(
                    lambda s: ops.take_over(
                        s.database, exception_id, s.operator, now=s.clock(), from_owner=from_owner
                    )
                )

        self._owned(row, go)

    def action_release(self) -> None:
        if (row := self._row()) is not None:
            if row.owner != self.services.operator:
                owner = f"{printable(row.owner)} owns it" if row.owner else "nobody owns it"
                self.notify(f"u releases your own exceptions; {owner}", markup=False)
                return
            exception_id = row.id
            self._write(lambda s: ops.release(s.database, exception_id, s.operator, now=s.clock()))

    def action_retry(self) -> None:
        if self._on_marks(self.bulk.retry):
            return
        row = self._row()
        if row is not None and self._offers(row, FailureClass.INSTALL, "t retries an install"):
            exception_id = row.id
            self._owned(
                row, lambda owner: self._engine_action(exception_id, "retry_install", owner)
            )

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
        exception_id = row.id
        question = force_reboot_question(row.hostname, row.client_id)
        other = someone_else(row.owner, self.services.operator)
        if other is not None:  # one question: the reboot and the take-over
            question.append("\nIt is owned by ")
            question.append(printable(other), "bold")
            question.append(": yes also takes it over from them (logged).")

        def answered(yes: bool | None) -> None:
            if yes:
                self._engine_action(exception_id, "force_reboot", other)

        self.app.push_screen(ConfirmModal(question), answered)

    def _engine_action(self, exception_id: int, action_id: str, from_owner: str | None) -> None:
        self._write(
            lambda s: ops.log_remediation(
                s.database,
                exception_id,
                s.operator,
                action_id,
                now=s.clock(),
                take_over=from_owner is not None,
                from_owner=from_owner,
            )
        )

    def action_escalate(self) -> None:
        """``e``: escalate to a target (a person or a queue) with an optional note."""
        if self._on_marks(self.bulk.escalate):
            return
        if (row := self._row()) is not None:
            self._owned(row, lambda owner: self._note(escalate_form(self.services, row, owner)))

    def action_resolve(self) -> None:
        if self._on_marks(self.bulk.resolve):
            return
        if (row := self._row()) is not None:
            self._owned(row, lambda owner: self._note(resolve_form(self.services, row, owner)))

    def action_assign(self) -> None:
        """``A``: hand the exception (or the marked ones) to a technician."""
        if self._on_marks(self.bulk.assign):
            return
        if (row := self._row()) is not None:
            self._note(assign_form(self.services, row))

    def action_reopen(self) -> None:
        """``o``: reopen a resolved exception (a note is required: why it is not fixed)."""
        if (row := self._row()) is None:
            return
        if row.state is not ExceptionState.RESOLVED:
            self.notify(
                f"o reopens a resolved exception; exception {row.id} is "
                f"{STATE_LABELS[row.state]} (S shows the resolved ones)",
                markup=False,
            )
            return
        self._note(reopen_form(self.services, row))

    def action_handover_note(self) -> None:
        services = self.services
        if services.readonly:
            self.notify("read-only session: nothing can be changed", severity="warning")
            return

        def save(text: str) -> str:
            add_handover_note(services.database, services.operator, text, now=services.clock())
            return "handover note saved"

        self._note(
            NoteModal(
                "Handover note for the next shift",
                save,
                required=True,
                hint="What is in flight, what to watch, who was called.",
            )
        )

    def _note(self, modal: ModalScreen[str | None]) -> None:
        def done(message: str | None) -> None:
            if message:
                self.notify(printable(message), markup=False)
                self._handover_due = True
                self._poll()

        self.app.push_screen(modal, done)

    def action_remediate(self) -> None:
        if (row := self._row()) is not None:
            exception_id = row.id

            def read(owner: str | None) -> None:
                keys_wait_for(self.app, self._read_detail(exception_id, "remediate", owner))

            self._owned(row, read)

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
            keys_wait_for(self.app, self._read_detail(row.id, "detail"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-detail")
    def _read_detail(
        self, exception_id: int, purpose: str, take_over_from: str | None = None
    ) -> None:
        with self.services.database.session() as session:
            detail = exception_detail(session, exception_id)
        self.post_message(DetailRead(detail, purpose, take_over_from))

    @on(DetailRead)
    def _detail_read(self, message: DetailRead) -> None:
        detail = message.detail
        if detail is None:
            self.notify("that exception is gone", severity="warning")
            return
        # Read in a worker: by now another form (a note) may be in front; it stays there.
        if message.purpose == "detail":
            summary = ExceptionDetailScreen(
                detail, self.services.clock(), self.services.stale_after
            )
            push_if_in_front(self, summary, what="the exception summary")
            return
        if detail.exception.state is ExceptionState.RESOLVED:
            self.notify(
                f"exception {detail.exception.id} was resolved meanwhile", severity="warning"
            )
            self._poll()
            return

        def saved(result: str | None) -> None:
            if result:
                self.notify(printable(result), markup=False)
                self._poll()

        form = RemediationScreen(detail, take_over_from=message.take_over_from)
        push_if_in_front(self, form, saved, what="the remediation form")

    def _write(self, operation: Callable[[Services], ops.OpResult]) -> None:
        self._write_worker(operation)

    @work(thread=True, exit_on_error=False, group="queue-action")
    def _write_worker(self, operation: Callable[[Services], ops.OpResult]) -> None:
        try:
            result = operation(self.services)
        except Refused as refused:
            self.post_message(ActionDone(refusal_text(refused), refused=True))
            return
        self.post_message(ActionDone(result.message))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        text = printable(message.message)
        if message.refused:
            self.notify(text, title="Not done", severity="warning", markup=False)
        else:
            self.notify(text, markup=False)
        self._poll()
