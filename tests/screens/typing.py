"""Keys as a terminal delivers a burst (a paste, fast typing over SSH), and what the app
told the technician, for the ownership and marks tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.worker import WorkerState

from tests.screens.queue_fixtures import settle

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


async def quiet(pilot: Pilot[Any]) -> None:
    """Wait until every key of the burst was sent on and handled, and no worker is pending
    or running (twice in a row: a handled key may start one a moment later)."""
    app = pilot.app
    calm = 0
    for _ in range(2000):
        await pilot.pause()
        busy = getattr(app, "keys_waiting", 0) or any(
            w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers
        )
        calm = 0 if busy else calm + 1
        if calm >= 2:
            return
    raise AssertionError("the burst was not handled")


async def drained(pilot: Pilot[Any]) -> None:
    """``quiet``, then the queue's reads done (when the queue is in front)."""
    await quiet(pilot)
    await settle(pilot)


def told(app: App[Any]) -> list[str]:
    """Every notification the app shows from now on (kept: toasts expire)."""
    seen: list[str] = []
    notify = app.notify

    def recording(message: str, **options: Any) -> None:
        seen.append(str(message))
        notify(message, **options)

    app.notify = recording  # type: ignore[method-assign]
    return seen
