"""The words of ``:`` command mode: what each command is, parsing a typed line, and the
completions offered while typing. Pure: no Textual, no database (the names to complete
against are passed in).

A command is typed in full or by any prefix that names one command (``:q`` is ambiguous
between ``queue`` and ``quit``; ``:que`` is the queue). Arguments are taken literally (a
hostname may contain anything a device reported) after trimming the spaces around them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_COMPLETIONS = 8


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    argument: str | None = None  # the argument's name, e.g. "HOST"; None: takes none


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("board", "The board: open windows, upcoming windows, KPIs"),
    CommandSpec("queue", "The exception queue and the shift handover"),
    CommandSpec("reports", "Compliance, failed installs, emergencies, MTTR per client"),
    CommandSpec("approvals", "Patches awaiting approval, the global block list"),
    CommandSpec("clients", "Every client: scope, windows, rules, devices"),
    CommandSpec("client", "One client's policy, windows and figures", "ID"),
    CommandSpec("device", "One device's facts, targets and exception history", "HOST"),
    CommandSpec("missed", "Devices not patched this cycle: why, and the next window"),
    CommandSpec("theme", "Switch the colour theme (remembered)", "NAME"),
    CommandSpec("help", "Every key of the current screen"),
    CommandSpec("quit", "Quit patchdesk (asks first)"),
)
BY_NAME = {spec.name: spec for spec in COMMANDS}


class CommandError(ValueError):
    """A line that is not a command; the message says what is wrong and what would do."""


@dataclass(frozen=True)
class Command:
    name: str
    argument: str = ""


def parse(line: str, names: Sequence[str] | None = None) -> Command:
    """The command a typed line names (a leading ``:`` is allowed). ``names``: the commands
    available here (default: all)."""
    available = [spec.name for spec in COMMANDS if names is None or spec.name in names]
    text = line.strip().removeprefix(":").strip()
    if not text:
        raise CommandError("type a command: " + ", ".join(available))
    word, _, rest = text.partition(" ")
    word, argument = word.lower(), rest.strip()
    matches = [name for name in available if name == word] or [
        name for name in available if name.startswith(word)
    ]
    if not matches:
        raise CommandError(f"unknown command {word!r}: try " + ", ".join(available))
    if len(matches) > 1:
        raise CommandError(f"{word!r} could be " + " or ".join(matches))
    spec = BY_NAME[matches[0]]
    if spec.argument is None and argument:
        raise CommandError(f":{spec.name} takes no argument")
    if spec.argument is not None and not argument:
        raise CommandError(
            f":{spec.name} needs {spec.argument}, e.g. :{spec.name} {_example(spec)}"
        )
    return Command(spec.name, argument)


def _example(spec: CommandSpec) -> str:
    return {"ID": "acme", "HOST": "DC01", "NAME": "noc-dark"}.get(spec.argument or "", "…")


@dataclass(frozen=True)
class Vocabulary:
    """What arguments complete against: client ids, hostnames, theme names."""

    clients: Sequence[str] = ()
    hosts: Sequence[str] = ()
    themes: Sequence[str] = ()

    def for_argument(self, argument: str) -> Sequence[str]:
        return {"ID": self.clients, "HOST": self.hosts, "NAME": self.themes}.get(argument, ())


def completions(line: str, vocabulary: Vocabulary, names: Sequence[str] | None = None) -> list[str]:
    """Whole lines (without the ``:``) that complete what is typed, best first: command
    names while the first word is typed, then the command's arguments (case-insensitive
    prefix first, then those containing the text)."""
    text = line.lstrip().removeprefix(":").lstrip()
    available = [spec for spec in COMMANDS if names is None or spec.name in names]
    word, space, rest = text.partition(" ")
    if not space:
        return [spec.name for spec in available if spec.name.startswith(word.lower())][
            :MAX_COMPLETIONS
        ]
    matches = [spec for spec in available if spec.name == word.lower()] or [
        spec for spec in available if spec.name.startswith(word.lower())
    ]
    if len(matches) != 1 or matches[0].argument is None:
        return []
    spec = matches[0]
    found = _matching(vocabulary.for_argument(spec.argument or ""), rest.strip())
    return [f"{spec.name} {value}" for value in found]


def _matching(values: Iterable[str], typed: str) -> list[str]:
    wanted = typed.casefold()
    starts: list[str] = []
    contains: list[str] = []
    for value in values:
        folded = value.casefold()
        if folded.startswith(wanted):
            starts.append(value)
        elif wanted and wanted in folded:
            contains.append(value)
        if len(starts) >= MAX_COMPLETIONS:
            break
    return (sorted(starts, key=str.casefold) + sorted(contains, key=str.casefold))[:MAX_COMPLETIONS]
