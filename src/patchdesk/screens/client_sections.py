"""What the Clients screens draw, as plain Rich renderables from ``store.client_views`` values
(pure functions: no Textual, no I/O, easy to test).

The sentences come from ``policy.describe`` (the same words as ``patchdesk policy export``).
Every piece of policy text (client, window, rule and ring names, tags, sites, notes) is
untrusted: it goes through ``printable`` into ``Text`` objects, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from patchdesk.domain import TIER_LABELS, Role, Tier
from patchdesk.policy import describe
from patchdesk.rules.calendar import Occurrence
from patchdesk.screens.widgets.timetext import duration, zone_label, zone_of
from patchdesk.store.client_views import (
    TIERS,
    ClientDetail,
    ClientRow,
    RoleCounts,
    TierCounts,
    WindowDetail,
)
from patchdesk.text import printable

DAY = "%a %d %b"
WIDE = 110  # from this width the list shows each client's id and SLA tier
WIDEST = 150  # ... and its zone
ROLE_NOUNS = {
    Role.SERVER: ("server", "servers"),
    Role.SHARED_WORKSTATION: ("shared workstation", "shared workstations"),
    Role.SINGLE_USER: ("single-user device", "single-user devices"),
}
SECTIONS = ("Overview", "Patch scope", "Maintenance windows", "Approval rules", "Rings")


def plain(value: str) -> Text:
    """Untrusted text as a literal ``Text``."""
    return Text(printable(value))


def clipped(value: str, width: int) -> Text:
    text = printable(value)
    if len(text) > width:
        text = text[: max(1, width - 1)] + "…"
    return Text(text)


def role_counts_text(devices: RoleCounts) -> str:
    """``3 servers · 1 shared workstation · 0 single-user devices``."""
    parts = []
    for role in (Role.SERVER, Role.SHARED_WORKSTATION, Role.SINGLE_USER):
        count = devices[role]
        one, many = ROLE_NOUNS[role]
        parts.append(f"{count} {one if count == 1 else many}")
    return " · ".join(parts)


def tier_counts_text(counts: TierCounts) -> Text:
    """``6 open: T1 critical server 1 · T3 shared workstation 2 · ...`` (tiers with none left
    out), or ``none open``."""
    if not counts.total:
        return Text("none open", "dim")
    text = Text(f"{counts.total} open: ", "bold")
    first = True
    for tier in TIERS:
        count = counts[tier]
        if not count:
            continue
        if not first:
            text.append(" · ", "dim")
        first = False
        text.append(f"T{tier.value} {TIER_LABELS[tier]} ", "dim")
        text.append(str(count), "bold red" if tier is Tier.CRITICAL_SERVER else "bold")
    return text


def local_span(occurrence: Occurrence) -> str:
    """The occurrence in the client's wall-clock time: ``Sat 28 Nov 01:04–05:04 AEDT``."""
    return describe.span_text(
        occurrence.start_local, occurrence.end_local, day_format=DAY, compact=True
    )


def operator_span(occurrence: Occurrence, zone: ZoneInfo, *, day_format: str = DAY) -> str:
    """The same occurrence in the operator's zone: ``Fri 27 Nov 15:04–19:04 CET``."""
    return describe.span_text(
        occurrence.start_utc.astimezone(zone),
        occurrence.end_utc.astimezone(zone),
        day_format=day_format,
        compact=True,
    )


def status_style(occurrence: Occurrence, now: datetime) -> str:
    return "bold green" if occurrence.is_open(now) else ""


# --- the list -------------------------------------------------------------------------------


def next_window_text(row: ClientRow, now: datetime, *, wide: bool) -> Text:
    """Wide: ``open now, 2h 10m left`` / ``in 3h 12m · Sat 01:04 AEDT`` (client time);
    narrow: ``open, 2h10m left`` / ``in 3h12m``."""
    occurrence = row.next_window
    if occurrence is None:
        return Text("no window", "dim")
    style = status_style(occurrence, now)
    if not wide:
        return Text(compact_status(occurrence, now), style)
    text = Text(describe.occurrence_status(occurrence.start_utc, occurrence.end_utc, now), style)
    if not occurrence.is_open(now):
        start = occurrence.start_local
        text.append(f" · {start:%a %H:%M} {start.tzname()}", "dim")
    return text


