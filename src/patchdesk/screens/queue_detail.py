"""The device summary behind ``enter`` in the queue: the exception, its device's facts, the
patches, the operator commands with their results, and the remediation history.

Everything is plain ``Text`` (untrusted text made printable, never markup). Times are shown
in UTC and in the client's zone, labelled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from patchdesk.ages import age
from patchdesk.rules.presence import DEFAULT_STALE_AFTER
from patchdesk.screens.widgets.queue_cells import ROLE_LABELS, STATE_LABELS
from patchdesk.store.exception_views import ExceptionDetail
from patchdesk.text import printable, printable_multiline


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return "never"
    utc = moment.astimezone(UTC)
    local = moment.astimezone(zone)
    return f"{utc:%Y-%m-%d %H:%M} UTC ({local:%H:%M} {local.tzname()} client)"


def detail_text(
    detail: ExceptionDetail, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> Text:
    row, device = detail.exception, detail.device
    zone = _zone(detail.client_timezone)
    text = Text()

    def heading(title: str) -> None:
        text.append(f"\n{title}\n", "bold underline")

    def field(label: str, value: str) -> None:
        text.append(f"{label:<14}", "dim")
        text.append(value + "\n")

    text.append(f"Exception {row.id} · {row.failure_class.value} · tier {row.tier.value}\n", "bold")
    field(
        "state", STATE_LABELS[row.state] + (f" (owner {printable(row.owner)})" if row.owner else "")
    )
    field("opened", f"{_when(row.opened_at, zone)}, {age(row.age(now))} ago")
    if row.reopened_count:
        field("reopened", f"{row.reopened_count} times")
    field("summary", printable(row.summary) or "-")
    field("last action", printable(row.last_action or "-"))

    heading("Device")
    field("hostname", printable(device.hostname))
    field(
        "client",
        f"{printable(row.client_id)} ({printable(row.client_name)}), {detail.client_timezone}",
    )
    field("role", f"{ROLE_LABELS[device.role]}, {device.criticality.value}")
    field(
        "os", printable(f"{device.os_name} {device.os_version}".strip()) or device.os_family.value
    )
    field("site", printable(device.site or "-"))
    field("tags", printable(", ".join(device.tags)) or "-")
    status = device.presence(now, stale_after).value
    field("status", status + (" · maintenance mode" if device.maintenance_mode else ""))
    field("last seen", _when(device.last_seen, zone))
    field("last boot", _when(device.last_boot, zone))

    heading("Patches")
    if not detail.patches:
        text.append("none named\n", "dim")
    for patch in detail.patches:
        reboot = ", reboot" if patch.reboot_required else ""
        text.append(f"{printable(patch.vendor_id)}", "bold")
        text.append(
            f"  {printable(patch.title)} ({patch.classification}, {patch.severity}{reboot})\n"
        )

    heading("Engine commands")
    if not detail.commands:
        text.append("none\n", "dim")
    for command in detail.commands:
        on_patch = f" {printable(command.patch)}" if command.patch else ""
        text.append(f"#{command.id} {command.kind.value}{on_patch}: ", "bold")
        text.append(f"{command.state.value}, asked by {printable(command.requested_by)} ")
        text.append(f"at {command.requested_at.astimezone(UTC):%H:%M} UTC")
        if command.result:
            text.append(f"\n    {printable(command.result)}")
        text.append("\n")

    heading("History")
    if not detail.history:
        text.append("nothing logged yet\n", "dim")
    for entry in detail.history:
        who = printable(entry.operator)
        if entry.actor != entry.operator:
            who = f"{printable(entry.actor)} for {who}"
        text.append(f"{entry.at.astimezone(UTC):%m-%d %H:%M} UTC ", "dim")
        text.append(f"{who}: {printable(entry.action)} → {printable(entry.outcome)}\n")
        if entry.note.strip():
            for note_line in printable_multiline(entry.note).strip().splitlines():
                text.append(f"    {note_line}\n", "italic")
    return text


class ExceptionDetailScreen(ModalScreen[None]):
    """The exception and its device in full; ``esc`` or ``enter`` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss_detail", "Close", id="detail.close"),
    ]

    DEFAULT_CSS = """
    ExceptionDetailScreen { align: center middle; }
    ExceptionDetailScreen > VerticalScroll {
        width: 100; max-width: 100%; height: 90%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    """

    def __init__(
        self,
        detail: ExceptionDetail,
        now: datetime,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
    ) -> None:
        super().__init__()
        self.detail = detail
        self.now = now
        self.stale_after = stale_after

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Device summary (esc closes)"
            yield Static(
                detail_text(self.detail, self.now, self.stale_after), markup=False, id="detail-text"
            )

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_dismiss_detail(self) -> None:
        self.dismiss(None)
