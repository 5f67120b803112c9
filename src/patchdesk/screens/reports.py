"""The Reports screen (key ``3``, ``:reports``): the health metrics of one patch cycle per
client and for all clients, with a trend over the last six cycles.

Per row: device and patch compliance (as of the cycle's end, or now while it runs), failed
installs (total and the top class), emergency patches, MTTR (mean, median, p90), and the
trend: device compliance per cycle as blocks on a fixed 0-100 % scale, with failed installs
as bars beside it when the terminal is wide. ``s``/``S`` sort, ``[``/``]`` change the cycle,
``d``/``enter`` shows a row in full, ``w`` exports the selected client's post-patch report
(the same document as ``patchdesk report cycle``) and says where it went.

The figures are computed off the UI thread: a worker reads the cycle's figures
(``store.metric_views.metrics_summary``) and posts them, then the six cycles' trend
(``store.metric_trends``); a newer read (another cycle, ``r``) makes older results void.
The figures are not live: they are read when the screen opens, when it is shown again after
a minute or more, on ``r`` and on a cycle change; the header says as of when. The current
cycle's trend point is the summary's own; points of cycles that had ended are kept and not
read again until ``r``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from patchdesk.rules.metrics.cycles import Cycle, cycle_of
from patchdesk.screens.reports_detail import ReportDetailScreen, detail_text
from patchdesk.screens.reports_export import (
    Exported,
    ExportFormatModal,
    ExportOrder,
    announce_export,
    reports_directory,
    run_export,
)
from patchdesk.screens.reports_layout import (
    bar_text,
    cell,
    columns_for,
    current_text,
    header_text,
    status_text,
)
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.report_cells import (
    ALL_CLIENTS,
    SORT_ORDER,
    ReportRow,
    SortColumn,
    rows_of,
    sort_rows,
)
from patchdesk.screens.worker_results import failed_worker, notify_worker_error
from patchdesk.store.metric_trends import (
    ClientTrend,
    Known,
    TrendPoint,
    closed,
    metric_trends,
    overall_trend,
    point_of,
)
from patchdesk.store.metric_views import MetricsSummary, metrics_summary
from patchdesk.text import printable

HISTORY = 6  # cycles in the trend, the shown one last
STALE_SECONDS = 60.0  # shown again after this long (wall time): read again
TALL = 34  # from this height the selected row is shown in full under the table
READ_GROUP = "reports-read"
EXPORT_GROUP = "reports-export"

NO_CLIENTS = (
    "No clients yet, so there is nothing to report.\n\n"
    "  patchdesk policy apply FILE...   loads client policies (clients, windows, approval rules)\n"
    "  patchdesk inventory import FILE  adds their devices from a CSV\n"
    "  patchdesk demo                   opens a simulated MSP instead\n\n"
    "Per-client compliance, failed installs, emergency patches and MTTR appear here as soon\n"
    "as clients exist."
)


# --- messages from the workers ---------------------------------------------------------------


class SummaryRead(Message):
    def __init__(self, generation: int, summary: MetricsSummary) -> None:
        super().__init__()
        self.generation = generation
        self.summary = summary


class TrendsRead(Message):
    def __init__(
        self,
        generation: int,
        trends: tuple[ClientTrend, ...],
        overall: tuple[TrendPoint, ...],
        now: datetime,
    ) -> None:
        super().__init__()
        self.generation = generation
        self.trends = trends
        self.overall = overall
        self.now = now


class ReportsTable(DataTable[Text]):
    """The clients' figures; ``enter`` opens the selected row in full."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Detail", show=False, id="reports.detail_enter"),
        Binding("k", "cursor_up", "Up", show=False, id="reports.up"),
        Binding("j", "cursor_down", "Down", show=False, id="reports.down"),
    ]


# --- the screen ------------------------------------------------------------------------------


