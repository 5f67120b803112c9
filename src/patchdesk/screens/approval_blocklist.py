"""The global block list: the patches blocked for every client, one row each (who blocked
it, since when, how many devices report it missing, the reason), and the entry under the
cursor in full.

The approvals screen shows it instead of its approvals table while ``g`` is on (its own
keys there: ``n`` adds an entry, ``x`` removes one; ``screens.approval_blocklist_forms``).
The table keeps the entries shown (``shown``, in row order), keeps the cursor on its entry,
and moves it to an entry just added once a read lists it. Untrusted text is shown as plain
``Text``, made printable.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from patchdesk.screens.approval_table import Column, fill_width
from patchdesk.store.approval_views import BlockLine
from patchdesk.text import printable


def block_columns(width: int) -> list[tuple[str, str, int]]:
    """(key, label, width) of the block list's columns for ``width`` cells."""
    columns: list[Column]
    if width >= 100:
        columns = [
            ("patch", "Patch", 24),
            ("by", "Blocked by", 12),
            ("since", "Since", 10),
            ("missing", "Missing", 7),
            ("reason", "Reason", None),
        ]
    else:
        columns = [
            ("patch", "Patch", 18),
            ("by", "By", 10),
            ("missing", "Miss", 4),
            ("reason", "Reason", None),
        ]
    return fill_width(columns, width)


def block_cells(block: BlockLine, keys: list[str]) -> list[Text]:
    values = {
        "patch": Text(printable(block.patch_id), "bold"),
        "by": Text(printable(block.blocked_by)),
        "since": Text(f"{block.blocked_at:%Y-%m-%d}"),
        "missing": Text(str(block.devices_missing), justify="right"),
        "reason": Text(printable(block.reason)),
    }
    for text in values.values():
        text.no_wrap = True
        text.overflow = "ellipsis"
    return [values[key] for key in keys]


def block_text(line: BlockLine | None) -> Text:
    """The entry under the cursor in full: who blocked it when, how many devices miss it,
    its title, the reason."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if line is None:
        text.append("the global block list is empty: n adds a patch", "dim")
        return text
    text.append(printable(line.patch_id), "bold")
    text.append(" · blocked by ")
    text.append(printable(line.blocked_by), "bold")
    text.append(f" on {line.blocked_at:%Y-%m-%d %H:%M} UTC")
    missing = line.devices_missing
    verb = "device reports" if missing == 1 else "devices report"
    text.append(f" · {missing} {verb} it missing")
    text.append("\n")
    if line.title is None:
        text.append("no device has reported this patch yet", "dim")
    else:
        text.append(printable(line.title), "italic")
    text.append("\n")
    text.append("reason: ", "bold")
    text.append(printable(line.reason))
    return text


class BlockListTable(DataTable[Text]):
    """The block-list entries shown, one row each, keyed by patch id."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.shown: list[BlockLine] = []  # the entries, in row order
        self.columns_for: int | None = None  # the width the columns were made for
        self.select_next: str | None = None  # an entry just added: the cursor goes to it

    def current(self) -> BlockLine | None:
        row = self.cursor_row
        if self.shown and 0 <= row < len(self.shown):
            return self.shown[row]
        return None

    def show(self, blocks: list[BlockLine], *, width: int) -> None:
        """Show ``blocks`` (columns for ``width``); the cursor stays on its entry, or goes
        to the entry just added once it is listed."""
        current = self.current()
        columns = block_columns(width)
        keys = [key for key, _, _ in columns]
        if [str(c.key.value) for c in self.columns.values()] != keys or self.columns_for != width:
            self.clear(columns=True)
            for key, label, column_width in columns:
                self.add_column(label, key=key, width=column_width)
            self.columns_for = width
        else:
            self.clear()
        self.shown = blocks
        for block in blocks:
            self.add_row(*block_cells(block, keys), key=block.patch_id)
        wanted = self.select_next or (current.patch_id if current is not None else None)
        for index, block in enumerate(blocks):
            if block.patch_id == wanted:
                self.move_cursor(row=index, animate=False)
                if block.patch_id == self.select_next:
                    self.select_next = None
                break


__all__ = ["BlockListTable", "block_cells", "block_columns", "block_text"]
