"""``:`` command mode, the palette's commands, ``esc`` walking back, and ``:theme`` being
remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

from patchdesk.screens.board import BoardScreen
from patchdesk.screens.command_grammar import (
    Command,
    CommandError,
    Vocabulary,
    completions,
    parse,
)
from patchdesk.screens.command_line import CommandLine
from patchdesk.screens.help import HelpScreen
from patchdesk.store.db import Database
from patchdesk.ui_state import remembered_theme
from tests.screens.conftest import AppFactory

# --- the grammar (pure) ---------------------------------------------------------------------


def test_parse_takes_whole_words_unique_prefixes_and_arguments() -> None:
    assert parse(":queue") == Command("queue")
    assert parse("que") == Command("queue")
    assert parse(":device  [bold]DC01[/] ") == Command("device", "[bold]DC01[/]")
    assert parse("theme noc-light") == Command("theme", "noc-light")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (":q", "'q' could be queue or quit"),
        (":frobnicate", "unknown command 'frobnicate': try board, queue"),
        (":board now", ":board takes no argument"),
        (":device", ":device needs HOST, e.g. :device DC01"),
        ("", "type a command: board, queue"),
    ],
)
def test_parse_refuses_with_a_reason(line: str, message: str) -> None:
    with pytest.raises(CommandError) as refused:
        parse(line)
    assert str(refused.value).startswith(message)


def test_parse_offers_only_the_commands_available_here() -> None:
    with pytest.raises(CommandError, match="unknown command 'approvals'"):
        parse(":approvals", ["board", "queue"])


def test_completions_for_commands_then_arguments() -> None:
    words = Vocabulary(clients=("acme", "kessler"), hosts=("DC01", "dc02", "FRONTDESK-DC"))
    assert completions(":b", words) == ["board"]
    assert completions("c", words) == ["clients", "client"]
    assert completions(":device dc", words) == ["device DC01", "device dc02", "device FRONTDESK-DC"]
    assert completions("client k", words) == ["client kessler"]
    assert completions("board x", words) == []


# --- in the app -------------------------------------------------------------------------------


async def test_colon_runs_a_command_and_esc_walks_back(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon")
        assert isinstance(app.screen, CommandLine)
        await pilot.press(*"que", "enter")
        await pilot.pause()
        assert app.current_mode == "queue"
        await pilot.press("colon", *"help", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")  # the help closes
        await pilot.press("escape")  # the queue's own esc (clear filters) ...
        await pilot.press("colon", *"board", "enter")
        await pilot.pause()
        assert app.current_mode == "board"


async def test_a_bad_command_says_why_and_keeps_the_line(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon", *"frob", "enter")
        await pilot.pause()
        assert isinstance(app.screen, CommandLine)
        error = str(app.screen.query_one("#command-error", Static).render())
        assert "unknown command 'frob'" in error
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)


async def test_tab_completes_hostnames_read_from_the_database(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon")
        line = app.screen
        assert isinstance(line, CommandLine)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert line.vocabulary.hosts  # the demo's hostnames
        await pilot.press(*"the", "tab")
        assert line.query_one(Input).value == "theme "
        await pilot.press(*"noc-l", "tab")
        assert line.query_one(Input).value == "theme noc-light"


async def test_theme_is_switched_and_remembered(
    demo_db: Database, make_app: AppFactory, tmp_path: Path
) -> None:
    state = tmp_path / "ui.json"
    app = make_app(demo_db)
    app.ui_state = state
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon", *"theme noc-light", "enter")
        await pilot.pause()
        assert app.theme == "noc-light"
    assert remembered_theme(state) == "noc-light"
    again = make_app(demo_db)
    again.ui_state = state
    async with again.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert again.theme == "noc-light"
    # An unknown theme is refused and nothing is remembered.
    third = make_app(demo_db)
    third.ui_state = state
    async with third.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("colon", *"theme neon", "enter")
        await pilot.pause()
        assert third.theme == "noc-light"
    assert remembered_theme(state) == "noc-light"


async def test_the_palette_runs_the_same_commands(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"queue")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.current_mode == "queue"


async def test_colon_device_opens_the_device_screen(
    demo_db: Database, make_app: AppFactory
) -> None:
    from patchdesk.screens.device_detail import DeviceDetailScreen

    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press(*"device ndp-dc0", "tab")  # completes the hostname
        line = app.screen
        assert isinstance(line, CommandLine)
        assert line.query_one(Input).value == "device NDP-DC01"
        await pilot.press("enter")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, DeviceDetailScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)


async def test_c_in_the_queue_opens_the_rows_client_and_esc_comes_back(
    demo_db: Database, make_app: AppFactory
) -> None:
    from patchdesk.screens.clients import ClientDetailScreen
    from patchdesk.screens.queue import QueueScreen
    from patchdesk.screens.widgets.queue_table import QueueTable

    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        current = queue.query_one(QueueTable).current
        assert current is not None
        await pilot.press("c")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        assert app.current_mode == "clients"
        assert app.screen.client_id == current.row.client_id
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "queue"


async def test_colon_client_opens_the_client(demo_db: Database, make_app: AppFactory) -> None:
    from patchdesk.screens.clients import ClientDetailScreen

    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press(*"client kau", "tab")
        line = app.screen
        assert isinstance(line, CommandLine)
        assert line.query_one(Input).value == "client kauri-freight"
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert isinstance(app.screen, ClientDetailScreen)


async def test_the_palette_goes_to_a_device_by_name(
    demo_db: Database, make_app: AppFactory
) -> None:
    from patchdesk.screens.device_detail import DeviceDetailScreen

    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"ndp-dc01")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DeviceDetailScreen)
