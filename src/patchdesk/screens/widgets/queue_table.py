"""A virtual table of the exception queue: it draws only the rows on screen.

The table knows how many rows the queue has (``total``) and holds one page of them (a few
screens' worth, read from SQL by the screen's worker). Scrolling or moving the cursor near
the page's edge posts ``PageWanted``; rows not read yet draw as a placeholder until the
page arrives. Drawing goes through the line API (``render_line`` -> ``Strip``) with plain
segments, so untrusted text can never be read as markup; each drawn line is cached.

Marked rows (``set_marks``: exception ids) show a glyph in a column of their own at the left,
there only while something is marked.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from patchdesk.domain import ExceptionState, Tier
from patchdesk.screens.widgets.marks import GUTTER, mark_cell
from patchdesk.screens.widgets.queue_cells import Layout, layout_for
from patchdesk.store.queue_views import QueueLine, QueuePage

MIN_PAGE = 100  # rows read at once, at least


class QueueTable(ScrollView, can_focus=True):
    """The exception queue, one row per exception, a fixed header line on top."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="queue.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="queue.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="queue.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="queue.page_down"),
        Binding("home", "first", "First", show=False, id="queue.first"),
        Binding("end", "last", "Last", show=False, id="queue.last"),
    ]

    COMPONENT_CLASSES = {
        "queue-table--header",
        "queue-table--cursor",
        "queue-table--placeholder",
        "queue-table--tier-1",
        "queue-table--tier-2",
        "queue-table--tier-3",
        "queue-table--tier-4",
        "queue-table--open",
        "queue-table--escalated",
        "queue-table--working",
        "queue-table--mine",
    }

    DEFAULT_CSS = """
    QueueTable {
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    QueueTable > .queue-table--header { text-style: bold; color: $text-muted; }
    QueueTable > .queue-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    QueueTable:blur > .queue-table--cursor {
        background: $block-cursor-blurred-background;
        text-style: none;
    }
    QueueTable > .queue-table--placeholder { color: $text-disabled; }
    QueueTable > .queue-table--tier-1 { color: $error; text-style: bold; }
    QueueTable > .queue-table--tier-2 { color: $warning; text-style: bold; }
    QueueTable > .queue-table--tier-3 { color: $accent; }
    QueueTable > .queue-table--tier-4 { color: $text-muted; }
    QueueTable > .queue-table--open { color: $warning; }
    QueueTable > .queue-table--escalated { color: $error; }
    QueueTable > .queue-table--working { color: $success; }
    QueueTable > .queue-table--mine { color: $accent; text-style: bold; }
    """

    class PageWanted(Message):
        """The rows ``offset`` .. ``offset + limit`` are needed on screen soon."""

        def __init__(self, offset: int, limit: int) -> None:
            super().__init__()
            self.offset = offset
            self.limit = limit

    class Highlighted(Message):
        """The cursor is on ``line`` (None: no row, or the row is not read yet)."""

        def __init__(self, line: QueueLine | None) -> None:
            super().__init__()
            self.line = line

    def __init__(
        self,
        *,
        operator: str,
        now: datetime,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.operator = operator
        self._now = now
        self._minute = _minute(now)
        self._total = 0
        self._offset = 0
        self._lines: tuple[QueueLine, ...] = ()
        self._cursor = 0
        self._requested: tuple[int, int] | None = None
        self._loaded = False
        self._layout: Layout | None = None
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._highlighted: QueueLine | None = None
        self._marked: frozenset[int] = frozenset()

    # --- what the screen tells the table ---------------------------------------------------

    @property
    def total(self) -> int:
        return self._total

    @property
    def cursor(self) -> int:
        return self._cursor

    @property
    def loaded(self) -> bool:
        """A page has arrived (before the first one, the table says it is reading)."""
        return self._loaded

    @property
    def current(self) -> QueueLine | None:
        """The row under the cursor, if it has been read."""
        return self.line_at(self._cursor)

    def line_at(self, index: int) -> QueueLine | None:
        position = index - self._offset
        if 0 <= position < len(self._lines):
            return self._lines[position]
        return None

    def show_page(self, page: QueuePage) -> None:
        """Take a freshly read page; the cursor stays on the same exception when it is on
        the page, else at the same position (clamped)."""
        selected = self.current
        before = {self._offset + i: line for i, line in enumerate(self._lines)}
        self._offset, self._lines = page.offset, page.lines
        self._requested = None
        first = not self._loaded
        self._loaded = True
        resized = page.total != self._total
        self._total = page.total
        if selected is not None:
            for i, line in enumerate(page.lines):
                if line.row.id == selected.row.id:
                    self._cursor = page.offset + i
                    break
        self._cursor = max(0, min(self._cursor, self._total - 1))
        if resized or first:
            self._set_virtual_size()
        self._ensure_cursor_visible()
        self._refresh_changed(before)
        self._announce()
        self._check_page()

    def reset(self) -> None:
        """A new query: back to the top, nothing read yet."""
        self._lines, self._offset, self._total, self._cursor = (), 0, 0, 0
        self._requested = None
        self._loaded = False
        self._set_virtual_size()
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()
        self._announce()

    @property
    def marked(self) -> frozenset[int]:
        return self._marked

    def set_marks(self, exception_ids: frozenset[int]) -> None:
        """Show these exceptions as marked (the mark column shows while any is)."""
        if exception_ids == self._marked:
            return
        if bool(exception_ids) != bool(self._marked):
            self._layout = None  # the mark column comes or goes: the columns change
        self._marked = exception_ids
        self.refresh()

    def set_now(self, now: datetime) -> None:
        """Ages are shown in minutes: redraw when the minute changed."""
        self._now = now
        minute = _minute(now)
        if minute != self._minute:
            self._minute = minute
            self.refresh()

    def wanted_page(self) -> tuple[int, int]:
        """The page the table would like around what is on screen now."""
        rows = self._rows_visible()
        limit = max(MIN_PAGE, rows * 6)
        top = int(self.scroll_y)
        return max(0, top - rows * 2), limit

    # --- keys ------------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self._move_to(self._cursor + delta)

    def action_page(self, direction: int) -> None:
        rows = max(1, self._rows_visible() - 1)
        self._move_to(self._cursor + direction * rows)
        self.scroll_to(y=self.scroll_y + direction * rows, animate=False, immediate=True)
        self._ensure_cursor_visible()

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(self._total - 1)

    def _move_to(self, index: int) -> None:
        index = max(0, min(index, self._total - 1))
        if index == self._cursor:
            return
        old, self._cursor = self._cursor, index
        self._refresh_row(old)
        self._refresh_row(index)
        self._ensure_cursor_visible()
        self._announce()
        self._check_page()

    # --- scrolling and pages ---------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._check_page()

    def on_resize(self) -> None:
        self._layout = None
        self._set_virtual_size()
        self._check_page()

    def _rows_visible(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _set_virtual_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self._total + 1)

    def _ensure_cursor_visible(self) -> None:
        rows = self._rows_visible()
        top = int(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False, immediate=True)

    def _check_page(self) -> None:
        """Ask for a page when what is on screen (plus a screen either way) is not all read,
        unless that very page is already asked for: a page key then finds its rows read."""
        if not self._loaded or self._total == 0:
            return
        rows = self._rows_visible()
        top = int(self.scroll_y)
        need_from = max(0, top - rows)
        need_to = min(self._total, top + rows * 2)
        have_to = self._offset + len(self._lines)
        if self._offset <= need_from and need_to <= have_to:
            return
        wanted = self.wanted_page()
        if wanted != self._requested:
            self._requested = wanted
            self.post_message(self.PageWanted(*wanted))

    def _announce(self) -> None:
        line = self.current
        if line != self._highlighted:
            self._highlighted = line
            self.post_message(self.Highlighted(line))

    # --- drawing ---------------------------------------------------------------------------

    def _refresh_row(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _refresh_changed(self, before: dict[int, QueueLine]) -> None:
        """Redraw the rows on screen whose content changed (all of them if the total moved)."""
        top = int(self.scroll_y)
        for index in range(top, top + self._rows_visible()):
            if before.get(index) != self.line_at(index):
                self._refresh_row(index)

    def _get_layout(self, width: int) -> Layout:
        if self._marked:
            width -= GUTTER
        layout = self._layout
        if layout is None or sum(layout.widths) + len(layout.widths) - 1 > width:
            layout = self._layout = layout_for(width)
        return layout

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        layout = self._get_layout(width)
        if y == 0:
            return self._header_strip(layout, width)
        index = int(self.scroll_y) + y - 1
        if index >= self._total:
            if index == 0 and not self._loaded:
                return self._text_strip("reading the queue …", width)
            if index == 0:
                return self._text_strip("no exceptions match", width)
            return Strip.blank(width, self.rich_style)
        line = self.line_at(index)
        selected = index == self._cursor
        if line is None:
            return self._text_strip("…", width, selected=selected)
        key = (line, selected, width, self._minute, self.has_focus, self._mark_state(line))
        strip = self._strips.get(key)
        if strip is None:
            strip = self._row_strip(layout, line, selected, width)
            self._strips[key] = strip
        return strip

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _mark_state(self, line: QueueLine) -> bool | None:
        """None: no mark column; else whether the row is marked."""
        return line.row.id in self._marked if self._marked else None

    def _header_strip(self, layout: Layout, width: int) -> Strip:
        base = self.rich_style + self._style("queue-table--header")
        text = (mark_cell(False) if self._marked else "") + " ".join(layout.header())
        return Strip([Segment(text, base)]).adjust_cell_length(width, base)

    def _text_strip(self, text: str, width: int, *, selected: bool = False) -> Strip:
        base = self.rich_style + self._style("queue-table--placeholder")
        if selected:
            base += self._style("queue-table--cursor")
        return Strip([Segment(text, base)]).adjust_cell_length(width, base)

    def _row_strip(self, layout: Layout, line: QueueLine, selected: bool, width: int) -> Strip:
        base = self.rich_style
        cursor = self._style("queue-table--cursor") if selected else None
        segments: list[Segment] = []
        marked = self._mark_state(line)
        if marked is not None:
            segments.append(Segment(mark_cell(marked), base + cursor if cursor else base))
        cells = layout.cells(line, self._now)
        for i, (column, cell) in enumerate(zip(layout.columns, cells, strict=True)):
            style = base + self._cell_style(column.key, line)
            if cursor is not None:
                style += cursor
            if i:
                segments.append(Segment(" ", base + cursor if cursor else base))
            segments.append(Segment(cell, style))
        fill = base + cursor if cursor else base
        return Strip(segments).adjust_cell_length(width, fill)

    def _cell_style(self, key: str, line: QueueLine) -> Style:
        row = line.row
        if key == "tier":
            return self._style(f"queue-table--tier-{_TIER_NUMBER[row.tier]}")
        if key == "state":
            name = _STATE_STYLE.get(row.state)
            return self._style(name) if name else Style()
        if key == "owner" and row.owner == self.operator:
            return self._style("queue-table--mine")
        return Style()


_TIER_NUMBER = {tier: int(tier.value) for tier in Tier}
_STATE_STYLE = {
    ExceptionState.OPEN: "queue-table--open",
    ExceptionState.ESCALATED: "queue-table--escalated",
    ExceptionState.IN_PROGRESS: "queue-table--working",
}


def _minute(now: datetime) -> int:
    return int(now.timestamp() // 60)
