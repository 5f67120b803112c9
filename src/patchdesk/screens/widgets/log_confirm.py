"""The last look before a write to the append-only remediation log: one line saying what will
be written. ``enter`` writes it, ``esc`` goes back to the form with everything kept. Any
other key typed here is not taken for an answer (a ``y`` from a note typed on is no "yes"):
the modal says which keys answer, and the key goes no further."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = "enter  write it     esc  back to the form"


class LogConfirm(ModalScreen[bool], inherit_bindings=False):
    """Shows ``line`` (plain text: may hold a note, never read as markup)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "answer(True)", "Write", id="log_confirm.write"),
        Binding("escape", "answer(False)", "Back", id="log_confirm.back"),
    ]

    DEFAULT_CSS = """
    LogConfirm { align: center middle; }
    LogConfirm > Vertical {
        width: 90; max-width: 100%; height: auto;
        border: thick $warning; background: $panel; padding: 1 2;
    }
    LogConfirm .log-confirm-title { text-style: bold; }
    LogConfirm .log-confirm-keys { color: $text-muted; margin-top: 1; }
    LogConfirm .log-confirm-keys.-nudged { color: $warning; text-style: bold; }
    """

    def __init__(self, line: Text) -> None:
        super().__init__()
        self.line = line

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Write to the remediation log (it cannot be changed afterwards):",
                classes="log-confirm-title",
                markup=False,
            )
            yield Static(self.line, id="log-confirm-line", markup=False)
            yield Static(KEYS, id="log-confirm-keys", classes="log-confirm-keys", markup=False)

    def on_key(self, event: events.Key) -> None:
        if event.key in ("enter", "escape"):
            return
        event.stop()
        event.prevent_default()
        keys = self.query_one("#log-confirm-keys", Static)
        keys.update(f"not written yet: {KEYS}")
        keys.add_class("-nudged")

    def action_answer(self, write: bool) -> None:
        self.dismiss(write)


__all__ = ["LogConfirm"]
