"""The queue's marked rows and what acts on them.

``space`` marks (or unmarks) the row under the cursor and moves down; while rows are marked,
``a`` (acknowledge), ``t`` (retry the install), ``x`` (resolve, one note for all), ``e``
(escalate, one target for all) and ``A`` (assign) act on every marked row after one
confirmation naming how many (the form's title, for those that ask for a note or a name).
Each row is written on its own, as if acted on alone: its own log record (and its own
take-over record when someone else owned it: the confirmation says so), its own refusal
(someone resolved it meanwhile ...), told together in one notification. The marks are
cleared once the action ran, or with ``esc``; they are kept by exception id, so the live
refresh and the filters leave them alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.screen import ModalScreen, Screen

from patchdesk.domain import FailureClass
from patchdesk.screens.exception_forms import AssignModal, EscalateModal, form_title
from patchdesk.screens.handover import NoteModal
from patchdesk.screens.ownership import refusal_text, someone_else
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.marks import Marks, plural
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.screens.worker_results import ActionDone
from patchdesk.store import exception_ops as ops
from patchdesk.store.exception_views import QueueRow
from patchdesk.store.operator_input import Refused
from patchdesk.text import printable

BULK_KEYS = "a t x e A"
MAX_REASONS = 3  # refusals named in the notification


@dataclass(frozen=True)
class Target:
    """A marked row and the owner it is taken over from (None: nobody else owns it)."""

    row: QueueRow
    take_over_from: str | None


def targets(rows: Sequence[QueueRow], operator: str) -> list[Target]:
    return [Target(row, someone_else(row.owner, operator)) for row in rows]


def take_over_clause(chosen: Sequence[Target]) -> str:
    """`` 2 owned by bob, carol are taken over (logged).`` or ``""``."""
    owners = sorted({t.take_over_from for t in chosen if t.take_over_from is not None})
    taken = sum(1 for t in chosen if t.take_over_from is not None)
    if not taken:
        return ""
    verb = "is" if taken == 1 else "are"
    return (
        f" {taken} owned by {', '.join(printable(o) for o in owners)} {verb} taken over (logged)."
    )


@dataclass
class Outcome:
    """What acting on each marked row gave: the rows done, and each refusal's reason."""

    done: int = 0
    refused: list[str] | None = None

    def message(self, verb: str, total: int) -> str:
        refused = self.refused or []
        text = f"{verb}: {self.done} of {plural(total, 'marked exception')}"
        if refused:
            shown = "; ".join(refused[:MAX_REASONS])
            more = f"; and {len(refused) - MAX_REASONS} more" if len(refused) > MAX_REASONS else ""
            text += f"; {len(refused)} not: {shown}{more}"
        return text


def act_on_each(chosen: Sequence[Target], act: Callable[[Target], object]) -> Outcome:
    """``act`` on every target, each in its own transaction; refusals are collected."""
    outcome = Outcome(refused=[])
    for target in chosen:
        try:
            act(target)
        except Refused as refused:
            assert outcome.refused is not None
            outcome.refused.append(f"#{target.row.id}: {refusal_text(refused)}")
        else:
            outcome.done += 1
    return outcome


