"""The device screen's sections as text: facts, windows, exceptions, patch exclusions,
targets, timeline, and the device's own log.

Pure functions over ``store.device_views`` values (no Textual), so they are easy to test.
Every piece of untrusted text (hostnames, titles, notes, error messages, command results,
names) goes through ``printable``; the screen shows the result as plain ``Text`` (never
markup). Times are aware UTC inside and shown labelled: in the client's zone and the
operator's ("you"), with UTC where a moment is a fact of record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text

from patchdesk.ages import age
from patchdesk.domain import ExceptionState, MissingPatchState, RequestState, Role, TargetState
from patchdesk.rules.presence import DEFAULT_STALE_AFTER, Presence
from patchdesk.screens.widgets.queue_cells import STATE_LABELS
from patchdesk.screens.widgets.timetext import duration, zone_label
from patchdesk.store.device_targets import FAILED as FAILED_TARGET
from patchdesk.store.device_targets import DeviceTarget
from patchdesk.store.device_views import DeviceDetail, DeviceException, DeviceFacts, client_zone
from patchdesk.store.exception_views import HistoryEntry
from patchdesk.text import printable, printable_multiline

ROLE_WORDS = {
    Role.SERVER: "server",
    Role.SHARED_WORKSTATION: "shared workstation",
    Role.SINGLE_USER: "single-user endpoint",
}
TIER_WORDS = {
    "1": "critical server",
    "2": "other server",
    "3": "shared workstation",
    "4": "single-user endpoint",
}
LABEL = 12  # width of a fact's label


def put(text: Text, line: Text, width: int | None) -> None:
    """``line`` and a newline onto ``text``, cut to ``width`` cells with an ellipsis (a line
    that would wrap to the left margin reads worse than one cut short)."""
    if width is not None and line.cell_len > width:
        line.truncate(width, overflow="ellipsis")
    text.append_text(line)
    text.append("\n")


def heading(text: Text, title: str, note: str = "") -> None:
    text.append(title, "bold underline")
    if note:
        text.append(f"  {note}", "dim")
    text.append("\n")


def moment(at: datetime, client: ZoneInfo, operator: ZoneInfo, *, compact: bool = False) -> str:
    """``Fri 27 Nov 13:57 UTC · 08:57 EST client · 14:57 CET you`` (``compact``: the date as
    ``11-27``)."""
    utc = at.astimezone(UTC)
    local = at.astimezone(client)
    mine = at.astimezone(operator)
    day = f"{utc:%m-%d}" if compact else f"{utc:%a %d %b}"
    return (
        f"{day} {utc:%H:%M} UTC · {local:%H:%M} {zone_label(at, client)} client"
        f" · {mine:%H:%M} {zone_label(at, operator)} you"
    )


def ago(at: datetime, now: datetime) -> str:
    if at > now:
        return f"in {age(at - now)}"
    return f"{age(now - at)} ago"


def field_line(
    text: Text, label: str, value: str | Text, style: str = "", *, width: int | None = None
) -> None:
    line = Text(f"{label:<{LABEL}}", "dim")
    if isinstance(value, Text):
        line.append_text(value)
    else:
        line.append(value, style)
    put(text, line, width)


def maintenance_text(facts: DeviceFacts) -> Text:
    """``ON · set by alice Fri 27 Nov 14:00 UTC, overrides the RMM (off)`` or ``off (RMM)``."""
    text = Text()
    text.append("ON" if facts.maintenance_mode else "off", "bold" if facts.maintenance_mode else "")
    rmm = "on" if facts.rmm_maintenance_mode else "off"
    if facts.maintenance_override is None:
        text.append(" · as the RMM reports it", "dim")
    else:
        who = printable(facts.maintenance_override_by or "?")
        when = facts.maintenance_override_at
        stamp = f" {when.astimezone(UTC):%a %d %b %H:%M} UTC" if when else ""
        text.append(f" · set by {who}{stamp}; overrides the RMM ({rmm})", "yellow")
    return text


def facts_text(
    detail: DeviceDetail,
    now: datetime,
    operator_zone: ZoneInfo,
    *,
    selected: int | None,
    width: int | None = None,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> Text:
    facts = detail.facts
    zone = client_zone(facts.client_timezone)
    compact = width is not None and width < 96
    text = Text()
    open_count = len(detail.open_exceptions)

    def _field(label: str, value: str | Text, style: str = "") -> None:
        field_line(text, label, value, style, width=width)

    _field("hostname", printable(facts.hostname), "bold")
    _field(
        "client",
        f"{printable(facts.client_id)} ({printable(facts.client_name)}) · {facts.client_timezone}",
    )
    _field("site", printable(facts.site or "-"))
    _field(
        "role",
        f"{ROLE_WORDS[facts.role]}, {facts.criticality.value} · tier {facts.tier.value} "
        f"({TIER_WORDS[facts.tier.value]})",
    )
    os_text = printable(f"{facts.os_name} {facts.os_version}".strip()) or "-"
    _field("os", f"{os_text} ({facts.os_family.value})")
    _field("tags", printable(", ".join(facts.tags)) or "-")
    _field(
        "scope",
        "in the client's patch scope" if facts.in_scope else "OUT of the client's patch scope",
    )
    status = facts.presence(now, stale_after)
    words = {
        Presence.ONLINE: ("online", ""),
        Presence.STALE: (
            f"stale (no check-in for over {age(stale_after)})",
            "bold yellow",
        ),
        Presence.OFFLINE: ("OFFLINE", "bold red"),
        Presence.UNKNOWN: ("unknown (the fleet is not reachable)", ""),
    }
    _field("status", *words[status])
    _field("maintenance", maintenance_text(facts))
    for label, at in (("last seen", facts.last_seen), ("last boot", facts.last_boot)):
        if at is None:
            _field(label, "never reported")
        else:
            _field(label, f"{moment(at, zone, operator_zone, compact=compact)} · {ago(at, now)}")
    if facts.connector_id:
        _field("rmm id", printable(facts.connector_id), "dim")
    excluded = detail.active_exclusions
    if excluded:
        names = ", ".join(printable(e.vendor_id) for e in excluded)
        _field("excluded", Text(f"{names} (not targeted here; l lifts)", "bold yellow"))
    chosen = detail.exception(selected) if selected is not None else None
    if chosen is not None and chosen.unresolved:
        _field(
            "selected",
            f"exception #{chosen.row.id} ({chosen.row.failure_class.value}): r remediates it"
            + (", s picks another" if open_count > 1 else ""),
        )
    return text


def windows_text(
    detail: DeviceDetail, now: datetime, operator_zone: ZoneInfo, *, width: int | None = None
) -> Text:
    facts = detail.facts
    zone = client_zone(facts.client_timezone)
    text = Text()
    heading(text, "Maintenance windows", f"client {zone.key} · you {operator_zone.key}")
    if not detail.windows:
        text.append("no active window of the client applies to this device\n", "dim")
    for window in detail.windows:
        line = Text(printable(window.name), "bold")
        line.append(
            f"  reboot {window.reboot_policy.value} · check-in timeout "
            f"{age(timedelta(minutes=window.checkin_timeout_minutes))}",
            "dim",
        )
        put(text, line, width)
        if not window.occurrences:
            text.append("  no occurrence in the next ten years (blacked out)\n", "dim")
        for occurrence in window.occurrences:
            start, end = occurrence.start_utc, occurrence.end_utc
            local = start.astimezone(zone)
            local_end = end.astimezone(zone)
            later = (local_end.date() - local.date()).days
            mine = start.astimezone(operator_zone)
            mine_end = end.astimezone(operator_zone)
            mine_later = (mine_end.date() - mine.date()).days
            line = Text(
                f"  {local:%a %d %b %H:%M}–{local_end:%H:%M}"
                f"{f'+{later}' if later > 0 else ''} {zone_label(start, zone)}"
            )
            line.append(
                f" · you {mine:%a %H:%M}–{mine_end:%H:%M}"
                f"{f'+{mine_later}' if mine_later > 0 else ''} {zone_label(start, operator_zone)}",
                "dim",
            )
            if occurrence.is_open(now):
                line.append(f" · OPEN, {duration(end - now)} left", "bold green")
            else:
                line.append(f" · in {duration(start - now)}")
            put(text, line, width)
    return text


def _history_lines(text: Text, history: tuple[HistoryEntry, ...], indent: str) -> None:
    for entry in history:
        who = printable(entry.operator)
        if entry.actor != entry.operator:
            who = f"{printable(entry.actor)} for {who}"
        text.append(f"{indent}{entry.at.astimezone(UTC):%m-%d %H:%M} UTC ", "dim")
        text.append(f"{who}: {printable(entry.action)} → {printable(entry.outcome)}\n")
        if entry.note.strip():
            for line in printable_multiline(entry.note).strip().splitlines():
                text.append(f"{indent}    {line}\n", "italic")


def exception_lines(
    text: Text,
    item: DeviceException,
    now: datetime,
    *,
    selected: bool,
    operator: str,
    width: int | None = None,
) -> None:
    row = item.row
    resolved = row.state is ExceptionState.RESOLVED
    line = Text("▶ " if selected else "  ", "bold")
    line.append(f"#{row.id} {row.failure_class.value}", "dim" if resolved else "bold")
    line.append(f" · {STATE_LABELS[row.state]}")
    if row.owner:
        line.append(" · owner ")
        line.append(printable(row.owner), "bold" if row.owner == operator else "")
    else:
        line.append(" · unowned" if not resolved else "")
    line.append(f" · opened {row.opened_at.astimezone(UTC):%m-%d %H:%M} UTC")
    if resolved and row.resolved_at is not None:
        line.append(f", resolved {row.resolved_at.astimezone(UTC):%m-%d %H:%M} UTC")
    else:
        line.append(f", open {age(row.age(now))}")
    if row.reopened_count:
        line.append(f" · reopened {row.reopened_count}×")
    put(text, line, width)
    if row.patches:
        count = f"({len(row.patches)}) " if len(row.patches) > 1 else ""
        line = Text(f"    patches {count}", "dim")
        line.append(", ".join(printable(p) for p in row.patches))
        put(text, line, width)
    if row.summary.strip():
        text.append(f"    {printable(row.summary)}\n", "italic")
    for command in item.commands:
        on_patch = f" {printable(command.patch)}" if command.patch else ""
        text.append(f"    engine #{command.id} {command.kind.value}{on_patch}: ", "bold")
        text.append(f"{command.state.value}, asked by {printable(command.requested_by)}")
        text.append(f" at {command.requested_at.astimezone(UTC):%m-%d %H:%M} UTC")
        if command.not_before is not None:
            when = f"{command.not_before.astimezone(UTC):%m-%d %H:%M} UTC"
            waiting = command.state is RequestState.QUEUED
            text.append(f" · reboots at {when}" if waiting else f" · scheduled for {when}")
        if command.result.strip():
            text.append(f" · {printable(command.result)}")
        text.append("\n")
    if not item.history:
        text.append("    nothing logged yet\n", "dim")
    _history_lines(text, item.history, "    ")


def exceptions_text(
    detail: DeviceDetail,
    now: datetime,
    *,
    selected: int | None,
    operator: str,
    width: int | None = None,
) -> Text:
    text = Text()
    open_count = len(detail.open_exceptions)
    heading(
        text,
        "Exceptions",
        f"{open_count} open, {len(detail.exceptions) - open_count} resolved · with the whole "
        "remediation history",
    )
    if not detail.exceptions:
        text.append("none: this device has never failed a patch\n", "dim")
    for item in detail.exceptions:
        exception_lines(
            text, item, now, selected=item.row.id == selected, operator=operator, width=width
        )
    return text


def exclusions_text(detail: DeviceDetail, *, width: int | None = None) -> Text:
    text = Text()
    active = detail.active_exclusions
    heading(
        text,
        "Patch exclusions",
        "not targeted on this device until lifted" + (" · l lifts one" if active else ""),
    )
    if not detail.exclusions:
        text.append("none: the engine targets every approved patch here\n", "dim")
    for item in detail.exclusions:
        line = Text("  ")
        line.append(printable(item.vendor_id), "bold" if item.active else "dim")
        if item.title.strip() and item.title != item.vendor_id:
            line.append(f"  {printable(item.title)}", "" if item.active else "dim")
        put(text, line, width)
        line = Text(
            f"    excluded by {printable(item.excluded_by)} "
            f"{item.excluded_at.astimezone(UTC):%m-%d %H:%M} UTC",
            "" if item.active else "dim",
        )
        if item.exception_id is not None:
            line.append(f" (exception #{item.exception_id})", "dim")
        put(text, line, width)
        if not item.active and item.lifted_at is not None:
            line = Text(
                f"    lifted by {printable(item.lifted_by or '?')} "
                f"{item.lifted_at.astimezone(UTC):%m-%d %H:%M} UTC",
                "dim",
            )
            if item.lift_note.strip():
                line.append(f": {printable(' '.join(item.lift_note.split()))}", "dim")
            put(text, line, width)
        if item.reason.strip():
            for reason in printable_multiline(item.reason).strip().splitlines():
                text.append(f"    {reason}\n", "italic")
    return text


PATCH_STYLE = {
    MissingPatchState.INSTALLED: "green",
    MissingPatchState.FAILED: "bold red",
}


def target_lines(text: Text, target: DeviceTarget, zone: ZoneInfo, width: int | None) -> None:
    start = target.occurrence_start
    local = start.astimezone(zone)
    name = printable(target.window_name) if target.window_name else "emergency deployment"
    line = Text(f"#{target.id} ", "dim")
    line.append(name, "bold")
    line.append(f" · {local:%a %d %b %H:%M} {zone_label(start, zone)}")
    line.append(f" ({start.astimezone(UTC):%H:%M} UTC)", "dim")
    line.append(" · ")
    style = "bold red" if target.state in FAILED_TARGET else "bold"
    if target.state is TargetState.VERIFIED:
        style = "bold green"
    line.append(target.state.value, style)
    if target.attempts > 1:
        line.append(f" · {target.attempts} attempts")
    if target.deferrals_used:
        line.append(f" · {target.deferrals_used} deferrals")
    if target.deployment_state.value != "open":
        line.append(f" · deployment {target.deployment_state.value}", "dim")
    put(text, line, width)
    if target.error_code or target.error_message:
        error = " ".join(printable(p) for p in (target.error_code, target.error_message) if p)
        last = "" if target.state in FAILED_TARGET else "last error: "
        text.append(f"    {last}{error}\n", "italic")
    for patch in target.patches:
        line = Text(f"    {patch.state.value:<10}", PATCH_STYLE.get(patch.state, ""))
        line.append(printable(patch.vendor_id), "bold")
        if patch.error_code:
            line.append(f" ({printable(patch.error_code)})", "red")
        if patch.title.strip() and patch.title != patch.vendor_id:
            line.append(f"  {printable(patch.title)}")
        put(text, line, width)


def targets_text(detail: DeviceDetail, *, width: int | None = None) -> Text:
    zone = client_zone(detail.facts.client_timezone)
    text = Text()
    shown = len(detail.targets)
    note = (
        f"the latest {shown} of {detail.targets_total}"
        if detail.targets_total > shown
        else f"{shown} deployment{'s' if shown != 1 else ''}"
    )
    heading(text, "Targets", f"{note} · each patch's state")
    if not detail.targets:
        text.append("never targeted by a deployment\n", "dim")
    for target in detail.targets:
        target_lines(text, target, zone, width)
    return text


def timeline_text(
    detail: DeviceDetail, now: datetime, operator_zone: ZoneInfo, *, width: int | None = None
) -> Text:
    zone = client_zone(detail.facts.client_timezone)
    text = Text()
    heading(
        text,
        "Check-ins and boots around the last deployment",
        f"client {zone_label(now, zone)} │ you {zone_label(now, operator_zone)}",
    )
    if not detail.timeline:
        text.append("no deployment yet\n", "dim")
    for entry in detail.timeline:
        local = entry.at.astimezone(zone)
        mine = entry.at.astimezone(operator_zone)
        style = "dim" if entry.upcoming else ""
        line = Text(f"{local:%a %d %H:%M} │ {mine:%H:%M}  ", "dim")
        what_style = "bold" if entry.what in ("booted", "verified") else style
        if entry.what.startswith(("exception", "target")):
            what_style = "bold red"
        line.append(entry.what, what_style)
        if entry.upcoming:
            line.append(f"  (in {duration(entry.at - now)})", "dim")
        if entry.detail:
            line.append(f"  {printable(entry.detail)}", style or "italic")
        put(text, line, width)
    return text


def device_log_text(detail: DeviceDetail) -> Text:
    text = Text()
    heading(
        text,
        "Device log",
        "about the device itself: retries, maintenance, exclusions lifted",
    )
    if not detail.device_log:
        text.append("nothing logged about the device itself\n", "dim")
    _history_lines(text, detail.device_log, "")
    return text


def status_line(detail: DeviceDetail | None, operator: str, *, readonly: bool) -> Text:
    """The header's second line: the device, its client, what is open."""
    text = Text()
    if detail is None:
        text.append("reading …", "dim")
        return text
    facts = detail.facts
    text.append(printable(facts.hostname), "bold")
    text.append(f" · {printable(facts.client_id)} · tier {facts.tier.value}")
    if facts.maintenance_mode:
        text.append(" · maintenance mode", "bold yellow")
    open_count = len(detail.open_exceptions)
    text.append(f" · {open_count} open exception{'s' if open_count != 1 else ''}")
    excluded = len(detail.active_exclusions)
    if excluded:
        text.append(f" · {excluded} patch{'es' if excluded != 1 else ''} excluded", "yellow")
    text.append("  operator ", "dim")
    text.append(printable(operator), "bold")
    if readonly:
        text.append("  ·  read-only", "bold")
    return text
