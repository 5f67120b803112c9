"""What the technician asked the approvals screen to show (``ApprovalsView``: a decision
state, a client, a text, the approvals or the global block list), the order ``S`` cycles
the states in, and the filter bar that says it all in one line."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from patchdesk.rules.approval import StateFilter
from patchdesk.store.approval_views import ApprovalLine, BlockLine
from patchdesk.text import printable

STATE_CYCLE: tuple[StateFilter | None, ...] = (
    StateFilter.PENDING,
    StateFilter.WAITING,
    StateFilter.APPROVED,
    StateFilter.DEFERRED,
    StateFilter.BLOCKED,
    None,
)
STATE_WORDS = {
    StateFilter.PENDING: "awaiting approval",
    StateFilter.WAITING: "waiting for a ring",
    StateFilter.APPROVED: "approved",
    StateFilter.DEFERRED: "deferred",
    StateFilter.BLOCKED: "blocked",
    None: "all states",
}


@dataclass(frozen=True)
class ApprovalsView:
    """What the technician asked to see."""

    state: StateFilter | None = StateFilter.PENDING
    client: str | None = None
    search: str = ""
    blocklist: bool = False

    def shows(self, line: ApprovalLine) -> bool:
        if self.client is not None and line.client_id != self.client:
            return False
        if not self.search:
            return True
        needle = self.search.casefold()
        haystack = (
            line.client_id,
            line.client_name,
            line.patch_id,
            line.title,
            line.product,
            line.why,
            *line.hostnames,
        )
        return any(needle in value.casefold() for value in haystack)

    def shows_block(self, line: BlockLine) -> bool:
        if not self.search:
            return True
        needle = self.search.casefold()
        values = (line.patch_id, line.reason, line.blocked_by, line.title or "")
        return any(needle in value.casefold() for value in values)


def filter_bar_text(
    view: ApprovalsView, shown: int | None, *, blocks: int | None, compact: bool
) -> Text:
    """``6 patches awaiting approval  S pending  C client all  / text  g block list (1)``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if view.blocklist:
        if shown is None:
            text.append("reading …", "dim")
        else:
            text.append(f"global block list: {shown} entr{'y' if shown == 1 else 'ies'}", "bold")
    elif shown is None:
        text.append("reading …", "dim")
    else:
        noun = "line" if shown == 1 else "lines"
        text.append(f"{shown} {noun} {STATE_WORDS[view.state]}", "bold")

    def part(key: str, word: str, value: str, active: bool) -> None:
        label = value if compact and value else f"{word} {value}".strip()
        text.append("  ")
        text.append(f" {key} " if active else key, "reverse bold" if active else "bold")
        if label:
            text.append(f" {label}", "bold" if active else "dim")

    if not view.blocklist:
        state = view.state.value if view.state else "all"
        part("S", "state", state, view.state is not StateFilter.PENDING)
        client = printable(view.client) if view.client else "all"
        part("C", "client", client, view.client is not None)
    search = f"“{printable(view.search)}”" if view.search else ("" if compact else "text")
    part("/", "", search, bool(view.search))
    if view.blocklist:
        part("g", "", "approvals", False)
    else:
        count = "" if blocks is None else f" ({blocks})"
        part("g", "", f"block list{count}", False)
    return text


__all__ = ["STATE_CYCLE", "STATE_WORDS", "ApprovalsView", "filter_bar_text"]
