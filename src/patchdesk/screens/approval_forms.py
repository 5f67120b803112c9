"""The approvals screen's forms on the patch under the cursor: approve, block (for the
client, or every client through the global block list), defer, emergency deploy.

What they share (the modal, checking and saving) is ``screens.approval_form_base``; the
global block list's own forms are ``screens.approval_blocklist_forms``; the forms on marked
lines ``screens.approval_bulk``. An emergency deploy asks for confirmation before it is
written. Untrusted text (titles, hostnames, reasons) is shown as plain ``Text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, RadioButton, RadioSet, SelectionList, Static
from textual.widgets.selection_list import Selection

from patchdesk.domain import ApprovalDecisionKind
from patchdesk.rules.approval import until_from_text
from patchdesk.screens.approval_form_base import (
    ApprovalForm,
    FormError,
    Saver,
    block_scope,
    field_problem,
    reason_of,
)
from patchdesk.screens.services import Services
from patchdesk.screens.widgets.timetext import zone_label, zone_of
from patchdesk.store.approval_ops import DecisionRequest, record_decision
from patchdesk.store.approval_views import NO_RING, ApprovalLine, DeviceChoice
from patchdesk.store.blocklist import add_to_blocklist
from patchdesk.text import printable


def patch_header(verb: str, line: ApprovalLine) -> Text:
    """``Block KB5044281 for northwind-dental (Northwind Dental)`` and the patch's facts."""
    text = Text()
    text.append(f"{verb} ", "bold")
    text.append(printable(line.patch_id), "bold")
    text.append(" for ")
    text.append(printable(line.client_id), "bold")
    if line.client_name:
        text.append(f" ({printable(line.client_name)})")
    text.append("\n")
    text.append(printable(line.title), "italic")
    text.append("\n")
    text.append(
        f"{line.classification.value} · {line.severity.value} · released "
        f"{line.release_date.isoformat()} · now {line.state.value} ({printable(line.why)})",
        "dim",
    )
    return text


def decide(services: Services, request: DecisionRequest) -> str:
    """Record ``request`` (``record_decision``, one transaction) and say what was written."""
    with services.database.writer() as session:
        recorded = record_decision(session, request, now=services.clock())
    return f"{recorded.client_id}: {recorded.note} (decision {recorded.id})"


class ApproveForm(ApprovalForm):
    """Approve the patch for the client (all its devices that need it); rings still apply."""

    def __init__(self, line: ApprovalLine) -> None:
        super().__init__(patch_header("Approve", line))
        self.line = line

    def fields(self) -> ComposeResult:
        yield Static(
            "Overrides the client's rules for this patch: its devices get it in their next "
            "maintenance windows, ring by ring.",
            classes="hint",
            markup=False,
        )
        if self.line.why == NO_RING:
            yield Static(
                "These devices are in no ring, so an approval does not reach them: tag them "
                "into a ring, or deploy to them with E (emergency).",
                classes="form-warning",
                markup=False,
            )
        yield Static("Reason (optional)", classes="label", markup=False)
        yield Input(id="reason", placeholder="e.g. tested on the pilot machines")

    def prepare(self) -> Saver:
        reason = reason_of(self, required=False)
        services = self.services
        request = DecisionRequest(
            self.line.client_id,
            self.line.patch_id,
            ApprovalDecisionKind.APPROVE,
            services.operator,
            reason,
        )
        return Saver(lambda: decide(services, request))


class BlockForm(ApprovalForm):
    """Block the patch for this client (a decision), or for every client (the global block
    list). A reason is required."""

    def __init__(self, line: ApprovalLine) -> None:
        super().__init__(patch_header("Block", line))
        self.line = line

    def fields(self) -> ComposeResult:
        yield Static("Block it for", classes="label", markup=False)
        with RadioSet(id="scope"):
            client = Text("this client only  ")
            client.append(printable(self.line.client_id), "bold")
            yield RadioButton(client, value=True, id="scope-client")
            yield RadioButton(
                Text("every client: add it to the global block list"), id="scope-global"
            )
        yield Static("Reason (required)", classes="label", markup=False)
        yield Input(id="reason", placeholder="e.g. breaks the kiosk printers (vendor case 1234)")

    @property
    def scope(self) -> str:
        return block_scope(self)

    def touched(self) -> bool:
        return super().touched() or self.scope != "client"

    def prepare(self) -> Saver:
        reason = reason_of(self, required=True)
        services = self.services
        line = self.line
        if self.scope == "global":

            def add() -> str:
                with services.database.writer() as session:
                    change = add_to_blocklist(
                        session, line.patch_id, reason, services.operator, now=services.clock()
                    )
                return change.note

            return Saver(add)
        request = DecisionRequest(
            line.client_id, line.patch_id, ApprovalDecisionKind.BLOCK, services.operator, reason
        )
        return Saver(lambda: decide(services, request))


