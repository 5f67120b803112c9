"""Property tests: the policy loader never raises, and the locator finds every key's line."""

from __future__ import annotations

import json
import math
import re
import tomllib
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchdesk.policy.load import LoadedFile, load_text
from patchdesk.policy.locate import index_lines, line_of

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "policies").glob("*.toml"))
EXAMPLE_TEXTS = [path.read_text(encoding="utf-8") for path in EXAMPLES]
POLICY_KEYS = [
    "client", "clients", "blocklist", "id", "name", "timezone", "sla_tier", "scope", "windows",
    "approval_rules", "rings", "recurrence", "type", "days", "start", "duration", "reboot",
    "match", "action", "soak", "min_success_rate", "from", "to", "blackouts", "applies_to",
]  # fmt: skip
BARE = re.compile(r"[A-Za-z0-9_-]+")

# --- a small TOML writer that remembers the line of every key it writes ---------------------


def toml_key(key: str) -> str:
    return key if BARE.fullmatch(key) else toml_string(key)


def toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(value)


def is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.where: dict[tuple[str | int, ...], int] = {}

    def emit(self, line: str, path: tuple[str | int, ...] | None = None) -> None:
        self.lines.append(line)
        if path is not None:
            self.where.setdefault(path, len(self.lines))

    def table(
        self, data: dict[str, Any], keys: tuple[str, ...], path: tuple[str | int, ...]
    ) -> None:
        children = []
        for key, value in data.items():
            if isinstance(value, dict) or is_table_array(value):
                children.append((key, value))
            else:
                self.emit(f"{toml_key(key)} = {toml_value(value)}", (*path, key))
        for key, value in children:
            header = ".".join(toml_key(k) for k in (*keys, key))
            if isinstance(value, dict):
                self.emit(f"[{header}]", (*path, key))
                self.table(value, (*keys, key), (*path, key))
            else:
                for index, item in enumerate(value):
                    self.emit(f"[[{header}]]", (*path, key))
                    self.where[(*path, key, index)] = len(self.lines)
                    self.table(item, (*keys, key), (*path, key, index))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def dump(document: dict[str, Any]) -> Writer:
    writer = Writer()
    writer.table(document, (), ())
    return writer


# --- strategies -----------------------------------------------------------------------------

keys = st.one_of(st.sampled_from(POLICY_KEYS), st.text(max_size=8))
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["4h", "90m", "25:00", "02:00", "weekly", "server", "auto", "defer", "UTC"]),
    st.dates(),
    st.times().map(lambda t: t.replace(tzinfo=None)),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(
        timezones=st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    ),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=5),
    ),
    max_leaves=30,
)
tables = st.dictionaries(keys, documents, max_size=6)


def check_result(text: str, result: LoadedFile | list[Any]) -> None:
    if isinstance(result, LoadedFile):
        return
    assert result, "a refused file has at least one problem"
    last_line = text.count("\n") + 1
    for problem in result:
        line = str(problem)
        assert "\n" not in line, line
        assert "\r" not in line, line
        assert problem.line is None or 1 <= problem.line <= last_line, line
        assert problem.message


# --- properties -----------------------------------------------------------------------------


@given(st.text())
@settings(max_examples=300)
def test_policy_loader_never_raises_on_arbitrary_text(text: str) -> None:
    check_result(text, load_text(text, "fuzz.toml"))


@given(tables)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_policy_loader_never_raises_on_toml_documents(document: dict[str, Any]) -> None:
    text = dump(document).text()
    check_result(text, load_text(text, "fuzz.toml"))


@given(
    st.sampled_from(range(len(EXAMPLE_TEXTS))),
    st.lists(
        st.tuples(
            st.sampled_from(["delete", "duplicate", "insert", "replace"]),
            st.integers(0, 10**6),
            st.text(max_size=12),
        ),
        min_size=1,
        max_size=4,
    ),
)
@settings(max_examples=300)
def test_policy_loader_never_raises_on_mutated_examples(
    which: int, mutations: list[tuple[str, int, str]]
) -> None:
    lines = EXAMPLE_TEXTS[which].splitlines()
    for kind, where, text in mutations:
        at = where % max(len(lines), 1)
        if kind == "delete" and lines:
            del lines[at]
        elif kind == "duplicate" and lines:
            lines.insert(at, lines[at])
        elif kind == "insert":
            lines.insert(at, text)
        elif lines:
            line = lines[at]
            cut = where % (len(line) + 1)
            lines[at] = line[:cut] + text + line[cut + len(text) :]
    mutated = "\n".join(lines) + "\n"
    check_result(mutated, load_text(mutated, "mutated.toml"))


@given(st.sampled_from(EXAMPLE_TEXTS), st.data())
@settings(max_examples=200)
def test_policy_loader_never_raises_on_examples_with_values_replaced(
    text: str, data: st.DataObject
) -> None:
    """Structurally valid files whose values are swapped for arbitrary ones."""
    document = tomllib.loads(text)

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: swap(value) for key, value in node.items()}
        if isinstance(node, list):
            return [swap(value) for value in node]
        return data.draw(st.one_of(st.just(node), scalars))

    rewritten = dump(swap(document)).text()
    check_result(rewritten, load_text(rewritten, "swapped.toml"))


finite_scalars = scalars.filter(lambda v: not (isinstance(v, float) and math.isinf(v)))
plain_documents = st.recursive(
    finite_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


@given(st.dictionaries(keys, plain_documents, max_size=6))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_policy_locator_finds_the_line_of_every_key(document: dict[str, Any]) -> None:
    writer = dump(document)
    text = writer.text()
    assert tomllib.loads(text) == document  # the writer itself is right
    index = index_lines(text)
    for path, line in writer.where.items():
        assert line_of(index, path) == line, (path, text)


def test_policy_locator_on_a_hand_written_document() -> None:
    text = (
        '[a]\nx = 1\n"quoted.key" = """\nmulti\n[not.a.header]\n"""\n'
        "arr = [\n  1,  # one\n  { y = 2 },\n  [3, 4],\n]\n"
        "[[a.t]]\nz = 'it\"s'\n[[a.t]]\nz.w = 1\n[a.t.sub]\nk = 2\n"
    )
    tomllib.loads(text)  # valid TOML
    index = index_lines(text)
    assert index[("a",)] == 1
    assert index[("a", "quoted.key")] == 3
    assert index[("a", "arr")] == 7
    assert [index[("a", "arr", i)] for i in range(3)] == [8, 9, 10]
    assert index[("a", "t", 0)] == 12
    assert index[("a", "t", 1)] == 14
    assert index[("a", "t", 1, "z", "w")] == 15
    assert index[("a", "t", 1, "sub", "k")] == 17
    assert ("not", "a", "header") not in index
    assert line_of(index, ("a", "arr", 1, "y")) == 9
    assert line_of(index, ("a", "t", 1, "missing")) == 14
    assert line_of(index, ("nowhere",)) == 1
