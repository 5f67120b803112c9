"""Untrusted text made safe for a terminal or a one-line report cell.

Hostnames, patch titles, notes and RMM error strings come from outside. Before they reach a
terminal, control characters (C0, DEL, C1: ESC sequences, carriage returns, bells) go; what
remains is shown literally. (Textual widgets must also be given such text with markup off.)
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_KEEP_NEWLINES = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def printable(value: str) -> str:
    """``value`` without control characters; tabs and newlines become spaces."""
    return _CONTROL.sub(lambda m: " " if m.group() in "\t\n\r" else "", value)


def printable_multiline(value: str) -> str:
    """Like ``printable`` but keeps newlines (for notes shown over several lines)."""
    value = value.replace("\r\n", "\n")
    return _CONTROL_KEEP_NEWLINES.sub(lambda m: " " if m.group() == "\t" else "", value)
