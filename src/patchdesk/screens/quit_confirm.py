"""``q``: quit only after the technician confirms (the engine in this terminal stops too)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class QuitScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Quit", id="quit.yes"),
        Binding("n,escape,q", "answer(False)", "Stay", id="quit.no"),
    ]
    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical {
        width: 52; height: auto; border: round $error; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, engine_here: bool) -> None:
        super().__init__()
        self.engine_here = engine_here

    def compose(self) -> ComposeResult:
        text = Text("Quit patchdesk?", style="bold")
        if self.engine_here:
            text.append("\nThe engine running in this terminal stops with it.", style="")
        text.append("\n\n")
        text.append("y", style="bold")
        text.append(" / enter  quit     ")
        text.append("n", style="bold")
        text.append(" / esc  stay")
        with Vertical():
            yield Static(text, id="quit-question")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
