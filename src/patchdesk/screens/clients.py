"""The Clients screens (mode ``clients``, key ``5``): every client's figures, and one client's
policy in words.

- ``ClientsScreen`` lists the clients: SLA tier, devices per role, how many are in scope,
  open exceptions per tier and the next window (open now, or how soon). ``enter`` opens the
  client under the cursor, ``/`` filters by text (id, name, zone, SLA tier), ``esc`` clears
  the filter, ``r`` reads again.
- ``ClientDetailScreen`` shows one client: an overview, the patch scope, each maintenance
  window with its next three occurrences in client and operator time (labelled), the approval
  rules and the rings in words (the sentences of ``patchdesk policy export``). ``]`` and
  ``[`` jump between sections, ``esc`` goes back to where it was opened from.
- ``open_client(app, client_id)`` opens a client's detail from anywhere (command mode's
  ``:client ID``, a key in the queue).

Everything is read in thread workers (``store.client_views``) and read again while the
screen is shown, one read at a time, every ``REFRESH_SECONDS`` or once a minute of the
app's clock has passed (the demo's clock runs fast); untrusted text is drawn
through ``client_sections`` (plain ``Text``, control characters stripped).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from patchdesk.screens import client_sections as sections
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.too_small import TooSmallScreen
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.worker_results import notify_worker_error
from patchdesk.store.client_views import (
    ClientDetail,
    ClientRow,
    client_detail,
    client_directory,
    client_rows,
    near_matches,
)
from patchdesk.text import printable

MODE = "clients"
REFRESH_SECONDS = 10.0
CLOCK_REFRESH = timedelta(minutes=1)
TICK_SECONDS = 1.0
BUSY_FACTOR = 20
LIST_GROUP = "clients-list"
DETAIL_GROUP = "client-detail"


class Pacer:
    """When a screen reads again: ``REFRESH_SECONDS`` after its last read, or once a minute
    of its clock has passed (sooner in the accelerated demo), whichever comes first; but never
    sooner than ``BUSY_FACTOR`` times as long as the last read took (a big MSP's list costs
    about a second of CPU at 50,000 devices: then it is read every 20 s or so)."""

    def __init__(self) -> None:
        self.real: float | None = None
        self.clock: datetime | None = None
        self.took = 0.0

    def mark(self, now: datetime) -> None:
        self.real, self.clock = time.monotonic(), now

    def done(self) -> None:
        if self.real is not None:
            self.took = time.monotonic() - self.real

    def due(self, now: datetime) -> bool:
        if self.real is None or self.clock is None:
            return True
        waited = time.monotonic() - self.real
        if waited < self.took * BUSY_FACTOR:
            return False
        return waited >= REFRESH_SECONDS or now - self.clock >= CLOCK_REFRESH


# --- messages from the workers --------------------------------------------------------------


class RowsRead(Message):
    def __init__(self, rows: list[ClientRow], now: datetime) -> None:
        super().__init__()
        self.rows = rows
        self.now = now


@dataclass(frozen=True)
class _Unknown:
    """The id asked for is not a client: the near matches to offer."""

    client_id: str
    near: list[str]
    clients: int


class DetailRead(Message):
    def __init__(self, detail: ClientDetail | _Unknown, now: datetime) -> None:
        super().__init__()
        self.detail = detail
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
        if event.worker.group != LIST_GROUP or event.state is not WorkerState.ERROR:
            return
        self._reading = False
        notify_worker_error(
            self, event.worker, title="Clients", what="The clients could not be read"
        )

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


# --- one client -----------------------------------------------------------------------------


class ClientDetailScreen(Screen[None]):
    """One client's policy and figures, in sections; ``esc`` goes back."""

    TITLE = "Client"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="clients.back"),
        # Named in the title bar (the footer has no room for them at 80 columns).
        Binding(
            "right_square_bracket",
            "next_section",
            "Next section",
            key_display="]",
            show=False,
            id="clients.next_section",
        ),
        Binding(
            "left_square_bracket",
            "previous_section",
            "Previous section",
            key_display="[",
            show=False,
            id="clients.previous_section",
        ),
        Binding("r", "refresh_now", "Refresh", id="clients.detail_refresh"),
    ]

    DEFAULT_CSS = """
    ClientDetailScreen { layout: vertical; }
    ClientDetailScreen #client-bar { height: 1; padding: 0 1; background: $boost; }
    ClientDetailScreen #client-title { width: 1fr; }
    ClientDetailScreen #client-keys { width: auto; }
    ClientDetailScreen #client-body { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    ClientDetailScreen #client-body > Static { width: 100%; margin: 0 0 1 0; }
    """

    def __init__(self, client_id: str, *, return_mode: str | None = None) -> None:
        super().__init__()
        self.client_id = client_id
        self.return_mode = return_mode  # opened from another mode: esc goes back there
        self.detail: ClientDetail | None = None
        self.reads = 0  # reads applied so far (tests wait on it)
        self._reading = False
        self._pacer = Pacer()
        self._now: datetime | None = None
        self._width = 0

    @property
    def services(self) -> Services:
        return services_of(self.app)

    def compose(self) -> ComposeResult:
        yield ClockHeader("Client", id="client-header")
        with Horizontal(id="client-bar"):
            yield Static(
                Text(f"reading {printable(self.client_id)} …", "dim"),
                id="client-title",
                markup=False,
            )
            yield Static(Text("] [ sections", "dim"), id="client-keys", markup=False)
        with VerticalScroll(id="client-body", can_focus=True):
            for index, _title in enumerate(sections.SECTIONS):
                yield Static("", id=f"client-section-{index}", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#client-body").focus()
        self.set_interval(TICK_SECONDS, self._tick)
        self._read()

    def on_screen_resume(self) -> None:
        if self.reads:
            self._read()

    def _tick(self) -> None:
        if self.is_current and self.reads and self._pacer.due(self.services.clock()):
            self._read()

    def on_resize(self) -> None:
        self.query_one(Footer).compact = self.size.width < 100
        if self.size.width != self._width:
            self._draw()

    # --- reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        if self._reading:
            return
        self._reading = True
        now = self.services.clock()
        self._pacer.mark(now)
        self._read_worker(self.client_id, now)

    @work(thread=True, exclusive=True, exit_on_error=False, group=DETAIL_GROUP)
    def _read_worker(self, client_id: str, now: datetime) -> None:
        with self.services.database.session() as session:
            detail = client_detail(session, client_id, now)
            if detail is None:
                directory = client_directory(session)
                found: ClientDetail | _Unknown = _Unknown(
                    client_id, near_matches(directory, client_id), len(directory)
                )
            else:
                found = detail
        self.post_message(DetailRead(found, now))

    @on(DetailRead)
    def _detail_read(self, message: DetailRead) -> None:
        self._reading = False
        self._pacer.done()
        if isinstance(message.detail, _Unknown):
            self._unknown(message.detail)
            return
        self.detail = message.detail
        self._now = message.now
        self.reads += 1
        self._draw()

    def _unknown(self, unknown: _Unknown) -> None:
        """Not a client (any more): say so, with the near matches, and go back."""
        self.notify(
            unknown_client_message(unknown),
            title="Clients",
            severity="warning",
            markup=False,
            timeout=8,
        )
        self._leave()

    def action_refresh_now(self) -> None:
        self._read()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != DETAIL_GROUP or event.state is not WorkerState.ERROR:
            return
        self._reading = False
        notify_worker_error(
            self, event.worker, title="Clients", what="The client could not be read"
        )

    # --- drawing ---------------------------------------------------------------------------

    def _draw(self) -> None:
        detail = self.detail
        if detail is None:
            return
        now = self._now or self.services.clock()
        zone = self.services.local_zone
        self._width = self.size.width
        renderables = (
            sections.overview(detail, now, zone),
            sections.scope_section(detail),
            sections.window_section(detail, now, zone, self.size.width),
            sections.rules_section(detail),
            sections.rings_section(detail),
        )
        with self.app.batch_update():
            self.query_one("#client-title", Static).update(sections.title_text(detail))
            for index, renderable in enumerate(renderables):
                self.query_one(f"#client-section-{index}", Static).update(renderable)

    # --- keys ------------------------------------------------------------------------------

    def _section_tops(self) -> list[int]:
        return [
            self.query_one(f"#client-section-{index}").virtual_region.y
            for index in range(len(sections.SECTIONS))
        ]

    def action_next_section(self) -> None:
        body = self.query_one("#client-body", VerticalScroll)
        offset = round(body.scroll_y)
        later = [top for top in self._section_tops() if top > offset]
        if later:
            body.scroll_to(y=later[0], animate=False)

    def action_previous_section(self) -> None:
        body = self.query_one("#client-body", VerticalScroll)
        offset = round(body.scroll_y)
        earlier = [top for top in self._section_tops() if top < offset]
        body.scroll_to(y=earlier[-1] if earlier else 0, animate=False)

    def action_back(self) -> None:
        self._leave()

    def _leave(self) -> None:
        """Back to the list, or to the mode this detail was opened from."""
        app = self.app
        return_mode = self.return_mode
        if app.screen is self:
            app.pop_screen()
        if return_mode is not None and return_mode in app.MODES and app.current_mode != return_mode:
            app.switch_mode(return_mode)


def unknown_client_message(unknown: _Unknown) -> str:
    text = f"No client with id {printable(unknown.client_id)!r}."
    if unknown.near:
        text += " Did you mean: " + ", ".join(printable(n) for n in unknown.near) + "?"
    elif unknown.clients:
        text += f" {unknown.clients} clients exist: 5 lists them, / filters."
    else:
        text += " There are no clients yet (patchdesk policy apply adds them)."
    return text


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
