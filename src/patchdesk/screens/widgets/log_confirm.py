"""The last look before a write to the append-only remediation log: one line saying what will
be written. ``enter`` writes it, ``esc`` goes back to the form with everything kept. Any
other key typed here is not taken for an answer (a ``y`` from a note typed on is no "yes"):
the modal says which keys answer, and the key goes no further.

The line is read whole before it is written: a long note wraps it over many rows, so the
line scrolls (arrows, page keys, home, end) between the title and the keys, which stay on
screen at 80x24 and larger."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = "enter  write it     esc  back to the form"
READ_ON = "     ↓ pgdn end  read on"  # shown while the line goes on below
SCROLL_KEYS = frozenset({"up", "down", "pageup", "pagedown", "home", "end"})


class LogConfirm(ModalScreen[bool], inherit_bindings=False):
    """Shows ``line`` (plain text: may hold a note, never read as markup)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "answer(True)", "Write", id="log_confirm.write"),
        Binding("escape", "answer(False)", "Back", id="log_confirm.back"),
    ]

    DEFAULT_CSS = """
    LogConfirm { align: center middle; }
    LogConfirm > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $warning; background: $panel; padding: 1 2;
    }
    LogConfirm .log-confirm-title { text-style: bold; dock: top; }
    LogConfirm #log-confirm-scroll { height: auto; max-height: 1fr; }
    LogConfirm .log-confirm-keys { color: $text-muted; dock: bottom; padding-top: 1; }
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
            with VerticalScroll(id="log-confirm-scroll"):
                yield Static(self.line, id="log-confirm-line", markup=False)
            yield Static(KEYS, id="log-confirm-keys", classes="log-confirm-keys", markup=False)

    def on_mount(self) -> None:
        scroll = self.query_one("#log-confirm-scroll", VerticalScroll)
        self.watch(scroll, "scroll_y", lambda _y: self._keys(), init=False)
        self.call_after_refresh(self._keys)

    def on_resize(self) -> None:
        self.call_after_refresh(self._keys)

    def _keys(self, nudged: bool = False) -> None:
        """The keys that answer (after "not written yet:" once another key was typed), and
        how to read on while the line goes on below the screen."""
        scroll = self.query_one("#log-confirm-scroll", VerticalScroll)
        more = READ_ON if scroll.scroll_y < scroll.max_scroll_y else ""
        keys = self.query_one("#log-confirm-keys", Static)
        nudged = nudged or keys.has_class("-nudged")
        keys.update(f"{'not written yet: ' if nudged else ''}{KEYS}{more}")
        keys.set_class(nudged, "-nudged")

    def on_key(self, event: events.Key) -> None:
        if event.key in ("enter", "escape") or event.key in SCROLL_KEYS:
            return
        event.stop()
        event.prevent_default()
        self._keys(nudged=True)

    def action_answer(self, write: bool) -> None:
        self.dismiss(write)


__all__ = ["LogConfirm"]
