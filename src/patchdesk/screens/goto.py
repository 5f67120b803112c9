"""``:client ID`` and ``:device HOST``: the functions that open one client's or one
device's screen, found in their screens' modules. Until such a module exists in this build
its command is not offered (and the palette leaves it out)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Opener = Callable[[Any, str], object]  # (app, what was typed) -> anything

GOTO_COMMANDS: dict[str, tuple[str, str]] = {
    "client": ("patchdesk.screens.clients", "open_client"),
    "device": ("patchdesk.screens.device_lookup", "open_device"),
    "missed": ("patchdesk.screens.missed", "open_missed"),
}


def goto(command: str) -> Opener | None:
    """The opener for ``command``; None when its screen is not part of this build. Any
    other import error is raised."""
    module_name, function_name = GOTO_COMMANDS[command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    opener = getattr(module, function_name, None)
    return opener if callable(opener) else None
