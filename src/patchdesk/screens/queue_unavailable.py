"""Stands in for the exception queue only while ``patchdesk.screens.queue`` does not exist."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from patchdesk.screens.widgets.clock_header import ClockHeader


class QueueUnavailableScreen(Screen[None]):
    DEFAULT_CSS = """
    QueueUnavailableScreen > Static { padding: 1 2; color: $warning; }
    """

    def compose(self) -> ComposeResult:
        yield ClockHeader("Exception queue")
        yield Static(
            Text("queue screen not available in this build (patchdesk.screens.queue is missing)")
        )
        yield Footer()
