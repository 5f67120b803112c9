"""Reading policy files: TOML text -> validated models, or every problem with its place.

A problem names the file, the line (where the TOML position can be found), the field path
(``client.windows[1].duration``; list positions count from 0) and a message. Loading never
raises for bad input: syntax errors, wrong types, unknown keys, unreadable files and
duplicate ids across files all come back as problems. Files are read through
``patchdesk.untrusted_files``: at most 1 MiB, UTF-8, lines of at most 64 KiB characters, arrays
and tables nested at most 32 deep; a directory named directly stands for its ``*.toml`` files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from patchdesk.policy import crosschecks
from patchdesk.policy.locate import Path, index_lines, line_of
from patchdesk.policy.models import BlockEntry, ClientPolicy, PolicyDocument
from patchdesk.untrusted_files import MAX_TOML_BYTES, FileRefused, parse_toml, read_text

FILE = "(file)"
SYNTAX = "(toml syntax)"
TOP_LEVEL = "(top level)"

_RECURRENCE_TAGS = frozenset({"weekly", "monthly", "patch_tuesday"})
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_OWN_MESSAGES = frozenset({"value_error", "assertion_error", "missing", "extra_forbidden"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy file; ``str()`` is ``FILE:LINE: field.path: message``."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}"


@dataclass(frozen=True)
class LoadedFile:
    """A valid policy file."""

    file: str
    document: PolicyDocument


@dataclass(frozen=True)
class PolicySet:
    """Every file of one ``validate`` or ``apply``, valid together."""

    files: tuple[LoadedFile, ...]

    @property
    def clients(self) -> list[ClientPolicy]:
        return [client for f in self.files for _, client in f.document.all_clients()]

    @property
    def blocklist(self) -> list[BlockEntry]:
        return [entry for f in self.files for entry in f.document.blocklist or []]


@dataclass
class _Parsed:
    file: str
    raw: dict[str, Any] | None = None
    lines: dict[Path, int] = field(default_factory=dict)
    document: PolicyDocument | None = None
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        return Problem(self.file, line_of(self.lines, path), render_path(path), message)


# --- public entry points --------------------------------------------------------------------


def load_text(text: str, file: str) -> LoadedFile | list[Problem]:
    """One file's text -> a valid file, or its problems (never raises for bad input)."""
    result = load_sources([(file, text)])
    return result.files[0] if isinstance(result, PolicySet) else result


def load_sources(sources: Sequence[tuple[str, str]]) -> PolicySet | list[Problem]:
    """Several ``(file name, text)`` pairs, checked alone and against each other."""
    return _combine([_parse(text, file) for file, text in sources])


def load_paths(paths: Sequence[FsPath]) -> PolicySet | list[Problem]:
    """Policy files from disk; a directory stands for the ``*.toml`` files directly in it."""
    parsed: list[_Parsed] = []
    for path in _expand(paths):
        text = _read(path)
        parsed.append(text if isinstance(text, _Parsed) else _parse(text, str(path)))
    return _combine(parsed)


# --- reading --------------------------------------------------------------------------------


def _expand(paths: Sequence[FsPath]) -> Iterator[FsPath]:
    for path in paths:
        if path.is_dir():
            found = sorted(child for child in path.glob("*.toml") if child.is_file())
            yield from found or [path]
        else:
            yield path


def _read(path: FsPath) -> str | _Parsed:
    if path.is_dir():
        return _Parsed(str(path), problems=[Problem(str(path), None, FILE, "no .toml files here")])
    try:
        return read_text(path, max_bytes=MAX_TOML_BYTES, kind="a policy file")
    except FileRefused as refused:
        return _Parsed(str(path), problems=[_refusal(str(path), refused)])


def _refusal(file: str, refused: FileRefused) -> Problem:
    path = SYNTAX if refused.part in ("syntax", "nesting") else FILE
    return Problem(file, refused.line, path, refused.message)


def _parse(text: str, file: str) -> _Parsed:
    parsed = _Parsed(file)
    try:
        parsed.raw = parse_toml(text)
    except FileRefused as refused:
        parsed.problems.append(_refusal(file, refused))
        return parsed
    parsed.lines = index_lines(text)
    try:
        parsed.document = PolicyDocument.model_validate(parsed.raw)
    except ValidationError as exc:
        parsed.problems += [
            parsed.problem(_clean_loc(error["loc"]), _message(error)) for error in exc.errors()
        ]
    parsed.problems += [
        parsed.problem(path, message) for path, message in crosschecks.file_findings(parsed.raw)
    ]
    return parsed


