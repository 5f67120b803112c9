"""The one quit confirmation: ``q``, ``ctrl+q``, ``:quit`` and the palette's quit all ask it
(the engine in this terminal stops too). In the demo it also says what becomes of the demo's
database: a temporary one is deleted unless the technician keeps it (``k``: its path is
printed when the UI has closed); one given with ``--db FILE`` stays where it is."""

from __future__ import annotations

from enum import StrEnum

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from patchdesk.simulation.demo import DemoDatabase
from patchdesk.text import printable


class QuitAnswer(StrEnum):
    STAY = "stay"
    QUIT = "quit"
    KEEP = "keep"  # quit, and keep the demo's temporary database


class QuitScreen(ModalScreen[QuitAnswer]):
    BINDINGS = [
        Binding("y,enter", "answer('quit')", "Quit", id="quit.yes"),
        Binding("k", "answer('keep')", "Quit, keep the database", id="quit.keep"),
        Binding("n,escape,q", "answer('stay')", "Stay", id="quit.no"),
    ]
    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical {
        width: 60; max-width: 100%; height: auto;
        border: round $error; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, engine_here: bool, demo: DemoDatabase | None = None) -> None:
        super().__init__()
        self.engine_here = engine_here
        self.demo = demo

    @property
    def can_keep(self) -> bool:
        return self.demo is not None and self.demo.temporary

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer" and parameters == (QuitAnswer.KEEP.value,):
            return self.can_keep
        return True

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(question(self.engine_here, self.demo), id="quit-question")

    def action_answer(self, value: str) -> None:
        self.dismiss(QuitAnswer(value))


def question(engine_here: bool, demo: DemoDatabase | None) -> Text:
    """The confirmation's text: what stops, what becomes of the demo's database, the keys."""
    text = Text()
    text.append("Quit the demo?" if demo is not None else "Quit patchdesk?", style="bold")
    if engine_here:
        text.append("\nThe engine running in this terminal stops with it.")
    if demo is not None:
        where = printable(str(demo.path))
        if demo.temporary:
            text.append(f"\nIts database is deleted, unless you keep it:\n{where}")
        else:
            text.append(f"\nIts database stays:\n{where}")
    text.append("\n\n")
    if demo is not None and demo.temporary:
        rows = [
            ("y / enter", "quit, delete the database"),
            ("k", "quit, keep the database"),
            ("n / esc", "stay"),
        ]
        for index, (keys, what) in enumerate(rows):
            text.append("\n" if index else "")
            text.append(keys.ljust(11), style="bold")
            text.append(what)
        return text
    text.append("y / enter", style="bold")
    text.append("  quit     ")
    text.append("n / esc", style="bold")
    text.append("  stay")
    return text
