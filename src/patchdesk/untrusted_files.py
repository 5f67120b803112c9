"""Reading a file a person names: policy and config TOML, inventory and patch CSV.

Everything about such a file is untrusted: it may be huge, have a line of megabytes, be
binary or not UTF-8, nest arrays deeper than a parser's recursion, be a directory, a FIFO
that never ends or a device, or be unreadable. Each reader goes through these helpers, which
turn every such case into a ``FileRefused`` (what is wrong and, when known, on which line),
so that the reader reports it in its own ``FILE:LINE: ...`` format, exits 2 and applies
nothing. No input makes them raise anything else, hang or read without limit.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

KIB = 1024
MIB = 1024 * KIB

# Size limits: far above any real file of the kind, far below what would hurt.
MAX_TOML_BYTES = 1 * MIB  # a policy file or the config file (split policies across files)
MAX_CSV_BYTES = 64 * MIB  # an inventory or missing-patch CSV (about 400,000 rows)
MAX_LINE_CHARS = 64 * KIB  # one physical line of any of them
MAX_TOML_DEPTH = 32  # arrays and tables nested in one another (policies use 7)

Part = Literal["file", "encoding", "line", "syntax", "nesting"]

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


class FileRefused(Exception):
    """A file that cannot be taken. ``part`` says which check refused it (``file``: reading
    it at all, ``encoding``, ``line``: a line too long, ``syntax``, ``nesting``), ``line``
    the 1-based line when there is one."""

    def __init__(self, part: Part, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.part: Part = part
        self.message = message
        self.line = line

    def where(self, source: str) -> str:
        """``FILE`` or ``FILE:LINE``."""
        return source if self.line is None else f"{source}:{self.line}"


def describe_size(size: int) -> str:
    """``1 MiB``, ``64 MiB``, ``1.5 MiB``, ``512 KiB``, ``10 bytes``."""
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if size >= unit:
            amount = size / unit
            return f"{amount:.0f} {name}" if amount == int(amount) else f"{amount:.1f} {name}"
    return f"{size} bytes"


def read_bytes(path: Path | str, *, max_bytes: int, kind: str) -> bytes:
    """The whole content of a regular file of at most ``max_bytes``.

    ``kind`` names the file in the size message ("a policy file"). A directory, a FIFO, a
    socket or a device is refused without reading from it (a FIFO is opened without
    waiting for a writer), and so is a file that cannot be opened or read, or is larger than
    the limit (also one that grows past it while being read).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise FileRefused("file", f"cannot read: {exc.strerror or exc}") from exc
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise FileRefused("file", f"{_file_type(status.st_mode)}, not a regular file")
        if status.st_size > max_bytes:
            raise FileRefused("file", _too_large(status.st_size, max_bytes, kind))
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FileRefused("file", f"cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise FileRefused("file", _too_large(None, max_bytes, kind))
    return data


def _too_large(size: int | None, limit: int, kind: str) -> str:
    shown = f" ({describe_size(size)})" if size is not None else ""
    return f"too large{shown}: {kind} may have at most {describe_size(limit)}"


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def decode_text(data: bytes, *, hint: str = "", max_line: int = MAX_LINE_CHARS) -> str:
    """UTF-8 text (a byte-order mark is dropped) whose lines have at most ``max_line``
    characters; ``hint`` is added to the message for bytes that are not UTF-8."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text (byte 0x{data[exc.start]:02x})"
        raise FileRefused("encoding", f"{message}; {hint}" if hint else message, line) from exc
    check_line_lengths(text, max_line)
    return text


def check_line_lengths(text: str, max_line: int = MAX_LINE_CHARS) -> None:
    """Refuse the first line longer than ``max_line`` characters (lines end at ``\\n``)."""
    if len(text) <= max_line:
        return
    lines = text.split("\n")
    if max(map(len, lines)) <= max_line:  # the usual case, without a Python-level loop
        return
    for number, line in enumerate(lines, 1):
        if len(line) > max_line:
            raise FileRefused("line", f"line longer than {max_line:,} characters", number)


def read_text(path: Path | str, *, max_bytes: int, kind: str, hint: str = "") -> str:
    """``read_bytes`` then ``decode_text``."""
    return decode_text(read_bytes(path, max_bytes=max_bytes, kind=kind), hint=hint)


# --- TOML --------------------------------------------------------------------------------------


def parse_toml(text: str, *, max_depth: int = MAX_TOML_DEPTH) -> dict[str, Any]:
    """A TOML document, or ``FileRefused`` (``syntax`` with the line of the error, or
    ``nesting`` when arrays and tables are nested more than ``max_depth`` deep, including
    documents too deep for the parser's recursion). Never raises anything else."""
    check_line_lengths(text)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = toml_error_position(text, str(exc))
        raise FileRefused("syntax", message, line) from exc
    except RecursionError as exc:
        raise FileRefused("nesting", too_deep(max_depth)) from exc
    except ValueError as exc:  # a value tomllib cannot convert (an integer of 5,000 digits)
        raise FileRefused("syntax", _value_message(exc)) from exc
    if nesting_depth(document) > max_depth:
        raise FileRefused("nesting", too_deep(max_depth))
    return document


def too_deep(max_depth: int) -> str:
    return f"arrays and tables nested more than {max_depth} levels deep"


def toml_error_position(text: str, message: str) -> tuple[int, str]:
    """tomllib's ``... (at line L, column C)`` as ``(L, "... (column C)")``; an error at the
    end of the document is on its last line."""
    position = _TOML_POSITION.search(message)
    if position is None:  # "(at end of document)" or no position at all
        message = message.replace(" (at end of document)", " at the end of the file")
        return text.count("\n") + 1, message
    line, column = position.groups()
    return int(line), f"{message[: position.start()]} (column {column})"


def _value_message(exc: ValueError) -> str:
    if "integer string conversion" in str(exc):
        return "an integer with too many digits"
    return f"a value that cannot be read: {exc}"


def nesting_depth(value: object) -> int:
    """How deeply lists and dicts nest in ``value`` (0 for a scalar, 1 for ``{}``), without
    recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = _children(item)
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _children(value: object) -> Iterator[object] | None:
    if isinstance(value, dict):
        return iter(value.values())
    if isinstance(value, list | tuple):
        return iter(value)
    return None
