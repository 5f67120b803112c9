"""The KPI strip: open exceptions per tier, the most urgent unacknowledged one (triage
order) and the oldest one's age, and this cycle's verified and failed targets."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from patchdesk.ages import age
from patchdesk.domain import Tier
from patchdesk.store.board_views import Kpis
from patchdesk.text import printable

TIER_SHORT: dict[Tier, str] = {
    Tier.CRITICAL_SERVER: "critical server",
    Tier.OTHER_SERVER: "server",
    Tier.SHARED_WORKSTATION: "shared",
    Tier.SINGLE_USER: "single-user",
}
TIER_STYLE: dict[Tier, str] = {
    Tier.CRITICAL_SERVER: "bold red",
    Tier.OTHER_SERVER: "red",
    Tier.SHARED_WORKSTATION: "yellow",
    Tier.SINGLE_USER: "cyan",
}


def kpi_text(kpis: Kpis, now: datetime, *, compact: bool = False) -> Text:
    """Three lines: open exceptions by tier; the most urgent unacknowledged exception (in
    triage order: the one ``o`` opens) and the oldest one's age; this cycle's verified and
    failed targets. ``compact`` (under 110 columns) names tiers by number and says less."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("Open exceptions ", style="bold")
    text.append(f"{kpis.open_total:<4}", style="bold")
    for tier in Tier:
        n = kpis.open_by_tier.get(tier, 0)
        text.append(" │ " if tier is Tier.CRITICAL_SERVER else "  ", style="dim")
        text.append(f"T{tier.value}", style="dim")
        if not compact:
            text.append(f" {TIER_SHORT[tier]}", style="dim")
        text.append(f" {n}", style=TIER_STYLE[tier] if n else "dim")
    text.append("\n")
    urgent, oldest = kpis.most_urgent, kpis.oldest
    if urgent is None or oldest is None:
        text.append("Unacknowledged ", style="dim")
        text.append("none", style="green")
    else:
        host_width = 16 if compact else 24
        text.append("Most urgent ", style="dim")
        text.append(
            f"T{urgent.tier.value} {urgent.failure_class.value} ", style=TIER_STYLE[urgent.tier]
        )
        text.append(_clipped(urgent.hostname, host_width), style="bold")
        text.append(f" {age(now - urgent.opened_at)}", style="bold yellow")
        text.append(" │ ", style="dim")
        text.append("oldest " if compact else "oldest unacknowledged ", style="dim")
        text.append(age(now - oldest.opened_at), style="bold yellow")
        text.append(f" {_clipped(oldest.hostname, host_width)}")
    text.append("\n")
    text.append(f"Cycle {kpis.cycle:%Y-%m}", style="bold")
    if not compact:
        text.append(f" (since {kpis.cycle:%a %d %b})", style="dim")
    text.append("  verified ", style="dim")
    text.append(str(kpis.verified), style="green")
    text.append("  failed ", style="dim")
    text.append(str(kpis.failed), style="bold red" if kpis.failed else "dim")
    settled = kpis.verified + kpis.failed
    if settled and not compact:
        text.append(f"  ({100 * kpis.verified / settled:.1f}% ok)", style="dim")
    return text


def _clipped(hostname: str, width: int) -> str:
    host = printable(hostname)
    return host if len(host) <= width else host[: width - 1] + "…"


class KpiStrip(Static):
    DEFAULT_CSS = """
    KpiStrip { height: auto; padding: 0 1; border: round $accent 50%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("reading …", style="dim"), id=id)
        self.kpis: Kpis | None = None
        self.now: datetime | None = None
        self._drawn: tuple[object, ...] | None = None
        self.border_title = "Exceptions and cycle"

    def set_kpis(self, kpis: Kpis) -> None:
        self.kpis = kpis
        self.redraw()

    def set_now(self, now: datetime) -> None:
        self.now = now
        self.redraw()

    def redraw(self) -> None:
        if self.kpis is None or self.now is None:
            return
        compact = self.size.width < 110
        key = (self.kpis, self.now.replace(second=0, microsecond=0), compact)
        if key == self._drawn:
            return
        self._drawn = key
        self.update(kpi_text(self.kpis, self.now, compact=compact))

    def on_resize(self) -> None:
        self.redraw()