def count_cell(value: int, style: str = "") -> Text:
    return Text(str(value), style if value else "dim")


def tier_cell(value: int, tier: Tier) -> Text:
    if not value:
        return Text("·", "dim")
    return Text(str(value), "bold red" if tier is Tier.CRITICAL_SERVER else "bold")


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    width: int | None  # None: the name column, which takes what is left
    numeric: bool = False

    def heading_text(self) -> Text:
        return Text(self.heading, justify="right" if self.numeric else "left")


def list_columns(width: int) -> list[Column]:
    """The list's columns fitting ``width``: the id and SLA tier from 110 columns, the zone
    from 150; the name takes what is left."""
    columns = [Column("name", "Client", None)]
    if width >= WIDE:
        columns += [Column("id", "Id", 20)]
    if width >= WIDEST:
        columns += [Column("zone", "Zone", 18)]
    if width >= WIDE:
        columns += [Column("sla", "SLA", 6)]
    columns += [
        Column("server", "Srv", 3, numeric=True),
        Column("shared", "Shr", 3, numeric=True),
        Column("user", "Usr", 3, numeric=True),
        Column("scope", "Scope", 5, numeric=True),
        *(Column(f"t{tier.value}", f"T{tier.value}", 2, numeric=True) for tier in TIERS),
        Column("next", "Next window", 26 if width >= WIDE else 16),
    ]
    return columns


def name_width(columns: list[Column], width: int) -> int:
    """What is left for the name column (the table pads each cell by one a side, and keeps
    two cells for its scrollbar)."""
    fixed = sum((column.width or 0) + 2 for column in columns)
    return max(12, width - fixed - 2)


def list_cells(row: ClientRow, now: datetime, width: int) -> list[Text]:
    """The row's cells, in ``list_columns(width)`` order."""
    wide = width >= WIDE
    zone = zone_of(row.timezone)
    cells = {
        "name": plain(row.name),
        "id": plain(row.id),
        "zone": Text(f"{zone_label(now, zone)} ", "bold").append(printable(row.timezone), "dim"),
        "sla": plain(row.sla_tier),
        "server": count_cell(row.devices.server),
        "shared": count_cell(row.devices.shared_workstation),
        "user": count_cell(row.devices.single_user),
        "scope": count_cell(row.in_scope),
        "next": next_window_text(row, now, wide=wide),
    }
    for tier in TIERS:
        cells[f"t{tier.value}"] = tier_cell(row.open_exceptions[tier], tier)
    found = []
    for column in list_columns(width):
        cell = cells[column.key]
        cell.no_wrap = True
        cell.overflow = "ellipsis"
        if column.numeric:
            cell.justify = "right"
        found.append(cell)
    return found


def matches(row: ClientRow, text: str) -> bool:
    """The ``/`` filter: id, name, zone or SLA tier contain ``text`` (ignoring case)."""
    wanted = text.strip().casefold()
    if not wanted:
        return True
    return any(
        wanted in value.casefold() for value in (row.id, row.name, row.timezone, row.sla_tier)
    )


# --- one client -----------------------------------------------------------------------------


def _heading(title: str, note: str = "") -> Text:
    text = Text(title, "bold underline")
    if note:
        text.append(f"  {note}", "dim")
    return text


def _lines(lines: Sequence[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 2, 0, 0), expand=True)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(ratio=1)
    for label, value in lines:
        grid.add_row(Text(label), plain(value))
    return grid


