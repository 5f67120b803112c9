"""``?``: the keys that answer on the screen it was opened from, in three groups: this
screen's own keys, the row actions (what a key does to the selected row), and the global
keys (modes, command mode, help, quit).

Every patchdesk binding is listed under its id (what the config file's ``[keys]`` table
remaps). Of Textual's own bindings only those a technician uses are listed, each once and
in patchdesk's words (moving in a list, the panels, the palette); the rest (copying a mouse
selection, ``ctrl+c``'s hint, a table's bare "Select") are left out. Keys doing the same
thing share one line (``q, ctrl+q``; ``up, k``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "colon": ":",
    "escape": "esc",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "pageup": "pgup",
    "pagedown": "pgdn",
    "space": "space",
}


class HelpGroup(StrEnum):
    SCREEN = "screen"
    ROW = "row"
    GLOBAL = "global"


GROUP_ORDER = (HelpGroup.SCREEN, HelpGroup.ROW, HelpGroup.GLOBAL)

# Textual's bindings a technician uses, by action, in patchdesk's words; any other
# Textual binding is framework plumbing and not listed.
FRAMEWORK_KEYS: dict[str, tuple[HelpGroup, str]] = {
    "cursor_up": (HelpGroup.SCREEN, "Up / down"),
    "cursor_down": (HelpGroup.SCREEN, "Up / down"),
    "scroll_up": (HelpGroup.SCREEN, "Up / down"),
    "scroll_down": (HelpGroup.SCREEN, "Up / down"),
    "page_up": (HelpGroup.SCREEN, "Page up / down"),
    "page_down": (HelpGroup.SCREEN, "Page up / down"),
    "scroll_home": (HelpGroup.SCREEN, "Top / bottom"),
    "scroll_end": (HelpGroup.SCREEN, "Top / bottom"),
    "first": (HelpGroup.SCREEN, "Top / bottom"),
    "last": (HelpGroup.SCREEN, "Top / bottom"),
    "cursor_left": (HelpGroup.SCREEN, "Scroll sideways"),
    "cursor_right": (HelpGroup.SCREEN, "Scroll sideways"),
    "scroll_left": (HelpGroup.SCREEN, "Scroll sideways"),
    "scroll_right": (HelpGroup.SCREEN, "Scroll sideways"),
    "app.focus_next": (HelpGroup.GLOBAL, "Next / previous panel"),
    "app.focus_previous": (HelpGroup.GLOBAL, "Next / previous panel"),
    "command_palette": (HelpGroup.GLOBAL, "Command palette"),
}


@dataclass(frozen=True)
class ActiveKey:
    """One key answering on a screen: its binding and where that binding comes from."""

    key: str
    binding: Binding
    ours: bool  # a patchdesk binding (it has an id the keymap remaps); else Textual's
    on_app: bool  # bound by the app (answers on every screen)
    on_screen: bool  # bound by the screen itself (not by the focused widget)


@dataclass(frozen=True)
class HelpEntry:
    key: str  # as shown: "q, ctrl+q"
    description: str
    group: HelpGroup
    binding_id: str = ""  # what the config file's [keys] table remaps ("a, b" for two)


def key_label(key: str) -> str:
    return ", ".join(KEY_NAMES.get(part, part) for part in key.split(","))


def _classify(active: ActiveKey, row_actions: frozenset[str]) -> tuple[HelpGroup, str, int] | None:
    """(group, description, rank) of a key; None for framework plumbing. Rank orders a
    group: the screen's and app's own keys, then the focused widget's, then Textual's."""
    binding = active.binding
    if not active.ours:
        found = FRAMEWORK_KEYS.get(binding.action)
        return None if found is None else (*found, 2)
    description = binding.description or binding.tooltip or binding.action
    if binding.id in row_actions:
        group = HelpGroup.ROW
    elif active.on_app:
        group = HelpGroup.GLOBAL
    else:
        group = HelpGroup.SCREEN
    return group, description, 0 if active.on_app or active.on_screen else 1


def help_entries(keys: Iterable[ActiveKey], row_actions: frozenset[str]) -> list[HelpEntry]:
    """The help's lines, in the order ``keys`` come (within a group: the screen's and the
    app's keys, then the focused widget's, then Textual's): grouped (this screen, row
    actions, global), keys doing the same thing on one line (plain keys before those with
    a modifier), framework plumbing left out."""
    rank: dict[tuple[HelpGroup, str], tuple[int, int]] = {}  # line -> (rank, first seen)
    keyed: dict[tuple[HelpGroup, str], list[tuple[str, str]]] = {}  # line -> (label, id)
    for seen, active in enumerate(keys):
        classified = _classify(active, row_actions)
        if classified is None:
            continue
        group, description, key_rank = classified
        line = (group, description)
        rank[line] = min(rank.get(line, (key_rank, seen)), (key_rank, seen))
        label = active.binding.key_display or key_label(active.key)
        binding_id = (active.binding.id or "") if active.ours else ""
        keyed.setdefault(line, []).append((label, binding_id))
    entries: list[HelpEntry] = []
    for line in sorted(rank, key=lambda line: (GROUP_ORDER.index(line[0]), rank[line])):
        pairs = sorted(keyed[line], key=lambda pair: "+" in pair[0])
        labels = list(dict.fromkeys(label for label, _ in pairs))
        ids = list(dict.fromkeys(binding_id for _, binding_id in pairs if binding_id))
        entries.append(HelpEntry(", ".join(labels), line[1], line[0], ", ".join(ids)))
    return entries


def group_title(group: HelpGroup, screen_title: str) -> str:
    return {
        HelpGroup.SCREEN: f"This screen: {screen_title}",
        HelpGroup.ROW: "Row actions (on the selected row)",
        HelpGroup.GLOBAL: "Global (every screen)",
    }[group]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen #help-note { margin-top: 1; }
    HelpScreen .help-group.-later { margin-top: 1; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, title: str, entries: list[HelpEntry], note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.entries = entries
        self.note = note  # e.g. which database this is and how to reach it from a shell

    def compose(self) -> ComposeResult:
        # One table per group, the columns as wide in each (the key and id columns fit
        # their widest cell, up to a limit; what is longer wraps).
        key_width = min(max((cell_len(e.key) for e in self.entries), default=3), 16)
        id_width = min(max([cell_len(e.binding_id) for e in self.entries] + [18]), 30)
        parts: list[Static] = []
        for group in GROUP_ORDER:
            entries = [e for e in self.entries if e.group is group]
            if not entries:
                continue
            table = Table(
                box=None,
                expand=True,
                show_header=not parts,  # the first group's table names the columns
                header_style="dim",
                padding=(0, 2, 0, 0),
            )
            table.add_column(Text("Key"), width=key_width, style="bold")
            table.add_column(Text("Does"), ratio=1)
            table.add_column(Text("Id (config [keys])"), width=id_width, style="dim")
            for entry in entries:
                table.add_row(Text(entry.key), Text(entry.description), Text(entry.binding_id))
            title = Text(group_title(group, self.title_text), style="bold underline")
            classes = "help-group" + (" -later" if parts else "")
            parts.append(Static(title, classes=classes, id=f"help-group-{group.value}"))
            parts.append(Static(table, id=f"help-{group.value}"))
        if self.note:
            parts.append(Static(Text(self.note, style="dim"), id="help-note"))
        scroll = VerticalScroll(*parts)
        scroll.border_title = f"Keys: {self.title_text}"
        scroll.border_subtitle = "esc closes"
        yield scroll
