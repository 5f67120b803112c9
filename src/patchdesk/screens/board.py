"""The board (the start screen): the clock and the engine's state, the KPI strip, open
windows with their progress, and the windows opening in the next 24 hours.

It follows the events feed live: a timer starts a worker that reads what changed since the
last event id (``BoardFeed``) and posts it back; a new read starts only after the previous
one has been applied, so reads never overlap, and none starts while another screen (or a
modal) is on top. The UI thread never touches the database: it only applies updates and
redraws times from the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from patchdesk.screens.board_feed import BoardFeed, BoardUpdate
from patchdesk.screens.device_detail import show_device
from patchdesk.screens.missed import open_missed
from patchdesk.screens.services import services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.kpi_strip import KpiStrip
from patchdesk.screens.widgets.timetext import clock, duration
from patchdesk.screens.widgets.window_list import OpenWindows, UpcomingWindows
from patchdesk.screens.worker_results import failed_worker, notify_worker_error
from patchdesk.store.board_views import EngineView
from patchdesk.store.not_patched import SHORT_REASONS, ClientNotPatched
from patchdesk.text import printable

REFRESH_SECONDS = 0.5
WORKER_GROUP = "board-feed"
UTC_ZONE = ZoneInfo("UTC")
# A last step older than this (in the board's clock) is pointed out.
STALE_STEP = timedelta(minutes=5)

WELCOME_STEPS = (
    ("patchdesk policy apply FILE...",
     "loads client policies (clients, windows, approval rules) from TOML files; "
     "`policy validate` checks them"),
    ("patchdesk inventory import FILE", "adds their devices from a CSV"),
    ("patchdesk demo", "opens a simulated MSP instead, to try everything"),
)  # fmt: skip


def welcome() -> Group:
    """What an empty database shows: the commands that fill it, in two columns that keep
    their shape when the descriptions wrap (80 columns)."""
    steps = Table.grid(padding=(0, 2))
    steps.add_column(no_wrap=True, style="bold")
    steps.add_column(ratio=1)
    for command, what in WELCOME_STEPS:
        steps.add_row(Text(command), Text(what))
    return Group(
        Text("This database holds no clients yet.\n"),
        Padding(steps, (0, 0, 0, 2)),
        Text("\nThe board fills in as soon as clients and windows exist."),
    )


def not_patched_text(clients: Sequence[ClientNotPatched]) -> Text:
    """``Not patched this cycle: Acme Dental 3 (1 offline, 2 not reached) · …``."""
    text = Text()
    text.append("Not patched this cycle: ", style="bold")
    if not clients:
        text.append("none", style="dim")
        return text
    for i, client in enumerate(clients):
        if i:
            text.append(" · ")
        name = printable(client.client_name)
        text.append(name if len(name) <= 24 else name[:23] + "…")
        text.append(f" {client.total}", style="bold red")
        reasons = ", ".join(f"{n} {SHORT_REASONS[reason]}" for reason, n in client.reasons)
        text.append(f" ({reasons})", style="dim")
    text.append("  N lists them", style="dim")
    return text


def engine_status(view: EngineView, now: datetime, own_holder: str | None) -> Text:
    """``engine dispatching (this terminal) · last step 18:20:30, 5s ago · fleet reachable``."""
    text = Text()
    text.append("engine ", style="dim")
    live = view.lease_expires_at is not None and view.lease_expires_at > now
    holder = printable(view.lease_holder or "")
    if live and own_holder is not None and view.lease_holder == own_holder:
        text.append("dispatching", style="bold green")
        text.append(" (this terminal)", style="dim")
    elif live:
        text.append("attached", style="bold yellow")
        text.append(f": {holder} dispatches", style="dim")
    elif own_holder is not None:
        text.append("starting", style="yellow")
    else:
        text.append("not running", style="bold red")
        text.append(" (`patchdesk engine` runs it)", style="dim")
    if view.last_step_at is not None:
        text.append(" · last step ", style="dim")
        text.append(clock(view.last_step_at, UTC_ZONE, seconds=True))
        text.append(" UTC", style="dim")
        age = now - view.last_step_at
        if age >= STALE_STEP:
            text.append(f", {duration(age)} ago", style="yellow")
    text.append(" · fleet ", style="dim")
    if view.connector_reachable is None and view.last_step_at is None:
        text.append("not heard from yet", style="dim")
    elif view.connector_reachable is not False:  # no outage recorded, or recovered
        text.append("reachable", style="green")
    else:
        text.append("UNREACHABLE", style="bold red")
        if view.connector_since is not None:
            text.append(f" for {duration(now - view.connector_since)}", style="red")
            text.append(" (devices unknown, not offline)", style="dim")
    return text


class BoardScreen(Screen[None]):
    """Open windows, what opens next, and the exception KPIs, live."""

    BINDINGS = [
        Binding("r", "refresh_now", "Refresh", id="board.refresh"),
        Binding("o", "most_urgent", "Most urgent exception", id="board.most_urgent"),
        Binding("N", "not_patched", "Not patched", show=False, id="board.not_patched"),
        Binding("tab", "app.focus_next", "Next panel", show=False, id="board.focus_next"),
        Binding(
            "shift+tab", "app.focus_previous", "Previous panel", show=False, id="board.focus_prev"
        ),
    ]

    DEFAULT_CSS = """
    BoardScreen { layout: vertical; }
    BoardScreen #board-body { height: 1fr; }
    BoardScreen #not-patched { height: auto; max-height: 3; padding: 0 1; }
    BoardScreen #welcome {
        height: 1fr; padding: 1 2; border: round $accent 60%; color: $foreground;
    }
    /* 24 lines: the open windows leave the next ones their five lines under the KPIs' */
    BoardScreen.-short OpenWindows { max-height: 55%; }
    """

    class Updated(Message):
        """A worker read what changed; the screen applies it."""

        def __init__(self, update: BoardUpdate) -> None:
            super().__init__()
            self.update = update

    def __init__(self) -> None:
        super().__init__()
        self._feed: BoardFeed | None = None
        self._reading = False
        self._engine: EngineView | None = None
        self._clients: int | None = None
        self.updates = 0  # applied so far (tests wait on it)
        self.last_event_id = 0

    def compose(self) -> ComposeResult:
        yield ClockHeader("Board", id="board-header")
        with Vertical(id="board-body"):
            yield KpiStrip(id="kpis")
            yield OpenWindows(id="open-windows")
            yield Static("", id="not-patched", markup=False)
            yield UpcomingWindows(id="upcoming")
        yield Static(welcome(), id="welcome", markup=False)
        yield Footer()

    def on_resize(self) -> None:
        self.set_class(self.size.height < 30, "-short")

    def on_mount(self) -> None:
        services = services_of(self.app)
        self._feed = BoardFeed(services.database)
        self.query_one("#welcome").display = False
        self.set_interval(REFRESH_SECONDS, self._tick)
        self._tick()

    # ----------------------------------------------------------------------- reading

    def _tick(self) -> None:
        now = services_of(self.app).clock()
        self._show_time(now)
        if not self._reading and self.is_current:
            self._reading = True
            self._read(now)

    def action_most_urgent(self) -> None:
        """The device screen of the most urgent unacknowledged exception, in triage order
        (the KPI strip names it), that exception selected."""
        kpis = self.query_one(KpiStrip).kpis
        if kpis is None or kpis.most_urgent is None:
            self.notify("no unacknowledged exception", markup=False)
            return
        urgent = kpis.most_urgent
        show_device(self.app, urgent.device_id, exception_id=urgent.exception_id)

    def action_not_patched(self) -> None:
        """The devices not patched this cycle (``:missed``)."""
        open_missed(self.app)

    def action_refresh_now(self) -> None:
        if not self._reading:
            self._reading = True
            self._read(services_of(self.app).clock())

    @work(thread=True, exclusive=True, exit_on_error=False, group=WORKER_GROUP)
    def _read(self, now: datetime) -> None:
        assert self._feed is not None
        update = self._feed.read(now)
        self.post_message(self.Updated(update))

    @on(Updated)
    def _apply(self, message: Updated) -> None:
        update = message.update
        self._reading = False
        self.updates += 1
        self.last_event_id = update.last_event_id
        with self.app.batch_update():
            self._engine = update.engine
            self._set_clients(update.clients)
            if update.windows is not None:
                self.query_one(OpenWindows).replace_rows(
                    update.windows.rows, update.windows.clients
                )
            if update.upcoming is not None:
                self.query_one(UpcomingWindows).set_rows(update.upcoming)
            if update.kpis is not None:
                self.query_one(KpiStrip).set_kpis(update.kpis)
            if update.not_patched is not None:
                self.query_one("#not-patched", Static).update(not_patched_text(update.not_patched))
            self._show_time(services_of(self.app).clock())

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == WORKER_GROUP and event.state is WorkerState.CANCELLED:
            self._reading = False
        worker = failed_worker(event, self, WORKER_GROUP)
        if worker is None:
            return
        self._reading = False
        notify_worker_error(self, worker, "Board", "The board could not read the database")

    # ---------------------------------------------------------------------- drawing

    def _set_clients(self, clients: int) -> None:
        if clients == self._clients:
            return
        self._clients = clients
        empty = clients == 0
        self.query_one("#welcome").display = empty
        self.query_one("#board-body").display = not empty

    def _show_time(self, now: datetime) -> None:
        header = self.query_one(ClockHeader)
        if self._engine is not None:
            own = getattr(self.app, "engine_holder", None)
            header.set_status(engine_status(self._engine, now, own))
        else:
            header.set_status(Text("engine: reading …", style="dim"))
        self.query_one(KpiStrip).set_now(now)
        self.query_one(OpenWindows).set_now(now)
        self.query_one(UpcomingWindows).set_now(now)
