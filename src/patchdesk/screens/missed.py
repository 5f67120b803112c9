"""``:missed`` (``N`` on the queue): the devices a window should have patched this cycle and
did not, in triage order (tier, reason, oldest first), each with its reason, the next window
that will carry it and the exception that owns it (``store.not_patched``). Read in a worker;
``enter`` opens the device, ``r`` reads again, ``esc`` goes back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from patchdesk.screens.device_detail import show_device
from patchdesk.screens.services import services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.store.not_patched import SHORT_REASONS, NotPatched, not_patched
from patchdesk.text import printable

WORKER_GROUP = "missed-read"


def next_cell(row: NotPatched) -> Text:
    following = row.next_window
    if following is None:
        return Text("no window ahead", style="bold red")
    local = following.start_local
    text = Text(f"{local:%m-%d %H:%M} {local.tzname()} ")
    text.append(printable(following.name), style="dim")
    return text


class MissedScreen(Screen[None]):
    """Not patched this cycle; ``esc`` goes back."""

    TITLE = "Not patched"
    HELP_TITLE = "Not patched this cycle"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="missed.back"),
        Binding("enter", "device", "Device", id="missed.device"),
        Binding("r", "refresh", "Refresh", id="missed.refresh"),
    ]

    DEFAULT_CSS = """
    MissedScreen { layout: vertical; }
    MissedScreen #missed-summary { height: auto; padding: 0 1; }
    MissedScreen #missed-table { height: 1fr; }
    """

    class Read(Message):
        def __init__(self, rows: list[NotPatched]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[NotPatched] = []
        self.reads = 0  # applied so far (tests wait on it)

    def compose(self) -> ComposeResult:
        yield ClockHeader("Not patched", id="missed-header")
        yield Static(Text("reading …", "dim"), id="missed-summary", markup=False)
        table: DataTable[Text] = DataTable(id="missed-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#missed-table", DataTable)
        for label in ("T", "CLIENT", "DEVICE", "WHY", "EXC", "NEXT WINDOW (client time)"):
            table.add_column(label, key=label)
        self.action_refresh()

    def action_refresh(self) -> None:
        self._read(services_of(self.app).clock())

    @work(thread=True, exclusive=True, exit_on_error=False, group=WORKER_GROUP)
    def _read(self, now: datetime) -> None:
        with services_of(self.app).database.session() as session:
            rows = not_patched(session, now)
        self.post_message(self.Read(rows))

    @on(Read)
    def _apply(self, message: Read) -> None:
        self.rows = message.rows
        table = self.query_one("#missed-table", DataTable)
        table.clear()
        for row in self.rows:
            table.add_row(
                Text(row.tier.value),
                Text(printable(row.client_id)),
                Text(printable(row.hostname)),
                Text(SHORT_REASONS[row.reason], style="red" if row.reason == "capacity" else ""),
                Text(f"#{row.exception_id}" if row.exception_id else "-"),
                next_cell(row),
                key=str(row.device_id),
            )
        summary = Text()
        summary.append(f"{len(self.rows)} not patched this cycle", style="bold")
        summary.append(
            " · tier, then why (offline, not reached, maintenance, skipped), oldest first"
            " · enter: device",
            style="dim",
        )
        self.query_one("#missed-summary", Static).update(summary)
        self.reads += 1

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == WORKER_GROUP and event.state is WorkerState.ERROR:
            reason = " ".join(str(event.worker.error).split())[:200]
            self.notify(f"Could not read: {reason}", severity="error", markup=False)

    def action_device(self) -> None:
        table = self.query_one("#missed-table", DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return
        show_device(self.app, self.rows[table.cursor_row].device_id)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_device()

    def action_back(self) -> None:
        self.app.pop_screen()


def open_missed(app: App[Any], _argument: str = "") -> None:
    """``:missed``: push the not-patched view on the current mode's stack."""
    app.push_screen(MissedScreen())
