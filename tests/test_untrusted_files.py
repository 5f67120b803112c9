"""Files a person names, read as untrusted: the helpers, and the policy and config readers.

Whatever the file holds (nesting beyond the parser's recursion, megabytes, a line of
megabytes, bytes that are not UTF-8) and whatever it is (a directory, a FIFO, a device,
unreadable), the reader refuses it with exit status 2 and a line naming the file, never a
traceback, and applies nothing. (The CSV readers: tests/store/test_untrusted_csv.py.)
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchdesk.cli import main
from patchdesk.untrusted_files import (
    MAX_LINE_CHARS,
    MAX_TOML_BYTES,
    MAX_TOML_DEPTH,
    FileRefused,
    decode_text,
    describe_size,
    nesting_depth,
    parse_toml,
    read_bytes,
    read_text,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
POLICY = (EXAMPLES / "policies" / "harbour-dental.toml").read_text(encoding="utf-8")
TOO_DEEP = f"arrays and tables nested more than {MAX_TOML_DEPTH} levels deep"
# Fixture state shared by a property's examples is deliberate: each example writes its own file.
SHARED_FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def run(argv: list[str]) -> tuple[int, str, str]:
    """``patchdesk ARGV`` in this process: exit status, stdout, stderr. Anything but a
    SystemExit (a traceback for a user) propagates and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exit_info:
            code = exit_info.code
        else:  # pragma: no cover - main always exits
            code = 0
    assert isinstance(code, int), code
    return code, out.getvalue(), err.getvalue()


def nested(depth: int, kinds: str = "a") -> str:
    """``a = `` and ``depth`` arrays (``a``) or inline tables (``t``), cycling ``kinds``."""
    opening, closing = "", ""
    for level in range(depth):
        kind = kinds[level % len(kinds)]
        opening += "[" if kind == "a" else "{ k = "
        closing = ("]" if kind == "a" else " }") + closing
    return f"a = {opening}1{closing}\n"


@contextlib.contextmanager
def fifo(path: Path, data: bytes) -> Iterator[Path]:
    """A FIFO at ``path`` that a writer thread fills with ``data`` once a reader opens it
    (a reader that reads it sees ``data``; one that refuses it never waits)."""
    os.mkfifo(path)

    def feed() -> None:
        with contextlib.suppress(OSError), path.open("wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        yield path
    finally:
        # A writer still waiting for a reader opens now, writes into the pipe and ends.
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            writer.join()
        finally:
            os.close(reader)


# --- the helpers --------------------------------------------------------------------------


def test_read_bytes_reads_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"x" * 100)
    assert read_bytes(path, max_bytes=100, kind="a test file") == b"x" * 100


def test_read_bytes_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match=r"^a directory, not a regular file$"):
        read_bytes(tmp_path, max_bytes=100, kind="a test file")
    with pytest.raises(FileRefused, match=r"^a device, not a regular file$"):
        read_bytes("/dev/zero", max_bytes=100, kind="a test file")
    with (
        fifo(tmp_path / "pipe", b"x") as pipe,
        pytest.raises(FileRefused, match=r"^a FIFO \(named pipe\), not a regular file$"),
    ):
        read_bytes(pipe, max_bytes=100, kind="a test file")


def test_read_bytes_refuses_what_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match=r"^cannot read: No such file or directory$") as info:
        read_bytes(tmp_path / "missing", max_bytes=100, kind="a test file")
    assert (info.value.part, info.value.line) == ("file", None)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileRefused, match=r"^cannot read: Not a directory$"):
        read_bytes(tmp_path / "file" / "below", max_bytes=100, kind="a test file")


def test_read_bytes_refuses_a_file_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024 * 1024 + 1)  # sparse: nothing is written
    with pytest.raises(FileRefused) as info:
        read_bytes(path, max_bytes=MAX_TOML_BYTES, kind="a policy file")
    assert info.value.message == "too large (3.0 MiB): a policy file may have at most 1 MiB"


def test_describe_size() -> None:
    sizes = [10, 1024, 1536, 64 * 1024, 1024 * 1024, 64 * 1024 * 1024, 3 * 1024 * 1024 + 1]
    assert [describe_size(size) for size in sizes] == [
        "10 bytes",
        "1 KiB",
        "1.5 KiB",
        "64 KiB",
        "1 MiB",
        "64 MiB",
        "3.0 MiB",
    ]