class ReportsScreen(Screen[None]):
    TITLE = "Reports"

    BINDINGS: ClassVar[list[BindingType]] = [
        # s, S, [, ], c and r are named in the bar above the table (the footer must fit 80
        # columns with the app's keys).
        Binding("s", "next_sort", "Sort", show=False, id="reports.sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False, id="reports.sort_reverse"),
        Binding(
            "left_square_bracket",
            "change_cycle(-1)",
            "Prev cycle",
            key_display="[",
            show=False,
            id="reports.cycle_previous",
        ),
        Binding(
            "right_square_bracket",
            "change_cycle(1)",
            "Next cycle",
            key_display="]",
            show=False,
            id="reports.cycle_next",
        ),
        Binding("c", "current_cycle", "Current cycle", show=False, id="reports.cycle_current"),
        Binding("d", "detail", "Detail", id="reports.detail"),
        Binding("w", "export", "Export", id="reports.export"),
        Binding("r", "refresh_now", "Refresh", show=False, id="reports.refresh"),
    ]

    DEFAULT_CSS = """
    ReportsScreen { layout: vertical; }
    ReportsScreen #reports-bar { height: 1; padding: 0 1; background: $boost; }
    ReportsScreen ReportsTable { height: 1fr; background: $surface; }
    ReportsScreen #reports-current {
        height: 2; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis;
    }
    ReportsScreen #reports-panel {
        display: none; height: 1fr; border: round $accent 60%; padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    ReportsScreen.-tall ReportsTable { height: auto; max-height: 50%; }
    ReportsScreen.-tall #reports-panel { display: block; }
    ReportsScreen.-tall #reports-current { display: none; }
    ReportsScreen.-empty #reports-panel { display: none; }
    ReportsScreen #reports-empty {
        height: 1fr; padding: 1 2; border: round $accent 60%; display: none;
    }
    ReportsScreen.-empty #reports-empty { display: block; }
    ReportsScreen.-empty ReportsTable { display: none; }
    ReportsScreen.-empty #reports-current { display: none; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.sort = SortColumn.CLIENT
        self.reverse = False
        self.cycle: Cycle | None = None  # the cycle shown (set on mount from the clock)
        self.summary: MetricsSummary | None = None
        self.trends: dict[str, tuple[TrendPoint, ...]] | None = None  # row key -> points
        self.rows: list[ReportRow] = []  # in the order shown
        self.reads = 0  # summaries applied (tests wait on it)
        self._generation = 0
        self._read_at: float | None = None  # monotonic, when the last read started
        self._exporting = False
        self._wanted_key: str | None = None  # the row to select once a cycle is read
        # Trend points of cycles that had ended when read: kept until r (they do not move
        # with time), so changing cycles reads only what is new.
        self._closed_points: dict[tuple[str, Cycle], TrendPoint] = {}
        self.last_export: Path | None = None  # the last file written (tests read it)

    @property
    def services(self) -> Services:
        return services_of(self.app)

    @property
    def table(self) -> ReportsTable:
        return self.query_one(ReportsTable)

    # --- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ClockHeader("Reports", id="reports-header")
        yield Static("", id="reports-bar", markup=False)
        yield ReportsTable(cursor_type="row", zebra_stripes=False, id="reports-table")
        yield Static(Text("reading …", "dim"), id="reports-current", markup=False)
        with VerticalScroll(id="reports-panel") as panel:
            panel.border_title = "Selected row"
            panel.border_subtitle = "d opens it alone · w exports a client's report"
            yield Static(Text("reading …", "dim"), id="reports-panel-text", markup=False)
        yield Static(Text(NO_CLIENTS), id="reports-empty", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.cycle = self.current_cycle()
        self.table.focus()
        self._read()

    def on_screen_resume(self) -> None:
        if self._read_at is not None and time.monotonic() - self._read_at >= STALE_SECONDS:
            self._read()

    def on_resize(self) -> None:
        self.query_one(Footer).compact = self.size.width < 100
        self.set_class(self.size.height >= TALL, "-tall")
        self._show_status()
        self._draw()

    def current_cycle(self) -> Cycle:
        """The cycle ``now`` falls in (by its UTC date, as ``patchdesk metrics``)."""
        return cycle_of(self.services.clock(), UTC)

    def workers_busy(self) -> bool:
        """A read or an export of this screen is still running (tests wait for it)."""
        return any(
            worker.node is self and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.app.workers
        )

    # --- reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        assert self.cycle is not None
        self._generation += 1
        self._read_at = time.monotonic()
        self.trends = None
        if self.summary is not None and self.summary.cycle != self.cycle:
            # Another cycle: the rows shown are not its figures; say it is being read.
            selected = self.selected_row()
            self._wanted_key = selected.key if selected is not None else self._wanted_key
            self.summary, self.rows = None, []
            self.table.clear()
            reading = Text(f"reading cycle {self.cycle.label} …", "dim")
            self.query_one("#reports-current", Static).update(reading)
            self.query_one("#reports-panel-text", Static).update(reading)
        self._show_status()
        self._read_worker(
            self._generation, self.cycle, self.services.clock(), dict(self._closed_points)
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group=READ_GROUP)
    def _read_worker(self, generation: int, cycle: Cycle, now: datetime, known: Known) -> None:
        database = self.services.database
        with database.session() as session:
            summary = metrics_summary(session, cycle, now)
        self.post_message(SummaryRead(generation, summary))
        cycles = cycle.last(HISTORY)
        points = dict(known)
        points.update({(c.client_id, cycle): point_of(c) for c in summary.clients})
        with database.session() as session:
            trends = metric_trends(session, cycles, now, known=points)
        self.post_message(TrendsRead(generation, trends, overall_trend(trends, cycles), now))

    @on(SummaryRead)
    def _summary_read(self, message: SummaryRead) -> None:
        if message.generation != self._generation:
            return
        self.summary = message.summary
        self.reads += 1
        self.set_class(not message.summary.clients, "-empty")
        self._show_status()
        self._draw()

    @on(TrendsRead)
    def _trends_read(self, message: TrendsRead) -> None:
        if message.generation != self._generation:
            return
        for trend in message.trends:
            for point in trend.points:
                if closed(point, message.now):
                    self._closed_points[(trend.client_id, point.cycle)] = point
        trends = {trend.client_id: trend.points for trend in message.trends}
        trends[ALL_CLIENTS] = message.overall
        self.trends = trends
        self._draw()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        worker = failed_worker(event, self)
        if worker is None:
            return
        what = "read"
        if worker.group == EXPORT_GROUP:
            self._exporting = False
            what = "exported"
        notify_worker_error(self, worker, "Reports", f"The reports could not be {what}")

    # --- drawing ---------------------------------------------------------------------------

    def _show_status(self) -> None:
        if self.cycle is None:
            return
        as_of = self.summary.now if self.summary and self.summary.cycle == self.cycle else None
        header = self.query_one(ClockHeader)
        compact = self.size.width < 100
        current = self.current_cycle()
        header.set_status(status_text(self.cycle, current, as_of, self.services, compact=compact))
        self._show_bar()

    def _show_bar(self) -> None:
        if self.cycle is None:
            return
        rows = None
        if self.summary is not None and self.summary.cycle == self.cycle:
            rows = len(self.summary.clients)
        bar = bar_text(
            self.sort,
            self.reverse,
            self.cycle.last(HISTORY),
            compact=self.size.width < 100,
            rows=rows,
            current=self.cycle == self.current_cycle(),
        )
        self.query_one("#reports-bar", Static).update(bar)

    def _points(self, row: ReportRow) -> tuple[TrendPoint, ...] | None:
        return None if self.trends is None else self.trends.get(row.key)

    def _draw(self) -> None:
        """(Re)build the table: the summary's rows in the chosen order, the cursor kept on
        the same client."""
        if self.summary is None or not self.is_mounted:
            return
        table = self.table
        selected = self.selected_row()
        wanted = selected.key if selected is not None else self._wanted_key
        self.rows = sort_rows(rows_of(self.summary), self.sort, self.reverse)
        columns = columns_for(self.size.width)
        with self.app.batch_update():
            table.clear(columns=True)
            for column in columns:
                table.add_column(
                    header_text(column, self.sort, self.reverse), width=column.width, key=column.key
                )
            for row in self.rows:
                points = self._points(row)
                table.add_row(*(cell(c, row, points) for c in columns), key=row.key or "*all*")
            if wanted is not None:
                index = next((i for i, r in enumerate(self.rows) if r.key == wanted), 0)
                table.move_cursor(row=index, animate=False)
            table.refresh()
        self._show_bar()
        self._show_current()

    def selected_row(self) -> ReportRow | None:
        if not self.rows:
            return None
        index = self.table.cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def _selected_client_row(self) -> ReportRow | None:
        """The selected row, or None (told why: still reading, or no clients at all)."""
        row = self.selected_row()
        if row is None or self.summary is None:
            self.notify("the figures are still being read", severity="warning")
            return None
        if not self.summary.clients:
            self.notify("no clients yet: nothing to report", severity="warning")
            return None
        return row

    def _show_current(self) -> None:
        row = self.selected_row()
        points = self._points(row) if row is not None else None
        self.query_one("#reports-current", Static).update(current_text(row))
        if self.has_class("-tall") and row is not None and self.summary is not None:
            body = detail_text(row, self.summary, points, self.services.local_zone)
            self.query_one("#reports-panel-text", Static).update(body)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_current()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_detail()

    # --- actions ---------------------------------------------------------------------------

    def action_next_sort(self) -> None:
        index = (SORT_ORDER.index(self.sort) + 1) % len(SORT_ORDER)
        self.sort, self.reverse = SORT_ORDER[index], False
        self._draw()
        self._show_bar()

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self._draw()
        self._show_bar()

    def action_change_cycle(self, step: int) -> None:
        assert self.cycle is not None
        target = self.cycle.next() if step > 0 else self.cycle.previous()
        current = self.current_cycle()
        if target > current:
            self.notify(
                f"{current.label} is the current cycle: later cycles have not begun",
                severity="warning",
            )
            return
        self.cycle = target
        self._read()

    def action_current_cycle(self) -> None:
        current = self.current_cycle()
        if current != self.cycle:
            self.cycle = current
            self._read()

    def action_refresh_now(self) -> None:
        self._closed_points.clear()  # r reads everything again (e.g. after a scope change)
        self._read()

    def action_detail(self) -> None:
        row = self._selected_client_row()
        if row is None or self.summary is None:
            return
        body = detail_text(row, self.summary, self._points(row), self.services.local_zone)
        self.app.push_screen(ReportDetailScreen(body))

    def action_export(self) -> None:
        row = self._selected_client_row()
        summary = self.summary
        if row is None or summary is None:
            return
        if row.is_all:
            self.notify(
                "The cycle report is per client: select a client's row, then w.",
                severity="warning",
            )
            return
        if self._exporting:
            self.notify("an export is still being written", severity="warning")
            return
        directory = reports_directory(self.services.reports_dir)
        title = Text(f"{summary.cycle.label} · ")
        title.append(printable(row.name), "bold")
        title.append(f" ({printable(row.key)})")

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice:
                fmt, audience = choice
                self._exporting = True
                self._export_worker(
                    ExportOrder(
                        row.key, row.name, summary.cycle, summary.now, fmt, directory, audience
                    )
                )

        self.app.push_screen(ExportFormatModal(title, directory), chosen)

    @work(thread=True, exit_on_error=False, group=EXPORT_GROUP)
    def _export_worker(self, order: ExportOrder) -> None:
        services = self.services
        self.post_message(run_export(services.database, services.branding, order))

    @on(Exported)
    def _exported(self, message: Exported) -> None:
        self._exporting = False
        if message.path is not None:
            self.last_export = message.path
        announce_export(self, message, self.services.branding)


__all__ = ["ReportsScreen", "ReportsTable", "columns_for", "header_text"]
