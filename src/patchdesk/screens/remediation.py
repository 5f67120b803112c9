"""The remediation form: one action of the exception's response path, an outcome, a note.

The class's response path (``rules.response_paths.RESPONSE_PATHS``) is listed
with numbers; while the list has focus and nothing has been typed into the note, a number
key picks the action (arrows and ``enter`` always do). Actions the engine carries out
(retry, reboot, roll back, block, wake) queue their command: their outcome is "queued"
until the engine reports.

The fields, in Tab order, are the same whatever action is chosen: action, reboot time (a
reboot exception), outcome, the patch (when the class has an action on one of several
patches: a regression's, an install exception's exclusion), note, resolve. A field the chosen
action fixes shows what it is instead (an engine action's outcome "queued"), and stays a
Tab stop. Text typed at a control goes into the note (``FormScreen``).

The list says what each action does beyond its log line: the engine's effect, or "you do
it" for work the technician does outside patchdesk and records here. A reboot exception's
form has a "Reboot at" field after the list (the time for "Schedule reboot", in the
client's time, its zone shown; previewed in UTC and the operator's time as it is typed);
another action fixes it to "no reboot time", in its place.

``ctrl+s`` first shows, on one line, what will be written to the append-only log (action,
outcome, note): ``enter`` writes it through ``exception_ops.log_remediation`` as the
operator, at the services' clock, in a worker; ``esc`` goes back to the form as it was.
``esc`` on the form cancels, asking first when something was picked or typed. The form
stays open with the reason when the store refuses (someone else resolved it, a block
without a reason ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Checkbox, Input, OptionList, RadioButton, RadioSet, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from patchdesk.domain import FailureClass, RequestKind
from patchdesk.rules.reboot_times import RebootTimeError, parse_reboot_time
from patchdesk.rules.response_paths import RESPONSE_PATHS, Action
from patchdesk.screens.form_screen import FixedValue, FormScreen
from patchdesk.screens.services import services_of
from patchdesk.screens.widgets.log_confirm import LogConfirm
from patchdesk.screens.widgets.queue_cells import ROLE_LABELS
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.timetext import zone_label
from patchdesk.store import exception_ops as ops
from patchdesk.store.device_views import client_zone
from patchdesk.store.exception_views import ExceptionDetail
from patchdesk.store.operator_input import Refused
from patchdesk.text import printable

OUTCOMES = ("done", "partly done", "failed", "no answer")
ENGINE_OUTCOME = "queued"
_PATCH_ACTIONS = frozenset(
    {"rollback_patch", "block_patch_client", "block_patch_global", "exclude_patch"}
)
_NOTE_REQUIRED = frozenset({"block_patch_client", "block_patch_global", "exclude_patch"})
_REASON = {
    "block_patch_client": "it is the block's reason",
    "block_patch_global": "it is the block's reason",
    "exclude_patch": "it is the exclusion's reason",
}
# What an action does beyond its log line, shown beside it in the list.
_ENGINE_EFFECT = {
    RequestKind.SCHEDULE_REBOOT: "engine: reboots at the time below",
    RequestKind.EXCLUDE_PATCH: "engine: stops targeting it here",
}
_REBOOT_HINT = "inside one of the device's windows that allow a reboot; no user deferral"


@dataclass(frozen=True)
class RemediationRequest:
    """What the form saves (``patch_id`` only for an action on one of several patches)."""

    exception_id: int
    action_id: str
    outcome: str | None
    note: str
    patch_id: int | None
    resolve: bool
    reboot_at: datetime | None = None  # schedule_reboot's time (aware UTC)


def header_text(detail: ExceptionDetail) -> Text:
    row = detail.exception
    text = Text()
    text.append(f"Log remediation · exception {row.id} · {row.failure_class.value}\n", "bold")
    text.append(printable(row.hostname), "bold")
    text.append(f"  {printable(row.client_id)} ({printable(row.client_name)})")
    text.append(f" · {ROLE_LABELS[row.role]}, {row.criticality.value} · tier {row.tier.value}")
    if row.patches:
        text.append(" · " + ", ".join(printable(p) for p in row.patches))
    if row.summary:
        text.append("\n")
        text.append(printable(row.summary), "italic")
    return text


def one_line(note: str) -> str:
    """A note on one line: its line breaks shown as ``⏎``, control characters gone."""
    return printable(" ⏎ ".join(note.replace("\r\n", "\n").split("\n")))


def reboot_time_text(at: datetime, client: ZoneInfo, operator: ZoneInfo) -> Text:
    """``Fri 27 Nov 23:30 EST client · 04:30 UTC · 05:30 CET you``."""
    text = Text()
    text.append(f"{at.astimezone(client):%a %d %b %H:%M} {zone_label(at, client)} client", "bold")
    mine = at.astimezone(operator)
    text.append(f" · {at.astimezone(UTC):%H:%M} UTC · {mine:%H:%M} {zone_label(at, operator)} you")
    return text


def confirm_text(
    action: Action,
    request: RemediationRequest,
    patch: str | None,
    client: ZoneInfo | None = None,
) -> Text:
    """The one line shown before the write: the action, its outcome, the note (and the
    patch, the reboot time in the ``client``'s zone and UTC, the resolve) exactly as they
    will be logged."""
    text = Text()
    text.append(action.label, "bold")
    if request.reboot_at is not None:
        at, zone = request.reboot_at, client or ZoneInfo("UTC")
        text.append(" at ")
        text.append(f"{at.astimezone(zone):%a %d %b %H:%M} {zone_label(at, zone)}", "bold")
        text.append(f" ({at.astimezone(UTC):%H:%M} UTC)")
    if request.outcome is None:
        text.append(f" · outcome {ENGINE_OUTCOME}")
    else:
        text.append(f" · outcome {request.outcome}")
    if patch is not None:
        text.append(" · patch ")
        text.append(printable(patch), "bold")
    if request.note.strip():
        text.append(" · note “")
        text.append(one_line(request.note), "italic")
        text.append("”")
    else:
        text.append(" · no note")
    if request.resolve:
        text.append(" · and resolve the exception")
    return text


class ActionList(OptionList):
    """The response path's actions; a number picks one while the list has focus, unless
    the form's note has been typed into (then the number is text, for the note)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(str(n), f"pick({n})", f"Action {n}", show=False, id=f"remediation.pick{n}")
        for n in range(1, 10)
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            number = parameters[0]
            form = self.screen
            typed = isinstance(form, RemediationScreen) and form.typed_into()
            return not typed and isinstance(number, int) and number <= self.option_count
        return True

    def action_pick(self, number: int) -> None:
        self.highlighted = number - 1
        self.action_select()


class RemediationScreen(FormScreen[str | None]):
    """Log a remediation for ``detail``'s exception; dismisses with the store's message."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="remediation.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="remediation.cancel"),
    ]
    AUTO_FOCUS = "#actions"
    TYPING_FIELD = "#note"
    KEYS = "1-9 in the list pick an action   tab next field   ctrl+s save   esc cancel"
    ERROR_ID = "remediation-error"

    DEFAULT_CSS = """
    RemediationScreen > FormFrame { width: 96; }
    RemediationScreen #remediation-header { margin-bottom: 1; }
    RemediationScreen .label { text-style: bold; color: $text-muted; margin-top: 1; }
    RemediationScreen OptionList { height: auto; max-height: 7; }
    RemediationScreen RadioSet { height: auto; width: auto; }
    RemediationScreen RadioSet > RadioButton { margin-right: 1; }
    RemediationScreen #outcomes RadioSet { layout: horizontal; }
    RemediationScreen #outcomes { height: auto; }
    RemediationScreen TextArea { height: 6; }
    """

    def __init__(self, detail: ExceptionDetail, *, take_over_from: str | None = None) -> None:
        super().__init__()
        self.detail = detail
        self.take_over_from = take_over_from  # agreed to take it over from this owner
        self.actions: tuple[Action, ...] = RESPONSE_PATHS[detail.exception.failure_class]
        self.chosen: Action | None = None
        self.typed = False  # the note has been typed into: numbers no longer pick
        # A reboot exception's form asks when (for "Schedule reboot"), in the client's time.
        self.asks_reboot_time = detail.exception.failure_class is FailureClass.REBOOT
        self.client_zone: ZoneInfo = client_zone(detail.client_timezone)

    @property
    def patch_choice(self) -> bool:
        """The exception has several patches and an action of its class acts on one: the
        patch is a field (whatever the action chosen)."""
        return len(self.detail.patches) > 1 and any(a.id in _PATCH_ACTIONS for a in self.actions)

    # --- the form --------------------------------------------------------------------------

    def compose_fields(self) -> ComposeResult:
        yield Static(header_text(self.detail), id="remediation-header", markup=False)
        yield Static(
            "Action (press its number while the list has focus)",
            classes="label",
            markup=False,
        )
        yield ActionList(
            *(Option(self._action_prompt(n, a), id=a.id) for n, a in enumerate(self.actions, 1)),
            id="actions",
        )
        if self.asks_reboot_time:
            yield from self._reboot_time_field()
        yield Static("Outcome", classes="label", markup=False)
        with Horizontal(id="outcomes"), RadioSet(id="outcome"):
            for n, outcome in enumerate(OUTCOMES):
                yield RadioButton(Text(outcome), value=n == 0, id=f"outcome-{n}")
        yield FixedValue(
            f"{ENGINE_OUTCOME}: the engine runs it and the queue shows its result",
            id="engine-outcome",
            markup=False,
        )
        if self.patch_choice:
            yield Static("Patch", classes="label", markup=False)
            with RadioSet(id="patches"):
                for n, patch in enumerate(self.detail.patches):
                    yield RadioButton(
                        Text(printable(patch.vendor_id)), value=n == 0, id=f"patch-{patch.id}"
                    )
            yield FixedValue(
                "the chosen action is not on one patch", id="patch-fixed", markup=False
            )
        yield Static("Note (text typed at any field lands here)", classes="label", markup=False)
        yield TextArea(id="note", soft_wrap=True)
        yield Checkbox(Text("Resolve it as well (the note says what fixed it)"), id="resolve")
        yield FixedValue(
            "Resolve: not with an engine action (resolve once its result shows)",
            id="resolve-fixed",
            markup=False,
        )

    def _reboot_time_field(self) -> ComposeResult:
        number = next(
            n for n, a in enumerate(self.actions, 1) if a.command is RequestKind.SCHEDULE_REBOOT
        )
        yield Static(
            f"Reboot at, for {number} Schedule reboot (client time, {self.client_zone.key})",
            classes="label",
            id="reboot-at-label",
            markup=False,
        )
        yield Input(placeholder="YYYY-MM-DD HH:MM or HH:MM", id="reboot-at")
        yield FixedValue(
            "no reboot time: only Schedule reboot takes one", id="reboot-at-fixed", markup=False
        )
        yield Static(_REBOOT_HINT, id="reboot-preview", markup=False)

    def _action_prompt(self, number: int, action: Action) -> Text:
        text = Text(f"{number}  ")
        text.append(action.label)
        if action.command is not None:
            effect = _ENGINE_EFFECT.get(action.command, "engine: queues a command")
            text.append(f"   {effect}", "dim")
        else:
            text.append("   you do it: logs what you did", "dim")
        return text

    def on_mount(self) -> None:
        self._show_fields(None)

    # --- picking ---------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#actions")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(self.actions[event.option_index])

    @on(Input.Changed, "#reboot-at")
    def _reboot_time_typed(self, event: Input.Changed) -> None:
        preview = self.query_one("#reboot-preview", Static)
        if not event.value.strip():
            preview.update(_REBOOT_HINT)
            return
        services = services_of(self.app)
        try:
            at = parse_reboot_time(event.value, self.client_zone, services.clock())
        except RebootTimeError as exc:
            preview.update(Text(printable(str(exc)), "italic"))
            return
        preview.update(Text("→ ") + reboot_time_text(at, self.client_zone, services.local_zone))

    @on(TextArea.Changed, "#note")
    def _note_changed(self, _event: TextArea.Changed) -> None:
        self.typed = True

    def typed_into(self) -> bool:
        """The note has been typed into (or holds text): numbers no longer pick."""
        return self.typed or bool(self.query_one("#note", TextArea).text)

    def _choose(self, action: Action) -> None:
        self.chosen = action
        options = self.query_one("#actions", OptionList)
        for n, item in enumerate(self.actions, 1):
            prompt = self._action_prompt(n, item)
            if item is action:
                prompt = Text("▶ ", style="bold") + prompt
                prompt.stylize("bold")
            else:
                prompt = Text("  ") + prompt
            options.replace_option_prompt(item.id, prompt)
        self._show_fields(action)
        self.show_error("")

    def _show_fields(self, action: Action | None) -> None:
        """Each field, or what the chosen action fixes it to, in the field's place: the Tab
        stops stay the same."""
        engine = action is not None and action.command is not None
        self.query_one("#outcome").display = not engine
        self.query_one("#engine-outcome").display = engine
        if self.patch_choice:
            on_patch = action is None or action.id in _PATCH_ACTIONS
            self.query_one("#patches").display = on_patch
            self.query_one("#patch-fixed").display = not on_patch
        resolve = self.query_one("#resolve", Checkbox)
        resolve.display = not engine
        self.query_one("#resolve-fixed").display = engine
        if engine:
            resolve.value = False
        if self.asks_reboot_time:
            timed = action is None or action.command is RequestKind.SCHEDULE_REBOOT
            self.query_one("#reboot-at").display = timed
            self.query_one("#reboot-preview").display = timed
            self.query_one("#reboot-at-fixed").display = not timed

    # --- saving ----------------------------------------------------------------------------

    def request(self) -> RemediationRequest:
        """The form's values; raises ``Refused`` when they cannot be saved as they are."""
        action = self.chosen
        if action is None:
            raise Refused("pick an action first: its number, or arrows and enter, in the list")
        note = self.query_one("#note", TextArea).text
        resolve = self.query_one("#resolve", Checkbox).value
        if (action.id in _NOTE_REQUIRED or resolve) and not note.strip():
            why = _REASON.get(action.id, "for resolve")
            raise Refused(f"a note is required ({why})")
        reboot_at = self._reboot_time(action)
        outcome: str | None = None
        if action.command is None:
            pressed = self.query_one("#outcome", RadioSet).pressed_index
            outcome = OUTCOMES[pressed if pressed >= 0 else 0]
        patch_id: int | None = None
        if action.id in _PATCH_ACTIONS and self.patch_choice:
            pressed = self.query_one("#patches", RadioSet).pressed_index
            patch_id = self.detail.patches[pressed if pressed >= 0 else 0].id
        return RemediationRequest(
            exception_id=self.detail.exception.id,
            action_id=action.id,
            outcome=outcome,
            note=note,
            patch_id=patch_id,
            resolve=resolve,
            reboot_at=reboot_at,
        )

    def _reboot_time(self, action: Action) -> datetime | None:
        """The "Reboot at" time for "Schedule reboot" (refused when missing or not a time);
        None for the other actions (their form shows "no reboot time" in its place)."""
        if not self.asks_reboot_time or action.command is not RequestKind.SCHEDULE_REBOOT:
            return None
        typed = self.query_one("#reboot-at", Input).value
        if not typed.strip():
            raise Refused(
                f"reboot at: required (client time, {self.client_zone.key}): "
                "YYYY-MM-DD HH:MM or HH:MM"
            )
        try:
            return parse_reboot_time(typed, self.client_zone, services_of(self.app).clock())
        except RebootTimeError as exc:
            raise Refused(f"reboot at: {exc}") from None

    def action_save(self) -> None:
        # ctrl+s right after a burst of typing: the app sends it once the typed keys are in
        # (screens/burst.py), so the note keeps its end.
        if self.saving or not self.is_active:
            return
        try:
            request = self.request()
        except Refused as refused:
            self.show_error(str(refused))
            return
        services = services_of(self.app)
        if services.readonly:
            self.show_error("read-only: nothing can be changed from this session")
            return
        action = self.chosen
        assert action is not None
        patch = next((p.vendor_id for p in self.detail.patches if p.id == request.patch_id), None)

        def answered(write: bool | None) -> None:
            if write:
                self._write(request)
            else:
                self.show_error("not written: change what you need, then ctrl+s again")

        self.show_error("")
        line = confirm_text(action, request, patch, self.client_zone)
        self.app.push_screen(LogConfirm(line), answered)

    def _write(self, request: RemediationRequest) -> None:
        services = services_of(self.app)
        self.saving = True
        self.show_error("saving …")

        def save() -> str:
            result = ops.log_remediation(
                services.database,
                request.exception_id,
                services.operator,
                request.action_id,
                now=services.clock(),
                outcome=request.outcome,
                note=request.note,
                patch_id=request.patch_id,
                resolve=request.resolve,
                take_over=self.take_over_from is not None,
                from_owner=self.take_over_from,
                reboot_at=request.reboot_at,
            )
            return result.message

        self.run_worker(save, thread=True, exit_on_error=False, group="remediation-save")

    @on(Worker.StateChanged)
    def _saved(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "remediation-save":
            return
        if event.state is WorkerState.SUCCESS:
            self.finish(str(event.worker.result))
        elif event.state is WorkerState.ERROR:
            self.saving = False
            error = event.worker.error
            self.show_error(str(error) if isinstance(error, Refused) else f"not saved: {error!r}")

    # --- cancelling ------------------------------------------------------------------------

    def touched(self) -> bool:
        """Something was picked or typed (cancelling would lose it)."""
        return (
            self.chosen is not None
            or bool(self.query_one("#note", TextArea).text.strip())
            or self.query_one("#outcome", RadioSet).pressed_index not in (-1, 0)
            or self.query_one("#resolve", Checkbox).value
            or (self.asks_reboot_time and bool(self.query_one("#reboot-at", Input).value.strip()))
        )

    def action_cancel(self) -> None:
        if self.saving:
            self.show_error("saving … (the log is being written; esc cannot stop it)")
            return
        if not self.touched():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal("Discard this remediation? Nothing is saved."), answered)


__all__ = [
    "OUTCOMES",
    "ActionList",
    "RemediationRequest",
    "RemediationScreen",
    "confirm_text",
    "header_text",
    "reboot_time_text",
]