class DeferForm(ApprovalForm):
    """Hold the patch for the client until a date (00:00 in the client's zone); then the
    decision before it, or the rules, apply again."""

    def __init__(self, line: ApprovalLine) -> None:
        super().__init__(patch_header("Defer", line))
        self.line = line
        self.zone = zone_of(line.zone)

    def fields(self) -> ComposeResult:
        now = self.services.clock()
        label = zone_label(now, self.zone)
        yield Static(
            f"Until (required): a date, YYYY-MM-DD, from 00:00 client time "
            f"({self.zone.key}, {label}); or an ISO time with its UTC offset",
            classes="label",
            markup=False,
        )
        yield Input(id="until", placeholder="e.g. 2026-12-04")
        yield Static("Reason (optional)", classes="label", markup=False)
        yield Input(id="reason", placeholder="e.g. wait for the vendor's re-release")

    def prepare(self) -> Saver:
        problems: list[str] = []
        services = self.services
        now = services.clock()
        text = self.value("until").strip()
        until = None
        if not text:
            problems.append("Until: required: the date the patch may go (YYYY-MM-DD)")
        else:
            try:
                until = until_from_text(text, self.zone)
            except ValueError as exc:
                problems.append(f"Until: {exc}")
        if until is not None and until <= now:
            local = until.astimezone(self.zone)
            problems.append(
                f"Until: {local:%Y-%m-%d %H:%M} {zone_label(until, self.zone)} "
                f"({self.zone.key}) is not in the future"
            )
        if problems:
            raise FormError(problems)
        assert until is not None
        reason = reason_of(self, required=False)
        request = DecisionRequest(
            self.line.client_id,
            self.line.patch_id,
            ApprovalDecisionKind.DEFER,
            services.operator,
            reason,
            until,
        )
        return Saver(lambda: decide(services, request))


def device_prompt(choice: DeviceChoice) -> Text:
    text = Text(printable(choice.hostname), "bold")
    state = choice.state.value + (" (emergency)" if choice.emergency else "")
    text.append(f"  {state}", "dim")
    if choice.ring:
        text.append(f"  ring {printable(choice.ring)}", "dim")
    return text


class EmergencyForm(ApprovalForm):
    """Deploy the patch at once, outside maintenance windows, to the devices chosen (all
    that need it, or a subset): a reason, the devices, then a confirmation."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+a", "all_or_none", "All / none", id="approval_form.all_devices"),
    ]
    KEYS = "tab next field   space toggle device   ctrl+a all/none   ctrl+s deploy   esc cancel"

    def __init__(self, line: ApprovalLine, devices: Sequence[DeviceChoice]) -> None:
        super().__init__(patch_header("Emergency deploy", line))
        self.line = line
        self.choices = list(devices)
        self.add_class("-danger")

    def fields(self) -> ComposeResult:
        yield Static(
            "Deploys now, outside maintenance windows and rings, to the devices chosen; "
            "counts as an emergency patch.",
            classes="hint",
            markup=False,
        )
        yield Static("Reason (required)", classes="label", markup=False)
        yield Input(id="reason", placeholder="e.g. actively exploited (CVE-…)")
        count = len(self.choices)
        yield Static(
            f"Devices ({count} need it; space toggles, all chosen to start)",
            classes="label",
            markup=False,
        )
        yield SelectionList[str](
            *(Selection(device_prompt(choice), choice.hostname, True) for choice in self.choices),
            id="devices",
        )

    @property
    def chosen(self) -> list[str]:
        return list(self.query_one("#devices", SelectionList).selected)

    def touched(self) -> bool:
        return super().touched() or len(self.chosen) != len(self.choices)

    def action_all_or_none(self) -> None:
        devices: SelectionList[str] = self.query_one("#devices", SelectionList)
        if len(devices.selected) == len(self.choices):
            devices.deselect_all()
        else:
            devices.select_all()

    def prepare(self) -> Saver:
        problems: list[str] = []
        reason = self.value("reason")
        if not reason.strip():
            problems.append("Reason: required for an emergency: say why, for the log")
        hostnames = tuple(self.chosen)
        if not hostnames:
            problems.append("Devices: choose at least one (space toggles, ctrl+a all)")
        if problems:
            raise FormError(problems)
        services = self.services
        line = self.line
        request = DecisionRequest(
            line.client_id,
            line.patch_id,
            ApprovalDecisionKind.EMERGENCY,
            services.operator,
            reason,
            None,
            hostnames,
        )
        confirm = Text("Deploy ")
        confirm.append(printable(line.patch_id), "bold")
        confirm.append(f" now to {len(hostnames)} device{'' if len(hostnames) == 1 else 's'} of ")
        confirm.append(printable(line.client_id), "bold")
        confirm.append(", outside maintenance windows? ")
        shown = ", ".join(printable(h) for h in hostnames[:6])
        more = f" and {len(hostnames) - 6} more" if len(hostnames) > 6 else ""
        confirm.append(f"({shown}{more}) Devices may reboot.")
        return Saver(lambda: decide(services, request), confirm=confirm)


__all__ = [
    "ApprovalForm",
    "ApproveForm",
    "BlockForm",
    "DeferForm",
    "EmergencyForm",
    "FormError",
    "field_problem",
    "patch_header",
]
