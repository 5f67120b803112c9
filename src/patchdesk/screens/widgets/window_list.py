"""The board's two window lists: open windows with their progress, and windows opening in
the next 24 hours with a countdown.

Each is a scrollable panel drawing one ``rich.table.Table`` from plain rows; the screen
hands it rows (``set_rows``) and the time (``set_now``), and it redraws only when what it
would show changes. Client and window names are untrusted: control characters are
stripped and the text is never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from patchdesk.screens.widgets.timetext import clock, duration, local_range, zone_label, zone_of
from patchdesk.store.board_views import UpcomingWindow, WindowProgress
from patchdesk.text import printable

MAX_ROWS = 300  # beyond this the panel says how many more
WIDE = 110  # from this width each window gets a column per count


NO_FLEET_DEVICES = "the fleet connector knows no device of this client: nothing to patch"


def unknown_fleets(rows: Iterable[WindowProgress]) -> list[Text]:
    """``Acme Dental: the fleet connector knows no device …``, once per client whose open
    window has no target because the connector reported none of its devices."""
    lines: list[Text] = []
    seen: set[str] = set()
    for row in rows:
        if row.fleet_knows_none and row.client_id not in seen:
            seen.add(row.client_id)
            line = Text(f"{printable(row.client_name)}: ", style="bold yellow")
            line.append(NO_FLEET_DEVICES, style="yellow")
            lines.append(line)
    return lines


def _clip(value: str, width: int) -> Text:
    text = printable(value)
    if len(text) > width:
        text = text[: max(1, width - 1)] + "…"
    return Text(text)


# The bar's parts, in order: each has a glyph of its own, so the bar reads without colour
# (NO_COLOR, a monochrome terminal, a colour-blind technician).
VERIFIED, FAILED, SKIPPED, RUNNING, WAITING = "█", "✗", "░", "▒", "·"
BAR_STYLES = {VERIFIED: "green", FAILED: "bold red", SKIPPED: "dim", RUNNING: "yellow",
              WAITING: "dim"}  # fmt: skip


def legend() -> Text:
    """The bar's key, one line (the open windows' bottom border)."""
    text = Text()
    for glyph, word in (
        (VERIFIED, "verified"),
        (FAILED, "failed"),
        (SKIPPED, "skipped"),
        (RUNNING, "running"),
        (WAITING, "waiting"),
    ):
        text.append(glyph, style=BAR_STYLES[glyph])
        text.append(f" {word} ")
    text.append("│ % verified of targets ")
    return text


def bar_cells(counts: list[int], width: int) -> list[int]:
    """``width`` cells shared in proportion to ``counts``: every non-zero count gets a cell
    at least (one failure among 500 targets still shows), a count never more than its
    share rounded up (a full bar of one part means all targets are in it)."""
    total = sum(counts)
    if total == 0 or width <= 0:
        return [0] * len(counts)
    exact = [width * n / total for n in counts]
    cells = [int(x) for x in exact]
    for i, n in enumerate(counts):
        if n and not cells[i]:
            cells[i] = 1
    while sum(cells) > width:  # the minimum cells overflowed: the most over-served gives
        over = [i for i, c in enumerate(cells) if c > 1]
        if not over:  # more parts than cells: the bar is cut
            break
        cells[max(over, key=lambda i: cells[i] - exact[i])] -= 1
    while sum(cells) < width:  # the largest remainder takes the cell left
        i = max(range(len(counts)), key=lambda i: (exact[i] - cells[i], counts[i]))
        cells[i] += 1
    return cells


def progress_bar(row: WindowProgress, width: int) -> Text:
    """Verified ``█``, failed ``✗``, skipped ``░``, running ``▒``, waiting ``·``."""
    if row.total == 0:
        return Text(WAITING * width, style="dim")
    parts = [
        (row.verified, VERIFIED),
        (row.failed, FAILED),
        (row.skipped, SKIPPED),
        (row.in_flight, RUNNING),
    ]
    waiting = row.total - sum(n for n, _ in parts)  # pending, deferred
    parts.append((waiting, WAITING))
    bar = Text()
    for (_, glyph), cells in zip(parts, bar_cells([n for n, _ in parts], width), strict=True):
        bar.append(glyph * cells, style=BAR_STYLES[glyph])
    return bar


def verified_percent(row: WindowProgress) -> int:
    """Verified targets of all the window's targets, rounded down (100 only when all are)."""
    return 100 * row.verified // row.total if row.total else 0


