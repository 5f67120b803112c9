"""The queue's filters: what the technician asked to see and the bar that shows it.

Quick keys cycle the tier (``T``), the failure class (``C``) and the state (``S``, unresolved
first) or toggle "mine" (``M``) and "unassigned" (``U``, each turning the other off); ``/``
opens a text filter over hostname, client, summary and owner, applied once typing pauses
(``enter`` at once). ``esc`` in the text filter clears the text only; elsewhere every filter.
Each change hands the new ``QueueView`` to the screen, which reads the queue's first page
for it (``screens.queue_paging``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Input

from patchdesk.domain import ExceptionState, FailureClass, Tier
from patchdesk.screens.debounce import Debounced
from patchdesk.screens.widgets.queue_cells import STATE_LABELS
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store.exception_views import UNRESOLVED, QueueFilter
from patchdesk.text import printable

TIER_CYCLE: tuple[Tier | None, ...] = (None, *Tier)
CLASS_CYCLE: tuple[FailureClass | None, ...] = (
    None,
    FailureClass.OFFLINE,
    FailureClass.REGRESSION,
    FailureClass.REBOOT,
    FailureClass.INSTALL,
    FailureClass.MISSED,
)
STATE_CYCLE: tuple[ExceptionState | None, ...] = (None, *ExceptionState)  # None: unresolved

SEARCH_ID = "queue-search"


@dataclass(frozen=True)
class QueueView:
    """What the technician asked to see (the quick keys and the text filter)."""

    tier: Tier | None = None
    failure_class: FailureClass | None = None
    state: ExceptionState | None = None
    mine: bool = False
    unassigned: bool = False
    search: str = ""

    def query(self, operator: str) -> QueueFilter:
        return QueueFilter(
            tier=self.tier,
            failure_class=self.failure_class,
            states=UNRESOLVED if self.state is None else {self.state},
            owner=operator if self.mine else None,
            unassigned=self.unassigned,
            search=self.search or None,
        )

    @property
    def filtered(self) -> bool:
        return self != QueueView()


def _next(cycle: tuple[object, ...], value: object) -> int:
    return (cycle.index(value) + 1) % len(cycle)


def filter_bar_text(view: QueueView, total: int | None, *, compact: bool = False) -> Text:
    """``58 exceptions  T tier 1  C class all  S state unresolved  M mine ...``; ``compact``
    (under 100 columns) leaves the words tier, class and state out."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if total is None:
        text.append("reading …", "dim")
    else:
        noun = "exception" if total == 1 else "exceptions"
        text.append(f"{total:,} {noun}", "bold")

    def part(key: str, word: str, value: str, active: bool) -> None:
        label = value if compact and value else f"{word} {value}".strip()
        text.append("  ")
        text.append(f" {key} " if active else key, "reverse bold" if active else "bold")
        if label:
            text.append(f" {label}", "bold" if active else "dim")

    part("T", "tier", view.tier.value if view.tier else "all", view.tier is not None)
    klass = view.failure_class.value if view.failure_class else "all"
    part("C", "class", klass, view.failure_class is not None)
    state = STATE_LABELS[view.state] if view.state else "unresolved"
    part("S", "state", state, view.state is not None)
    part("M", "mine", "", view.mine)
    part("U", "unassigned", "", view.unassigned)
    search = f"“{printable(view.search)}”" if view.search else ("" if compact else "text")
    part("/", "", search, bool(view.search))
    if view.filtered:
        text.append("  esc clears", "dim")
    return text


class QueueFilters:
    """The filters of one queue screen; ``changed(view)`` is called on every change."""

    def __init__(self, screen: Screen[None], changed: Callable[[QueueView], None]) -> None:
        self.screen = screen
        self.changed = changed
        self.view = QueueView()
        self._typed = Debounced(screen, self._apply_search)

    def _set(self, view: QueueView) -> None:
        if view != self.view:
            self.view = view
            self.changed(view)

    def cycle_tier(self) -> None:
        self._set(replace(self.view, tier=TIER_CYCLE[_next(TIER_CYCLE, self.view.tier)]))

    def cycle_class(self) -> None:
        index = _next(CLASS_CYCLE, self.view.failure_class)
        self._set(replace(self.view, failure_class=CLASS_CYCLE[index]))

    def cycle_state(self) -> None:
        self._set(replace(self.view, state=STATE_CYCLE[_next(STATE_CYCLE, self.view.state)]))

    def toggle_mine(self) -> None:
        self._set(replace(self.view, mine=not self.view.mine, unassigned=False))

    def toggle_unassigned(self) -> None:
        self._set(replace(self.view, unassigned=not self.view.unassigned, mine=False))

    # --- the text filter -------------------------------------------------------------------

    @property
    def _search(self) -> Input:
        return self.screen.query_one(f"#{SEARCH_ID}", Input)

    @property
    def typing(self) -> bool:
        """The text filter has the focus (``esc`` is then about its text)."""
        return self._search.has_focus

    def open_search(self) -> None:
        search = self._search
        search.add_class("-shown")
        search.focus()

    def cancel_typed(self) -> None:
        """Forget text typed but not applied yet."""
        self._typed.cancel()

    def clear(self) -> None:
        """In the text filter, clear the text only; elsewhere every filter."""
        self.cancel_typed()
        search = self._search
        if search.has_focus:
            search.value = ""
            self._hide_search()
            self._set(replace(self.view, search=""))
            return
        search.value = ""
        self._hide_search()
        self._set(QueueView())

    def _hide_search(self) -> None:
        search = self._search
        if not search.value:
            search.remove_class("-shown")
        self.screen.query_one(QueueTable).focus()

    def typed(self, text: str) -> None:
        """The text filter changed: applied once typing pauses."""
        self._typed.later(text)

    def submitted(self, text: str) -> None:
        """``enter`` in the text filter: applied at once."""
        self._typed.now(text)
        self._hide_search()

    def _apply_search(self, text: str) -> None:
        self._set(replace(self.view, search=text))


__all__ = [
    "CLASS_CYCLE",
    "STATE_CYCLE",
    "TIER_CYCLE",
    "QueueFilters",
    "QueueView",
    "filter_bar_text",
]
