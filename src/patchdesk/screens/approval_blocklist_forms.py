"""The global block list's forms: add a patch id (for every client, over every approval
and emergency) and remove one (the clients' rules and decisions apply to it again), each
with a reason, through ``store.blocklist`` as the operator, in one transaction."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Static

from patchdesk.screens.approval_form_base import ApprovalForm, FormError, Saver, reason_of
from patchdesk.store.approval_views import BlockLine
from patchdesk.store.blocklist import add_to_blocklist, remove_from_blocklist
from patchdesk.text import printable


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
        reason = reason_of(self, required=True, why="say why the block is lifted, for the log")
        services = self.services
        patch_id = self.line.patch_id

        def remove() -> str:
            with services.database.writer() as session:
                change = remove_from_blocklist(
                    session, patch_id, reason, services.operator, now=services.clock()
                )
            return change.note

        return Saver(remove)


__all__ = ["BlocklistAddForm", "BlocklistRemoveForm"]
