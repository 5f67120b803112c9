"""Shown instead of the screens while the terminal is smaller than the 80x24 they need."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH = 80
MIN_HEIGHT = 24


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


def message(width: int, height: int) -> str:
    return f"terminal too small: needs {MIN_WIDTH}x{MIN_HEIGHT}, have {width}x{height}"


class TooSmallScreen(Screen[None]):
    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; }
    TooSmallScreen > Static { width: auto; height: auto; color: $warning; }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text(message(*self.app.size)), id="too-small")

    def on_resize(self) -> None:
        self.query_one("#too-small", Static).update(Text(message(*self.app.size)))
        width, height = self.app.size
        text = Text(message(width, height))
        if width >= 40:
            text.append("\nenlarge the window, or q to quit", style="dim")
        self.query_one("#too-small", Static).update(text)