class QueueBulk:
    """The marks of one queue screen and the bulk actions on them; ``shown`` is called when
    the marks changed, ``after`` once a bulk form saved (the screen re-reads)."""

    def __init__(
        self, screen: Screen[None], *, shown: Callable[[], None], after: Callable[[], None]
    ) -> None:
        self.screen = screen
        self.shown = shown
        self.after = after
        self.marks: Marks[int, QueueRow] = Marks()

    @property
    def services(self) -> Services:
        return services_of(self.screen.app)

    @property
    def table(self) -> QueueTable:
        return self.screen.query_one(QueueTable)

    def __bool__(self) -> bool:
        return bool(self.marks)

    # --- marking ---------------------------------------------------------------------------

    def toggle(self, row: QueueRow) -> None:
        self.marks.toggle(row.id, row)
        self._show()

    def clear(self) -> None:
        if self.marks:
            self.marks.clear()
            self._show()

    def _show(self) -> None:
        self.table.set_marks(self.marks.keys())
        self.shown()

    def rows(self) -> list[QueueRow]:
        """The marked rows, each as the table last read it when it is on its page."""
        table = self.table
        fresh = {
            line.row.id: line.row
            for index in range(table.total)
            if (line := table.line_at(index)) is not None and line.row.id in self.marks
        }
        return [fresh.get(row.id, row) for row in self.marks.rows()]

    # --- acting ----------------------------------------------------------------------------

    def _run(self, verb: str, chosen: Sequence[Target], act: Callable[[Target], object]) -> None:
        """Clear the marks and act on each target in a worker; one notification at the end."""
        total = len(chosen)
        self.clear()

        def work() -> None:
            outcome = act_on_each(chosen, act)
            self.screen.post_message(
                ActionDone(outcome.message(verb, total), refused=bool(outcome.refused))
            )

        self.screen.run_worker(work, thread=True, exit_on_error=False, group="queue-action")

    def _confirm(
        self, question: str, verb: str, chosen: Sequence[Target], act: Callable[[Target], object]
    ) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._run(verb, chosen, act)

        self.screen.app.push_screen(ConfirmModal(Text(question)), answered)

    def acknowledge(self) -> None:
        operator = self.services.operator
        chosen = [t for t in targets(self.rows(), operator) if t.row.owner != operator]
        mine = len(self.marks) - len(chosen)
        if not chosen:
            self.screen.notify("every marked exception is already yours", severity="warning")
            return
        already = f" ({mine} already yours)" if mine else ""
        question = (
            f"Acknowledge {plural(len(chosen), 'marked exception')}{already}?"
            f"{take_over_clause(chosen)}"
        )

        def act(target: Target) -> object:
            s = self.services
            if target.take_over_from is not None:
                return ops.take_over(
                    s.database,
                    target.row.id,
                    s.operator,
                    now=s.clock(),
                    from_owner=target.take_over_from,
                )
            return ops.acknowledge(s.database, target.row.id, s.operator, now=s.clock())

        self._confirm(question, "acknowledged", chosen, act)

    def retry(self) -> None:
        rows = self.rows()
        chosen = targets(
            [row for row in rows if row.failure_class is FailureClass.INSTALL],
            self.services.operator,
        )
        if not chosen:
            self.screen.notify(
                f"t retries installs: none of the {len(rows)} marked is an install exception",
                severity="warning",
            )
            return
        others = len(rows) - len(chosen)
        left = f" ({others} not an install exception: left out)" if others else ""
        question = (
            f"Retry the install now on {plural(len(chosen), 'marked exception')}{left}?"
            f"{take_over_clause(chosen)}"
        )

        def act(target: Target) -> object:
            s = self.services
            return ops.log_remediation(
                s.database,
                target.row.id,
                s.operator,
                "retry_install",
                now=s.clock(),
                take_over=target.take_over_from is not None,
                from_owner=target.take_over_from,
            )

        self._confirm(question, "retry queued", chosen, act)

    def resolve(self) -> None:
        chosen = targets(self.rows(), self.services.operator)
        total = len(chosen)
        services = self.services

        def save(text: str) -> str:
            def act(target: Target) -> object:
                return ops.resolve(
                    services.database,
                    target.row.id,
                    services.operator,
                    text,
                    now=services.clock(),
                    take_over=target.take_over_from is not None,
                    from_owner=target.take_over_from,
                )

            return self._finish("resolved", total, act_on_each(chosen, act))

        title = self._title("Resolve", chosen)
        hint = "What fixed them? (required; the same note goes on each)"
        self._modal(NoteModal(title, save, required=True, hint=hint))

    def escalate(self) -> None:
        chosen = targets(self.rows(), self.services.operator)
        total = len(chosen)
        services = self.services

        def save(target_name: str, note: str) -> str:
            def act(target: Target) -> object:
                return ops.escalate(
                    services.database,
                    target.row.id,
                    services.operator,
                    now=services.clock(),
                    to=target_name,
                    note=note,
                    take_over=target.take_over_from is not None,
                    from_owner=target.take_over_from,
                )

            return self._finish("escalated", total, act_on_each(chosen, act))

        self._modal(EscalateModal(self._title("Escalate", chosen), save))

    def assign(self) -> None:
        rows = self.rows()
        total = len(rows)
        services = self.services

        def save(name: str, note: str) -> str:
            def act(target: Target) -> object:
                return ops.assign(
                    services.database,
                    target.row.id,
                    services.operator,
                    name,
                    now=services.clock(),
                    note=note,
                )

            chosen = [Target(row, None) for row in rows]
            return self._finish(f"assigned to {name}", total, act_on_each(chosen, act))

        self._modal(AssignModal(self._title("Assign", [Target(row, None) for row in rows]), save))

    def _title(self, verb: str, chosen: Sequence[Target]) -> Text:
        title = form_title(verb, [(t.row.id, t.row.hostname, t.row.client_id) for t in chosen])
        clause = take_over_clause(chosen)
        if clause:
            title.append(f"\n{clause.strip()}", "dim")
        return title

    @staticmethod
    def _finish(verb: str, total: int, outcome: Outcome) -> str:
        """The form's message; when nothing was done, a refusal keeps the form open."""
        message = outcome.message(verb, total)
        if outcome.done == 0:
            raise Refused(message)
        return message

    def _modal(self, modal: ModalScreen[str | None]) -> None:
        def done(message: str | None) -> None:
            if message:
                self.clear()
                self.screen.notify(printable(message), markup=False)
                self.after()

        self.screen.app.push_screen(modal, done)


__all__ = [
    "BULK_KEYS",
    "Outcome",
    "QueueBulk",
    "Target",
    "act_on_each",
    "take_over_clause",
    "targets",
]
