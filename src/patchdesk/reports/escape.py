"""Untrusted text (hostnames, patch titles, notes, error messages) made safe per format.

- every format: control characters stripped, invisible and bidi characters (U+202E, U+200B,
  ...) shown as ``<U+XXXX>`` (``patchdesk.text``); one-line cells turn tabs and newlines
  into spaces, multi-line notes keep their newlines;
- HTML: ``html.escape`` (quotes too), after stripping;
- Markdown: characters that would make markup are
  backslash-escaped (``\\ ` * _ { } [ ] < > | ~``), so a hostname cannot become a link,
  emphasis, a table column or an HTML tag;
- CSV: a cell that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return) is prefixed with ``'`` (OWASP's advice); the ``csv``
  module quotes the rest. CSV is read by people in a spreadsheet, which would lay out a bidi
  character, so cells are sanitised like the other formats for people;
- JSON is data: values are kept exactly, and ``patchdesk.text.json_escaped`` writes the
  controls and hidden characters among them as ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import html
import re

from patchdesk.text import printable, printable_multiline

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~])")


def plain(value: object) -> str:
    """One line of untrusted text, control characters removed."""
    return printable(str(value))


def html_text(value: object) -> str:
    return html.escape(printable(str(value)), quote=True)


def html_multiline(value: object) -> str:
    """Escaped, with newlines as ``<br>``."""
    return "<br>".join(
        html.escape(line, quote=True) for line in printable_multiline(str(value)).split("\n")
    )


def md_text(value: object) -> str:
    """One line of untrusted text for Markdown (tables included)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", printable(str(value)))


def md_multiline(value: object) -> str:
    """Several lines for Markdown: each line escaped, joined by hard line breaks."""
    lines = printable_multiline(str(value)).split("\n")
    return "  \n".join(_MARKDOWN_SPECIAL.sub(r"\\\1", line) for line in lines)


def csv_cell(value: object) -> str:
    """A CSV cell: None is empty; formulas neutralised; control characters removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    raw = str(value)
    text = printable_multiline(raw.lstrip("\x00"))
    if raw.startswith(_FORMULA_START) or text.startswith(_FORMULA_START):
        text = "'" + text
    return text
