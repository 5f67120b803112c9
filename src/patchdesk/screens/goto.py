"""``:client ID``, ``:device HOST`` and ``:missed``: the ``:`` commands that open one page
from anywhere, each answered by the opener its screen's module defines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from patchdesk.screens.clients import open_client
from patchdesk.screens.device_lookup import open_device
from patchdesk.screens.missed import open_missed

Opener = Callable[[Any, str], object]  # (app, what was typed) -> anything

GOTO_COMMANDS: dict[str, Opener] = {
    "client": open_client,
    "device": open_device,
    "missed": open_missed,
}