# --- across files ---------------------------------------------------------------------------


def _combine(parsed: list[_Parsed]) -> PolicySet | list[Problem]:
    _mark_duplicates(parsed, crosschecks.client_id_sites, "client id")
    _mark_duplicates(parsed, crosschecks.patch_id_sites, "block-list patch_id")
    problems = [problem for item in parsed for problem in sorted(set(item.problems), key=_order)]
    if problems:
        return problems
    return PolicySet(
        tuple(LoadedFile(item.file, item.document) for item in parsed if item.document is not None)
    )


def _order(problem: Problem) -> tuple[int, str, str]:
    return (problem.line or 0, problem.path, problem.message)


def _mark_duplicates(
    parsed: list[_Parsed],
    sites: Callable[[dict[str, Any]], list[tuple[Path, str]]],
    what: str,
) -> None:
    """Report every later use of an id already used in this or an earlier file."""
    first: dict[str, tuple[_Parsed, Path]] = {}
    for item in parsed:
        if item.raw is None:
            continue
        for path, value in sites(item.raw):
            if value not in first:
                first[value] = (item, path)
                continue
            other, other_path = first[value]
            line = line_of(other.lines, other_path)
            place = f"line {line}" if other is item else f"{other.file}:{line}"
            item.problems.append(
                item.problem(path, f"{what} {value!r} is already defined at {place}")
            )


# --- pydantic errors to problems ------------------------------------------------------------


def _clean_loc(loc: tuple[int | str, ...]) -> Path:
    """The field path as written in the file: without the recurrence type pydantic adds."""
    cleaned: list[str | int] = []
    for part in loc:
        if cleaned and cleaned[-1] == "recurrence" and part in _RECURRENCE_TAGS:
            continue
        cleaned.append(part)
    return tuple(cleaned)


def render_path(path: Sequence[str | int]) -> str:
    """``("client", "windows", 1, "duration")`` -> ``client.windows[1].duration``."""
    if not path:
        return TOP_LEVEL
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE.fullmatch(part) else _quoted(part)
            text += f".{key}" if text else key
    return text


def _quoted(key: str) -> str:
    escaped = key.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return f'"{escaped}"'


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(error["loc"][-1]) if error["loc"] else ""
        return _unknown_key(key)
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_not_found":
        return 'needs type = "weekly", "monthly" or "patch_tuesday"'
    if kind == "union_tag_invalid":
        return 'type must be "weekly", "monthly" or "patch_tuesday"'
    if kind == "timezone_aware":
        return (
            "needs a UTC offset, e.g. 2026-01-12T09:30:00+01:00 or 2026-01-12T08:30:00Z "
            f"(got {_short(error.get('input'))})"
        )
    message = error["msg"]
    if kind in ("model_type", "model_attributes_type"):
        message = "must be a table: a [section] or { key = value, ... }"
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind not in _OWN_MESSAGES and _is_scalar(error.get("input")):
        message += f" (got {_short(error.get('input'))})"
    return message


def _unknown_key(key: str) -> str:
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(key, sorted(_vocabulary()), n=1, cutoff=0.6)
    return f"{message} (did you mean {close[0]!r}?)" if close else message


def _is_scalar(value: object) -> bool:
    return (
        value is None or isinstance(value, str | int | float | bool) or hasattr(value, "isoformat")
    )


def _short(value: object) -> str:
    isoformat = getattr(value, "isoformat", None)
    text = isoformat() if callable(isoformat) and not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_VOCABULARY: set[str] = set()


def _vocabulary() -> set[str]:
    """Every key a policy file may use anywhere (for "did you mean" suggestions)."""
    if not _VOCABULARY:
        _collect_keys(PolicyDocument, _VOCABULARY, set())
    return _VOCABULARY


def _collect_keys(model: type[BaseModel], keys: set[str], seen: set[type[BaseModel]]) -> None:
    seen.add(model)
    for name, info in model.model_fields.items():
        keys.add(info.alias or name)
        for inner in _model_types(info.annotation):
            if inner not in seen:
                _collect_keys(inner, keys, seen)


def _model_types(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _model_types(arg)
