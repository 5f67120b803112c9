from __future__ import annotations

import pytest

from patchdesk.text import printable, printable_multiline


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("HOST-01", "HOST-01"),
        ("\x1b[2Jwiped", "[2Jwiped"),
        ("bell\x07", "bell"),
        ("a\tb\nc\rd", "a b c d"),
        ("c1\x9bcsi", "c1csi"),
        ("[bold red]HOST[/]", "[bold red]HOST[/]"),
        ("ünïcødé ✓", "ünïcødé ✓"),
    ],
)
def test_printable(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_printable_multiline_keeps_lines() -> None:
    assert printable_multiline("one\r\ntwo\x1b\tthree\n") == "one\ntwo three\n"
