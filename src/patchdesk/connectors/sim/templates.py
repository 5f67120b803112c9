"""The numbers in the catalogue's titles: ``{expression}`` fields in the data files' text.

A catalogue entry's vendor id and title follow the cycle's month (KB numbers, versions), so
the data files hold templates such as ``KB{kb + 100}`` or ``7-Zip {24 + m // 12}.{m % 6:02d}``.
An expression is integer arithmetic (``+ - * // %``, parentheses) over the names a cycle
gives (``m``: months since 2024-01, ``kb``, ``year``, ``ym``); an optional format spec
follows a colon. Nothing else is evaluated: the files ship with the package, but a template
is still text, not code.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Values = Mapping[str, int | str]

_FIELD = re.compile(r"\{([^{}]*)\}")
_OPERATORS: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
}


class TemplateError(ValueError):
    """A template field that is not an expression of the allowed kind."""


@dataclass(frozen=True)
class Template:
    """Literal text and fields, parsed once when the catalogue is read."""

    parts: tuple[str | tuple[ast.expr, str], ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        parts: list[str | tuple[ast.expr, str]] = []
        position = 0
        for field in _FIELD.finditer(text):
            parts.append(text[position : field.start()])
            expression, _, spec = field.group(1).partition(":")
            try:
                tree = ast.parse(expression.strip(), mode="eval").body
            except SyntaxError as exc:
                raise TemplateError(f"{text!r}: {field.group()} is not an expression") from exc
            _check(tree, text)
            parts.append((tree, spec))
            position = field.end()
        parts.append(text[position:])
        if any("{" in part or "}" in part for part in parts if isinstance(part, str)):
            raise TemplateError(f"{text!r}: unbalanced braces")
        return cls(tuple(part for part in parts if part != ""))

    def render(self, values: Values) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                tree, spec = part
                out.append(format(_evaluate(tree, values), spec))
        return "".join(out)


def _check(node: ast.expr, text: str) -> None:
    """Only names, integers and the arithmetic operators."""
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        return
    elif not isinstance(node, ast.Name):
        raise TemplateError(f"{text!r}: {ast.unparse(node)!r} is not integer arithmetic")


def _evaluate(node: ast.expr, values: Values) -> int | str:
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int)
        return node.value
    assert isinstance(node, ast.BinOp)
    left, right = _evaluate(node.left, values), _evaluate(node.right, values)
    if not isinstance(left, int) or not isinstance(right, int):
        raise TemplateError(f"{ast.unparse(node)!r}: arithmetic on text")
    return _OPERATORS[type(node.op)](left, right)
