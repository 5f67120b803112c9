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

# Shown as a placeholder: every format character (Cf), the line and paragraph separators
# (U+2028, U+2029), surrogates, and the other default-ignorable code points (Unicode's
# DerivedCoreProperties: invisible marks, fillers, and the reserved ranges kept for more of
# them). As ranges, for a regular expression to find them fast (``printable`` runs on every
# cell drawn); tests/test_text.py checks across all of Unicode that every Cf, Zl, Zp
# and Cs character of the running Python is among them.
_HIDDEN_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x0600, 0x0605),  # Arabic number signs (prepended marks)
    (0x061C, 0x061C),  # Arabic letter mark (bidi)
    (0x06DD, 0x06DD),  # Arabic end of ayah
    (0x070F, 0x070F),  # Syriac abbreviation mark
    (0x0890, 0x0891),  # Arabic pound and piastre marks above
    (0x08E2, 0x08E2),  # Arabic disputed end of ayah
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors, vowel separator
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner; LRM, RLM
    (0x2028, 0x202E),  # line and paragraph separators; LRE, RLE, PDF, LRO, RLO
    (0x2060, 0x206F),  # word joiner, invisible operators; LRI, RLI, FSI, PDI; deprecated
    (0x3164, 0x3164),  # Hangul filler
    (0xD800, 0xDFFF),  # surrogates (only lone ones can be in a str)
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFFB),  # reserved; interlinear annotation controls
    (0x110BD, 0x110BD),  # Kaithi number sign
    (0x110CD, 0x110CD),  # Kaithi number sign above
    (0x13430, 0x1345F),  # Egyptian hieroglyph format controls (the whole block)
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement, reserved
)
_HIDDEN = re.compile(
    "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in _HIDDEN_RANGES) + "]"
)
# What to look at, in a form the regular-expression engine scans fast: the ranges below
# U+10000 (a bitmap) and ``<``, or any character above U+10000 (emoji are not hidden).
_BMP_RANGES = "".join(
    f"\\u{low:04x}-\\u{high:04x}" for low, high in _HIDDEN_RANGES if high <= 0xFFFF
)
_ASTRAL = "[\\U00010000-\\U0010ffff]"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_KEEP_NEWLINES = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# After the control characters are gone: a hidden character, or a ``<`` (shown as a
# placeholder when the text after it would read like one).
_SHOWN = re.compile(f"[{_BMP_RANGES}<]|{_ASTRAL}")
_LOOKALIKE_REST = re.compile(r"[Uu]\+[0-9A-Fa-f]+>")
# In JSON text: controls (but the newlines between its lines) and hidden characters.
_JSON_ESCAPED = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f{_BMP_RANGES}]|{_ASTRAL}")


def is_hidden(char: str) -> bool:
    """``char`` is invisible or reorders/joins text: shown as ``<U+XXXX>``, never raw."""
    return _HIDDEN.fullmatch(char) is not None


def placeholder(char: str) -> str:
    """How a hidden character (or a ``<`` starting a look-alike) is shown: ``<U+202E>``."""
    return f"<U+{ord(char):04X}>"


def _placeholder(match: re.Match[str]) -> str:
    char = match.group()
    if char == "<":
        lookalike = _LOOKALIKE_REST.match(match.string, match.end())
        return placeholder(char) if lookalike else char
    return placeholder(char) if is_hidden(char) else char


def _shown(value: str) -> str:
    if value.isascii() and "<" not in value:
        return value
    return _SHOWN.sub(_placeholder, value)


def printable(value: str) -> str:
    """``value`` for one line: control characters removed (tabs and newlines become
    spaces), invisible and bidi characters shown as ``<U+XXXX>``."""
    value = _CONTROL.sub(lambda m: " " if m.group() in "\t\n\r" else "", value)
    return _shown(value)


def printable_multiline(value: str) -> str:
    """Like ``printable`` but keeps newlines (for notes shown over several lines)."""
    value = value.replace("\r\n", "\n")
    value = _CONTROL_KEEP_NEWLINES.sub(lambda m: " " if m.group() == "\t" else "", value)
    return _shown(value)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char > "\uffff" and not is_hidden(char):
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
    return _JSON_ESCAPED.sub(_json_escape, document)


class PrintableFormatter(logging.Formatter):
    """Log lines through ``printable_multiline``: a message may carry an RMM's error string
    or a hostname, and the log goes to a terminal (``patchdesk engine``) or a file read in
    one."""

    def format(self, record: logging.LogRecord) -> str:
        return printable_multiline(super().format(record))
