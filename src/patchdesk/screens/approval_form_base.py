"""What the approvals' forms share: the modal (``ApprovalForm``), checking what was typed
(``FormError``, each problem naming its field), and saving it (``Saver``).

Every form is a modal (``FormScreen``): focus opens on the first field to fill, text typed
at a control (the block's scope, the emergency's devices) goes into the reason, ``ctrl+s``
saves, ``esc`` cancels (asking first when something was typed or changed). What was typed
is checked on the spot (a blank reason, a date that does not parse or is not in the
future, no device chosen), each problem naming its field; then
the write runs in a worker through the same store functions as ``patchdesk approvals``
(``store.approval_ops.record_decision``) and ``store.blocklist``, as ``Services.operator`` at
``Services.clock()``, in one transaction: a refusal from the store keeps the form open with
its reasons and writes nothing. A form whose ``Saver`` carries a question asks it (y/n)
before the write. Untrusted text (titles, hostnames, reasons) is shown as plain ``Text``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, RadioSet, Static
from textual.worker import Worker, WorkerState

from patchdesk.screens.form_screen import FormScreen
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store.approval_ops import DecisionError
from patchdesk.store.operator_input import Refused

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


def reason_of(form: ApprovalForm, *, required: bool, why: str = "say why, for the log") -> str:
    """The reason typed, or ``FormError`` when it is required and blank."""
    reason = form.value("reason")
    if required and not reason.strip():
        raise FormError([f"Reason: required: {why}"])
    return reason


BLOCK_SCOPES = ("client", "global")


def block_scope(form: ApprovalForm) -> str:
    """The scope chosen in a block form's ``#scope`` radio set: ``client`` or ``global``."""
    pressed = form.query_one("#scope", RadioSet).pressed_index
    return BLOCK_SCOPES[pressed if pressed >= 0 else 0]


__all__ = [
    "BLOCK_SCOPES",
    "ApprovalForm",
    "FormError",
    "Saver",
    "block_scope",
    "field_problem",
    "reason_of",
]