def test_decode_text_names_the_line() -> None:
    assert decode_text("\ufeffa\nb".encode()) == "a\nb"
    with pytest.raises(FileRefused) as info:
        decode_text(b"a\nb\n\xffc", hint="save it as UTF-8")
    assert (info.value.part, info.value.line) == ("encoding", 3)
    assert info.value.message == "not UTF-8 text (byte 0xff); save it as UTF-8"
    long_line = "x" * (MAX_LINE_CHARS + 1)
    assert decode_text(("x" * MAX_LINE_CHARS + "\n").encode() * 3)
    with pytest.raises(FileRefused) as info:
        decode_text(f"a\nb\n{long_line}\n".encode())
    assert (info.value.part, info.value.line) == ("line", 3)
    assert info.value.message == f"line longer than {MAX_LINE_CHARS:,} characters"


@pytest.mark.parametrize("kinds", ["a", "t", "at", "tta"])
@pytest.mark.parametrize("depth", [MAX_TOML_DEPTH + 1, 400, 5000])
def test_parse_toml_refuses_deep_nesting(depth: int, kinds: str) -> None:
    with pytest.raises(FileRefused) as info:
        parse_toml(nested(depth, kinds))
    assert (info.value.part, info.value.message) == ("nesting", TOO_DEEP)


def test_parse_toml_takes_nesting_up_to_the_limit() -> None:
    document = parse_toml(nested(MAX_TOML_DEPTH - 1, "at"))
    assert nesting_depth(document) == MAX_TOML_DEPTH


def test_parse_toml_refuses_deep_dotted_keys_and_headers() -> None:
    with pytest.raises(FileRefused, match=TOO_DEEP):
        parse_toml("a" + ".a" * 5000 + " = 1\n")
    with pytest.raises(FileRefused, match=TOO_DEEP):
        parse_toml("[" + ".".join(["t"] * 5000) + "]\nx = 1\n")


def test_parse_toml_errors() -> None:
    with pytest.raises(FileRefused) as info:
        parse_toml("a = 1\nb = [\n")
    assert (info.value.part, info.value.line) == ("syntax", 3)
    assert info.value.message == "Invalid value at the end of the file"
    with pytest.raises(FileRefused) as info:
        parse_toml("a = 1\nb = 1" + "1" * 5000 + "\n")
    assert (info.value.part, info.value.message) == ("syntax", "an integer with too many digits")


def test_nesting_depth() -> None:
    values: list[object] = [1, {}, [], {"a": [1, {"b": []}]}, [[[[]]]]]
    assert [nesting_depth(value) for value in values] == [
        0,
        1,
        1,
        4,
        4,
    ]


@given(st.binary(max_size=3000))
def test_the_toml_helpers_refuse_any_bytes_cleanly(data: bytes) -> None:
    refused = toml_refusal(data)
    if refused is not None:
        assert refused.message
        assert "\n" not in refused.message


def toml_refusal(data: bytes) -> FileRefused | None:
    try:
        parse_toml(decode_text(data))
    except FileRefused as refused:
        return refused
    return None


@given(st.integers(1, 6000), st.text(alphabet="at", min_size=1, max_size=6))
def test_parse_toml_on_any_nesting(depth: int, kinds: str) -> None:
    """Up to the limit a document; beyond it the same refusal, whatever the parser does."""
    text = nested(depth, kinds)
    if depth < MAX_TOML_DEPTH:
        assert nesting_depth(parse_toml(text)) == depth + 1
    else:
        with pytest.raises(FileRefused, match=TOO_DEEP):
            parse_toml(text)


