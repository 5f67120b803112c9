"""Marked rows of a list (``space`` marks or unmarks the row under the cursor).

Marks are kept by the row's key (an exception id, an approval line's key), with the row as
it was when marked, so they survive the live refresh that re-reads the rows and the filters
that hide some of them. A marked row shows a glyph in a column of its own (never colour
alone); the column is there only while something is marked.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from rich.text import Text

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

GLYPH = "✓"  # a marked row
GUTTER = 2  # the mark column and its gap, in cells


class Marks(Generic[K, V]):
    """Keys marked in the order they were marked, each with its row."""

    def __init__(self) -> None:
        self._rows: dict[K, V] = {}

    def toggle(self, key: K, row: V) -> bool:
        """Mark ``key`` (True) or unmark it (False)."""
        if key in self._rows:
            del self._rows[key]
            return False
        self._rows[key] = row
        return True

    def clear(self) -> None:
        self._rows.clear()

    def keep_only(self, keys: set[K] | frozenset[K]) -> None:
        """Unmark every key not in ``keys`` (rows that are gone)."""
        for key in [key for key in self._rows if key not in keys]:
            del self._rows[key]

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __bool__(self) -> bool:
        return bool(self._rows)

    def keys(self) -> frozenset[K]:
        return frozenset(self._rows)

    def rows(self) -> list[V]:
        """The marked rows, in the order they were marked."""
        return list(self._rows.values())


def mark_cell(marked: bool) -> str:
    """The mark column's text for one row (its gap included)."""
    return (GLYPH if marked else " ").ljust(GUTTER)


def marks_text(count: int, keys: str) -> Text:
    """``3 marked: a t x e act on them · esc clears`` for a filter bar."""
    text = Text()
    text.append(f" {GLYPH} {count} marked ", "reverse bold")
    text.append(f" {keys} act on them · space unmarks · esc clears", "dim")
    return text


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


__all__ = ["GLYPH", "GUTTER", "Marks", "mark_cell", "marks_text", "plural"]
