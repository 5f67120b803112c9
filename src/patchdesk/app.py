"""The Textual application: the NOC terminal.

Built around ``Services`` (the store, who is at the keyboard, the clock, the operator's
zone): screens reach it with ``services_of(self.app)``. Screens are Textual *modes*, each
with its own stack: ``board`` (the start screen), ``queue`` (the exception queue and
handover) and ``approvals``. App keys: ``1`` board, ``2`` queue, ``4`` approvals, ``?`` every
key of the current screen, ``q`` quit (confirmed), ``ctrl+p`` the command palette. Below
80x24 a message replaces the screens until the terminal grows.

The engine may run in the same process (``LiveEngine``, a background thread): the app
starts it once mounted and stops it (releasing the lease) when it closes. The UI thread never
waits on the engine or the database.
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen

from patchdesk.engine.live import LiveEngine
from patchdesk.screens.approvals import ApprovalsScreen
from patchdesk.screens.board import BoardScreen
from patchdesk.screens.help import HelpEntry, HelpScreen
from patchdesk.screens.queue_unavailable import QueueUnavailableScreen
from patchdesk.screens.quit_confirm import QuitScreen
from patchdesk.screens.services import Services
from patchdesk.screens.themes import DEFAULT_THEME, bundled_themes
from patchdesk.screens.too_small import TooSmallScreen, too_small

QUEUE_MODULE = "patchdesk.screens.queue"


def queue_screen() -> Screen[None]:
    """The exception queue, imported when first shown. Only if its module does not exist
    (yet) does a screen saying so stand in for it; any other import error is raised."""
    try:
        from patchdesk.screens.queue import QueueScreen
    except ModuleNotFoundError as exc:
        if exc.name != QUEUE_MODULE:
            raise
        return QueueUnavailableScreen()
    return QueueScreen()


SCREEN_TITLES = {"board": "Board", "queue": "Exception queue", "approvals": "Approvals"}


class PatchdeskApp(App[None]):
    TITLE = "patchdesk"
    MODES = {"board": BoardScreen, "queue": queue_screen, "approvals": ApprovalsScreen}
    BINDINGS = [
        Binding("1", "show_mode('board')", "Board", id="app.board"),
        Binding("2", "show_mode('queue')", "Queue", id="app.queue"),
        Binding("4", "show_mode('approvals')", "Approvals", id="app.approvals"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "request_quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        services: Services,
        *,
        engine: LiveEngine | None = None,
        theme: str = DEFAULT_THEME,
        clock_note: str = "",
    ) -> None:
        super().__init__()
        self.services = services
        self.engine = engine
        self.engine_holder: str | None = engine.reconciler.holder if engine else None
        self.clock_note = clock_note  # e.g. "SIMULATED ×60", next to the clock
        self._wanted_theme = theme
        self._too_small: TooSmallScreen | None = None

    # ------------------------------------------------------------------ lifecycle

    async def on_mount(self) -> None:
        for theme in bundled_themes():
            self.register_theme(theme)
        if self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme
        else:
            self.theme = DEFAULT_THEME
            self.notify(
                f"Unknown theme {self._wanted_theme!r}; using {DEFAULT_THEME}.",
                severity="warning",
                markup=False,
            )
        await self.switch_mode("board")
        if self.engine is not None:
            self.engine.start()
        self._check_size(*self.size)

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
        if self._too_small is not None or mode == self.current_mode:
            return
        self.switch_mode(mode)

    def help_entries(self) -> list[HelpEntry]:
        """Every binding active on the current screen (the app's included), shown in the
        footer or not."""
        screen_name = SCREEN_TITLES.get(self.current_mode, type(self.screen).__name__)
        entries: list[HelpEntry] = []
        seen: set[tuple[str, str]] = set()
        for key, active in self.active_bindings.items():
            binding = active.binding
            description = binding.description or binding.tooltip or binding.action
            where = "app" if active.node is self else screen_name
            label = binding.key_display or key
            if (label, description) in seen:
                continue
            seen.add((label, description))
            entries.append(HelpEntry(label, description, where))
        return sorted(entries, key=lambda e: (e.where == "app", e.key))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        title = SCREEN_TITLES.get(self.current_mode, "patchdesk")
        self.push_screen(HelpScreen(title, self.help_entries()))

    def action_request_quit(self) -> None:
        if isinstance(self.screen, QuitScreen):
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.exit()

        self.push_screen(QuitScreen(engine_here=self.engine is not None), answered)
