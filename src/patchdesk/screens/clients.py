"""The Clients screens (mode ``clients``, key ``5``): every client's figures, and one client's
policy in words.

- ``ClientsScreen`` lists the clients: SLA tier, devices per role, how many are in scope,
  open exceptions per tier and the next window (open now, or how soon). ``enter`` opens the
  client under the cursor, ``/`` filters by text (id, name, zone, SLA tier), ``esc`` clears
  the filter, ``r`` reads again.
- ``ClientDetailScreen`` (``screens.client_detail``) shows one client's policy in words.
- ``open_client(app, client_id)`` opens a client's detail from anywhere (command mode's
  ``:client ID``, a key in the queue).

The list is read in a thread worker (``store.client_views``) and read again while the
screen is shown, one read at a time, every ``REFRESH_SECONDS`` or once a minute of the
app's clock has passed (the demo's clock runs fast: ``read_pacer``); untrusted text is drawn
through ``client_sections`` (plain ``Text``, control characters stripped).
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
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker

from patchdesk.screens import client_sections as sections
from patchdesk.screens.client_detail import ClientDetailScreen
from patchdesk.screens.read_pacer import Pacer
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.too_small import TooSmallScreen
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.worker_results import failed_worker, notify_worker_error
from patchdesk.store.client_views import (
    ClientRow,
    client_rows,
)
from patchdesk.text import printable

MODE = "clients"
TICK_SECONDS = 1.0
LIST_GROUP = "clients-list"


# --- messages from the workers --------------------------------------------------------------


class RowsRead(Message):
    def __init__(self, rows: list[ClientRow], now: datetime) -> None:
        super().__init__()
        self.rows = rows
        self.now = now


# --- the list -------------------------------------------------------------------------------


class ClientTable(DataTable[Text]):
    """The list's table: ``enter`` opens the client under the cursor (``RowSelected``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="clients.open"),
    ]