def title_text(detail: ClientDetail) -> Text:
    """``Bluegum Accounting Pty Ltd  bluegum-accounting · SLA silver``."""
    row = detail.row
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(printable(row.name), "bold")
    text.append("  ")
    text.append(printable(row.id))
    text.append(" · SLA ", "dim")
    text.append(printable(row.sla_tier), "bold")
    return text


def zone_text(timezone: str, now: datetime, operator_zone: ZoneInfo) -> Text:
    """``Australia/Sydney, now Sat 08:52 AEDT (you: Fri 22:52 CET)``."""
    zone = zone_of(timezone)
    local, mine = now.astimezone(zone), now.astimezone(operator_zone)
    text = Text(printable(timezone))
    text.append(f", now {local:%a %H:%M} {zone_label(now, zone)}", "bold")
    text.append(f" (you: {mine:%a %H:%M} {zone_label(now, operator_zone)})", "dim")
    return text


def overview(detail: ClientDetail, now: datetime, operator_zone: ZoneInfo) -> RenderableType:
    row = detail.row
    devices = Text(f"{row.devices.total}: {role_counts_text(row.devices)}")
    devices.append(f" · {row.in_scope} in scope", "bold")
    if detail.maintenance_mode:
        devices.append(f" · {detail.maintenance_mode} in maintenance mode", "yellow")
    exceptions = tier_counts_text(row.open_exceptions)
    grid = Table.grid(padding=(0, 2, 0, 0), expand=True)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text("Time zone"), zone_text(row.timezone, now, operator_zone))
    grid.add_row(Text("Devices"), devices)
    grid.add_row(Text("Open exceptions"), exceptions)
    for label, value in window_summary(detail, now):
        grid.add_row(Text(label), value)
    if detail.problem:
        grid.add_row(Text("Policy"), Text(detail.problem, "bold red"))
    return Group(_heading("Overview"), grid)


def scope_section(detail: ClientDetail) -> RenderableType:
    return Group(_heading("Patch scope"), _lines(detail.scope))


def window_summary(detail: ClientDetail, now: datetime) -> list[tuple[str, Text]]:
    """``Open now`` (every window open at ``now``, with the time left) and ``Next window``
    (the soonest one still to open)."""
    if not detail.windows:  # none, or the policy could not be read: the row's next window
        occurrence = detail.row.next_window
        if occurrence is None:
            return [("Next window", Text("none: no active maintenance window", "dim"))]
        return [("Next window", _named_status(occurrence, now))]
    found = [o for window in detail.windows for o in window.upcoming]
    open_now = sorted((o for o in found if o.is_open(now)), key=lambda o: (o.end_utc, o.window))
    later = sorted((o for o in found if o.start_utc > now), key=lambda o: (o.start_utc, o.window))
    lines: list[tuple[str, Text]] = []
    if open_now:
        text = Text()
        for index, occurrence in enumerate(open_now):
            if index:
                text.append(" · ", "dim")
            text.append_text(plain(occurrence.window))
            text.append(f" ({duration(occurrence.end_utc - now)} left)", "green")
        lines.append(("Open now", text))
    if later:
        lines.append(("Next window", _named_status(later[0], now)))
    return lines


def _named_status(occurrence: Occurrence, now: datetime) -> Text:
    """``Monthly catch-up, open now, 1h 30m left`` / ``Servers, in 6d 23h``."""
    text = plain(occurrence.window)
    text.append(", ")
    status = describe.occurrence_status(occurrence.start_utc, occurrence.end_utc, now)
    text.append(status, status_style(occurrence, now) or "bold")
    return text


def compact_status(occurrence: Occurrence, now: datetime) -> str:
    """``open, 2h30m left`` / ``in 62d22h`` / ``ended 5m ago``: for 80 columns."""
    if occurrence.is_open(now):
        return f"open, {duration(occurrence.end_utc - now)} left"
    if occurrence.start_utc > now:
        return f"in {duration(occurrence.start_utc - now)}"
    return f"ended {duration(now - occurrence.end_utc)} ago"


