"""Where a field path sits in TOML text: the line of its key, or of the nearest enclosing one.

``index_lines`` scans a document that ``tomllib`` has already accepted and maps each key path
it can see to the line where it first appears:

- ``[a.b]`` and ``[[a.b]]`` headers, with array-of-tables elements numbered from 0 per
  parent (so the 2nd ``[[client.windows]]`` is ``("client", "windows", 1)``);
- ``key = value`` and dotted ``k1.k2 = value`` lines inside the current table;
- the elements of an array value, by the line each element starts on.

Keys inside inline tables are not indexed: ``line_of`` falls back to the longest known
prefix of a path, which for a field of an inline table is the key holding the table, and for
a missing key is its table's header.
"""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Sequence

Path = tuple[str | int, ...]

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_BLANK = " \t"


def line_of(index: dict[Path, int], path: Sequence[str | int]) -> int:
    """The line of ``path``, or of its longest indexed prefix; 1 for the document itself."""
    for end in range(len(path), 0, -1):
        line = index.get(tuple(path[:end]))
        if line is not None:
            return line
    return 1


def index_lines(text: str) -> dict[Path, int]:
    """Key paths of a valid TOML document mapped to 1-based line numbers."""
    return _Scanner(text).run()


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.newlines = [i for i, char in enumerate(text) if char == "\n"]
        self.index: dict[Path, int] = {}
        self.array_counts: dict[Path, int] = {}
        self.table: Path = ()

    # --- helpers ---------------------------------------------------------------------------

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def peek(self, offset: int = 0) -> str:
        at = self.pos + offset
        return self.text[at] if 0 <= at < len(self.text) else ""

    def record(self, path: Path, line: int) -> None:
        for end in range(1, len(path) + 1):
            self.index.setdefault(path[:end], line)

    def skip_blanks(self) -> None:
        while self.peek() and self.peek() in _BLANK:
            self.pos += 1

    def skip_to_line_end(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    # --- the document ----------------------------------------------------------------------

    def run(self) -> dict[Path, int]:
        while self.pos < len(self.text):
            start = self.pos
            self.statement()
            if self.pos <= start:  # never loop on text this scanner does not understand
                self.skip_to_line_end()
        return self.index

    def statement(self) -> None:
        self.skip_blanks()
        char = self.peek()
        if char in ("\n", "\r", "#", ""):
            self.skip_to_line_end()
        elif char == "[":
            self.header()
        else:
            self.key_value()

    def header(self) -> None:
        line = self.line(self.pos)
        is_array = self.peek(1) == "["
        self.pos += 2 if is_array else 1
        keys = self.key_path()
        if not keys:
            self.skip_to_line_end()
            return
        parent: Path = ()
        for key in keys[:-1]:
            parent = self.element((*parent, key))
        path: Path = (*parent, keys[-1])
        if is_array:
            count = self.array_counts.get(path, 0)
            self.array_counts[path] = count + 1
            self.record(path, line)
            path = (*path, count)
        self.record(path, line)
        self.table = path
        self.skip_to_line_end()

    def element(self, path: Path) -> Path:
        """``path``, or its current element when it names an array of tables."""
        count = self.array_counts.get(path)
        return path if count is None else (*path, count - 1)

    def key_value(self) -> None:
        line = self.line(self.pos)
        keys = self.key_path()
        self.skip_blanks()
        if not keys or self.peek() != "=":
            self.skip_to_line_end()
            return
        self.pos += 1
        path: Path = (*self.table, *keys)
        self.record(path, line)
        self.skip_blanks()
        self.value(path)
        self.skip_to_line_end()

    # --- keys ------------------------------------------------------------------------------

    def key_path(self) -> list[str]:
        keys: list[str] = []
        while True:
            self.skip_blanks()
            key = self.key()
            if key is None:
                return keys
            keys.append(key)
            self.skip_blanks()
            if self.peek() != ".":
                return keys
            self.pos += 1

    def key(self) -> str | None:
        char = self.peek()
        if char == '"':
            start = self.pos
            self.skip_string()
            return _decode_basic(self.text[start : self.pos])
        if char == "'":
            end = self.text.find("'", self.pos + 1)
            if end < 0:
                return None
            key = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return key
        start = self.pos
        while self.peek() and self.peek() in _BARE_KEY:
            self.pos += 1
        return self.text[start : self.pos] if self.pos > start else None

    # --- values ----------------------------------------------------------------------------

    def value(self, path: Path) -> None:
        """Skip one value; number the elements of an array value by their first line."""
        depth = 0
        element = 0
        is_array = expecting = self.peek() == "["
        while self.pos < len(self.text):
            char = self.peek()
            if char == "\n" and depth == 0:
                return
            if depth == 1 and expecting and char not in " \t\r\n#,]":
                self.record((*path, element), self.line(self.pos))
                expecting = False
            if char in "\"'":
                self.skip_string()
                continue
            if char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
                continue
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
            elif char == "," and depth == 1 and is_array:
                element += 1
                expecting = True
            self.pos += 1

    def skip_string(self) -> None:
        quote = self.peek()
        if self.text.startswith(quote * 3, self.pos):
            self.pos += 3
            while self.pos < len(self.text):
                if quote == '"' and self.peek() == "\\":
                    self.pos += 2
                    continue
                if self.text.startswith(quote * 3, self.pos):
                    while self.peek() == quote:  # up to two quotes may end the content
                        self.pos += 1
                    return
                self.pos += 1
            return
        self.pos += 1
        while self.pos < len(self.text) and self.peek() not in (quote, "\n"):
            self.pos += 2 if quote == '"' and self.peek() == "\\" else 1
        self.pos += 1


def _decode_basic(raw: str) -> str:
    """The value of a quoted basic-string key, escapes resolved by tomllib itself."""
    try:
        value = tomllib.loads(f"k = {raw}")["k"]
    except tomllib.TOMLDecodeError:
        return raw.strip('"')
    return value if isinstance(value, str) else raw
