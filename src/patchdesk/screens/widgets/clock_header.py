"""The top two lines of a screen: where you are, who is at the keyboard (the operator every
action is logged as), UTC and operator-local time (labelled, marked when simulated), and a
status line the screen fills (the board: the engine's state).

The clock is redrawn every second from ``Services.clock`` (no I/O). Everything shown is
plain ``rich.text.Text``, never markup.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from patchdesk.screens.services import services_of
from patchdesk.screens.widgets.timetext import zone_label
from patchdesk.text import printable

MAX_NAME_SHOWN = 20  # a longer operator name is cut (with an ellipsis) in the header


class ClockHeader(Widget):
    DEFAULT_CSS = """
    ClockHeader {
        dock: top;
        height: 2;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title_text = title
        self._status = Text("")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    @property
    def status(self) -> Text:
        """The second line as last set."""
        return self._status

    def set_status(self, status: Text) -> None:
        """The second line (e.g. the engine's state); shown as given."""
        self._status = status
        self.refresh()

    def clock_text(self, compact: bool = False) -> Text:
        """``UTC Fri 27 Nov 18:20  local 19:20 CET (Europe/Berlin)``; ``compact`` leaves out
        the date and the zone's name (for 80 columns)."""
        services = services_of(self.app)
        now = services.clock()
        zone = services.local_zone
        seconds = not services.simulated
        fmt = "%H:%M:%S" if seconds else "%H:%M"
        text = Text()
        text.append("UTC ", style="dim")
        day = "" if compact else f"{now:%a %d %b} "
        text.append(f"{day}{now.strftime(fmt)}", style="bold")
        text.append("  local ", style="dim")
        local = now.astimezone(zone)
        text.append(local.strftime(fmt), style="bold")
        text.append(f" {zone_label(now, zone)}", style="dim")
        if not compact and zone.key not in ("UTC", zone_label(now, zone)):
            text.append(f" ({zone.key})", style="dim")
        note = getattr(self.app, "clock_note", "")
        if note:
            text.append("  ")
            text.append(f" {note} ", style="bold reverse")
        if services.readonly:
            text.append("  ")
            text.append(" READ-ONLY ", style="bold reverse")
        return text

    def operator_text(self, compact: bool = False) -> Text:
        """``operator alice`` (``compact``: the name alone), shown literally."""
        name = printable(services_of(self.app).operator)
        if len(name) > MAX_NAME_SHOWN:
            name = name[: MAX_NAME_SHOWN - 1] + "…"
        text = Text()
        if not compact:
            text.append("operator ", style="dim")
        text.append(name, style="bold")
        text.append("  ")
        return text

    def render(self) -> RenderableType:
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        compact = self.size.width < 100
        right = self.operator_text(compact) + self.clock_text(compact=compact)
        title = Text()
        room = self.content_region.width - right.cell_len - 1
        if len(f"patchdesk │ {self.title_text}") <= room:  # else the screen's name alone
            title.append("patchdesk", style="bold")
            title.append(" │ ")
        title.append(self.title_text)
        grid.add_row(title, right)
        status = self._status.copy()
        status.no_wrap = True
        status.overflow = "ellipsis"
        return Group(grid, status)