def occurrences_table(
    window: WindowDetail, timezone: str, now: datetime, operator_zone: ZoneInfo, *, wide: bool
) -> RenderableType:
    """Client time, the operator's time (narrow: the weekday only, the client's date is
    beside it), and how soon."""
    if not window.upcoming:
        return Text("no occurrence in the next ten years (blacked out)", "dim")
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), header_style="dim")
    table.add_column(f"client time ({printable(timezone)})", no_wrap=True)
    table.add_column(f"your time ({operator_zone.key})", no_wrap=True)
    table.add_column("", no_wrap=True)
    for occurrence in window.upcoming:
        shifted = " (moved: DST)" if occurrence.start_shifted else ""
        if wide:
            status = describe.occurrence_status(occurrence.start_utc, occurrence.end_utc, now)
        else:
            status = compact_status(occurrence, now)
        table.add_row(
            Text(local_span(occurrence) + shifted, "bold"),
            Text(operator_span(occurrence, operator_zone, day_format=DAY if wide else "%a")),
            Text(status, status_style(occurrence, now) or "dim"),
        )
    return table


def window_section(
    detail: ClientDetail, now: datetime, operator_zone: ZoneInfo, width: int
) -> RenderableType:
    """The windows; under ``WIDE`` columns their next occurrences go below their lines."""
    timezone = detail.row.timezone
    parts: list[RenderableType] = [_heading("Maintenance windows", f"({len(detail.windows)})")]
    if detail.problem:
        parts.append(Text("not shown: " + detail.problem, "dim"))
        return Group(*parts)
    if not detail.windows:
        parts.append(Text(describe.NO_WINDOWS))
        return Group(*parts)
    parts.append(Text(describe.wall_clock_note(printable(timezone)), "dim"))
    for window in detail.windows:
        name = Text("\n")
        name.append(printable(window.name), "bold")
        noun = "device" if window.devices_in_scope == 1 else "devices"
        name.append(f"  {window.devices_in_scope} {noun} in scope", "dim")
        parts.append(name)
        grid = _lines(window.lines)
        upcoming = occurrences_table(window, timezone, now, operator_zone, wide=width >= WIDE)
        if width >= WIDE:
            grid.add_row(Text("Next"), upcoming)
            parts.append(grid)
        else:  # too narrow beside the labels: below them
            parts += [grid, Padding(upcoming, (0, 0, 0, 2))]
    return Group(*parts)


def _numbered(items: Sequence[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 1, 0, 0), expand=True)
    grid.add_column(justify="right", no_wrap=True, style="dim")
    grid.add_column(ratio=1)
    for number, (name, words) in enumerate(items, start=1):
        text = Text(printable(name), "bold")
        text.append(": ")
        text.append(printable(words))
        grid.add_row(Text(f"{number}."), text)
    return grid


def rules_section(detail: ClientDetail) -> RenderableType:
    parts: list[RenderableType] = [_heading("Approval rules", f"({len(detail.rules)})")]
    if not detail.problem:
        if detail.rules:
            parts.append(Text(describe.RULES_INTRO, "dim"))
            parts.append(_numbered(detail.rules))
        else:
            parts.append(Text("No approval rules.", "dim"))
        if detail.unmatched:
            parts.append(Text(detail.unmatched))
    if detail.blocked_globally:
        count = detail.blocked_globally
        noun = "patch is" if count == 1 else "patches are"
        parts.append(
            Text(
                f"{count} {noun} on the global block list: never installed, for any client, "
                "whatever these rules say.",
                "dim",
            )
        )
    return Group(*parts)


def rings_section(detail: ClientDetail) -> RenderableType:
    parts: list[RenderableType] = [_heading("Deployment rings", f"({len(detail.rings)})")]
    if detail.problem:
        return Group(*parts)
    if not detail.rings:
        parts.append(Text(describe.NO_RINGS))
    else:
        parts.append(Text(describe.RINGS_INTRO, "dim"))
        parts.append(_numbered(detail.rings))
    return Group(*parts)