def _count(value: int, style: str) -> Text:
    return Text(str(value), style=style if value else "dim")


class OpenWindows(VerticalScroll, can_focus=True):
    """Open windows: client, window, local time range and zone, time left, progress, counts."""

    DEFAULT_CSS = """
    OpenWindows {
        height: auto; max-height: 70%; border: round $primary 60%; padding: 0 0 0 1;
        scrollbar-gutter: stable; scrollbar-size-vertical: 1;
    }
    OpenWindows:focus { border: round $primary; }
    OpenWindows > Static { width: 100%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: dict[int, WindowProgress] = {}
        self.now: datetime | None = None
        self._drawn: tuple[object, ...] | None = None
        self.border_title = "Open windows"

    def compose(self) -> Iterable[Static]:
        yield Static(Text("reading …", style="dim"), id="open-windows-body")

    def replace_rows(self, rows: Iterable[WindowProgress], clients: frozenset[str] | None) -> None:
        """All rows (``clients`` None) or those of ``clients``."""
        if clients is None:
            self.rows = {}
        else:
            self.rows = {k: v for k, v in self.rows.items() if v.client_id not in clients}
        for row in rows:
            self.rows[row.deployment_id] = row
        self.redraw()

    def set_now(self, now: datetime) -> None:
        self.now = now
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def ordered(self) -> list[WindowProgress]:
        """Grouped by client (the client whose window opened first leads), then by start."""
        first: dict[str, tuple[datetime, str]] = {}
        for row in self.rows.values():
            key = (row.start, row.client_name)
            first[row.client_id] = min(first.get(row.client_id, key), key)
        return sorted(
            self.rows.values(),
            key=lambda r: (
                first[r.client_id],
                r.client_id,
                r.start,
                r.window_name,
                r.deployment_id,
            ),
        )

    def redraw(self) -> None:
        if self.now is None or not self.is_mounted:
            return
        width = self.content_size.width or self.size.width
        rows = self.ordered()
        now_minute = self.now.replace(second=0, microsecond=0)
        key = (width, now_minute, tuple(rows))
        if key == self._drawn:
            return
        self._drawn = key
        n = len(rows)
        clients = len({row.client_id for row in rows})
        self.border_title = (
            f"Open windows ({n}, {clients} client{'s' if clients != 1 else ''})"
            if n
            else "Open windows"
        )
        body = self.query_one("#open-windows-body", Static)
        if not rows:
            self.border_subtitle = None
            body.update(Text("No window is open now.", style="dim"))
            return
        self.border_subtitle = legend()
        body.update(Group(self._table(rows, width, self.now), *unknown_fleets(rows)))

    def _table(self, rows: list[WindowProgress], width: int, now: datetime) -> Table:
        """One heading row per client (name, zone), then one row per open window."""
        wide = width >= WIDE
        table = Table(
            box=None, expand=True, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold dim"
        )
        table.add_column("Client / window", ratio=1, no_wrap=True)
        table.add_column("Local time", no_wrap=True)
        table.add_column("Left", justify="right", no_wrap=True)
        bar_width = 14 if wide else 6
        table.add_column("Progress", width=bar_width + 5, no_wrap=True)
        table.add_column("fail", justify="right", no_wrap=True)  # beside the % verified
        table.add_column("ok", justify="right", no_wrap=True)
        table.add_column("run", justify="right", no_wrap=True)
        table.add_column("wait", justify="right", no_wrap=True)
        if wide:
            table.add_column("def", justify="right", no_wrap=True)
        client: str | None = None
        for row in rows[:MAX_ROWS]:
            zone = zone_of(row.zone)
            if row.client_id != client:
                client = row.client_id
                label = Text(zone_label(row.start, zone), style="dim")
                if wide:
                    label.append(f" {zone.key}", style="dim")
                heading = Text(printable(row.client_name), style="bold")
                heading.truncate(80, overflow="ellipsis")
                table.add_row(heading, label)
            left = row.end - now
            left_text = (
                Text(duration(left)) if left.total_seconds() > 0 else Text("closing", "yellow")
            )
            bar = progress_bar(row, bar_width)
            bar.append(f" {verified_percent(row):>3}%")
            waiting = row.pending + (0 if wide else row.deferred)
            name = Text("  ")
            name.append(printable(row.window_name))
            cells: list[Text] = [name, Text(local_range(row.start, row.end, zone, label=False))]
            cells += [
                left_text,
                bar,
                _count(row.failed, "bold red"),
                _count(row.verified, "green"),
                _count(row.in_flight, "yellow"),
                _count(waiting, ""),
            ]
            if wide:
                cells.append(_count(row.deferred, "cyan"))
            table.add_row(*cells)
        if len(rows) > MAX_ROWS:
            table.add_row(Text(f"… and {len(rows) - MAX_ROWS} more", style="dim"))
        return table


class UpcomingWindows(VerticalScroll, can_focus=True):
    """Windows opening in the next 24 hours, soonest first, with a countdown."""

    DEFAULT_CSS = """
    UpcomingWindows {
        height: 1fr; min-height: 5; border: round $secondary 60%; padding: 0 0 0 1;
        scrollbar-gutter: stable; scrollbar-size-vertical: 1;
    }
    UpcomingWindows:focus { border: round $secondary; }
    UpcomingWindows > Static { width: 100%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: tuple[UpcomingWindow, ...] = ()
        self.now: datetime | None = None
        self._drawn: tuple[object, ...] | None = None
        self.border_title = "Next 24 h"

    def compose(self) -> Iterable[Static]:
        yield Static(Text("reading …", style="dim"), id="upcoming-body")

    def set_rows(self, rows: tuple[UpcomingWindow, ...]) -> None:
        self.rows = rows
        self.redraw()

    def set_now(self, now: datetime) -> None:
        self.now = now
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        if self.now is None or not self.is_mounted:
            return
        now = self.now
        rows = [row for row in self.rows if row.start > now]
        width = self.content_size.width or self.size.width
        key = (width, now.replace(second=0, microsecond=0), tuple(rows))
        if key == self._drawn:
            return
        self._drawn = key
        self.border_title = f"Next 24 h ({len(rows)})" if rows else "Next 24 h"
        body = self.query_one("#upcoming-body", Static)
        if not rows:
            body.update(Text("No window opens in the next 24 hours.", style="dim"))
            return
        wide = width >= WIDE
        table = Table(box=None, expand=True, pad_edge=False, show_header=False)
        table.add_column("In", justify="right", no_wrap=True, style="bold")
        table.add_column("Client", ratio=3, no_wrap=True)
        table.add_column("Window", ratio=3, no_wrap=True, style="dim")
        table.add_column("Local time", no_wrap=True)
        if wide:
            table.add_column("UTC", no_wrap=True, style="dim")
        for row in rows:
            cells = [
                Text(f"in {duration(row.start - now)}"),
                _clip(row.client_name, 40),
                _clip(row.window_name, 40),
                Text(local_range(row.start, row.end, zone_of(row.zone))),
            ]
            if wide:
                cells.append(Text(f"{clock(row.start, zone_of('UTC'))} UTC"))
            table.add_row(*cells)
        body.update(table)
