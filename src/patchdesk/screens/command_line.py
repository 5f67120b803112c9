"""``:`` command mode: a line at the bottom of the screen, k9s-style. Typing shows the
commands (and then the client ids, hostnames or theme names) that complete it; ``tab``
takes the first (again: the next), ``enter`` runs the line, ``esc`` closes it.

The screen only reads and checks the line; it returns the :class:`Command` and the app
runs it. The names to complete against are read in a worker when the line opens."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from patchdesk.screens.command_grammar import (
    BY_NAME,
    COMMANDS,
    Command,
    CommandError,
    Vocabulary,
    completions,
    parse,
)
from patchdesk.screens.services import services_of
from patchdesk.screens.themes import bundled_themes
from patchdesk.store.name_views import read_names
from patchdesk.text import printable


class _Completer(Suggester):
    """The first completion, shown greyed after the cursor (``right`` or ``tab`` takes it)."""

    def __init__(self, line: CommandLine) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.line = line

    async def get_suggestion(self, value: str) -> str | None:
        found = completions(value, self.line.vocabulary, self.line.names)
        return found[0] if found and found[0] != value else None


class CommandLine(ModalScreen[Command | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="command.cancel"),
        Binding("tab", "complete", "Complete", id="command.complete", priority=True),
    ]
    DEFAULT_CSS = """
    CommandLine { align: left bottom; background: $background 30%; }
    CommandLine > Vertical { height: auto; width: 100%; background: $surface; }
    CommandLine #command-hints { height: auto; max-height: 9; padding: 0 1; color: $text-muted; }
    CommandLine #command-error { height: auto; padding: 0 1; color: $error; }
    CommandLine #command-row { height: 1; }
    CommandLine #command-prompt { width: 2; padding-left: 1; text-style: bold; color: $accent; }
    CommandLine Input { border: none; height: 1; padding: 0 1 0 0; background: $surface; }
    CommandLine Input:focus { border: none; }
    """

    def __init__(self, names: Sequence[str] | None = None) -> None:
        """``names``: the commands that can run here (default: all)."""
        super().__init__()
        self.names = list(names) if names is not None else [spec.name for spec in COMMANDS]
        self.vocabulary = Vocabulary()
        self._cycle: list[str] = []
        self._cycle_at = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="command-hints")
            yield Static("", id="command-error")
            with Horizontal(id="command-row"):
                yield Static(":", id="command-prompt")
                yield Input(placeholder="command (tab completes, esc closes)",
                            id="command-input", suggester=_Completer(self))  # fmt: skip

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._show_hints("")
        self._read_names()

    class NamesRead(Message):
        """A worker read what arguments complete against."""

        def __init__(self, vocabulary: Vocabulary) -> None:
            super().__init__()
            self.vocabulary = vocabulary

    # Without the names the hints still complete commands: a failed read is not told.
    @work(thread=True, exit_on_error=False, group="command-names")
    def _read_names(self) -> None:
        with services_of(self.app).database.session() as session:
            names = read_names(session)
        # patchdesk's own themes (Textual's are accepted too, not offered)
        themes = tuple(sorted(theme.name for theme in bundled_themes()))
        self.post_message(self.NamesRead(Vocabulary(names.clients, names.hosts, themes)))

    @on(NamesRead)
    def _names_read(self, message: NamesRead) -> None:
        self.vocabulary = message.vocabulary
        self._show_hints(self.query_one(Input).value)

    # --- typing ---------------------------------------------------------------------------

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.value not in self._cycle:
            self._cycle, self._cycle_at = [], 0
        self._error("")
        self._show_hints(event.value)

    def _show_hints(self, value: str) -> None:
        found = completions(value, self.vocabulary, self.names)
        text = Text()
        for line in found:
            spec = BY_NAME.get(line.split(" ", 1)[0])
            text.append(":" + printable(line), style="bold")
            if spec is not None and " " not in line:
                arg = f" {spec.argument}" if spec.argument else ""
                text.append(f"{arg}  {spec.summary}", style="")
            text.append("\n")
        text.rstrip()
        self.query_one("#command-hints", Static).update(text)

    def action_complete(self) -> None:
        field = self.query_one(Input)
        if not self._cycle:
            self._cycle = completions(field.value, self.vocabulary, self.names)
            self._cycle_at = 0
        elif self._cycle:
            self._cycle_at = (self._cycle_at + 1) % len(self._cycle)
        if not self._cycle:
            return
        chosen = self._cycle[self._cycle_at]
        spec = BY_NAME.get(chosen)
        if spec is not None and spec.argument is not None:
            chosen += " "  # on to the argument
            self._cycle = []
        field.value = chosen
        field.cursor_position = len(chosen)

    # --- running --------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            command = parse(event.value, self.names)
        except CommandError as exc:
            self._error(str(exc))
            return
        self.dismiss(command)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _error(self, message: str) -> None:
        self.query_one("#command-error", Static).update(Text(printable(message)))
