"""``?``: every key binding of the screen it was opened from (shown or not in the footer)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "colon": ":",
    "escape": "esc",
    "enter": "enter",
    "ctrl+p": "ctrl+p",
}


@dataclass(frozen=True)
class HelpEntry:
    key: str
    description: str
    where: str  # "app" or the screen's name
    binding_id: str = ""  # what the config file's [keys] table remaps


def key_label(key: str) -> str:
    return ", ".join(KEY_NAMES.get(part, part) for part in key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen #help-note { margin-top: 1; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, title: str, entries: list[HelpEntry], note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.entries = entries
        self.note = note  # e.g. which database this is and how to reach it from a shell

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold dim")
        table.add_column("Key", no_wrap=True, style="bold")
        table.add_column("Does", ratio=1)
        table.add_column("Id (config [keys])", no_wrap=True, style="dim")
        for entry in self.entries:
            table.add_row(
                Text(key_label(entry.key)), Text(entry.description), Text(entry.binding_id)
            )
        parts: list[Static] = [Static(table, id="help-table")]
        if self.note:
            parts.append(Static(Text(self.note, style="dim"), id="help-note"))
        scroll = VerticalScroll(*parts)
        scroll.border_title = f"Keys: {self.title_text}"
        scroll.border_subtitle = "esc closes"
        yield scroll
