"""Who is at the keyboard, asked when the UI opens on a shared login.

When the operator name would be a shared or administrative login (``root``, or any name in
the ``shared_logins`` setting), the app asks for the technician's name before anything can
be done: a modal over the first screen, whose only way on is a valid name (not blank, not a
shared login, no control characters, at most 100 characters); ``ctrl+q`` still quits. The
name then stands for the session: every action is logged under it and the header shows it.
A read-only session writes nothing and asks nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from patchdesk.identity import MAX_NAME, is_shared_login, name_problem
from patchdesk.screens.form_screen import FormScreen
from patchdesk.screens.services import HasServices, services_of, set_operator
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.text import printable


class OperatorPrompt(FormScreen[str]):
    """Asks the technician's name; dismisses with it (trimmed) once it is valid."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stay", "A name is needed", show=False, id="operator_prompt.escape"),
    ]

    DEFAULT_CSS = """
    OperatorPrompt { align: center middle; }
    OperatorPrompt > Vertical {
        width: 72; max-width: 100%; height: auto;
        border: thick $warning; background: $panel; padding: 1 2;
    }
    OperatorPrompt .prompt-title { text-style: bold; }
    OperatorPrompt Input { margin-top: 1; }
    OperatorPrompt #operator-error { color: $error; height: auto; }
    OperatorPrompt .prompt-keys { color: $text-muted; }
    """

    def __init__(self, login: str, shared_logins: tuple[str, ...]) -> None:
        super().__init__()
        self.login = login
        self.shared_logins = shared_logins
        self._palette_was: bool | None = None

    def compose(self) -> ComposeResult:
        why = Text("You are logged in as ")
        why.append(printable(self.login), "bold")
        why.append(
            ", a shared login. Every action is written to the remediation log under the "
            "name of the technician who took it: type yours (it shows in the header)."
        )
        with Vertical():
            yield Static("Who is at the keyboard?", classes="prompt-title", markup=False)
            yield Static(why, markup=False)
            yield Input(
                id="operator-name", placeholder="your name, e.g. Alice Meyer", max_length=MAX_NAME
            )
            yield Static("", id="operator-error", markup=False)
            yield Static("enter continue   ctrl+q quit", classes="prompt-keys", markup=False)

    AUTO_FOCUS = "#operator-name"

    def on_mount(self) -> None:
        super().on_mount()
        # The palette could switch screens under the prompt: closed while it is open.
        self._palette_was = self.app.use_command_palette
        self.app.use_command_palette = False

    def on_unmount(self) -> None:
        if self._palette_was is not None:
            self.app.use_command_palette = self._palette_was

    @on(Input.Submitted, "#operator-name")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = name_problem(event.value, self.shared_logins)
        if problem is not None:
            self._error(f"{problem}: type your own name")
            return
        self.finish(event.value.strip())

    def action_stay(self) -> None:
        self._error("A name is needed before anything else (ctrl+q quits).")

    def _error(self, message: str) -> None:
        self.query_one("#operator-error", Static).update(Text(printable(message)))


def ask_operator_name(app: App[Any]) -> None:
    """Ask for the technician's name when the session's operator is a shared login (not in a
    read-only session); the answer becomes ``services.operator``."""
    services = services_of(app)
    if services.readonly or not is_shared_login(services.operator, services.shared_logins):
        return

    def named(name: str | None) -> None:
        if not name:
            return
        set_operator(cast(HasServices, app), name)
        for header in app.screen.query(ClockHeader):
            header.refresh()
        app.notify(
            f"Acting as {printable(name)}: every action is logged under this name.", markup=False
        )

    app.push_screen(OperatorPrompt(services.operator, services.shared_logins), named)


__all__ = ["OperatorPrompt", "ask_operator_name"]
