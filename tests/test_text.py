from __future__ import annotations

import json
import logging
import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from patchdesk.text import (
    PrintableFormatter,
    is_hidden,
    json_escaped,
    printable,
    printable_multiline,
)

# What must never reach a terminal raw: controls, format characters (bidi, zero-width, soft
# hyphen ...), line/paragraph separators, surrogates.
NEVER_SHOWN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
PLACEHOLDER = re.compile(r"<U\+([0-9A-F]{4,6})>")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Text with every kind of character: hidden ones, controls, and ones that make look-alikes
# of the placeholder.
TEXTS = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from("<>U+u0123456789ABCDEFabcdef\u202e\u200b\u2028\ufeff\x1b\n\t"),
    )
)


def revealed(shown: str) -> str:
    """What a reader of ``shown`` knows the text was: each placeholder its character."""
    return PLACEHOLDER.sub(lambda m: chr(int(m.group(1), 16)), shown)


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
        ("Ï ñ 日本 Ελλάδα עברית", "Ï ñ 日本 Ελλάδα עברית"),  # text, even right-to-left, is kept
        (r"C:\Windows\u202e \\srv\share", r"C:\Windows\u202e \\srv\share"),
        # bidi controls
        ("srv\u202egpj.exe", "srv<U+202E>gpj.exe"),
        ("a\u202ab\u202bc\u202cd\u202de", "a<U+202A>b<U+202B>c<U+202C>d<U+202D>e"),
        ("\u2066x\u2067y\u2068z\u2069", "<U+2066>x<U+2067>y<U+2068>z<U+2069>"),
        ("l\u200er\u200fa\u061c", "l<U+200E>r<U+200F>a<U+061C>"),
        # zero-width and invisible
        ("srv\u200b01", "srv<U+200B>01"),
        (
            "\u200c\u200d\u2060\u2061\u2062\u2063\u2064",
            "<U+200C><U+200D><U+2060><U+2061><U+2062><U+2063><U+2064>",
        ),
        ("\ufeffBOM", "<U+FEFF>BOM"),
        ("soft\u00adhyphen", "soft<U+00AD>hyphen"),
        ("vs\ufe0f hangul\u3164 cgj\u034f", "vs<U+FE0F> hangul<U+3164> cgj<U+034F>"),
        ("tag\U000e0041", "tag<U+E0041>"),
        ("line\u2028para\u2029", "line<U+2028>para<U+2029>"),
        # a look-alike of the placeholder cannot pass for one
        ("a<U+202E>b", "a<U+003C>U+202E>b"),
        ("<u+200b>", "<U+003C>u+200b>"),
        ("<\x1bU+202E>", "<U+003C>U+202E>"),  # not even once the controls are gone
        ("<b>x</b> <U+> <U+12", "<b>x</b> <U+> <U+12"),  # other angle brackets are text
    ],
)
def test_printable(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_printable_multiline_keeps_lines() -> None:
    assert printable_multiline("one\r\ntwo\x1b\tthree\n") == "one\ntwo three\n"
    assert printable_multiline("a\u202eb\nc\u2028d") == "a<U+202E>b\nc<U+2028>d"


@given(TEXTS)
def test_nothing_hidden_or_controlling_is_ever_shown(value: str) -> None:
    for char in printable(value):
        assert unicodedata.category(char) not in NEVER_SHOWN, repr(char)
        assert not is_hidden(char), repr(char)
    for char in printable_multiline(value):
        assert char == "\n" or unicodedata.category(char) not in NEVER_SHOWN, repr(char)
        assert not is_hidden(char), repr(char)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs"))))
def test_visible_text_is_unchanged(value: str) -> None:
    if any(is_hidden(char) for char in value) or re.search(r"<[Uu]\+[0-9A-Fa-f]+>", value):
        return  # invisible marks outside Cf (variation selectors ...), or a look-alike
    assert printable(value) == value
    assert printable_multiline(value) == value


@given(TEXTS)
@example("<U+0041>")
@example("<\x07U+202E>")
def test_what_is_shown_reads_back_as_the_text_without_its_controls(value: str) -> None:
    """A placeholder always stands for a hidden character and never for typed text: two
    texts that differ other than by control characters are shown differently."""
    assert revealed(printable(value)) == CONTROL.sub(
        lambda m: " " if m.group() in "\t\n\r" else "", value
    )
    assert revealed(printable_multiline(value)) == CONTROL.sub(
        lambda m: "\n" if m.group() == "\n" else " " if m.group() == "\t" else "",
        value.replace("\r\n", "\n"),
    )


def test_json_escaped_spells_hidden_characters_as_escapes() -> None:
    document = {"host": "srv\u202egpj.exe", "name": "Müller ✓", "tag": "x\U000e0041\x9b"}
    text = json_escaped(json.dumps(document, indent=2, ensure_ascii=False))
    assert '"host": "srv\\u202egpj.exe"' in text
    assert '"name": "Müller ✓"' in text  # readable text stays readable
    assert '"tag": "x\\udb40\\udc41\\u009b"' in text
    assert json.loads(text) == document


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXTS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4),
    max_leaves=12,
)


@given(JSON_VALUES)
def test_json_escaped_keeps_every_value_and_shows_nothing_hidden(document: object) -> None:
    for indent in (None, 2):
        text = json_escaped(json.dumps(document, indent=indent, ensure_ascii=False))
        assert json.loads(text) == document
        for char in text:
            assert char == "\n" or unicodedata.category(char) not in NEVER_SHOWN, repr(char)
            assert not is_hidden(char), repr(char)


def test_log_lines_show_hidden_characters() -> None:
    record = logging.LogRecord(
        "patchdesk.engine",
        logging.WARNING,
        __file__,
        1,
        "unreachable: %s",
        ("rmm\u202e\x1b",),
        None,
    )
    assert PrintableFormatter("%(levelname)s %(message)s").format(record) == (
        "WARNING unreachable: rmm<U+202E>"
    )


def test_every_format_separator_and_surrogate_character_is_hidden() -> None:
    """Across all of Unicode as this Python knows it: a newer Unicode's format characters
    fail this until they are added to ``patchdesk.text``'s ranges."""
    missed = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if unicodedata.category(chr(code)) in {"Cf", "Zl", "Zp", "Cs"} and not is_hidden(chr(code))
    ]
    assert missed == []
