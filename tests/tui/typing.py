"""Keys as a terminal delivers a burst (a paste, fast typing over SSH), and what the app
told the technician, for the ownership and marks tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import events
from textual.app import App
from textual.pilot import Pilot

from tests.tui.queue_fixtures import settle

NAMED = {" ": "space", "\r": "enter", "\t": "tab"}


def typed(text: str) -> list[str]:
    """The keys that type ``text`` (``\\r`` is enter, ``\\t`` tab)."""
    return [NAMED.get(char, char) for char in text]


def burst(app: App[Any], keys: Iterable[str]) -> None:
    """Post every key at once; a single character (or space) carries itself."""
    chars = {name: char for char, name in NAMED.items()}
    for key in keys:
        char = key if len(key) == 1 else chars.get(key)
        app.post_message(events.Key(key, char))


async def drained(pilot: Pilot[Any]) -> None:
    """Wait until every key of the burst was sent on and handled, and what it started is
    done (workers, the queue's reads)."""
    app = pilot.app
    for _ in range(400):
        await pilot.pause()
        if not getattr(app, "keys_waiting", 0) and not any(w.is_running for w in app.workers):
            await settle(pilot)
            return
    raise AssertionError("the burst was not handled")


def told(app: App[Any]) -> list[str]:
    """Every notification the app shows from now on (kept: toasts expire)."""
    seen: list[str] = []
    notify = app.notify

    def recording(message: str, **options: Any) -> None:
        seen.append(str(message))
        notify(message, **options)

    app.notify = recording  # type: ignore[method-assign]
    return seen
