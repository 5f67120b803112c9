"""One client's screen (``ClientDetailScreen``, opened from the clients list with ``enter``
or from anywhere with ``open_client`` in ``screens.clients``): an overview, the patch scope,
each maintenance window with its next three occurrences in client and operator time
(labelled), the approval rules and the rings in words (the sentences of ``patchdesk policy
export``). ``]`` and ``[`` jump between sections, ``esc`` goes back to where it was opened
from.

The client is read in a thread worker (``store.client_views``) and read again while the
screen is shown, one read at a time, paced by ``read_pacer.Pacer``; an id that is not (or
no longer) a client is told with its near matches, and the screen closes. Untrusted text is
drawn through ``client_sections`` (plain ``Text``, control characters stripped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker

from patchdesk.screens import client_sections as sections
from patchdesk.screens.read_pacer import Pacer
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.worker_results import failed_worker, notify_worker_error
from patchdesk.store.client_views import (
    ClientDetail,
    client_detail,
    client_directory,
    near_matches,
)
from patchdesk.text import printable

TICK_SECONDS = 1.0
DETAIL_GROUP = "client-detail"


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
        worker = failed_worker(event, self, DETAIL_GROUP)
        if worker is None:
            return
        self._reading = False
        notify_worker_error(self, worker, title="Clients", what="The client could not be read")

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
