"""The Reports screen's detail (``d`` or ``enter``): one client's (or every client's) cycle
in full: compliance at the cycle's start and now (or its end) with the counts behind the
rates, failed installs per class, the emergency patches, MTTR overall and per tier, and the
last six cycles as a table.

Plain ``Text`` only (client names and patch ids are untrusted: made printable, never
markup). Times are labelled: the cycle in the client's local dates and zone, instants in
UTC and the operator's zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from patchdesk.domain import PATCH_FAILURE_CLASSES, Tier
from patchdesk.rules.metrics.compliance import ComplianceFigures
from patchdesk.rules.metrics.cycles import Cycle
from patchdesk.rules.metrics.emergencies import EmergencyFacts
from patchdesk.rules.metrics.mttr import MttrFigures
from patchdesk.screens.widgets.kpi_strip import TIER_SHORT
from patchdesk.screens.widgets.report_cells import ReportRow, rate_style, rate_text
from patchdesk.screens.widgets.timetext import duration, zone_label, zone_of
from patchdesk.store.metric_trends import TrendPoint
from patchdesk.store.metric_views import MetricsSummary
from patchdesk.text import printable

MAX_EMERGENCIES = 20


def _stamp(moment: datetime, zone: ZoneInfo, who: str) -> str:
    """``2026-11-27 14:00 UTC (15:00 CET operator)``."""
    local = moment.astimezone(zone)
    return (
        f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
        f"({local:%H:%M} {zone_label(moment, zone)} {who})"
    )


def _compliance_line(text: Text, label: str, figures: ComplianceFigures, device: bool) -> None:
    if device:
        rate, part, whole = figures.device_rate, figures.compliant_devices, figures.devices
        noun = "devices compliant"
    else:
        rate, part, whole = figures.patch_rate, figures.installed_pairs, figures.approved_pairs
        noun = "approved patches installed"
    text.append(f"  {label:<10}", "dim")
    text.append(f"{rate_text(rate):>6}", rate_style(rate))
    text.append(f"  {part} of {whole} {noun}" if whole else "  (nothing to count)", "dim")
    text.append("\n")


def _mttr_cells(figures: MttrFigures) -> str:
    def cell(value: object) -> str:
        return duration(value) if value is not None else "-"  # type: ignore[arg-type]

    return (
        f"{figures.count:>3} resolved  mean {cell(figures.mean):>6}  "
        f"median {cell(figures.median):>6}  p90 {cell(figures.p90):>6}"
    )


def detail_text(
    row: ReportRow,
    summary: MetricsSummary,
    points: Sequence[TrendPoint] | None,
    operator_zone: ZoneInfo,
) -> Text:
    cycle: Cycle = summary.cycle
    now = summary.now
    text = Text()

    def heading(title: str) -> None:
        text.append(f"\n{title}\n", "bold underline")

    client = row.metrics
    text.append(printable(row.name), "bold")
    if client is not None:
        text.append(f"  ({printable(client.client_id)})", "dim")
    text.append(f"  ·  cycle {cycle.label}\n", "bold")
    if client is not None:
        zone = zone_of(client.timezone)
        text.append("cycle     ", "dim")
        text.append(
            f"{cycle.first_day:%a %d %b} – {cycle.last_day:%a %d %b %Y}, "
            f"{zone_label(client.start, zone)} local dates ({printable(client.timezone)})\n"
        )
        closing = min(client.end, now)
    else:
        text.append("cycle     ", "dim")
        text.append(
            f"{cycle.first_day:%a %d %b} – {cycle.last_day:%a %d %b %Y}, "
            "in each client's local dates\n"
        )
        closing = now
    if client is not None:
        ended = client.end <= now
    else:
        ended = bool(summary.clients) and all(c.end <= now for c in summary.clients)
    text.append("as of     ", "dim")
    if ended and client is None:
        text.append("each client's end of the cycle (the cycle has ended)\n")
    else:
        when = _stamp(closing, operator_zone, "operator")
        text.append(f"{when}{', the cycle has ended' if ended else ''}\n")

    start = client.compliance_start if client is not None else summary.compliance_start
    heading("Compliance")
    text.append("  at the cycle's start\n", "italic")
    _compliance_line(text, "devices", start, True)
    _compliance_line(text, "patches", start, False)
    text.append("  at its end\n" if ended else "  now\n", "italic")
    _compliance_line(text, "devices", row.compliance, True)
    _compliance_line(text, "patches", row.compliance, False)
    missing = row.compliance.due_missing
    if missing:
        devices = len(row.compliance.noncompliant)
        text.append(
            f"  {devices} device{'s miss' if devices != 1 else ' misses'} {missing} approved, due "
            f"patch{'es' if missing != 1 else ''}\n",
            "yellow",
        )

    heading("Failed installs")
    text.append(f"  {row.failed_total} in all", "bold red" if row.failed_total else "dim")
    text.append("   ")
    text.append(
        "   ".join(f"{failure.value} {row.failures[failure]}" for failure in PATCH_FAILURE_CLASSES)
    )
    text.append("\n")

    heading("Emergency patches")
    emergencies: list[EmergencyFacts] = (
        list(client.emergencies)
        if client is not None
        else sorted(
            (e for c in summary.clients for e in c.emergencies),
            key=lambda e: (e.decided_at, e.decision_id),
        )
    )
    if not emergencies:
        text.append("  none this cycle\n", "dim")
    for emergency in emergencies[:MAX_EMERGENCIES]:
        text.append(f"  {printable(emergency.patch)}\n", "bold")
        text.append("    decided ", "dim")
        text.append(_stamp(emergency.decided_at, operator_zone, "operator"))
        if client is None:
            text.append(f" for {printable(emergency.client_id)}")
        text.append("\n")
    if len(emergencies) > MAX_EMERGENCIES:
        text.append(f"  … and {len(emergencies) - MAX_EMERGENCIES} more\n", "dim")

    heading("Time to remediate (opened → resolved, resolved this cycle)")
    text.append(f"  {'all tiers':<17}{_mttr_cells(row.mttr)}\n")
    by_tier = client.mttr_by_tier if client is not None else summary.mttr_by_tier
    for tier in Tier:
        figures = by_tier.get(tier)
        if figures is None:
            continue
        text.append(f"  T{tier.value} {TIER_SHORT[tier]:<14}", "dim")
        text.append(_mttr_cells(figures) + "\n")

    heading("Last six cycles")
    if points is None:
        text.append("  reading …\n", "dim")
        return text
    text.append(f"  {'cycle':<9}{'devices':>8}{'patches':>9}{'failed':>8}\n", "dim")
    for point in points:
        figures_at = point.compliance
        text.append(f"  {point.cycle.label:<9}")
        if figures_at is None:
            text.append(f"{'not begun':>8}\n", "dim")
            continue
        device, patch = figures_at.device_rate, figures_at.patch_rate
        text.append(f"{rate_text(device):>8}", rate_style(device))
        text.append(f"{rate_text(patch):>9}", rate_style(patch))
        text.append(f"{point.failed_total:>8}\n", "red" if point.failed_total else "dim")
    return text


class ReportDetailScreen(ModalScreen[None]):
    """The selected row's cycle in full; ``esc``, ``enter`` or ``d`` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,d", "close", "Close", id="reports_detail.close"),
    ]

    DEFAULT_CSS = """
    ReportDetailScreen { align: center middle; }
    ReportDetailScreen > VerticalScroll {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    """

    def __init__(self, body: Text) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Cycle detail"
            scroll.border_subtitle = "esc closes"
            yield Static(self.body, markup=False, id="report-detail-text")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
