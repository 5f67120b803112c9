"""The queue screen's text beside the table: the row under the cursor in full (who and
what, the summary, the keys that apply to it, its engine command) and the header's status
line. Untrusted text goes through ``printable``; the result is shown as plain ``Text``."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from patchdesk.ages import age
from patchdesk.domain import FailureClass, Tier
from patchdesk.screens.widgets.queue_cells import ROLE_LABELS, STATE_LABELS, command_text
from patchdesk.store.exception_views import QueueRow
from patchdesk.store.handover import HandoverSummary
from patchdesk.store.queue_views import QueueLine
from patchdesk.text import printable


def current_text(line: QueueLine | None, now: datetime, operator: str) -> Text:
    """The row under the cursor in full: who and what, the summary, the engine command."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if line is None:
        text.append("no exception selected", "dim")
        return text
    row = line.row
    text.append(f"#{row.id} ", "dim")
    text.append(printable(row.hostname), "bold")
    text.append(f" · {printable(row.client_id)} ({printable(row.client_name)})")
    text.append(f" · {ROLE_LABELS[row.role]}, {row.criticality.value} · {row.failure_class.value}")
    failed = row.failed_patches or row.patches
    if failed:
        text.append(" · " + ", ".join(printable(p) for p in failed))
        if len(failed) < len(row.patches):
            text.append(f" failed (of {len(row.patches)} patches)")
    text.append(f" · {STATE_LABELS[row.state]}")
    if row.owner:
        mine = row.owner == operator
        text.append(" by ")
        text.append(printable(row.owner), "bold" if mine else "")
    text.append(f" · open {age(row.age(now))}")
    text.append("\n")
    text.append(printable(row.summary) or "-", "italic")
    text.append("\n")
    hints = row_keys(row, operator)
    if hints:
        text.append(hints, "bold")
        text.append(" │ ", "dim")
    if line.command is None:
        text.append("no engine command yet", "dim")
    else:
        text.append("engine: ", "bold")
        text.append(command_text(line.command))
    return text


def row_keys(row: QueueRow, operator: str) -> str:
    """The keys that apply to this row beyond the footer's: ``t retry now · u release``."""
    keys = []
    if row.failure_class is FailureClass.INSTALL:
        keys.append("t retry now")
    if row.failure_class is FailureClass.REBOOT:
        keys.append("b force reboot")
    if row.owner == operator:
        keys.append("u release")
    return " · ".join(keys)


def status_text(
    summary: HandoverSummary, unacknowledged: int, operator: str, *, readonly: bool
) -> Text:
    """The header's second line: who is at the keyboard and what waits for someone, in the
    table's terms: ``58 unresolved (41 open), 40 unassigned`` are the rows it lists with the
    state filter on "unresolved" (the default), on "open", and with ``U``."""
    text = Text()
    text.append("operator ", "dim")
    text.append(printable(operator), "bold")
    text.append(
        f"  ·  {summary.open_total} unresolved ({unacknowledged} open), "
        f"{summary.unassigned_total} unassigned"
    )
    first = next((tier for tier in Tier if summary.unassigned_by_tier.get(tier)), None)
    if first is not None:
        text.append(f" (tier {first.value} first)")
    if readonly:
        text.append("  ·  read-only", "bold")
    return text


__all__ = ["current_text", "row_keys", "status_text"]
