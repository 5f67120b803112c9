"""What the approvals screen writes about a patch line: the short words of its table
cells, the line under the cursor in full, and the status line's counts. Untrusted text
(ids, titles, hostnames, reasons) is made printable and shown as plain ``Text``."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from patchdesk.domain import Severity
from patchdesk.rules.approval import ApprovalState
from patchdesk.screens.services import Services
from patchdesk.screens.widgets.timetext import duration
from patchdesk.store.approval_views import ApprovalLine, ApprovalsRead
from patchdesk.text import printable

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.IMPORTANT: "yellow",
    Severity.MODERATE: "",
    Severity.LOW: "dim",
    Severity.UNSPECIFIED: "dim",
}
SEVERITY_SHORT = {
    Severity.CRITICAL: "crit",
    Severity.IMPORTANT: "imp",
    Severity.MODERATE: "mod",
    Severity.LOW: "low",
    Severity.UNSPECIFIED: "-",
}
STATE_SHORT = {
    ApprovalState.PENDING_MANUAL: "pending",
    ApprovalState.NOT_YET: "not yet",
    ApprovalState.APPROVED: "approved",
    ApprovalState.DEFERRED: "deferred",
    ApprovalState.BLOCKED: "blocked",
}


def waited(line: ApprovalLine, now: datetime) -> str:
    return "-" if line.waiting_since is None else duration(now - line.waiting_since)


def line_text(line: ApprovalLine | None, now: datetime) -> Text:
    """The line under the cursor in full: client, patch, decision and why, devices."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if line is None:
        text.append("no patch selected", "dim")
        return text
    text.append(printable(line.client_id), "bold")
    if line.client_name:
        text.append(f" ({printable(line.client_name)})")
    text.append(f" · {printable(line.zone)} · ")
    text.append(printable(line.patch_id), "bold")
    text.append(f" · {line.severity.value} {line.classification.value}")
    if line.product:
        text.append(f" · {printable(line.product)}")
    text.append(f" · released {line.release_date.isoformat()}")
    if line.waiting_since is not None:
        text.append(f" · missing for {duration(now - line.waiting_since)}")
    text.append("\n")
    text.append(printable(line.title), "italic")
    text.append("\n")
    text.append(f"{line.state.value}", "bold")
    if line.ring:
        text.append(f" (ring {printable(line.ring)})")
    text.append(f": {printable(line.reason)}")
    text.append("\n")
    count = line.devices
    text.append(f"{count} device{'' if count == 1 else 's'}: ", "bold")
    text.append(", ".join(printable(h) for h in line.hostnames))
    return text


def pending_summary(read: ApprovalsRead) -> tuple[int, int]:
    """(patches, clients) waiting for a technician among ``read``'s lines."""
    pending = [line for line in read.lines if line.state is ApprovalState.PENDING_MANUAL]
    return len({(line.client_id, line.patch_id) for line in pending}), len(
        {line.client_id for line in pending}
    )


def status_text(pending: tuple[int, int] | None, blocks: int | None, services: Services) -> Text:
    """``operator alice · 6 patches awaiting approval in 1 client · global block list 1``."""
    text = Text()
    text.append("operator ", "dim")
    text.append(printable(services.operator), "bold")
    if pending is not None:
        patches, clients = pending
        text.append(
            f"  ·  {patches} patch{'' if patches == 1 else 'es'} awaiting approval"
            f" in {clients} client{'' if clients == 1 else 's'}"
        )
    if blocks is not None:
        text.append(f"  ·  global block list {blocks}")
    if services.readonly:
        text.append("  ·  read-only", "bold")
    return text


__all__ = [
    "SEVERITY_SHORT",
    "SEVERITY_STYLE",
    "STATE_SHORT",
    "line_text",
    "pending_summary",
    "status_text",
    "waited",
]
