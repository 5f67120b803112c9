"""The Textual application: the NOC terminal.

Built around ``Services`` (the store, who is at the keyboard, the clock, the operator's
zone): screens reach it with ``services_of(self.app)``. Screens are Textual *modes*, each
with its own stack: ``board`` (the start screen), ``queue`` (the exception queue and
handover), ``reports``, ``approvals`` and ``clients``. App keys: ``1``-``5`` a mode's root
screen (pages stacked on it close), ``?`` the current screen's keys, grouped, ``q`` and
``ctrl+q`` quit (both confirmed, as are ``:quit`` and the palette's quit), ``ctrl+p`` the
command palette. Below 80x24 a message replaces the screens until the terminal grows.

The engine may run in the same process (``LiveEngine``, a background thread): the app
starts it once mounted and stops it (releasing the lease) when it closes. The UI thread never
waits on the engine or the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from textual.app import App, SystemCommand
from textual.events import Resize
from textual.screen import Screen

from patchdesk.engine.live import LiveEngine
from patchdesk.screens.approvals import ApprovalsScreen
from patchdesk.screens.bindings import (
    APP_BINDINGS,
    ROW_ACTIONS,
    all_binding_ids,
    declaration_order,
)
from patchdesk.screens.board import BoardScreen
from patchdesk.screens.burst import BurstApp
from patchdesk.screens.clients import ClientsScreen
from patchdesk.screens.command_grammar import COMMANDS, Command
from patchdesk.screens.command_line import CommandLine
from patchdesk.screens.form_screen import FINISH_FIRST, FormScreen, open_form
from patchdesk.screens.goto import GOTO_COMMANDS
from patchdesk.screens.help import ActiveKey, HelpEntry, HelpScreen, help_entries
from patchdesk.screens.operator_prompt import ask_operator_name
from patchdesk.screens.palette import PatchdeskCommands
from patchdesk.screens.queue import QueueScreen
from patchdesk.screens.quit_confirm import QuitAnswer, QuitScreen
from patchdesk.screens.reports import ReportsScreen
from patchdesk.screens.services import Services
from patchdesk.screens.themes import DEFAULT_THEME, bundled_themes
from patchdesk.screens.too_small import TooSmallScreen, too_small
from patchdesk.simulation.demo import DemoDatabase
from patchdesk.store.db import parse_url, shown_url
from patchdesk.ui_state import remember_theme, remembered_theme


def database_note(services: Services, demo: DemoDatabase | None = None) -> str:
    """Which database the app is on, and how to reach it from another terminal."""
    url = parse_url(services.database.url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        where = str(url.database)
        shell = f"patchdesk --db {where} exceptions"
    else:
        where = shown_url(services.database.url)
        shell = "patchdesk --db URL exceptions"
    note = f"Database: {where}\nFrom another terminal: {shell}"
    if demo is not None and demo.temporary:
        note += "\n(the demo's database: deleted when the demo quits, unless you keep it then)"
    elif demo is not None:
        note += "\n(the demo's database: it stays when the demo quits)"
    elif services.simulated:
        note += "\n(a simulated MSP's database)"
    return note


MODE_COMMANDS = frozenset({"board", "queue", "reports", "approvals", "clients"})

SCREEN_TITLES = {
    "board": "Board",
    "queue": "Exception queue",
    "reports": "Reports",
    "clients": "Clients",
    "approvals": "Approvals",
}


class PatchdeskApp(BurstApp):
    TITLE = "patchdesk"
    MODES = {
        "board": BoardScreen,
        "queue": QueueScreen,
        "reports": ReportsScreen,
        "clients": ClientsScreen,
        "approvals": ApprovalsScreen,
    }
    BINDINGS = APP_BINDINGS
    COMMANDS = App.COMMANDS | {PatchdeskCommands}
    # Textual 8.2's compact footer gives every key a right margin, the palette key docked on
    # the right too: the last column then shows whatever binding overflows beneath it (a
    # stray "p" after "^p palette" on the queue at 80 columns).
    CSS = "Footer.-compact FooterKey.-command-palette { margin-right: 0; }"

    def __init__(
        self,
        services: Services,
        *,
        engine: LiveEngine | None = None,
        theme: str = DEFAULT_THEME,
        clock_note: str = "",
        ui_state: Path | None = None,
        keymap: Mapping[str, str] | None = None,
        demo_database: DemoDatabase | None = None,
    ) -> None:
        """``ui_state``: the file remembering the ``:theme`` choice (None: not remembered);
        a remembered theme wins over ``theme`` (the configured one). ``keymap``: binding id
        -> keys, from the config file's ``[keys]`` table. ``demo_database``: the demo's
        SQLite file, which the quit confirmation talks about."""
        super().__init__()
        self.services = services
        self.engine = engine
        self.engine_holder: str | None = engine.reconciler.holder if engine else None
        self.clock_note = clock_note  # e.g. "SIMULATED ×60", next to the clock
        self._wanted_theme = theme
        self.ui_state = ui_state
        self.user_keymap = dict(keymap or {})
        self._too_small: TooSmallScreen | None = None
        self.demo_database = demo_database
        self.quit_answer: QuitAnswer | None = (
            None  # how the technician quit (KEEP: keep the demo's database)
        )

    # ------------------------------------------------------------------ lifecycle

    async def on_mount(self) -> None:
        for theme in bundled_themes():
            self.register_theme(theme)
        remembered = remembered_theme(self.ui_state) if self.ui_state is not None else None
        if remembered in self.available_themes:
            self._wanted_theme = remembered
        if self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme
        else:
            self.theme = DEFAULT_THEME
            self.notify(
                f"Unknown theme {self._wanted_theme!r}; using {DEFAULT_THEME}.",
                severity="warning",
                markup=False,
            )
        self._apply_keymap()
        await self.switch_mode("board")
        ask_operator_name(self)  # a shared login (root ...): who is at the keyboard?
        if self.engine is not None:
            self.engine.start()
        self._check_size(*self.size)

    def _apply_keymap(self) -> None:
        """The config's key remapping; ids no binding has are named in a warning."""
        if not self.user_keymap:
            return
        unknown = sorted(set(self.user_keymap) - all_binding_ids())
        if unknown:
            self.notify(
                "config [keys]: no binding has the id " + ", ".join(unknown) + " (see `?`)",
                severity="warning",
                markup=False,
            )
        self.set_keymap({k: v for k, v in self.user_keymap.items() if k not in unknown})

    def on_unmount(self) -> None:
        if self.engine is not None:
            self.engine.stop()

    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        if self.current_mode not in self.MODES:  # a resize before on_mount chose a mode
            return
        small = too_small(width, height)
        if small and self._too_small is None:
            self._too_small = TooSmallScreen()
            self.push_screen(self._too_small)
        elif not small and self._too_small is not None:
            screen, self._too_small = self._too_small, None
            if self.screen is screen:
                self.pop_screen()

    # -------------------------------------------------------------------- actions

    def action_show_mode(self, mode: str) -> None:
        """A mode key (``1``-``5``, ``:board``, ...): the mode's root screen. Screens
        stacked on it earlier (a device page, a client) close when it is shown this way,
        not when it is left: a client opened from a device page still walks back to that
        page with ``esc`` (the client screen switches back to its mode). Refused while a
        form is open (``open_form``): what was typed in it must not vanish into a hidden
        stack (a digit typed into a form is text, not this key)."""
        if self._too_small is not None:
            return
        if open_form(self) is not None:
            self.notify(FINISH_FIRST, severity="warning", markup=False)
            return
        if mode != self.current_mode:
            self.switch_mode(mode)
        self._pop_to_root()

    def _pop_to_root(self) -> None:
        """Close the current mode's stacked screens down to its root (a help, a question
        left open close unanswered); a form met on the way stays, shown with its text."""
        while len(self.screen_stack) > 1 and not isinstance(self.screen, FormScreen):
            self.pop_screen()

    def help_entries(self) -> list[HelpEntry]:
        """The keys answering on the current screen, grouped: this screen's, the row
        actions, the global ones (see ``screens.help``)."""
        ours, order = all_binding_ids(), declaration_order()
        keys = [
            ActiveKey(
                key,
                active.binding,
                ours=active.binding.id in ours,
                on_app=active.node is self,
                on_screen=active.node is self.screen,
            )
            for key, active in self.active_bindings.items()
        ]
        keys.sort(key=lambda k: order.get(k.binding.id or "", len(order)) if k.ours else len(order))
        return help_entries(keys, ROW_ACTIONS)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        title = getattr(self.screen, "HELP_TITLE", None) or SCREEN_TITLES.get(
            self.current_mode, "patchdesk"
        )
        note = database_note(self.services, self.demo_database)
        self.push_screen(HelpScreen(title, self.help_entries(), note))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's palette commands, less its Quit (which quit at once: the palette's
        ``:quit`` asks first) and with ``?``'s help for its key panel."""
        for command in super().get_system_commands(screen):
            if command.title == "Quit":
                continue
            if command.title == "Keys":
                yield SystemCommand("Keys", "Every key of this screen (?)", self.action_help)
                continue
            yield command

    # ------------------------------------------------------------- command mode, back

    def command_names(self) -> list[str]:
        """The ``:`` commands, in the order ``:`` and the palette offer them."""
        return [spec.name for spec in COMMANDS]

    def action_command_line(self) -> None:
        if self._too_small is not None or isinstance(self.screen, CommandLine):
            return
        self.push_screen(CommandLine(self.command_names()), self._run_command)

    def _run_command(self, command: Command | None) -> None:
        if command is None:
            return
        self.run_command(command)

    def run_command(self, command: Command) -> None:
        """Run a parsed ``:`` command (also the palette's entry point). While a form is open
        (the palette opens over it) no mode is switched and no page opened: the form would
        vanish while it still holds what was typed."""
        name, argument = command.name, command.argument
        if (name in MODE_COMMANDS or name in GOTO_COMMANDS) and open_form(self) is not None:
            self.notify(FINISH_FIRST, severity="warning", markup=False)
            return
        if name in MODE_COMMANDS:
            self.action_show_mode(name)
        elif name in GOTO_COMMANDS:
            GOTO_COMMANDS[name](self, argument)
        elif name == "theme":
            self.choose_theme(argument)
        elif name == "help":
            self.action_help()
        elif name == "quit":
            self.action_request_quit()

    def choose_theme(self, name: str) -> None:
        """Switch to a theme and remember it; an unknown name is refused, listing the known."""
        if name not in self.available_themes:
            known = ", ".join(sorted(self.available_themes))
            self.notify(f"No theme {name!r}. Themes: {known}", severity="error", markup=False)
            return
        self.theme = name
        if self.ui_state is not None:
            try:
                remember_theme(self.ui_state, name)
            except OSError as exc:
                self.notify(f"Theme {name} set, not remembered: {exc}", markup=False)
                return
        self.notify(f"Theme: {name}", markup=False)

    def action_walk_back(self) -> None:
        """``esc`` walks back: the screen pushed last closes; on a mode's first screen, back
        to the board (its root, as ``1`` shows it)."""
        if self._too_small is not None:
            return
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.current_mode != "board":
            self.action_show_mode("board")

    async def action_quit(self) -> None:
        """Textual's quit (``ctrl+q``, anything calling ``action_quit``) asks first, as
        ``q`` does: every way out goes through the one confirmation."""
        self.action_request_quit()

    def action_request_quit(self) -> None:
        if isinstance(self.screen, QuitScreen):
            return

        def answered(answer: QuitAnswer | None) -> None:
            if answer in (QuitAnswer.QUIT, QuitAnswer.KEEP):
                self.quit_answer = answer
                self.exit()

        screen = QuitScreen(engine_here=self.engine is not None, demo=self.demo_database)
        self.push_screen(screen, answered)
