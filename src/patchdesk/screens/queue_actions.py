"""What a technician does to one exception, the one definition the queue and the device
screen share: take it over when someone else owns it (``screens.ownership``), write through
``store.exception_ops`` in a worker as ``services.operator`` at ``services.clock()``, tell the
result (a refusal as "Not done") and re-read the screen; ask the engine to retry an install
or force a reboot; read the exception and open the remediation form.

A screen holds one ``ExceptionActions``: its worker groups name the screen in an error
notification, and ``after`` re-reads what the screen shows once a write is done. The screen
handles ``ActionDone`` and ``RemediationRead`` (posted to it by the workers) with
``done`` and ``show_remediation``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from patchdesk.domain import ExceptionState
from patchdesk.screens.burst import keys_wait_for
from patchdesk.screens.form_screen import push_if_in_front
from patchdesk.screens.handover import NoteModal
from patchdesk.screens.ownership import refusal_text, with_ownership
from patchdesk.screens.queue_detail import ExceptionDetailScreen
from patchdesk.screens.queue_forms import assign_form, escalate_form, reopen_form, resolve_form
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.queue_cells import STATE_LABELS
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.worker_results import ActionDone
from patchdesk.store import exception_ops as ops
from patchdesk.store.exception_views import ExceptionDetail, QueueRow, exception_detail
from patchdesk.store.handover import add_handover_note
from patchdesk.store.operator_input import Refused
from patchdesk.text import printable

READ_ONLY = "read-only session: nothing can be changed"


class ExceptionRead(Message):
    """An exception read in a worker (None: it is gone)."""

    def __init__(
        self, exception_id: int, detail: ExceptionDetail | None, take_over_from: str | None
    ) -> None:
        super().__init__()
        self.exception_id = exception_id
        self.detail = detail
        self.take_over_from = take_over_from  # agreed to before the read


class RemediationRead(ExceptionRead):
    """The exception to remediate."""


class SummaryRead(ExceptionRead):
    """The exception to show in brief."""


class ExceptionActions:
    """The actions on one exception for ``screen``; ``after`` re-reads the screen."""

    def __init__(
        self,
        screen: Screen[None],
        *,
        read_group: str,
        write_group: str,
        after: Callable[[], None],
        after_note: Callable[[], None] | None = None,
    ) -> None:
        self.screen = screen
        self.read_group = read_group
        self.write_group = write_group
        self.after = after
        self.after_note = after_note or after  # a form saved (it may have written a note)

    @property
    def services(self) -> Services:
        return services_of(self.screen.app)

    def refused_read_only(self) -> bool:
        """True (and told) when the session may not write."""
        if self.services.readonly:
            self.screen.notify(READ_ONLY, severity="warning")
            return True
        return False

    def owned(self, row: QueueRow, proceed: Callable[[str | None], None], what: str = "") -> None:
        """``proceed(from_owner)``, once taking over from another owner was agreed."""
        with_ownership(
            self.screen.app,
            exception_id=row.id,
            hostname=row.hostname,
            owner=row.owner,
            operator=self.services.operator,
            proceed=proceed,
            what=what,
        )

    # --- writes ----------------------------------------------------------------------------

    def write(self, operation: Callable[[Services], str]) -> None:
        """Run ``operation`` in a worker; its message (or its refusal) comes back as
        ``ActionDone``."""

        def run() -> None:
            try:
                message = operation(self.services)
            except Refused as refused:
                self.screen.post_message(ActionDone(refusal_text(refused), refused=True))
                return
            self.screen.post_message(ActionDone(message))

        self.screen.run_worker(run, thread=True, exit_on_error=False, group=self.write_group)

    def done(self, message: ActionDone) -> None:
        """A write's result on screen, then the screen re-read."""
        text = printable(message.message)
        if message.refused:
            self.screen.notify(text, title="Not done", severity="warning", markup=False)
        else:
            self.screen.notify(text, markup=False)
        self.after()

    def acknowledge(self, row: QueueRow) -> None:
        """Acknowledge, or take over (which acknowledges) from another owner."""
        exception_id = row.id

        def go(from_owner: str | None) -> None:
            if from_owner is None:
                self.write(
                    lambda s: (
                        ops.acknowledge(s.database, exception_id, s.operator, now=s.clock()).message
                    )
                )
            else:
                self.write(
                    lambda s: (
                        ops.take_over(
                            s.database,
                            exception_id,
                            s.operator,
                            now=s.clock(),
                            from_owner=from_owner,
                        ).message
                    )
                )

        self.owned(row, go)

    def release(self, row: QueueRow) -> None:
        """Give up one's own exception (anyone else's is told, not written)."""
        if row.owner != self.services.operator:
            owner = f"{printable(row.owner)} owns it" if row.owner else "nobody owns it"
            self.screen.notify(f"u releases your own exceptions; {owner}", markup=False)
            return
        exception_id = row.id
        self.write(
            lambda s: ops.release(s.database, exception_id, s.operator, now=s.clock()).message
        )

    def engine_action(self, exception_id: int, action_id: str, from_owner: str | None) -> None:
        """Log an engine action (``retry_install``, ``force_reboot``): the engine carries it
        out at its next step."""
        self.write(
            lambda s: (
                ops.log_remediation(
                    s.database,
                    exception_id,
                    s.operator,
                    action_id,
                    now=s.clock(),
                    take_over=from_owner is not None,
                    from_owner=from_owner,
                ).message
            )
        )

    def retry(self, row: QueueRow) -> None:
        """Retry the install now (after taking the exception over, if needed)."""
        exception_id = row.id
        self.owned(row, lambda owner: self.engine_action(exception_id, "retry_install", owner))

    def force_reboot(self, question: Text, exception_id: int, from_owner: str | None) -> None:
        """Force the reboot once ``question`` is answered yes."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.engine_action(exception_id, "force_reboot", from_owner)

        self.screen.app.push_screen(ConfirmModal(question), answered)

    # --- forms -----------------------------------------------------------------------------

    def escalate(self, row: QueueRow) -> None:
        """Escalate to a target (a person or a queue) with an optional note."""
        self.owned(row, lambda owner: self.form(escalate_form(self.services, row, owner)))

    def resolve(self, row: QueueRow) -> None:
        self.owned(row, lambda owner: self.form(resolve_form(self.services, row, owner)))

    def assign(self, row: QueueRow) -> None:
        """Hand the exception to a technician."""
        self.form(assign_form(self.services, row))

    def reopen(self, row: QueueRow) -> None:
        """Reopen a resolved exception (a note is required: why it is not fixed)."""
        if row.state is not ExceptionState.RESOLVED:
            self.screen.notify(
                f"o reopens a resolved exception; exception {row.id} is "
                f"{STATE_LABELS[row.state]} (S shows the resolved ones)",
                markup=False,
            )
            return
        self.form(reopen_form(self.services, row))

    def handover_note(self) -> None:
        """A note for the next shift (not about one exception; the queue is the handover)."""
        if self.refused_read_only():
            return
        services = self.services

        def save(text: str) -> str:
            add_handover_note(services.database, services.operator, text, now=services.clock())
            return "handover note saved"

        self.form(
            NoteModal(
                "Handover note for the next shift",
                save,
                required=True,
                hint="What is in flight, what to watch, who was called.",
            )
        )

    def form(self, modal: ModalScreen[str | None]) -> None:
        """A form that saves in its own worker: its message told, the screen re-read."""

        def done(message: str | None) -> None:
            if message:
                self.screen.notify(printable(message), markup=False)
                self.after_note()

        self.screen.app.push_screen(modal, done)

    # --- remediation -----------------------------------------------------------------------

    def remediate(self, row: QueueRow) -> None:
        """Read the exception in a worker (the keys typed meanwhile wait for its form), then
        open the remediation form."""
        exception_id = row.id

        def read(owner: str | None) -> None:
            keys_wait_for(self.screen.app, self.read(exception_id, RemediationRead, owner))

        self.owned(row, read)

    def read(
        self,
        exception_id: int,
        message: Callable[[int, ExceptionDetail | None, str | None], Message],
        take_over_from: str | None = None,
    ) -> Worker[Any]:
        """Read the exception in a worker (only the latest read counts) and post
        ``message(exception_id, detail, take_over_from)`` to the screen."""

        def run() -> None:
            with self.services.database.session() as session:
                detail = exception_detail(session, exception_id)
            self.screen.post_message(message(exception_id, detail, take_over_from))

        return self.screen.run_worker(
            run, thread=True, exclusive=True, exit_on_error=False, group=self.read_group
        )

    def summary(self, row: QueueRow) -> None:
        """The exception and its device in brief, read in a worker."""
        keys_wait_for(self.screen.app, self.read(row.id, SummaryRead))

    def show_summary(self, message: SummaryRead) -> None:
        if message.detail is None:
            self.screen.notify("that exception is gone", severity="warning")
            return
        services = self.services
        summary = ExceptionDetailScreen(message.detail, services.clock(), services.stale_after)
        # Read in a worker: by now another form (a note) may be in front; it stays there.
        push_if_in_front(self.screen, summary, what="the exception summary")

    def show_remediation(self, message: RemediationRead) -> None:
        """The remediation form, unless the exception was resolved (or is gone) meanwhile."""
        detail = message.detail
        if detail is None:
            self.screen.notify("that exception is gone", severity="warning")
            self.after()
            return
        if detail.exception.state is ExceptionState.RESOLVED:
            self.screen.notify(
                f"exception {detail.exception.id} was resolved meanwhile", severity="warning"
            )
            self.after()
            return

        def saved(result: str | None) -> None:
            if result:
                self.screen.notify(printable(result), markup=False)
                self.after()

        # Read in a worker: by now another form (a note) may be in front; it stays there.
        form = RemediationScreen(detail, take_over_from=message.take_over_from)
        push_if_in_front(self.screen, form, saved, what="the remediation form")


__all__ = ["READ_ONLY", "ExceptionActions", "RemediationRead", "SummaryRead"]
