"""The approvals table: one row per patch line, client by client (the client's id on its
first line), its columns chosen for the terminal's width.

The screen hands it the lines its filters select; the table keeps them (``shown``, in
row order), keeps the cursor on the line it was on, and says which line is under it.
Untrusted text is shown as plain ``Text``, made printable.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from patchdesk.screens.approval_text import SEVERITY_SHORT, SEVERITY_STYLE, STATE_SHORT, waited
from patchdesk.screens.widgets.marks import GLYPH
from patchdesk.store.approval_views import ApprovalLine
from patchdesk.text import printable

Column = tuple[str, str, int | None]  # key, label, width (None: what is left)


def approval_columns(width: int, *, state: bool, marks: bool) -> list[tuple[str, str, int]]:
    """(key, label, width) of the columns for ``width`` cells; ``state`` adds the decision
    state (when not only the pending ones are shown), ``marks`` the marks' column."""
    columns: list[Column]
    if width >= 100:
        columns = [
            ("client", "Client", 18),
            ("patch", "Patch", None),
            ("severity", "Severity", 11),
            ("devices", "Dev", 4),
            ("why", "Why", 24),
            ("waiting", "Waiting", 7),
        ]
    else:
        columns = [
            ("client", "Client", 14),
            ("patch", "Patch", None),
            ("severity", "Sev", 4),
            ("devices", "Dev", 3),
            ("why", "Why", 16),
            ("waiting", "Wait", 6),
        ]
    if state:
        columns.insert(2, ("state", "State", 8))
    if marks:
        columns.insert(0, ("mark", "", 1))
    return fill_width(columns, width)


def fill_width(columns: Sequence[Column], width: int) -> list[tuple[str, str, int]]:
    """The column without a width takes what the others leave of ``width`` (at least 12)."""
    fixed = sum(w for _, _, w in columns if w is not None) + 2 * len(columns) + 4
    return [(k, label, w if w is not None else max(12, width - fixed)) for k, label, w in columns]


def approval_cells(
    line: ApprovalLine,
    keys: Sequence[str],
    *,
    first: bool,
    marked: bool,
    now: datetime,
    compact: bool,
) -> list[Text]:
    """The cells of ``line`` for the columns ``keys``; ``first``: the client's first line."""
    severity = SEVERITY_SHORT[line.severity] if compact else line.severity.value
    patch = Text(printable(line.patch_id), "bold")
    if line.title and line.title != line.patch_id:
        patch.append("  ")
        patch.append(printable(line.title), "dim")
    values: dict[str, Text] = {
        "client": Text(printable(line.client_id) if first else "", "bold"),
        "patch": patch,
        "state": Text(STATE_SHORT[line.state]),
        "severity": Text(severity, SEVERITY_STYLE[line.severity]),
        "devices": Text(str(line.devices), justify="right"),
        "why": Text(printable(line.why) + (f" · {printable(line.ring)}" if line.ring else "")),
        "waiting": Text(waited(line, now), justify="right"),
        "mark": Text(GLYPH if marked else "", "bold"),
    }
    for text in values.values():
        text.no_wrap = True
        text.overflow = "ellipsis"
    return [values[key] for key in keys]


class ApprovalsTable(DataTable[Text]):
    """The patch lines shown, one row each; the cursor stays on its line across updates."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.shown: list[ApprovalLine] = []  # the lines, in row order
        self.columns_for: int | None = None  # the width the columns were made for

    def current(self) -> ApprovalLine | None:
        row = self.cursor_row
        if self.shown and 0 <= row < len(self.shown):
            return self.shown[row]
        return None

    def show(
        self,
        lines: list[ApprovalLine],
        *,
        width: int,
        state: bool,
        marked: Container[str],
        now: datetime,
    ) -> None:
        """Show ``lines`` (columns for ``width``, with the state column if ``state``)."""
        columns = approval_columns(width, state=state, marks=bool(marked))
        keys = [key for key, _, _ in columns]
        current = self.current()
        if self.columns_for != width or [str(c.key.value) for c in self.columns.values()] != keys:
            self.clear(columns=True)
            for key, label, column_width in columns:
                self.add_column(label, key=key, width=column_width)
            self.columns_for = width
        else:
            self.clear()
        self.shown = lines
        previous = None
        used: set[str] = set()
        for line in lines:
            first = line.client_id != previous
            previous = line.client_id
            key = line.key
            while key in used:  # (never expected; a duplicate key would crash the table)
                key += "\x1f+"
            used.add(key)
            cells = approval_cells(
                line, keys, first=first, marked=line.key in marked, now=now, compact=width < 100
            )
            self.add_row(*cells, key=key)
        if current is not None:
            for index, line in enumerate(lines):
                if line.key == current.key:
                    self.move_cursor(row=index, animate=False)
                    break


__all__ = ["ApprovalsTable", "approval_cells", "approval_columns", "fill_width"]
