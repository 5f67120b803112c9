"""The Reports screen's text, apart from the screen: the table's columns for a terminal
width and their cells, the header's cycle line, the bar above the table and the selected
row's two lines. Pure: no worker, no database."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text

from patchdesk.rules.metrics.cycles import Cycle
from patchdesk.screens.services import Services
from patchdesk.screens.widgets.report_cells import (
    ReportRow,
    SortColumn,
    failed_text,
    mttr_text,
    name_text,
    rate_style,
    rate_text,
    sort_label,
    trend_text,
)
from patchdesk.screens.widgets.timetext import clock, zone_label
from patchdesk.store.metric_trends import TrendPoint
from patchdesk.text import printable

WIDE = 110  # from this width: MTTR median, failed-install bars, longer labels
WIDER = 130  # from this width: the in-scope device count too
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    sort: SortColumn | None = None
    right: bool = True


def columns_for(width: int) -> list[Column]:
    """The table's columns for a terminal ``width`` (the client column takes what is left)."""
    if width >= WIDE:
        fixed = [
            Column("device_rate", "Device ok", 9, SortColumn.DEVICE_RATE),
            Column("patch_rate", "Patch ok", 8, SortColumn.PATCH_RATE),
            Column("failed", "Failed (top class)", 18, SortColumn.FAILED, right=False),
            Column("emergencies", "Emerg.", 6, SortColumn.EMERGENCIES),
            Column("mttr", "MTTR", 6, SortColumn.MTTR),
            Column("median", "median", 6),
            Column("p90", "p90", 6),
            Column("trend", "Trend ok fail", 13, right=False),
        ]
        if width >= WIDER:
            fixed.insert(0, Column("devices", "Devices", 7))
    else:
        fixed = [
            Column("device_rate", "Dev ok", 6, SortColumn.DEVICE_RATE),
            Column("patch_rate", "Patch", 6, SortColumn.PATCH_RATE),
            Column("failed", "Failed", 13, SortColumn.FAILED, right=False),
            Column("emergencies", "Em", 2, SortColumn.EMERGENCIES),
            Column("mttr", "MTTR", 6, SortColumn.MTTR),
            Column("p90", "p90", 6),
            Column("trend", "Trend", 6, right=False),
        ]
    # A sortable column has room for the sort marker after its label.
    fixed = [
        replace(c, width=max(c.width, len(c.label) + 1)) if c.sort is not None else c for c in fixed
    ]
    # Each column has one cell of padding either side; one more for the scrollbar.
    used = sum(c.width + 2 for c in fixed) + 2 + 1
    name = max(12, width - used)
    return [Column("client", "Client", name, SortColumn.CLIENT, right=False), *fixed]


def header_text(column: Column, sort: SortColumn, reverse: bool) -> Text:
    label = column.label
    if column.sort is sort:
        label = f"{label}{'▲' if reverse else '▼'}"
    return Text(label, justify="right" if column.right else "left")


def cell(column: Column, row: ReportRow, points: tuple[TrendPoint, ...] | None) -> Text:
    key = column.key
    figures = row.compliance
    if key == "client":
        return name_text(row, column.width)
    if key == "devices":
        return Text(str(figures.devices), justify="right")
    if key in ("device_rate", "patch_rate"):
        rate = figures.device_rate if key == "device_rate" else figures.patch_rate
        return Text(rate_text(rate), rate_style(rate), justify="right")
    if key == "failed":
        return failed_text(row.failures, column.width)
    if key == "emergencies":
        return Text(
            str(row.emergencies), "bold yellow" if row.emergencies else "dim", justify="right"
        )
    if key in ("mttr", "median", "p90"):
        mttr = row.mttr
        value = {"mttr": mttr.mean, "median": mttr.median, "p90": mttr.p90}[key]
        text = mttr_text(value)
        text.justify = "right"
        return text
    return trend_text(points, failed=column.width >= 13)


def status_text(
    cycle: Cycle,
    current: Cycle,
    as_of: datetime | None,
    services: Services,
    *,
    compact: bool = False,
) -> Text:
    """The header's second line: which cycle, its dates, as of when."""
    text = Text()
    text.append(f"cycle {cycle.label}", "bold")
    if cycle == current:
        text.append(" (current)", "green")
    text.append(f"  {cycle.first_day:%d %b} – {cycle.last_day:%d %b}", "dim")
    if not compact and cycle >= current:
        text.append(", each client's local dates", "dim")
    if as_of is not None:
        zone = services.local_zone
        if cycle < current:  # compliance is as of each client's end of the cycle
            text.append("  ·  ended" if compact else "  ·  ended, figures as of its end", "dim")
            text.append("  ·  read ", "dim")
        else:
            text.append("  ·  as of ", "dim")
        text.append(f"{clock(as_of, UTC_ZONE)} UTC", "bold")
        if zone_label(as_of, zone) != "UTC":
            text.append(f" ({clock(as_of, zone)} {zone_label(as_of, zone)})", "dim")
    else:
        text.append("  ·  reading …", "dim")
    return text


def bar_text(
    sort: SortColumn,
    reverse: bool,
    cycles: list[Cycle],
    *,
    compact: bool,
    rows: int | None,
    current: bool = True,
) -> Text:
    """``6 clients  [ ] cycle  s S sort: failed installs, most first  r refresh  ·  trend
    2026-06 … 2026-11``; ``c current`` when another cycle is shown."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if rows is None:
        text.append("reading …", "dim")
    else:
        text.append(f"{rows} client{'s' if rows != 1 else ''}", "bold")
    text.append("  ")
    text.append("[ ]", "bold")
    text.append(" cycle", "dim")
    if not current:
        text.append("  ")
        text.append("c", "bold")
        text.append(" current", "dim")
    text.append("  ")
    text.append("s S", "bold")
    text.append(" sort: ", "dim")
    text.append(sort_label(sort, reverse))
    text.append("  ")
    text.append("r", "bold")
    text.append(" refresh", "dim")
    if not compact:
        text.append(f"  ·  trend {cycles[0].label} … {cycles[-1].label}, oldest left", "dim")
    return text


def current_text(row: ReportRow | None) -> Text:
    """The selected row in a line: the counts behind the rates, failures by class."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if row is None:
        text.append("no row selected", "dim")
        return text
    figures = row.compliance
    text.append(printable(row.name), "bold")
    if row.metrics is not None:
        text.append(f" · {printable(row.metrics.timezone)}", "dim")
    text.append(f" · {figures.compliant_devices}/{figures.devices} devices compliant")
    text.append(f" · {figures.installed_pairs}/{figures.approved_pairs} patches installed")
    parts = ", ".join(f"{f.value} {n}" for f, n in row.failures.items() if n)
    text.append(f" · failed: {parts}" if parts else " · no failed installs")
    if row.mttr.count:
        text.append(f" · {row.mttr.count} resolved")
    text.append("\n")
    text.append("d", "bold")
    text.append(" detail  ", "dim")
    if row.is_all:
        text.append("w exports one client's report: select a client", "dim")
    else:
        text.append("w", "bold")
        text.append(" export this client's cycle report", "dim")
    return text
