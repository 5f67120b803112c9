"""The forms the queue opens for the row under the cursor: resolve (a note), escalate (a
target and a note), assign (a technician), reopen (a note). Each saves through
``store.exception_ops`` as the operator in the form's worker; ``from_owner`` is the owner
the technician agreed to take the exception over from (None: nobody else owns it)."""

from __future__ import annotations

from rich.text import Text

from patchdesk.screens.exception_forms import AssignModal, EscalateModal, form_title
from patchdesk.screens.handover import NoteModal
from patchdesk.screens.services import Services
from patchdesk.store import exception_ops as ops
from patchdesk.store.exception_views import QueueRow
from patchdesk.text import printable


def row_title(verb: str, row: QueueRow) -> Text:
    """``Resolve exception 3 · DC01 (acme) · install``."""
    title = Text(f"{verb} exception {row.id} · ")
    title.append(printable(row.hostname), "bold")
    title.append(f" ({printable(row.client_id)}) · {row.failure_class.value}")
    return title


def resolve_form(services: Services, row: QueueRow, from_owner: str | None) -> NoteModal:
    exception_id = row.id

    def save(text: str) -> str:
        return ops.resolve(
            services.database,
            exception_id,
            services.operator,
            text,
            now=services.clock(),
            take_over=from_owner is not None,
            from_owner=from_owner,
        ).message

    hint = "What fixed it? (required)"
    return NoteModal(row_title("Resolve", row), save, required=True, hint=hint)


def escalate_form(services: Services, row: QueueRow, from_owner: str | None) -> EscalateModal:
    exception_id = row.id

    def save(target: str, note: str) -> str:
        return ops.escalate(
            services.database,
            exception_id,
            services.operator,
            now=services.clock(),
            note=note,
            to=target,
            take_over=from_owner is not None,
            from_owner=from_owner,
        ).message

    return EscalateModal(form_title("Escalate", [(row.id, row.hostname, row.client_id)]), save)


def assign_form(services: Services, row: QueueRow) -> AssignModal:
    exception_id = row.id

    def save(name: str, note: str) -> str:
        return ops.assign(
            services.database,
            exception_id,
            services.operator,
            name,
            now=services.clock(),
            note=note,
        ).message

    title = form_title("Assign", [(row.id, row.hostname, row.client_id)])
    if row.owner:
        title.append(" · owned by ")
        title.append(printable(row.owner), "bold")
    return AssignModal(title, save)


def reopen_form(services: Services, row: QueueRow) -> NoteModal:
    exception_id = row.id

    def save(text: str) -> str:
        return ops.reopen(
            services.database, exception_id, services.operator, text, now=services.clock()
        ).message

    hint = "Why is it not fixed? (required)"
    return NoteModal(row_title("Reopen", row), save, required=True, hint=hint)


__all__ = ["assign_form", "escalate_form", "reopen_form", "resolve_form", "row_title"]
