"""Untrusted text in reports: HTML escaping, CSV formula injection, control characters."""

from __future__ import annotations

import csv
import io

import pytest

from patchdesk.reports.escape import csv_cell, html_multiline, html_text, md_text
from patchdesk.reports.formatting import percent


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"],
)
def test_csv_formulas_are_neutralised(value: str) -> None:
    cell = csv_cell(value)
    assert cell.startswith("'")
    # A spreadsheet reading the written CSV sees text starting with a quote.
    out = io.StringIO()
    csv.writer(out).writerow([cell])
    parsed = next(csv.reader(io.StringIO(out.getvalue())))
    assert parsed[0].startswith("'")


def test_csv_plain_values_are_kept_and_control_characters_go() -> None:
    assert csv_cell("PC-01") == "PC-01"
    assert csv_cell("KB5112300") == "KB5112300"
    assert csv_cell(None) == ""
    assert csv_cell(3) == "3"
    assert csv_cell(True) == "true"
    assert csv_cell("bad\x1b[31mred\x07") == "bad[31mred"
    assert csv_cell("two\nlines") == "two\nlines"  # the csv module quotes it


def test_html_escaping() -> None:
    assert html_text('<script>alert("x")</script>') == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    )
    assert html_text("a & b's") == "a &amp; b&#x27;s"
    assert html_text("esc\x1b]0;title\x07") == "esc]0;title"
    assert html_multiline("line 1\n<b>line 2</b>") == "line 1<br>&lt;b&gt;line 2&lt;/b&gt;"


def test_markdown_escaping() -> None:
    assert md_text("[click](http://evil)") == r"\[click\](http://evil)"
    assert md_text("a|b") == r"a\|b"
    assert md_text("<img src=x>") == r"\<img src=x\>"
    assert md_text("*bold* _it_") == r"\*bold\* \_it\_"
    assert md_text("tab\there\nnewline") == "tab here newline"


def test_percent_rounds_down() -> None:
    from fractions import Fraction

    assert percent(Fraction(9999, 10000)) == "99.9%"
    assert percent(Fraction(1, 3)) == "33.3%"
    assert percent(Fraction(1)) == "100.0%"
    assert percent(None) == "n/a"


def test_bidi_and_zero_width_characters_are_shown_in_every_format() -> None:
    host = "srv\u202egpj.exe\u200b"
    assert md_text(host) == r"srv\<U+202E\>gpj.exe\<U+200B\>"
    assert html_text(host) == "srv&lt;U+202E&gt;gpj.exe&lt;U+200B&gt;"
    assert html_multiline("a\u2066\nb\ufeff") == "a&lt;U+2066&gt;<br>b&lt;U+FEFF&gt;"
    assert csv_cell(host) == "srv<U+202E>gpj.exe<U+200B>"
    # a hidden character cannot hide a formula either
    assert csv_cell("\u200b=1+1") == "<U+200B>=1+1"
