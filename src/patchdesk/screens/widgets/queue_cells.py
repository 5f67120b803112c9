"""The queue's columns and cell text: which columns fit a width, and each cell as plain text.

Pure functions over ``QueueLine`` values (no Textual), so the layout is easy to test. Every
piece of untrusted text goes through ``printable`` here; the table draws the result as
plain segments (never markup).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from patchdesk.ages import age
from patchdesk.domain import ExceptionState, Role
from patchdesk.store.queue_views import QueueLine, RequestBrief
from patchdesk.text import printable

ROLE_LABELS = {
    Role.SERVER: "server",
    Role.SHARED_WORKSTATION: "shared",
    Role.SINGLE_USER: "user",
}
STATE_LABELS = {
    ExceptionState.OPEN: "open",
    ExceptionState.ACKNOWLEDGED: "acknowledged",
    ExceptionState.IN_PROGRESS: "in progress",
    ExceptionState.ESCALATED: "escalated",
    ExceptionState.RESOLVED: "resolved",
}
SHORT_STATE_LABELS = {
    ExceptionState.OPEN: "open",
    ExceptionState.ACKNOWLEDGED: "ack'd",
    ExceptionState.IN_PROGRESS: "working",
    ExceptionState.ESCALATED: "escal.",
    ExceptionState.RESOLVED: "resolved",
}


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis when it does not fit."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…" if width > 1 else text[:1]


def clip_keeping_count(text: str, width: int) -> str:
    """Like ``clip``, but a trailing `` +N`` (how many more) stays whole: the first item is
    cut instead (``Google Ch… +1``)."""
    if len(text) <= width:
        return text
    head, sep, count = text.rpartition(" +")
    if not sep or not count.isdigit() or len(count) + 3 > width:
        return clip(text, width)
    tail = f" +{count}"
    return clip(head, width - len(tail)) + tail


def patches_cell(patches: tuple[str, ...]) -> str:
    """The first patch and how many more (``KB5044281 +2``), ``-`` for none."""
    if not patches:
        return "-"
    first = printable(patches[0])
    return first if len(patches) == 1 else f"{first} +{len(patches) - 1}"


def command_text(command: RequestBrief | None) -> str:
    """``retry_install done: install retried now (attempt 2)``, or "" without a command."""
    if command is None:
        return ""
    head = f"{command.kind.value} {command.state.value}"
    result = printable(command.result).strip()
    return f"{head}: {result}" if result else head


def last_action_cell(line: QueueLine) -> str:
    return printable(line.row.last_action or "") or "-"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int  # 0: takes the width left over (at least ``min_width``)
    cell: Callable[[QueueLine, datetime], str]
    right: bool = False
    min_width: int = 0
    narrowest: int = 0  # in the narrowest layout, how far it may narrow (0: never)
    fit: Callable[[str, int], str] = clip  # how a cell too long for the column is cut


def _id(line: QueueLine, now: datetime) -> str:
    return str(line.row.id)


def _tier(line: QueueLine, now: datetime) -> str:
    return line.row.tier.value


def _client(line: QueueLine, now: datetime) -> str:
    return printable(line.row.client_id)


def _device(line: QueueLine, now: datetime) -> str:
    return printable(line.row.hostname)


def _role(line: QueueLine, now: datetime) -> str:
    return ROLE_LABELS[line.row.role]


def _class(line: QueueLine, now: datetime) -> str:
    return line.row.failure_class.value


def _patches(line: QueueLine, now: datetime) -> str:
    """The patches that failed (not the first of the deployment's)."""
    return patches_cell(line.row.failed_patches or line.row.patches)


def _age(line: QueueLine, now: datetime) -> str:
    return age(line.row.age(now))


def _owner(line: QueueLine, now: datetime) -> str:
    return printable(line.row.owner) if line.row.owner else "-"


def _state(line: QueueLine, now: datetime) -> str:
    return STATE_LABELS[line.row.state]


def _short_state(line: QueueLine, now: datetime) -> str:
    return SHORT_STATE_LABELS[line.row.state]


def _last(line: QueueLine, now: datetime) -> str:
    return last_action_cell(line)


WIDE: tuple[Column, ...] = (
    Column("id", "ID", 6, _id, right=True),
    Column("tier", "T", 1, _tier),
    Column("client", "CLIENT", 14, _client),
    Column("device", "DEVICE", 18, _device),
    Column("role", "ROLE", 6, _role),
    Column("class", "CLASS", 10, _class),
    Column("patches", "PATCHES", 14, _patches, fit=clip_keeping_count),
    Column("age", "AGE", 7, _age, right=True),
    Column("owner", "OWNER", 10, _owner),
    Column("state", "STATE", 12, _state),
    Column("last", "LAST ACTION", 0, _last, min_width=24),
)
NORMAL: tuple[Column, ...] = (
    Column("id", "ID", 5, _id, right=True),
    Column("tier", "T", 1, _tier),
    Column("client", "CLIENT", 12, _client),
    Column("device", "DEVICE", 16, _device),
    Column("role", "ROLE", 6, _role),
    Column("class", "CLASS", 10, _class),
    Column("patches", "PATCHES", 12, _patches, fit=clip_keeping_count),
    Column("age", "AGE", 6, _age, right=True),
    Column("owner", "OWNER", 8, _owner),
    Column("state", "STATE", 12, _state),
    Column("last", "LAST ACTION", 0, _last, min_width=16),
)
MIN_FLEX = 10  # a flexible column narrower than this is not worth showing
# 80 columns: ID and AGE (6 cells: ``ages.age`` is never longer) keep their width whatever
# happens; LAST ACTION goes first, then CLIENT, DEVICE, PATCHES and OWNER narrow in turn.
NARROW: tuple[Column, ...] = (
    Column("id", "ID", 5, _id, right=True),
    Column("tier", "T", 1, _tier),
    Column("client", "CLIENT", 9, _client, narrowest=5),
    Column("device", "DEVICE", 15, _device, narrowest=10),
    Column("class", "CLASS", 10, _class),
    Column("patches", "PATCHES", 12, _patches, narrowest=8, fit=clip_keeping_count),
    Column("age", "AGE", 6, _age, right=True),
    Column("owner", "OWNER", 7, _owner, narrowest=5),
    Column("state", "STATE", 7, _short_state),
    Column("last", "LAST ACTION", 0, _last, min_width=MIN_FLEX),
)
SHRINK = ("client", "device", "patches", "owner")  # the order they narrow in
LAYOUTS = (WIDE, NORMAL, NARROW)
GAP = 1


@dataclass(frozen=True)
class Layout:
    """The columns shown at one width and each one's width (the flexible one resolved)."""

    columns: tuple[Column, ...]
    widths: tuple[int, ...]

    def cells(self, line: QueueLine, now: datetime) -> list[str]:
        return [
            pad(column.fit(column.cell(line, now), width), width, right=column.right)
            for column, width in zip(self.columns, self.widths, strict=True)
        ]

    def header(self) -> list[str]:
        return [
            pad(clip(column.title, width), width, right=column.right)
            for column, width in zip(self.columns, self.widths, strict=True)
        ]


def pad(text: str, width: int, *, right: bool = False) -> str:
    return text.rjust(width) if right else text.ljust(width)


def layout_for(width: int) -> Layout:
    """The richest layout whose fixed columns and flexible minimum fit ``width``; else the
    narrowest, squeezed (``squeezed``)."""
    for columns in LAYOUTS:
        fixed = sum(c.width for c in columns) + GAP * (len(columns) - 1)
        needed = fixed + sum(c.min_width for c in columns if c.width == 0)
        if needed <= width:
            return Layout(columns, tuple(c.width or width - fixed for c in columns))
    return squeezed(LAYOUTS[-1], width)


def squeezed(columns: tuple[Column, ...], width: int) -> Layout:
    """``columns`` in ``width`` without their flexible one (fewer than ``MIN_FLEX`` cells
    were left for it): the columns of ``SHRINK`` narrow in turn as far as they may; room to
    spare widens the device column. Columns that cannot narrow (ID, AGE) keep their width."""
    kept = tuple(c for c in columns if c.width)
    widths = {c.key: c.width for c in kept}
    over = sum(widths.values()) + GAP * (len(kept) - 1) - width
    for column in (c for key in SHRINK for c in kept if c.key == key):
        if over <= 0:
            break
        give = min(over, column.width - max(column.narrowest, 1))
        if column.narrowest and give > 0:
            widths[column.key] -= give
            over -= give
    if over < 0:
        widths["device"] -= over
    return Layout(kept, tuple(widths[c.key] for c in kept))
