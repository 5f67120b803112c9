"""The approvals screen's forms: approve, block, defer, emergency deploy, and the global
block list's add and remove.

Every form is a modal (``FormScreen``): focus opens on the first field to fill, text typed
at a control (the block's scope, the emergency's devices) goes into the reason, ``ctrl+s``
saves, ``esc`` cancels (asking first when something was typed or changed). What was typed
is checked on the spot (a blank reason, a date that does not parse or is not in the
future, no device chosen), each problem naming its field; then
the write runs in a worker through the same store functions as ``patchdesk approvals``
(``store.approvals.record_decision``) and ``store.blocklist``, as ``Services.operator`` at
``Services.clock()``, in one transaction: a refusal from the store keeps the form open with
its reasons and writes nothing. An emergency deploy asks for confirmation before it is
written. Untrusted text (titles, hostnames, reasons) is shown as plain ``Text``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, RadioButton, RadioSet, SelectionList, Static
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from patchdesk.domain import ApprovalDecisionKind
from patchdesk.rules.approval import until_from_text
from patchdesk.screens.form_screen import FormScreen
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.timetext import zone_label, zone_of
from patchdesk.store.approval_ops import DecisionError, DecisionRequest, record_decision
from patchdesk.store.approval_views import NO_RING, ApprovalLine, BlockLine, DeviceChoice
from patchdesk.store.blocklist import add_to_blocklist, remove_from_blocklist
from patchdesk.store.operator_input import Refused
from patchdesk.text import printable

SAVE_GROUP = "approval-form-save"
# The store speaks the CLI's flags; the forms name their fields.
_FIELD_NAMES = {"--reason": "Reason", "--until": "Until", "--device": "Devices"}


class FormError(Exception):
    """What is wrong with the form as filled in: one line per problem, naming the field."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def field_problem(problem: str) -> str:
    """A store problem in the form's words: ``--reason: required ...`` -> ``Reason: ...``."""
    head, sep, rest = problem.partition(":")
    if sep and head in _FIELD_NAMES:
        return f"{_FIELD_NAMES[head]}:{rest}"
    if sep and head in ("patch", "reason", "operator"):
        return f"{head.capitalize()}:{rest}"
    return problem


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


@dataclass(frozen=True)
class Saver:
    """The write a form asks for: runs in a worker, returns the message to show."""

    run: Callable[[], str]
    confirm: Text | None = None  # asked (y/n) before the write


