"""The Textual application.

Until the NOC terminal lands (issue 5) this is a placeholder that says so honestly: it shows
which database is open and what it holds, read in a worker thread, and quits on ``q``. The
engine does not run inside it yet: `patchdesk engine` and `patchdesk simulate` do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Header, Static

from patchdesk.store.db import Database
from patchdesk.store.models import Client, Device, PatchException


@dataclass(frozen=True)
class Counts:
    clients: int
    devices: int
    open_exceptions: int


class PatchdeskApp(App[None]):
    TITLE = "patchdesk"
    BINDINGS = [Binding("q", "quit", "Quit", id="app.quit")]
    CSS = """
    #placeholder { padding: 1 2; }
    #counts { padding: 0 2; color: $text-muted; }
    """

    def __init__(self, *, database: Database, operator: str, demo: bool = False) -> None:
        super().__init__()
        self.database = database
        self.operator = operator
        self.demo = demo

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            kind = "demo" if self.demo else "database"
            yield Static(
                "patchdesk is not yet a NOC terminal: the board, the exception queue and the "
                "engine running live inside this screen arrive with the TUI issue. Meanwhile "
                "`patchdesk engine` runs the engine and `patchdesk simulate` shows a whole "
                f"cycle on the simulator.\n\nOperator: {self.operator}\n"
                f"Open {kind}: {self.database.engine.url.render_as_string(hide_password=True)}",
                id="placeholder",
                markup=False,
            )
            yield Static("reading the database ...", id="counts", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load_counts()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_counts(self) -> None:
        with self.database.session() as session:
            counts = Counts(
                clients=session.scalar(select(func.count()).select_from(Client)) or 0,
                devices=session.scalar(select(func.count()).select_from(Device)) or 0,
                open_exceptions=session.scalar(
                    select(func.count())
                    .select_from(PatchException)
                    .where(PatchException.state != "resolved")
                )
                or 0,
            )
        self.call_from_thread(self._show_counts, counts)

    def _show_counts(self, counts: Counts) -> None:
        text = (
            f"{counts.clients} clients, {counts.devices} devices, "
            f"{counts.open_exceptions} open exceptions"
        )
        if counts.clients == 0:
            text += "\nNo clients yet: `patchdesk policy apply FILE...` loads client policies."
        self.query_one("#counts", Static).update(text)
