"""A tiny app around the queue screen, and a seeded queue, for the queue's Pilot and snapshot
tests. The clock is frozen at ``tests.conftest.NOW``; the operator's zone is Berlin."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from textual import events
from textual.app import App
from textual.keys import _character_to_key, key_to_character
from textual.pilot import Pilot

from patchdesk.domain import ExceptionState, FailureClass
from patchdesk.screens.burst import BurstApp
from patchdesk.screens.handover import HandoverPanel
from patchdesk.screens.queue import QueueScreen
from patchdesk.screens.services import Services
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store.db import Database
from patchdesk.store.handover import add_handover_note
from tests.conftest import NOW
from tests.exception_seed import Seeded, add_exception, seed_fleet
from tests.factories import OPERATOR_ZONE
from tests.factories import services as services  # the queue tests' own name for it

ZONE = OPERATOR_ZONE


class QueueApp(BurstApp):
    """Just the queue screen on ``services`` (the real app reaches it as mode "queue")."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    def on_mount(self) -> None:
        self.push_screen(QueueScreen())


@dataclass(frozen=True)
class Queue:
    seeded: Seeded
    install: int  # DC01, tier 1, one patch
    reboot: int  # APP02, tier 2
    regression: int  # FRONTDESK, tier 3, two patches
    offline: int  # LAPTOP-ANNA, tier 4, owned by bob


def seed_queue(database: Database, *, note: bool = True) -> Queue:
    """One exception per class (one per tier), one owned by bob, and a handover note."""
    seeded = seed_fleet(database)
    devices, patches = seeded.devices, seeded.patches
    install = add_exception(
        database,
        devices["DC01"],
        FailureClass.INSTALL,
        patch_ids=[patches["KB5044281"]],
        opened_at=NOW - timedelta(hours=3, minutes=20),
        summary="install failed (error 0x80070643)",
    )
    reboot = add_exception(
        database,
        devices["APP02"],
        FailureClass.REBOOT,
        patch_ids=[patches["KB5044999"]],
        opened_at=NOW - timedelta(minutes=50),
        summary="reboot never completed: no boot after the reboot command",
    )
    regression = add_exception(
        database,
        devices["FRONTDESK"],
        FailureClass.REGRESSION,
        patch_ids=[patches["KB5044281"], patches["7zip-24.08"]],
        opened_at=NOW - timedelta(days=1, hours=2),
        summary="health check 'spooler' failing since the patch",
    )
    offline = add_exception(
        database,
        devices["LAPTOP-ANNA"],
        FailureClass.OFFLINE,
        opened_at=NOW - timedelta(minutes=5),
        state=ExceptionState.ACKNOWLEDGED,
        owner="bob",
        summary="no check-in before the deadline",
    )
    if note:
        add_handover_note(
            database, "bob", "DC01 needs a hands-on look\nafter 18:00", now=NOW - timedelta(hours=1)
        )
    return Queue(seeded, install, reboot, regression, offline)


def queue_screen(app: App[None]) -> QueueScreen:
    screen = app.screen
    assert isinstance(screen, QueueScreen), screen
    return screen


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the queue's workers are done and their messages are handled."""
    app = pilot.app
    for _ in range(50):
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        if isinstance(screen, QueueScreen):
            table = screen.query_one(QueueTable)
            panel = screen.query_one(HandoverPanel)
            if table.loaded and panel.summary is not None and not screen.workers_busy():
                return
        else:
            return
    raise AssertionError("the queue did not settle")


async def until(
    pilot: Pilot[None], condition: Callable[[], bool], what: str, *, within: float = 120.0
) -> None:
    """Let the app handle its messages until ``condition()`` holds. ``within`` seconds only
    bound a failing test (generous for a loaded machine): a slow write in a worker thread is
    waited for however many rounds it takes. Waits for no worker: a test may hold one on
    purpose."""
    deadline = time.monotonic() + within
    rounds = 0
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        # after the first rounds, give a worker thread time instead of spinning
        await pilot.pause(0.01 if rounds >= 100 else None)
        rounds += 1


def burst(app: App[None], *keys: str) -> None:
    """Post ``keys`` at once, as the terminal's reader delivers a paste or fast typing over
    SSH: each character as the key a terminal names it (" " is "space"), key names (tab,
    enter, ctrl+s) with the character they carry."""
    for key in keys:
        if len(key) == 1:
            app.post_message(events.Key(_character_to_key(key), key))
        else:
            app.post_message(events.Key(key, key_to_character(key)))


def rows(app: App[None]) -> list[str]:
    """The hostnames in the table's window, in order."""
    table = queue_screen(app).query_one(QueueTable)
    return [
        line.row.hostname
        for index in range(table.total)
        if (line := table.line_at(index)) is not None
    ]