class ApprovalForm(FormScreen[str | None]):
    """Base of the forms: a header and the fields a subclass composes (the error line and
    the keys are the ``FormScreen``'s footer).

    Subclasses give ``fields()`` and ``prepare()`` (check what was typed: ``FormError``, or
    the write to run). Focus opens on the first text field (each form's first field to
    fill); text typed at another control goes into the reason."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="approval_form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="approval_form.cancel"),
    ]
    AUTO_FOCUS = "Input"
    TYPING_FIELD = "#reason"

    DEFAULT_CSS = """
    ApprovalForm .form-header { margin-bottom: 1; }
    ApprovalForm .label { text-style: bold; color: $text-muted; }
    ApprovalForm .hint { color: $text-muted; }
    ApprovalForm Input { margin-bottom: 1; }
    ApprovalForm RadioSet { height: auto; width: auto; margin-bottom: 1; }
    ApprovalForm SelectionList { height: auto; max-height: 10; margin-bottom: 1; }
    ApprovalForm .form-warning { color: $warning; }
    ApprovalForm.-danger > FormFrame { border: thick $error; }
    """

    def __init__(self, header: Text) -> None:
        super().__init__()
        self.header = header

    @property
    def services(self) -> Services:
        return services_of(self.app)

    def compose_fields(self) -> ComposeResult:
        yield Static(self.header, classes="form-header", markup=False)
        yield from self.fields()

    def fields(self) -> ComposeResult:  # pragma: no cover - every form overrides it
        yield from ()

    def prepare(self) -> Saver:  # pragma: no cover - every form overrides it
        raise NotImplementedError

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def touched(self) -> bool:
        """Something was typed (cancelling would lose it)."""
        return any(field.value.strip() for field in self.query(Input))

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    # --- saving ----------------------------------------------------------------------------

    def action_save(self) -> None:
        if self.saving or not self.is_active:
            return
        if self.services.readonly:
            self.show_error("read-only session: nothing can be changed")
            return
        try:
            saver = self.prepare()
        except FormError as error:
            self.show_error("\n".join(error.problems))
            return
        if saver.confirm is None:
            self._start(saver)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start(saver)
            else:
                self.show_error("not saved: say y to confirm, or esc to cancel")

        self.app.push_screen(ConfirmModal(saver.confirm), answered)

    def _start(self, saver: Saver) -> None:
        self.saving = True
        self.show_error("saving …")
        self.run_worker(saver.run, thread=True, exit_on_error=False, group=SAVE_GROUP)

    @on(Worker.StateChanged)
    def _saved(self, event: Worker.StateChanged) -> None:
        if event.worker.group != SAVE_GROUP:
            return
        if event.state is WorkerState.SUCCESS:
            self.finish(str(event.worker.result))
        elif event.state is WorkerState.ERROR:
            self.saving = False
            error = event.worker.error
            if isinstance(error, DecisionError):
                self.show_error("\n".join(field_problem(p) for p in error.problems))
            elif isinstance(error, Refused):
                self.show_error(str(error))
            else:
                self.show_error(f"not saved: {error!r}")

    # --- cancelling ------------------------------------------------------------------------

    def action_cancel(self) -> None:
        if self.saving:
            self.show_error("saving … (esc cannot stop it now)")
            return
        if not self.touched():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal("Discard what you typed? Nothing is saved."), answered)


def _reason(form: ApprovalForm, *, required: bool, why: str = "say why, for the log") -> str:
    reason = form.value("reason")
    if required and not reason.strip():
        raise FormError([f"Reason: required: {why}"])
    return reason


def _decide(services: Services, request: DecisionRequest) -> str:
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
        reason = _reason(self, required=False)
        services = self.services
        request = DecisionRequest(
            self.line.client_id,
            self.line.patch_id,
            ApprovalDecisionKind.APPROVE,
            services.operator,
            reason,
        )
        return Saver(lambda: _decide(services, request))


BLOCK_SCOPES = ("client", "global")


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
        pressed = self.query_one("#scope", RadioSet).pressed_index
        return BLOCK_SCOPES[pressed if pressed >= 0 else 0]

    def touched(self) -> bool:
        return super().touched() or self.scope != "client"

    def prepare(self) -> Saver:
        reason = _reason(self, required=True)
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
        return Saver(lambda: _decide(services, request))


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
        reason = _reason(self, required=False)
        request = DecisionRequest(
            self.line.client_id,
            self.line.patch_id,
            ApprovalDecisionKind.DEFER,
            services.operator,
            reason,
            until,
        )
        return Saver(lambda: _decide(services, request))


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
        return Saver(lambda: _decide(services, request), confirm=confirm)


class BlocklistAddForm(ApprovalForm):
    """Add a patch id to the global block list, with a reason."""

    def __init__(self, patch_id: str = "") -> None:
        header = Text("Add to the global block list", "bold")
        header.append("\nBlocks the patch for every client, over every approval and emergency.")
        super().__init__(header)
        self.patch_id = patch_id
        self.added: str | None = None  # the patch id as listed, once saved

    def fields(self) -> ComposeResult:
        yield Static("Patch (KB number or package id)", classes="label", markup=False)
        yield Input(self.patch_id, id="patch", placeholder="e.g. KB5034441")
        yield Static("Reason (required)", classes="label", markup=False)
        yield Input(id="reason", placeholder="e.g. fails with 0x80070643 on small partitions")

    def touched(self) -> bool:
        return bool(self.value("reason").strip()) or self.value("patch") != self.patch_id

    def prepare(self) -> Saver:
        problems: list[str] = []
        patch_id = self.value("patch").strip()
        if not patch_id:
            problems.append("Patch: required: the KB number or package id to block")
        if not self.value("reason").strip():
            problems.append("Reason: required: say why, for the log")
        if problems:
            raise FormError(problems)
        reason = self.value("reason")
        services = self.services

        def add() -> str:
            with services.database.writer() as session:
                change = add_to_blocklist(
                    session, patch_id, reason, services.operator, now=services.clock()
                )
            self.added = change.patch_id
            unknown = "" if change.known else " (no device has reported it yet)"
            return change.note + unknown

        return Saver(add)


class BlocklistRemoveForm(ApprovalForm):
    """Lift a global block: a reason, then the clients' rules and decisions apply again."""

    def __init__(self, line: BlockLine) -> None:
        header = Text("Remove ", "bold")
        header.append(printable(line.patch_id), "bold")
        header.append(" from the global block list", "bold")
        header.append("\nBlocked by ")
        header.append(printable(line.blocked_by))
        header.append(f" on {line.blocked_at.date().isoformat()}: ")
        header.append(printable(line.reason), "italic")
        header.append(
            "\nThe clients' rules and decisions apply to it again: approved devices get it "
            "in their next windows.",
            "dim",
        )
        super().__init__(header)
        self.line = line

    def fields(self) -> ComposeResult:
        yield Static("Reason (required)", classes="label", markup=False)
        yield Input(id="reason", placeholder="e.g. the vendor re-released a fixed build")

    def prepare(self) -> Saver:
        reason = _reason(self, required=True, why="say why the block is lifted, for the log")
        services = self.services
        patch_id = self.line.patch_id

        def remove() -> str:
            with services.database.writer() as session:
                change = remove_from_blocklist(
                    session, patch_id, reason, services.operator, now=services.clock()
                )
            return change.note

        return Saver(remove)


__all__ = [
    "ApprovalForm",
    "ApproveForm",
    "BlockForm",
    "BlocklistAddForm",
    "BlocklistRemoveForm",
    "DeferForm",
    "EmergencyForm",
    "FormError",
    "field_problem",
]