class ClientsScreen(Screen[None]):
    """Every client with its devices, scope, open exceptions per tier and next window."""

    TITLE = "Clients"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Filter", id="clients.search"),
        Binding("r", "refresh_now", "Refresh", id="clients.refresh"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clients.clear"),
    ]

    DEFAULT_CSS = """
    ClientsScreen { layout: vertical; }
    ClientsScreen #clients-bar { height: 1; padding: 0 1; background: $boost; }
    ClientsScreen #clients-search { display: none; height: 1; border: none; padding: 0 1; }
    ClientsScreen #clients-search.-shown { display: block; }
    ClientsScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ClientRow] = []
        self.shown: list[ClientRow] = []  # the rows the filter lets through, in table order
        self.filter_text = ""
        self.loaded = False
        self._reading = False
        self._pacer = Pacer()
        self._now: datetime | None = None
        self._width = 0

    @property
    def services(self) -> Services:
        return services_of(self.app)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#clients-table", DataTable)

    def compose(self) -> ComposeResult:
        yield ClockHeader("Clients", id="clients-header")
        yield Static(Text("reading …", "dim"), id="clients-bar", markup=False)
        yield Input(
            placeholder="filter: id, name, zone or SLA tier (enter keeps it, esc clears)",
            id="clients-search",
        )
        yield ClientTable(id="clients-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.set_interval(TICK_SECONDS, self._tick)
        self._read()

    def on_screen_resume(self) -> None:
        if self.loaded:
            self._read()

    def _tick(self) -> None:
        if self.is_current and self._pacer.due(self.services.clock()):
            self._read()

    def on_resize(self) -> None:
        self.query_one(Footer).compact = self.size.width < 100
        if self.loaded and self.size.width != self._width:
            self._draw()

    # --- reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        if self._reading:
            return
        self._reading = True
        now = self.services.clock()
        self._pacer.mark(now)
        self._read_worker(now)

    @work(thread=True, exclusive=True, exit_on_error=False, group=LIST_GROUP)
    def _read_worker(self, now: datetime) -> None:
        with self.services.database.session() as session:
            rows = client_rows(session, now)
        self.post_message(RowsRead(rows, now))

    @on(RowsRead)
    def _rows_read(self, message: RowsRead) -> None:
        self._reading = False
        self._pacer.done()
        self.rows = message.rows
        self._now = message.now
        self.loaded = True
        self._draw()

    def action_refresh_now(self) -> None:
        self._read()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        worker = failed_worker(event, self, LIST_GROUP)
        if worker is None:
            return
        self._reading = False
        notify_worker_error(self, worker, title="Clients", what="The clients could not be read")

    # --- drawing ---------------------------------------------------------------------------

    def _draw(self) -> None:
        """The table from ``rows`` and the filter, the cursor kept on the same client."""
        now = self._now or self.services.clock()
        table = self.table
        width = self.size.width
        current = self.current_row
        self._width = width
        self.shown = [row for row in self.rows if sections.matches(row, self.filter_text)]
        columns = sections.list_columns(width)
        with self.app.batch_update():
            table.clear(columns=True)
            for column in columns:
                table.add_column(
                    column.heading_text(),
                    key=column.key,
                    width=column.width or sections.name_width(columns, width),
                )
            for row in self.shown:
                table.add_row(*sections.list_cells(row, now, width), key=row.id)
            if current is not None and current.id in {row.id for row in self.shown}:
                table.move_cursor(row=table.get_row_index(current.id), animate=False)
        self._show_bar()

    def _show_bar(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        total = len(self.rows)
        if self.filter_text:
            text.append(f"{len(self.shown)} of {total} clients", "bold")
            text.append("  / ", "bold")
            text.append(f"“{printable(self.filter_text)}”", "bold")
            text.append("  esc clears", "dim")
        else:
            text.append(f"{total} client{'' if total == 1 else 's'}", "bold")
            text.append("  / filter", "dim")
        if self.size.width >= sections.WIDE:
            text.append("  ·  devices: Srv servers, Shr shared, Usr single-user;", "dim")
            text.append(" Scope in scope  ·  T1–T4 open exceptions per tier", "dim")
        else:
            text.append("  ·  Scope: devices in scope  ·  T1–T4: open exceptions", "dim")
        self.query_one("#clients-bar", Static).update(text)

    @property
    def current_row(self) -> ClientRow | None:
        table = self.table
        if not self.shown or table.row_count == 0:
            return None
        index = table.cursor_row
        return self.shown[index] if 0 <= index < len(self.shown) else None

    # --- filter ----------------------------------------------------------------------------

    def action_search(self) -> None:
        search = self.query_one("#clients-search", Input)
        search.add_class("-shown")
        search.focus()

    @on(Input.Changed, "#clients-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#clients-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self._set_filter(event.value)
        self._hide_search()

    def _set_filter(self, value: str) -> None:
        value = value.strip()
        if value != self.filter_text:
            self.filter_text = value
            if self.loaded:
                self._draw()

    def _hide_search(self) -> None:
        search = self.query_one("#clients-search", Input)
        if not search.value:
            search.remove_class("-shown")
        self.table.focus()

    def action_clear_filter(self) -> None:
        search = self.query_one("#clients-search", Input)
        search.value = ""
        self._set_filter("")
        self._hide_search()

    # --- opening ---------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#clients-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        row = self.current_row
        if row is None:
            self.notify("no client under the cursor", severity="warning")
            return
        self.app.push_screen(ClientDetailScreen(row.id))


# --- from anywhere --------------------------------------------------------------------------


def open_client(app: App[Any], client_id: str) -> bool:
    """Show ``client_id``'s detail in the clients mode, from any mode (command mode's
    ``:client ID``, a key in the queue). ``esc`` on it goes back to the mode it was opened
    from (a detail opened over another one leads where that one led; one opened from the
    clients mode, to the list).

    Returns False, with a notice, when nothing can be opened: a blank id, or no clients mode
    (or the terminal is too small to switch). Otherwise True: the detail is on screen and reads
    the client in a worker; an id that is not a client is then told in a notice naming the
    near matches (ids or names containing what was typed, ids that look like it), and the
    detail closes again. (Whether the id exists is only known once the store answered: the UI
    thread never queries it.)
    """
    wanted = client_id.strip()
    if not wanted:
        app.notify("Which client? Give its id (5 lists the clients).", severity="warning")
        return False
    if MODE not in app.MODES:
        app.notify("This terminal has no Clients screen.", severity="error")
        return False
    came_from = app.current_mode
    if came_from != MODE:
        show_mode = getattr(app, "action_show_mode", None)
        if callable(show_mode):
            show_mode(MODE)  # the app refuses while its terminal is too small
        else:
            app.switch_mode(MODE)
    if isinstance(app.screen, TooSmallScreen):
        app.notify("The terminal is too small to show a client.", severity="warning")
        return False
    if app.current_mode != MODE:  # refused (a form is open): the app said why
        return False
    # Where esc leads: the mode it was asked from, or where the detail it replaces led.
    return_mode = came_from if came_from != MODE else None
    # The list stays; whatever is above it goes, except this client's detail on top.
    while len(app.screen_stack) > 1:
        top = app.screen
        if isinstance(top, ClientDetailScreen):
            return_mode = return_mode or top.return_mode
            if top.client_id == wanted:
                top.return_mode = return_mode
                top.action_refresh_now()
                return True
        app.pop_screen()
    app.push_screen(ClientDetailScreen(wanted, return_mode=return_mode))
    return True


__all__ = ["ClientDetailScreen", "ClientTable", "ClientsScreen", "open_client"]
