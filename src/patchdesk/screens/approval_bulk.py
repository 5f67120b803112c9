"""Decisions on the marked lines of the approvals list: approve, block, defer.

``space`` marks lines; while some are marked, ``a``, ``b`` and ``d`` open these forms
instead of the single-line ones. A form's title names how many patches it decides (one per
client and patch: the lines of a patch's rings are one decision), and saving it is the one
confirmation. Each patch gets its own decision and its own record in the remediation log,
all in one transaction: a problem with any of them (named by client and patch) writes none
and keeps the form open. A defer date is 00:00 in each client's own time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, RadioButton, RadioSet, Static

from patchdesk.domain import ApprovalDecisionKind
from patchdesk.rules.approval import until_from_text
from patchdesk.screens.approval_form_base import (
    ApprovalForm,
    FormError,
    Saver,
    block_scope,
    reason_of,
)
from patchdesk.screens.services import Services
from patchdesk.screens.widgets.queue_cells import clip
from patchdesk.screens.widgets.timetext import zone_label, zone_of
from patchdesk.store.approval_ops import DecisionError, DecisionRequest, record_decision
from patchdesk.store.approval_views import ApprovalLine
from patchdesk.store.blocklist import add_to_blocklist, blocklist_entry
from patchdesk.store.db import Session
from patchdesk.text import printable

LINES_SHOWN = 6
TITLE_SHOWN = 36  # characters of a patch's title in the form's header


def patches(count: int, adjective: str = "") -> str:
    return f"{count} {adjective}{'patch' if count == 1 else 'patches'}"


def decisions(lines: Sequence[ApprovalLine]) -> list[ApprovalLine]:
    """One line per client and patch (a patch's ring lines are one decision), in order."""
    seen: dict[tuple[str, str], ApprovalLine] = {}
    for line in lines:
        seen.setdefault((line.client_id, line.patch_id), line)
    return list(seen.values())


def bulk_header(verb: str, lines: Sequence[ApprovalLine]) -> Text:
    """``Approve 3 marked patches`` and the first few ``client  patch  title`` lines."""
    text = Text(f"{verb} {patches(len(lines), 'marked ')}", "bold")
    text.append("  (each its own decision in the log)", "dim")
    for line in lines[:LINES_SHOWN]:
        text.append("\n")
        text.append(printable(line.client_id), "bold")
        text.append("  ")
        text.append(printable(line.patch_id))
        if line.title and line.title != line.patch_id:
            text.append(f"  {clip(printable(line.title), TITLE_SHOWN)}", "dim")
    if len(lines) > LINES_SHOWN:
        text.append(f"\nand {len(lines) - LINES_SHOWN} more", "dim")
    return text


def record_all(
    services: Services,
    lines: Sequence[ApprovalLine],
    request_for: Callable[[ApprovalLine], DecisionRequest],
    verb: str,
) -> str:
    """Each line's decision, all in one transaction (a ``DecisionError`` names the line)."""
    now = services.clock()
    with services.database.writer() as session:
        for line in lines:
            _decide(session, line, request_for(line), now)
    return f"{verb} {patches(len(lines))}: each decision is in the log"


def _decide(session: Session, line: ApprovalLine, request: DecisionRequest, now: datetime) -> None:
    try:
        record_decision(session, request, now=now)
    except DecisionError as error:
        where = f"{line.client_id} {line.patch_id}"
        raise DecisionError([f"{where}: {problem}" for problem in error.problems]) from None


class BulkApproveForm(ApprovalForm):
    def __init__(self, lines: Sequence[ApprovalLine]) -> None:
        self.lines = decisions(lines)
        super().__init__(bulk_header("Approve", self.lines))

    def fields(self) -> ComposeResult:
        yield Static("Reason (optional, the same for each)", classes="label", markup=False)
        yield Input(id="reason", placeholder="e.g. tested on the pilot machines")

    def prepare(self) -> Saver:
        reason = reason_of(self, required=False)
        services = self.services

        def request(line: ApprovalLine) -> DecisionRequest:
            kind = ApprovalDecisionKind.APPROVE
            return DecisionRequest(line.client_id, line.patch_id, kind, services.operator, reason)

        return Saver(lambda: record_all(services, self.lines, request, "approved"))


class BulkBlockForm(ApprovalForm):
    def __init__(self, lines: Sequence[ApprovalLine]) -> None:
        self.lines = decisions(lines)
        super().__init__(bulk_header("Block", self.lines))

    def fields(self) -> ComposeResult:
        yield Static("Block them for", classes="label", markup=False)
        with RadioSet(id="scope"):
            yield RadioButton(Text("each line's client only"), value=True, id="scope-client")
            yield RadioButton(
                Text("every client: add them to the global block list"), id="scope-global"
            )
        yield Static("Reason (required, the same for each)", classes="label", markup=False)
        yield Input(id="reason", placeholder="e.g. breaks the kiosk printers (vendor case 1234)")

    @property
    def scope(self) -> str:
        return block_scope(self)

    def touched(self) -> bool:
        return super().touched() or self.scope != "client"

    def prepare(self) -> Saver:
        reason = reason_of(self, required=True)
        services = self.services
        if self.scope == "global":
            patch_ids = list(dict.fromkeys(line.patch_id for line in self.lines))

            def add() -> str:
                now = services.clock()
                added = 0
                with services.database.writer() as session:
                    for patch_id in patch_ids:
                        if blocklist_entry(session, patch_id) is None:
                            add_to_blocklist(session, patch_id, reason, services.operator, now=now)
                            added += 1
                listed = len(patch_ids) - added
                already = f" ({listed} already listed)" if listed else ""
                return f"added {patches(added)} to the global block list{already}"

            return Saver(add)

        def request(line: ApprovalLine) -> DecisionRequest:
            kind = ApprovalDecisionKind.BLOCK
            return DecisionRequest(line.client_id, line.patch_id, kind, services.operator, reason)

        return Saver(lambda: record_all(services, self.lines, request, "blocked"))


class BulkDeferForm(ApprovalForm):
    def __init__(self, lines: Sequence[ApprovalLine]) -> None:
        self.lines = decisions(lines)
        super().__init__(bulk_header("Defer", self.lines))

    def fields(self) -> ComposeResult:
        yield Static(
            "Until (required): a date, YYYY-MM-DD, from 00:00 in each client's own time zone; "
            "or an ISO time with its UTC offset",
            classes="label",
            markup=False,
        )
        yield Input(id="until", placeholder="e.g. 2026-12-04")
        yield Static("Reason (optional, the same for each)", classes="label", markup=False)
        yield Input(id="reason", placeholder="e.g. wait for the vendor's re-release")

    def prepare(self) -> Saver:
        services = self.services
        now = services.clock()
        text = self.value("until").strip()
        if not text:
            raise FormError(["Until: required: the date the patches may go (YYYY-MM-DD)"])
        until: dict[str, datetime] = {}
        problems: list[str] = []
        for line in self.lines:
            zone = zone_of(line.zone)
            try:
                when = until_from_text(text, zone)
            except ValueError as exc:
                raise FormError([f"Until: {exc}"]) from None
            if when <= now:
                local = when.astimezone(zone)
                problems.append(
                    f"Until: {local:%Y-%m-%d %H:%M} {zone_label(when, zone)} ({zone.key}, "
                    f"{line.client_id}) is not in the future"
                )
            until[line.client_id] = when
        if problems:
            raise FormError(sorted(set(problems)))
        reason = reason_of(self, required=False)

        def request(line: ApprovalLine) -> DecisionRequest:
            kind = ApprovalDecisionKind.DEFER
            return DecisionRequest(
                line.client_id,
                line.patch_id,
                kind,
                services.operator,
                reason,
                until[line.client_id],
            )

        return Saver(lambda: record_all(services, self.lines, request, "deferred"))


__all__ = ["BulkApproveForm", "BulkBlockForm", "BulkDeferForm", "bulk_header", "decisions"]
