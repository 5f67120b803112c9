"""Keys that arrive in one burst (a paste, fast typing over SSH) each go where the
technician meant them: what follows ``/`` or ``:`` goes into the line they open, never to
the bindings of the screen or the app behind it.

The keys are posted to the app at once, as the terminal's reader delivers a burst; Pilot's
``press`` would wait between keys and hide the misrouting."""

from __future__ import annotations

import asyncio

import pytest
from textual import events
from textual.command import CommandPalette, Hits
from textual.pilot import Pilot
from textual.widgets import Input

from patchdesk.app import PatchdeskApp
from patchdesk.screens.command_line import CommandLine
from patchdesk.screens.palette import PatchdeskCommands
from patchdesk.screens.queue import QueueScreen
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.store.db import Database
from patchdesk.store.exception_views import queue_rows
from tests.screens.conftest import AppFactory
from tests.screens.queue_fixtures import rows


def burst(app: PatchdeskApp, keys: list[str]) -> None:
    """Post every key at once; single characters carry themselves as the character."""
    for key in keys:
        char = key if len(key) == 1 else {"enter": "\r", "space": " "}.get(key)
        app.post_message(events.Key(key, char))


async def drained(pilot: Pilot[None], app: PatchdeskApp) -> None:
    """Wait until every key of the burst has been sent on and handled."""
    for _ in range(400):
        await pilot.pause()
        if not getattr(app, "keys_waiting", 0) and not any(w.is_running for w in app.workers):
            await pilot.pause()
            return
    raise AssertionError("the burst was not handled")


def typed(text: str) -> list[str]:
    return list(text)


async def test_slash_then_a_hostname_in_one_burst_filters_the_queue(
    demo_db: Database, make_app: AppFactory
) -> None:
    with demo_db.session() as session:
        hosts = [row.hostname for row in queue_rows(session)]
    host = next(h for h in hosts if any(c.isdigit() for c in h))
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await drained(pilot, app)
        assert isinstance(app.screen, QueueScreen)
        burst(app, ["slash", *typed(host), "enter"])
        await drained(pilot, app)
        assert app.current_mode == "queue"
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.query_one("#queue-search", Input).value == host
        for _ in range(200):
            await pilot.pause()
            shown = rows(app)
            if shown and all(host.lower() in h.lower() for h in shown):
                break
        assert shown
        assert all(host.lower() in h.lower() for h in shown)
        assert app.screen.view.failure_class is None  # `C` did not set the class filter


async def test_colon_command_in_one_burst_runs_it(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await drained(pilot, app)
        burst(app, ["colon", *typed("clients"), "enter"])
        await drained(pilot, app)
        assert not isinstance(app.screen, CommandLine)
        assert app.current_mode == "clients"


async def test_digits_after_colon_go_into_the_line(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await drained(pilot, app)
        burst(app, ["colon", *typed("device 1/2:3")])
        await drained(pilot, app)
        assert isinstance(app.screen, CommandLine)
        assert app.current_mode == "board"
        assert app.screen.query_one(Input).value == "device 1/2:3"


async def test_a_mode_key_then_slash_in_one_burst(demo_db: Database, make_app: AppFactory) -> None:
    """``2/x``: the queue opens, and its filter takes the text."""
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await drained(pilot, app)
        burst(app, ["2", "slash", *typed("C1")])
        await drained(pilot, app)
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.query_one("#queue-search", Input).value == "C1"
        assert app.screen.view.failure_class is None


async def test_a_command_then_a_filter_in_one_burst(
    demo_db: Database, make_app: AppFactory
) -> None:
    """``:queue⏎/FRONT⏎``: the ``enter`` closes the line a message later; the ``/`` after it
    must wait for the queue, not reach the closing line."""
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await drained(pilot, app)
        burst(app, ["colon", *typed("queue"), "enter", "slash", *typed("FRONT"), "enter"])
        await drained(pilot, app)
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.query_one("#queue-search", Input).value == "FRONT"
        assert app.screen.view.tier is None  # `T` did not cycle the tier filter


async def test_the_palette_takes_the_keys_typed_after_it(  # passed before BurstApp too
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await drained(pilot, app)
        burst(app, ["ctrl+p", *typed("approvals"), "enter"])
        await drained(pilot, app)
        for _ in range(200):
            if app.current_mode == "approvals":
                break
            await pilot.pause()
        assert app.current_mode == "approvals"


async def test_enter_in_the_palette_waits_for_the_search_of_the_last_character(
    demo_db: Database, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The palette searches in a worker after every character; an ``enter`` that arrived
    before the search for ``s`` had listed its hits was dropped (CI, loaded machine). Here
    every search waits for a gate the test opens once the keys are posted: the ``enter``
    must wait for it, not act on an empty list."""
    gate = asyncio.Event()
    search = PatchdeskCommands.search

    async def slow_search(self: PatchdeskCommands, query: str) -> Hits:
        await gate.wait()
        async for hit in search(self, query):
            yield hit

    monkeypatch.setattr(PatchdeskCommands, "search", slow_search)
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await drained(pilot, app)
        burst(app, ["ctrl+p", *typed("approvals"), "enter"])
        for _ in range(400):  # the characters are in; the enter waits behind the search
            await pilot.pause()
            screen = app.screen
            if isinstance(screen, CommandPalette) and screen.query_one(Input).value == "approvals":
                break
        assert app.screen.query_one(Input).value == "approvals"
        assert app.keys_waiting > 0  # the enter has not been spent on an empty list
        gate.set()
        await drained(pilot, app)
        assert app.current_mode == "approvals"


@pytest.mark.parametrize(("mode", "field"), [("4", "#approvals-search"), ("5", "#clients-search")])
async def test_each_filter_takes_a_burst_typed_after_slash(
    demo_db: Database, make_app: AppFactory, mode: str, field: str
) -> None:
    """The approvals and clients filters, like the queue's: ``/`` then digits and capitals
    (their screens bind ``S``, ``C``, digits switch modes)."""
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await drained(pilot, app)
        burst(app, [mode, "slash", *typed("SC1")])
        await drained(pilot, app)
        assert app.current_mode == {"4": "approvals", "5": "clients"}[mode]
        assert app.screen.query_one(field, Input).value == "SC1"


async def test_keys_after_r_wait_for_the_form_its_read_opens(
    demo_db: Database, make_app: AppFactory
) -> None:
    """``r`` reads the exception in a worker and then opens the remediation form: the ``1``
    typed right after it picks the form's first action; it does not switch to the board."""
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        burst(app, ["2"])
        await drained(pilot, app)
        for _ in range(200):  # the queue's rows are read
            if rows(app):
                break
            await pilot.pause()
        burst(app, ["r", "1"])
        await drained(pilot, app)
        assert app.current_mode == "queue"
        assert isinstance(app.screen, RemediationScreen)
