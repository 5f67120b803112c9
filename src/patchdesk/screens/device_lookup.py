"""Finding a device by name: ``open_device(app, "HOST")`` (``:device HOST``) looks the name
up in a worker; one match opens the device screen, several (a hostname several clients use,
or a partial one) a pick list, none a message. ``HOST@CLIENT`` names one client's device.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from patchdesk.screens.device_detail import show_device
from patchdesk.screens.services import services_of
from patchdesk.screens.widgets.device_sections import ROLE_WORDS
from patchdesk.store.device_search import HostLookup, find_devices
from patchdesk.text import printable


class DevicePickScreen(ModalScreen[int | None]):
    """Several devices match a hostname: pick one (``enter``), or ``esc``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="device_pick.cancel"),
    ]

    DEFAULT_CSS = """
    DevicePickScreen { align: center middle; }
    DevicePickScreen > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    DevicePickScreen OptionList { height: auto; max-height: 16; }
    DevicePickScreen .pick-keys { color: $text-muted; }
    """

    def __init__(self, lookup: HostLookup) -> None:
        super().__init__()
        self.lookup = lookup

    def compose(self) -> ComposeResult:
        lookup = self.lookup
        query = printable(lookup.query)
        if lookup.exact:
            title = f"{len(lookup.matches)} devices are named “{query}”: which one?"
        else:
            title = f"No device is named “{query}”; devices whose name contains it:"
        with Vertical():
            yield Static(Text(title, "bold"), markup=False)
            yield OptionList(
                *(
                    Option(self._prompt(index), id=str(match.id))
                    for index, match in enumerate(lookup.matches)
                ),
                id="device-matches",
            )
            more = f"  (the first {len(lookup.matches)} only)" if lookup.more else ""
            yield Static(
                Text(f"↑↓ choose   enter open   esc cancel{more}"),
                classes="pick-keys",
                markup=False,
            )

    def _prompt(self, index: int) -> Text:
        match = self.lookup.matches[index]
        text = Text()
        text.append(printable(match.hostname), "bold")
        text.append(f"@{printable(match.client_id)}")
        text.append(f"  {printable(match.client_name)}", "dim")
        text.append(f" · {ROLE_WORDS[match.role]}")
        if match.site:
            text.append(f" · {printable(match.site)}")
        return text

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.lookup.matches[event.option_index].id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def show_lookup(app: App[Any], lookup: HostLookup) -> None:
    """The device a lookup found, a pick list when it found several, or a message."""
    single = lookup.single
    if single is not None:
        show_device(app, single.id)
        return
    if not lookup.matches:
        app.notify(
            f"no device named “{printable(lookup.query)}” (HOST or HOST@CLIENT)",
            severity="warning",
            markup=False,
        )
        return

    def picked(device_id: int | None) -> None:
        if device_id is not None:
            show_device(app, device_id)

    app.push_screen(DevicePickScreen(lookup), picked)


def open_device(app: App[Any], host: str) -> None:
    """``:device HOST``: find the device named ``host`` (``HOST@CLIENT`` for one client's)
    in a worker and open its screen; several matches open a pick list, none a message."""
    services = services_of(app)

    def lookup() -> None:
        with services.database.session() as session:
            found = find_devices(session, host)
        app.call_from_thread(show_lookup, app, found)

    app.run_worker(lookup, thread=True, exit_on_error=False, group="device-lookup")


__all__ = ["DevicePickScreen", "open_device", "show_lookup"]
