"""The Reports screen's rows, their order and their cells, as plain values and ``Text``.

Pure functions (no widgets), so the figures, the sort and the trend glyphs are easy to test.
One ``ReportRow`` per client plus the "All clients" row; client names are untrusted and go
through ``printable`` here (the table is given ``Text`` only, never markup).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from fractions import Fraction

from rich.text import Text

from patchdesk.domain import CLASS_RANK, FailureClass
from patchdesk.rules.metrics.compliance import ComplianceFigures
from patchdesk.rules.metrics.mttr import MttrFigures
from patchdesk.screens.widgets.timetext import duration
from patchdesk.store.metric_trends import TrendPoint
from patchdesk.store.metric_views import ClientMetrics, MetricsSummary
from patchdesk.text import printable

ALL_CLIENTS = ""  # the row key of the "All clients" row (no client id is empty)
SPARK = "▁▂▃▄▅▆▇█"
NO_DATA = "·"
SHORT_CLASS = {
    FailureClass.INSTALL: "install",
    FailureClass.REBOOT: "reboot",
    FailureClass.REGRESSION: "regress",
    FailureClass.OFFLINE: "offline",
    FailureClass.MISSED: "missed",
}


@dataclass(frozen=True)
class ReportRow:
    key: str  # the client id, or ALL_CLIENTS
    name: str  # as stored (untrusted)
    compliance: ComplianceFigures  # as of the cycle's end, or now
    failures: dict[FailureClass, int]
    emergencies: int
    mttr: MttrFigures
    metrics: ClientMetrics | None  # None for the "All clients" row

    @property
    def is_all(self) -> bool:
        return self.key == ALL_CLIENTS

    @property
    def failed_total(self) -> int:
        return sum(self.failures.values())


def rows_of(summary: MetricsSummary) -> list[ReportRow]:
    """The "All clients" row first, then one row per client (in the summary's order)."""
    rows = [
        ReportRow(
            key=ALL_CLIENTS,
            name="All clients",
            compliance=summary.compliance_end,
            failures=summary.failures,
            emergencies=summary.emergencies,
            mttr=summary.mttr,
            metrics=None,
        )
    ]
    for client in summary.clients:
        rows.append(
            ReportRow(
                key=client.client_id,
                name=client.client_name,
                compliance=client.compliance_end,
                failures=client.failures,
                emergencies=len(client.emergencies),
                mttr=client.mttr,
                metrics=client,
            )
        )
    return rows


# --- sorting -----------------------------------------------------------------------------


class SortColumn(Enum):
    """What ``s`` cycles through; each sorts worst first unless reversed (``S``)."""

    CLIENT = "client"
    DEVICE_RATE = "device compliance"
    PATCH_RATE = "patch compliance"
    FAILED = "failed installs"
    EMERGENCIES = "emergency patches"
    MTTR = "MTTR"


SORT_ORDER = tuple(SortColumn)

# The value a row sorts by, and whether bigger is worse (sorted first by default).
_SORT_VALUE: dict[SortColumn, tuple[Callable[[ReportRow], object | None], bool]] = {
    SortColumn.CLIENT: (lambda r: (printable(r.name).casefold(), r.key), False),
    SortColumn.DEVICE_RATE: (lambda r: r.compliance.device_rate, False),
    SortColumn.PATCH_RATE: (lambda r: r.compliance.patch_rate, False),
    SortColumn.FAILED: (lambda r: r.failed_total, True),
    SortColumn.EMERGENCIES: (lambda r: r.emergencies, True),
    SortColumn.MTTR: (lambda r: r.mttr.mean, True),
}


def sort_rows(rows: Sequence[ReportRow], column: SortColumn, reverse: bool) -> list[ReportRow]:
    """The "All clients" row stays first; the clients by ``column``, worst first (``reverse``:
    best first), rows without a figure (``n/a``) last either way, then by name and id."""
    value_of, bigger_is_worse = _SORT_VALUE[column]
    pinned = [row for row in rows if row.is_all]
    clients = [row for row in rows if not row.is_all]
    by_name = sorted(clients, key=lambda r: (printable(r.name).casefold(), r.key))
    known = [row for row in by_name if value_of(row) is not None]
    unknown = [row for row in by_name if value_of(row) is None]
    descending = bigger_is_worse != reverse
    known.sort(key=lambda r: value_of(r), reverse=descending)  # type: ignore[arg-type,return-value]
    return pinned + known + unknown


def sort_label(column: SortColumn, reverse: bool) -> str:
    """``failed installs, most first`` ..."""
    if column is SortColumn.CLIENT:
        return f"client, {'Z-A' if reverse else 'A-Z'}"
    if column in (SortColumn.DEVICE_RATE, SortColumn.PATCH_RATE):
        return f"{column.value}, {'highest' if reverse else 'lowest'} first"
    if column is SortColumn.MTTR:
        return f"MTTR (mean), {'shortest' if reverse else 'longest'} first"
    return f"{column.value}, {'fewest' if reverse else 'most'} first"


# --- cells -------------------------------------------------------------------------------


def rate_text(rate: Fraction | None) -> str:
    """``92.1%``, ``100%`` (only when it is exactly all), ``n/a``; never rounds up to 100."""
    if rate is None:
        return "n/a"
    if rate == 1:
        return "100%"
    tenths = int(rate * 1000) / 10  # truncated: 99.96% shows 99.9%, not 100.0%
    return f"{tenths:.1f}%"


def rate_style(rate: Fraction | None) -> str:
    if rate is None:
        return "dim"
    if rate >= Fraction(95, 100):
        return "green"
    if rate >= Fraction(80, 100):
        return "yellow"
    return "bold red"


def top_class(failures: dict[FailureClass, int]) -> FailureClass | None:
    """The class with most failures (ties: the one triaged first), None without failures."""
    present = [(count, failure) for failure, count in failures.items() if count]
    if not present:
        return None
    return min(present, key=lambda item: (-item[0], CLASS_RANK[item[1]]))[1]


def failed_text(failures: dict[FailureClass, int], width: int) -> Text:
    """``7 reboot 4``: the total, then the top class and its count, as much of it as fits
    in ``width`` (short class names under 16 columns)."""
    total = sum(failures.values())
    if not total:
        return Text("0", "dim")
    text = Text(str(total), "bold red")
    top = top_class(failures)
    if top is not None:
        name = SHORT_CLASS[top] if width < 16 else top.value
        for tail in (f" {name} {failures[top]}", f" {name}"):
            if len(text.plain) + len(tail) <= width:
                text.append(tail, "dim")
                break
    return text


def mttr_text(value: timedelta | None) -> Text:
    return Text("-", "dim") if value is None else Text(duration(value))


def sparkline(rates: Sequence[Fraction | None]) -> Text:
    """One block per cycle on a fixed 0-100 % scale (so clients compare), coloured like the
    rate; ``·`` for a cycle without a figure."""
    text = Text()
    for rate in rates:
        if rate is None:
            text.append(NO_DATA, "dim")
            continue
        level = min(len(SPARK) - 1, int(rate * len(SPARK)))
        text.append(SPARK[level], rate_style(rate))
    return text


def count_bars(counts: Sequence[int | None]) -> Text:
    """Failed installs per cycle, scaled to the row's own maximum; ``·`` for none (or a
    cycle not begun)."""
    top = max((c for c in counts if c), default=0)
    text = Text()
    for count in counts:
        if not count:
            text.append(NO_DATA, "dim")
        else:
            level = max(0, min(len(SPARK) - 1, -(-count * len(SPARK) // top) - 1))
            text.append(SPARK[level], "red")
    return text


def trend_text(points: Sequence[TrendPoint] | None, *, failed: bool) -> Text:
    """Device compliance per cycle (oldest first) and, with ``failed``, failed installs."""
    if points is None:
        return Text("…", "dim")
    text = sparkline([p.compliance.device_rate if p.compliance else None for p in points])
    if failed:
        text.append(" ")
        text.append_text(count_bars([p.failed_total if p.begun else None for p in points]))
    return text


def name_text(row: ReportRow, width: int) -> Text:
    name = printable(row.name)
    if len(name) > width:
        name = name[: max(1, width - 1)] + "…"
    return Text(name, "bold" if row.is_all else "")