def test_read_text(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_bytes(b"a = 1\n")
    assert read_text(path, max_bytes=10, kind="a test file") == "a = 1\n"


# --- policy files (patchdesk policy validate / apply) ---------------------------------------


def padded_policy(size: int) -> str:
    """A valid policy file of more than ``size`` bytes (comment lines at the end)."""
    comment = "# " + "padding " * 10 + "\n"
    return POLICY + comment * (size // len(comment) + 1)


def bad_policy_files(tmp_path: Path) -> list[tuple[Path, str]]:
    """(file, the problem line expected after ``FILE``) for every kind of unusable file."""
    cases: list[tuple[str, bytes, str]] = [
        ("arrays.toml", nested(5000).encode(), f": (toml syntax): {TOO_DEEP}"),
        ("tables.toml", nested(5000, "t").encode(), f": (toml syntax): {TOO_DEEP}"),
        ("deep.toml", nested(100, "at").encode(), f": (toml syntax): {TOO_DEEP}"),
        (
            "digits.toml",
            b"[client]\nid = 1" + b"0" * 5000 + b"\n",
            ": (toml syntax): an integer with too many digits",
        ),
        (
            "big.toml",
            padded_policy(MAX_TOML_BYTES).encode(),
            ": (file): too large (1.0 MiB): a policy file may have at most 1 MiB",
        ),
        (
            "long.toml",
            (POLICY + "# " + "x" * MAX_LINE_CHARS + "\n").encode(),
            f":{POLICY.count(chr(10)) + 1}: (file): line longer than 65,536 characters",
        ),
        ("binary.toml", b"\x89PNG\r\n\x1a\n\x00\x00", ":1: (file): not UTF-8 text (byte 0x89)"),
    ]
    files = []
    for name, data, problem in cases:
        (tmp_path / name).write_bytes(data)
        files.append((tmp_path / name, problem))
    (tmp_path / "plain").write_text("x")
    files.append((tmp_path / "plain" / "below.toml", ": (file): cannot read: Not a directory"))
    return files


def test_every_unusable_policy_file_is_refused_naming_it(tmp_path: Path) -> None:
    for path, problem in bad_policy_files(tmp_path):
        code, out, err = run(["policy", "validate", str(path)])
        assert (code, out, err) == (2, "", f"{path}{problem}\n"), path


def test_a_policy_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    with fifo(tmp_path / "pipe.toml", POLICY.encode()) as pipe:
        code, _, err = run(["policy", "validate", str(pipe)])
    assert (code, err) == (2, f"{pipe}: (file): a FIFO (named pipe), not a regular file\n")


def test_policy_apply_with_an_unusable_file_applies_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(POLICY, encoding="utf-8")
    deep = tmp_path / "deep.toml"
    deep.write_text(nested(5000), encoding="utf-8")
    database = tmp_path / "patchdesk.db"
    argv = ["--db", str(database), "--operator", "alice", "policy", "apply", str(good), str(deep)]
    code, out, err = run(argv)
    assert (code, out) == (2, "")
    assert err == f"{deep}: (toml syntax): {TOO_DEEP}\nnothing applied: 1 problem\n"
    assert not database.exists()


@SHARED_FIXTURES
@given(st.integers(1, 6000), st.text(alphabet="at", min_size=1, max_size=6))
def test_any_nesting_in_a_policy_file_is_refused_naming_it(
    tmp_path: Path, depth: int, kinds: str
) -> None:
    path = tmp_path / "nested.toml"
    path.write_text(nested(depth, kinds), encoding="utf-8")
    code, out, err = run(["policy", "validate", str(path)])
    assert (code, out) == (2, "")
    assert all(line.startswith(f"{path}:") for line in err.splitlines()), err
    if depth >= MAX_TOML_DEPTH:
        assert err == f"{path}: (toml syntax): {TOO_DEEP}\n"


FRAGMENTS = st.sampled_from(
    [b"[", b"]", b"{ k = ", b" }", b"a = ", b"\n", b"[client]\n", b'"', b"1" * 40, b",", b"#"]
)


@SHARED_FIXTURES
@given(st.one_of(st.binary(max_size=2000), st.lists(FRAGMENTS, max_size=3000).map(b"".join)))
def test_any_bytes_in_a_policy_file_are_refused_naming_it(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    code, out, err = run(["policy", "validate", str(path)])
    assert code in (0, 2), err
    if code == 2:
        assert out == ""
        assert all(line.startswith(f"{path}:") for line in err.splitlines()), err


# --- the config file ------------------------------------------------------------------------


def config_run(config: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Any command reads the config first: ``inventory --help`` then does nothing else."""
    if how == "--config":
        return run(["--config", str(config), "inventory", "--help"])
    if how == "env":
        monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    else:  # the default file in the user config directory
        monkeypatch.delenv("PATCHDESK_CONFIG", raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(config.parent.parent))
    return run(["inventory", "--help"])


def config_file(tmp_path: Path, how: str) -> Path:
    folder = tmp_path / "config" / "patchdesk"
    folder.mkdir(parents=True)
    return folder / "config.toml"


HOW = pytest.mark.parametrize("how", ["--config", "env", "default"])


@HOW
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (nested(5000).encode(), f": (toml syntax): {TOO_DEEP}"),
        (nested(5000, "t").encode(), f": (toml syntax): {TOO_DEEP}"),
        (
            b'operator = "alice"\n[connector\n',
            ":2: (toml syntax): Expected ']' at the end of a table declaration (column 11)",
        ),
        (b'operator = "\xff"\n', ":1: not UTF-8 text (byte 0xff)"),
        (b"a = 1" + b"0" * 5000 + b"\n", ": (toml syntax): an integer with too many digits"),
        (
            b'operator = "alice"\n' + b"#" * (MAX_TOML_BYTES + 1),
            ": too large (1.0 MiB): a config file may have at most 1 MiB",
        ),
        (b"# " + b"x" * MAX_LINE_CHARS + b"\n", ":1: line longer than 65,536 characters"),
    ],
    ids=["arrays", "tables", "syntax", "binary", "digits", "big", "long-line"],
)
def test_an_unusable_config_file_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, content: bytes, problem: str
) -> None:
    config = config_file(tmp_path, how)
    config.write_bytes(content)
    code, out, err = config_run(config, how, monkeypatch)
    assert (code, out, err) == (2, "", f"patchdesk: {config}{problem}\n")


@HOW
def test_a_config_directory_or_fifo_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    config = config_file(tmp_path, how)
    config.mkdir()
    code, _, err = config_run(config, how, monkeypatch)
    if how == "--config":  # click itself checks the option's path
        assert (code, err.splitlines()[-1]) == (
            2,
            f"Error: Invalid value for '--config': File '{config}' is a directory.",
        )
    else:
        assert (code, err) == (2, f"patchdesk: {config}: a directory, not a regular file\n")
    config.rmdir()
    with fifo(config, b'operator = "alice"\n'):
        code, _, err = config_run(config, how, monkeypatch)
    assert (code, err) == (2, f"patchdesk: {config}: a FIFO (named pipe), not a regular file\n")


def test_a_good_config_file_is_still_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_file(tmp_path, "default")
    config.write_text('operator = "alice"\n[engine]\ninstall_retries = 0\n')
    code, out, _ = config_run(config, "default", monkeypatch)
    assert code == 0
    assert "Usage:" in out


@SHARED_FIXTURES
@given(st.one_of(st.binary(max_size=2000), st.lists(FRAGMENTS, max_size=3000).map(b"".join)))
def test_any_bytes_in_a_config_file_are_refused_cleanly(tmp_path: Path, data: bytes) -> None:
    config = tmp_path / "fuzz-config.toml"
    config.write_bytes(data)
    code, _, err = run(["--config", str(config), "inventory", "--help"])
    assert code in (0, 2), err
    if code == 2:
        for line in err.splitlines():  # the file's own problems name it; values name the key
            assert line.startswith((f"patchdesk: {config}", "patchdesk: configuration: ")), err


# --- the UI state file (ignored when unusable) -----------------------------------------------


def test_an_unusable_ui_state_file_is_ignored(tmp_path: Path) -> None:
    from patchdesk.ui_state import load_ui_state, remember_theme

    path = tmp_path / "ui.json"
    path.write_text("[" * 100_000 + "]" * 100_000)  # beyond the JSON parser's recursion
    assert load_ui_state(path) == {}
    path.write_text('{"theme": "noc-light"}' + " " * (1024 * 1024))
    assert load_ui_state(path) == {}
    path.unlink()
    with fifo(path, b'{"theme": "noc-light"}'):
        assert load_ui_state(path) == {}
    path.unlink()
    remember_theme(path, "noc-light")
    assert load_ui_state(path) == {"theme": "noc-light"}
