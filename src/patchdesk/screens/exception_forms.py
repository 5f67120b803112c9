"""The queue's small forms for one exception or the marked ones: assign (to a technician,
completed from the names seen in the remediation log) and escalate (to a target: a person or
a queue, free text, and an optional note).

Like the note modal (a ``FormScreen``): ``save(...)`` runs in a worker thread and returns
the message to show; a ``Refused`` keeps the form open with the reason. ``enter`` in a field
moves to the next and in the last one saves, as ``ctrl+s`` does anywhere; ``esc`` cancels,
asking first when something was typed. The names seen in the log are read in a worker when
the form opens; ``→`` at the end of the name accepts the completion shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from patchdesk.identity import MAX_NAME, is_shared_login, name_problem
from patchdesk.screens.form_screen import FormScreen
from patchdesk.screens.services import services_of
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store.name_views import technician_names
from patchdesk.store.operator_input import Refused
from patchdesk.text import printable

SAVE_GROUP = "exception-form-save"
NAMES_SHOWN = 8


class NamesRead(Message):
    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class ExceptionForm(FormScreen[str | None]):
    """A title, two one-line fields (who, then a note), the error line and the keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="exception_form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="exception_form.cancel"),
    ]

    DEFAULT_CSS = """
    ExceptionForm > FormFrame { width: 76; }
    ExceptionForm .form-title { text-style: bold; margin-bottom: 1; }
    ExceptionForm .label { text-style: bold; color: $text-muted; }
    ExceptionForm .hint { color: $text-muted; }
    """

    WHO_LABEL = ""
    WHO_PLACEHOLDER = ""
    NOTE_LABEL = "Note (optional)"
    KEYS = "→ completes a name   enter next / save   ctrl+s save   esc cancel"
    AUTO_FOCUS = "#form-who"

    def __init__(self, title: str | Text, save: Callable[[str, str], str]) -> None:
        super().__init__()
        self.title_text = title if isinstance(title, Text) else Text(title)
        self.save = save

    def compose_fields(self) -> ComposeResult:
        yield Static(self.title_text, classes="form-title", markup=False)
        yield Static(self.WHO_LABEL, classes="label", markup=False)
        yield Input(id="form-who", placeholder=self.WHO_PLACEHOLDER, max_length=MAX_NAME)
        yield Static("", id="form-seen", classes="hint", markup=False)
        yield Static(self.NOTE_LABEL, classes="label", markup=False)
        yield Input(id="form-note", placeholder="why (for the log)")

    def on_mount(self) -> None:
        super().on_mount()
        self._read_names()

    @work(thread=True, exit_on_error=False, group="exception-form-names")
    def _read_names(self) -> None:
        with services_of(self.app).database.session() as session:
            names = technician_names(session)
        self.post_message(NamesRead(names))

    @on(NamesRead)
    def _names_read(self, message: NamesRead) -> None:
        shared = services_of(self.app).shared_logins
        names = [name for name in message.names if not is_shared_login(name, shared)]
        if not names:
            return
        self.query_one("#form-who", Input).suggester = SuggestFromList(names, case_sensitive=False)
        shown = ", ".join(printable(name) for name in names[:NAMES_SHOWN])
        more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
        self.query_one("#form-seen", Static).update(Text(f"seen in the log: {shown}{more}"))

    @property
    def who(self) -> str:
        return self.query_one("#form-who", Input).value

    @property
    def note(self) -> str:
        return self.query_one("#form-note", Input).value

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "form-who":
            self.query_one("#form-note", Input).focus()
        else:
            self.action_save()

    def check(self) -> str | None:
        """What is wrong with the form as filled in (None: it can be saved)."""
        return None

    def action_save(self) -> None:
        # ctrl+s right after a burst of typing: the app sends it once the typed keys are in
        # (screens/burst.py).
        if self.saving or not self.is_active:
            return
        problem = self.check()
        if problem is not None:
            self._error(problem)
            return
        who, note = self.who.strip(), self.note
        self.saving = True
        self._error("saving …")
        self.run_worker(
            lambda: self.save(who, note), thread=True, exit_on_error=False, group=SAVE_GROUP
        )

    @on(Worker.StateChanged)
    def _saved(self, event: Worker.StateChanged) -> None:
        if event.worker.group != SAVE_GROUP:
            return
        if event.state is WorkerState.SUCCESS:
            self.finish(str(event.worker.result))
        elif event.state is WorkerState.ERROR:
            self.saving = False
            error = event.worker.error
            self._error(str(error) if isinstance(error, Refused) else f"not saved: {error!r}")

    def _error(self, message: str) -> None:
        self.show_error(message)

    def action_cancel(self) -> None:
        if self.saving:
            self._error("saving … (esc cannot stop it now)")
            return
        if not (self.who.strip() or self.note.strip()):
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal("Discard what you typed? Nothing is saved."), answered)


class AssignModal(ExceptionForm):
    """Assign to a technician (``save(name, note)``); not to a shared login."""

    WHO_LABEL = "Assign to (a technician)"
    WHO_PLACEHOLDER = "name, e.g. carol"

    def check(self) -> str | None:
        problem = name_problem(self.who, services_of(self.app).shared_logins)
        if problem is not None:
            return f"Assign to: {problem.replace('the operator name', 'the name')}"
        return None


class EscalateModal(ExceptionForm):
    """Escalate to a target, a person or a queue (``save(target, note)``); required."""

    WHO_LABEL = "Escalate to (a person or a queue: network team, vendor, carol …)"
    WHO_PLACEHOLDER = "required"

    def check(self) -> str | None:
        target = self.who.strip()
        if not target:
            return "Escalate to: required: a person or a queue"
        problem = name_problem(target, ())
        if problem is not None:
            return f"Escalate to: {problem.replace('the operator name', 'the target')}"
        return None


def form_title(verb: str, rows: Sequence[tuple[int, str, str]]) -> Text:
    """``Assign exception 3 · DC01 (acme)``, or ``Assign 4 marked exceptions``."""
    if len(rows) == 1:
        exception_id, hostname, client_id = rows[0]
        title = Text(f"{verb} exception {exception_id} · ")
        title.append(printable(hostname), "bold")
        title.append(f" ({printable(client_id)})")
        return title
    return Text(f"{verb} {len(rows)} marked exceptions")


__all__ = ["AssignModal", "EscalateModal", "form_title"]
