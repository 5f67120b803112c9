"""A yes/no question as a small modal: ``y`` (or ``enter``) answers yes, ``n`` or ``esc`` no."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from patchdesk.text import printable


class ConfirmModal(ModalScreen[bool]):
    """Asks ``question`` (plain text: may hold untrusted names, never read as markup)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > Vertical {
        width: 60; max-width: 95%; height: auto;
        border: thick $warning; background: $panel; padding: 1 2;
    }
    ConfirmModal .confirm-keys { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, question: str | Text) -> None:
        super().__init__()
        self.question = question if isinstance(question, Text) else Text(question)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False)
            yield Static("y  yes     n / esc  no", classes="confirm-keys", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def force_reboot_question(hostname: str, client_id: str) -> Text:
    """What ``b`` asks before forcing a reboot (the names shown literally)."""
    question = Text("Force a reboot of ")
    question.append(printable(hostname), "bold")
    question.append(f" ({printable(client_id)}) now? The user cannot defer it.")
    return question
