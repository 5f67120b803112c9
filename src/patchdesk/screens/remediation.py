"""The remediation form: one action of the exception's response path, an outcome, a note.

The class's response path (DESIGN's table, ``engine.classify.RESPONSE_PATHS``) is listed
with numbers; a number key picks the action (arrows and ``enter`` work too). Actions the
engine carries out (retry, reboot, roll back, block, wake) queue their command: their outcome
is "queued" until the engine reports. ``ctrl+s`` saves through
``exception_ops.log_remediation`` as the operator, at the services' clock, in a worker;
``esc`` cancels, asking first when something was picked or typed. The form stays open with
the reason when the store refuses (someone else resolved it, a block without a reason ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, OptionList, RadioButton, RadioSet, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from patchdesk.engine.classify import RESPONSE_PATHS, Action
from patchdesk.screens.services import services_of
from patchdesk.screens.widgets.queue_cells import ROLE_LABELS
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store import exception_ops as ops
from patchdesk.store.exception_views import ExceptionDetail
from patchdesk.store.operator_input import Refused
from patchdesk.text import printable, printable_multiline

OUTCOMES = ("done", "partly done", "failed", "no answer")
ENGINE_OUTCOME = "queued"
_PATCH_ACTIONS = frozenset({"rollback_patch", "block_patch_client", "block_patch_global"})
_NOTE_REQUIRED = frozenset({"block_patch_client", "block_patch_global"})


@dataclass(frozen=True)
class RemediationRequest:
    """What the form saves (``patch_id`` only for an action on one of several patches)."""

    exception_id: int
    action_id: str
    outcome: str | None
    note: str
    patch_id: int | None
    resolve: bool


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


class RemediationScreen(ModalScreen[str | None]):
    """Log a remediation for ``detail``'s exception; dismisses with the store's message."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="remediation.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="remediation.cancel"),
        *(
            Binding(str(n), f"pick({n})", f"Action {n}", show=False, id=f"remediation.pick{n}")
            for n in range(1, 10)
        ),
    ]

    DEFAULT_CSS = """
    RemediationScreen { align: center middle; }
    RemediationScreen > VerticalScroll {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    RemediationScreen #remediation-header { margin-bottom: 1; }
    RemediationScreen .label { text-style: bold; color: $text-muted; margin-top: 1; }
    RemediationScreen OptionList { height: auto; max-height: 7; }
    RemediationScreen RadioSet { height: auto; width: auto; }
    RemediationScreen RadioSet > RadioButton { margin-right: 1; }
    RemediationScreen #outcomes RadioSet { layout: horizontal; }
    RemediationScreen #outcomes { height: auto; }
    RemediationScreen #patch-row { height: auto; }
    RemediationScreen TextArea { height: 6; }
    RemediationScreen #remediation-error { color: $error; height: auto; }
    RemediationScreen .keys { color: $text-muted; }
    """

    def __init__(self, detail: ExceptionDetail, *, take_over_from: str | None = None) -> None:
        super().__init__()
        self.detail = detail
        self.take_over_from = take_over_from  # agreed to take it over from this owner
        self.actions: tuple[Action, ...] = RESPONSE_PATHS[detail.exception.failure_class]
        self.chosen: Action | None = None
        self._saving = False

    # --- the form --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(header_text(self.detail), id="remediation-header", markup=False)
            yield Static("Action (press its number)", classes="label", markup=False)
            yield OptionList(
                *(
                    Option(self._action_prompt(n, a), id=a.id)
                    for n, a in enumerate(self.actions, 1)
                ),
                id="actions",
            )
            yield Static("Outcome", classes="label", markup=False)
            with Horizontal(id="outcomes"), RadioSet(id="outcome"):
                for n, outcome in enumerate(OUTCOMES):
                    yield RadioButton(Text(outcome), value=n == 0, id=f"outcome-{n}")
            yield Static("", id="engine-outcome", markup=False)
            with Vertical(id="patch-row"):
                yield Static("Patch", classes="label", markup=False)
                with RadioSet(id="patches"):
                    for n, patch in enumerate(self.detail.patches):
                        yield RadioButton(
                            Text(printable(patch.vendor_id)), value=n == 0, id=f"patch-{patch.id}"
                        )
            yield Static("Note", classes="label", markup=False)
            yield TextArea(id="note", soft_wrap=True)
            yield Checkbox(Text("Resolve it as well (the note says what fixed it)"), id="resolve")
            yield Static("", id="remediation-error", markup=False)
            yield Static(
                "1-9 pick action   tab next field   ctrl+s save   esc cancel",
                classes="keys",
                markup=False,
            )

    def _action_prompt(self, number: int, action: Action) -> Text:
        text = Text(f"{number}  ")
        text.append(action.label)
        if action.command is not None:
            text.append("   engine: queues a command", "dim")
        return text

    def on_mount(self) -> None:
        self.query_one("#patch-row").display = False
        self.query_one("#engine-outcome").display = False
        self.query_one("#actions", OptionList).focus()

    # --- picking ---------------------------------------------------------------------------

    def action_pick(self, number: int) -> None:
        if 1 <= number <= len(self.actions):
            self.query_one("#actions", OptionList).highlighted = number - 1
            self._choose(self.actions[number - 1])

    @on(OptionList.OptionSelected, "#actions")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(self.actions[event.option_index])

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
        engine = action.command is not None
        self.query_one("#outcomes").display = not engine
        note = self.query_one("#engine-outcome", Static)
        note.display = engine
        note.update(f"{ENGINE_OUTCOME}: the engine runs it and the queue shows its result")
        self.query_one("#patch-row").display = (
            action.id in _PATCH_ACTIONS and len(self.detail.patches) > 1
        )
        resolve = self.query_one("#resolve", Checkbox)
        resolve.disabled = engine
        if engine:
            resolve.value = False
        self._error("")

    # --- saving ----------------------------------------------------------------------------

    def request(self) -> RemediationRequest:
        """The form's values; raises ``Refused`` when they cannot be saved as they are."""
        action = self.chosen
        if action is None:
            raise Refused("pick an action first: press its number")
        note = self.query_one("#note", TextArea).text
        resolve = self.query_one("#resolve", Checkbox).value
        if (action.id in _NOTE_REQUIRED or resolve) and not note.strip():
            why = "it is the block's reason" if action.id in _NOTE_REQUIRED else "for resolve"
            raise Refused(f"a note is required ({why})")
        outcome: str | None = None
        if action.command is None:
            pressed = self.query_one("#outcome", RadioSet).pressed_index
            outcome = OUTCOMES[pressed if pressed >= 0 else 0]
        patch_id: int | None = None
        if action.id in _PATCH_ACTIONS and len(self.detail.patches) > 1:
            pressed = self.query_one("#patches", RadioSet).pressed_index
            patch_id = self.detail.patches[pressed if pressed >= 0 else 0].id
        return RemediationRequest(
            exception_id=self.detail.exception.id,
            action_id=action.id,
            outcome=outcome,
            note=note,
            patch_id=patch_id,
            resolve=resolve,
        )

    def action_save(self) -> None:
        # ctrl+s is a priority binding: it runs ahead of keys still queued for the focused
        # field (a paste, or fast typing over SSH, followed at once by ctrl+s). Save once
        # those keys are in, or the note loses its end.
        (self.focused or self).call_later(self._save)

    def _save(self) -> None:
        if self._saving:
            return
        try:
            request = self.request()
        except Refused as refused:
            self._error(str(refused))
            return
        services = services_of(self.app)
        if services.readonly:
            self._error("read-only: nothing can be changed from this session")
            return
        self._saving = True
        self._error("saving …")

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
            )
            return result.message

        self.run_worker(save, thread=True, exit_on_error=False, group="remediation-save")

    @on(Worker.StateChanged)
    def _saved(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "remediation-save":
            return
        if event.state is WorkerState.SUCCESS:
            self.dismiss(str(event.worker.result))
        elif event.state is WorkerState.ERROR:
            self._saving = False
            error = event.worker.error
            self._error(str(error) if isinstance(error, Refused) else f"not saved: {error!r}")

    def _error(self, message: str) -> None:
        self.query_one("#remediation-error", Static).update(Text(printable_multiline(message)))

    # --- cancelling ------------------------------------------------------------------------

    def touched(self) -> bool:
        """Something was picked or typed (cancelling would lose it)."""
        return (
            self.chosen is not None
            or bool(self.query_one("#note", TextArea).text.strip())
            or self.query_one("#outcome", RadioSet).pressed_index not in (-1, 0)
            or self.query_one("#resolve", Checkbox).value
        )

    def action_cancel(self) -> None:
        if not self.touched():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal("Discard this remediation? Nothing is saved."), answered)


__all__ = ["OUTCOMES", "RemediationRequest", "RemediationScreen", "header_text"]
