"""The simulator catalogue's title templates: integer arithmetic over the cycle's names only."""

from __future__ import annotations

import pytest

from patchdesk.connectors.sim.templates import Template, TemplateError

VALUES = {"m": 35, "kb": 5_114_500, "year": 2026, "ym": "2026-12"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("KB{kb + 100}", "KB5114600"),
        ("{ym} Cumulative Update", "2026-12 Cumulative Update"),
        ("Edge {121 + m * 13 // 12}.0", "Edge 158.0"),
        ("Chrome {6100 + (121 + m * 13 // 12) * 10}", "Chrome 7680"),
        ("7-Zip {24 + m // 12}.{1 + m % 12 // 6:02d}", "7-Zip 26.02"),
        ("RHSA-{year}:{1000 + m * 310}", "RHSA-2026:11850"),
        ("macOS Tahoe 26", "macOS Tahoe 26"),
    ],
)
def test_a_template_renders_the_cycle_numbers(text: str, expected: str) -> None:
    assert Template.parse(text).render(VALUES) == expected


@pytest.mark.parametrize(
    "text",
    [
        "{__import__('os').getcwd()}",
        "{m.bit_length()}",
        "{m ** 2}",
        "{'a' + 'b'}",
        "{1.5 + m}",
        "KB{kb + 100",
        "{m +}",
    ],
)
def test_anything_but_integer_arithmetic_is_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        Template.parse(text)


def test_arithmetic_on_text_is_refused() -> None:
    with pytest.raises(TemplateError):
        Template.parse("{ym + 1}").render(VALUES)
