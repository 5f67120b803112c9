"""What the CSV imports share: reading an untrusted file into records, and the problems found.

The file itself is read as untrusted (``patchdesk.untrusted_files``): at most 64 MiB, lines
of at most 64 KiB characters, UTF-8 (a byte-order mark is allowed). Problems are reported
as ``FILE:LINE: column: message``, where LINE is the physical line a row starts on (the
header is line 1; a quoted field may span lines).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from patchdesk.untrusted_files import FileRefused, decode_text

NO_CLIENT_HINT = "clients are created by 'patchdesk policy apply'"

# Trimmed from both ends of every value; the inside of a value is never touched.
_SURROUNDING_WHITESPACE = " \t\r\n\f\v"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input. ``line`` is None for the file or the options;
    ``column`` is None for the file itself (it cannot be read)."""

    line: int | None
    column: str | None
    message: str

    def render(self, source: str) -> str:
        where = source if self.line is None else f"{source}:{self.line}"
        if self.column is None:
            return f"{where}: {self.message}"
        return f"{where}: {self.column}: {self.message}"


@dataclass(frozen=True)
class Invalid:
    """The file cannot be imported; every problem found, in file order."""

    problems: tuple[Problem, ...]

    def render(self, source: str) -> list[str]:
        return [problem.render(source) for problem in self.problems]


@dataclass(frozen=True)
class Err:
    """What is wrong with one cell (it becomes a ``Problem`` with the row's line)."""

    message: str


def decode(data: bytes) -> str | Problem:
    """The file's text, or where it stops being UTF-8 or has a line too long."""
    try:
        return decode_text(data, hint="save the file as UTF-8 CSV")
    except FileRefused as refused:
        return refusal(refused)


def refusal(refused: FileRefused) -> Problem:
    """A file-level refusal as a problem (``FILE: message``, ``FILE:LINE: encoding: ...``)."""
    column = {"encoding": "encoding", "line": "row"}.get(refused.part)
    return Problem(refused.line, column, refused.message)


def read_records(text: str) -> tuple[list[tuple[int, list[str]]], Problem | None]:
    """CSV records with the physical line each starts on, up to the first malformed one."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return records, None
        except csv.Error as exc:
            return records, Problem(start, "row", f"not valid CSV: {exc}")
        records.append((start, fields))


def is_control(char: str) -> bool:
    """C0 controls (NUL, TAB, ESC ...), DEL and C1 controls: never part of an imported value."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def check_control(value: str) -> Err | None:
    """A problem when ``value`` has a control character (the first one is named)."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    return Err(f"contains control character U+{ord(found.group()):04X}")


def trim(value: str) -> str:
    return value.strip(_SURROUNDING_WHITESPACE)


def is_blank(fields: Sequence[str]) -> bool:
    """An empty line, or a row of empty cells (spreadsheets write those at the end)."""
    return all(not trim(value) for value in fields)
