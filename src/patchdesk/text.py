"""Untrusted text made safe for a terminal, a report or a one-line cell.

Hostnames, patch titles, notes and RMM error strings come from outside. Before they reach a
terminal, a report or a screen:

- control characters (C0, DEL, C1: ESC sequences, carriage returns, bells) go; tabs and
  newlines become spaces (``printable_multiline`` keeps the newlines);
- characters that are invisible or change how the text around them is laid out are *shown*
  as ``<U+XXXX>``: bidirectional controls (U+202E makes ``srv\\u202egpj.exe`` read
  ``srvexe.jpg``), zero-width characters (U+200B, U+2060, U+FEFF ...), the soft hyphen, every
  other format character (category Cf), the line and paragraph separators (Zl, Zp), lone
  surrogates (Cs) and the remaining default-ignorable characters (variation selectors,
  Hangul fillers, tag characters). Stripping them would not do: ``srv\\u200b01`` would then
  read exactly like the real ``srv01``;
- so that the placeholder cannot be faked, text that already reads like one keeps its
  ``<`` shown as ``<U+003C>``: the literal ``<U+202E>`` reads ``<U+003C>U+202E>``. Every
  ``<U+XXXX>`` shown stands for one character of the original, and once the control
  characters are gone, the original can be read back exactly.

What remains is shown literally (Textual widgets must also be given such text with markup
off). JSON is data and keeps every value exactly: ``--json`` documents are written with
``ensure_ascii``, the reports' and exports' JSON through ``json_escaped``, so such
characters travel as ``\\u202e`` escapes, never raw. Log lines go through
``PrintableFormatter``.
"""

from __future__ import annotations

import logging
import re
import unicodedata

# Categories shown as a placeholder: format, line/paragraph separator, surrogate.
_SHOWN_CATEGORIES = frozenset({"Cf", "Zl", "Zp", "Cs"})

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside those categories:
# invisible marks, fillers and reserved ranges a newer Unicode (or terminal) may fill with
# more of them.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors, vowel separator
    (0x2065, 0x2065),  # reserved among the bidi isolates
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # reserved before the interlinear annotation controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement, reserved
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_KEEP_NEWLINES = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# After the control characters are gone: anything outside printable ASCII (decided per
# character below), or a ``<`` that starts text reading like a placeholder.
_CANDIDATE = re.compile(r"<(?=[Uu]\+[0-9A-Fa-f]+>)|[^\x20-\x7e]")


def is_hidden(char: str) -> bool:
    """``char`` is invisible or reorders/joins text: shown as ``<U+XXXX>``, never raw."""
    if unicodedata.category(char) in _SHOWN_CATEGORIES:
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def placeholder(char: str) -> str:
    """How a hidden character (or a ``<`` starting a look-alike) is shown: ``<U+202E>``."""
    return f"<U+{ord(char):04X}>"


def _reveal(match: re.Match[str]) -> str:
    char = match.group()
    return placeholder(char) if char == "<" or is_hidden(char) else char


def printable(value: str) -> str:
    """``value`` for one line: control characters removed (tabs and newlines become
    spaces), invisible and bidi characters shown as ``<U+XXXX>``."""
    value = _CONTROL.sub(lambda m: " " if m.group() in "\t\n\r" else "", value)
    return _CANDIDATE.sub(_reveal, value)


def printable_multiline(value: str) -> str:
    """Like ``printable`` but keeps newlines (for notes shown over several lines)."""
    value = value.replace("\r\n", "\n")
    value = _CONTROL_KEEP_NEWLINES.sub(lambda m: " " if m.group() == "\t" else "", value)
    return _CANDIDATE.sub(_reveal, value)


_JSON_CANDIDATE = re.compile(r"[^\n\x20-\x7e]")


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if not (is_hidden(char) or unicodedata.category(char) == "Cc"):
        return char
    code = ord(char)
    if code > 0xFFFF:  # JSON spells it as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_escaped(document: str) -> str:
    """JSON text as ``json.dumps(..., ensure_ascii=False)`` writes it, with every control,
    invisible or bidi character spelt as a ``\\uXXXX`` escape. A JSON reader gets each value
    exactly as stored; readable non-ASCII text (``Müller``) stays as it is; nothing hidden
    reaches a terminal or an editor raw. (Such characters can only be inside strings there:
    the JSON around them is ASCII.)"""
    return _JSON_CANDIDATE.sub(_json_escape, document)


class PrintableFormatter(logging.Formatter):
    """Log lines through ``printable_multiline``: a message may carry an RMM's error string
    or a hostname, and the log goes to a terminal (``patchdesk engine``) or a file read in
    one."""

    def format(self, record: logging.LogRecord) -> str:
        return printable_multiline(super().format(record))
