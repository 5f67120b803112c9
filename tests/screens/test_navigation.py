"""Quitting and moving around: every way out (``q``, ``ctrl+q``, the palette, ``:quit``)
asks the one confirmation, which in the demo says what becomes of its database; the mode
keys always show their screen's root; ``?`` groups the keys by this screen, row actions
and global ones, without Textual's plumbing or a key twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TextArea

from patchdesk.screens.approvals import ApprovalsScreen
from patchdesk.screens.bindings import ROW_ACTIONS, all_binding_ids
from patchdesk.screens.board import BoardScreen
from patchdesk.screens.clients import ClientDetailScreen, ClientsScreen
from patchdesk.screens.command_grammar import Command
from patchdesk.screens.device_detail import DeviceDetailScreen
from patchdesk.screens.form_screen import FINISH_FIRST
from patchdesk.screens.handover import NoteModal
from patchdesk.screens.help import HelpEntry, HelpGroup, HelpScreen
from patchdesk.screens.queue import QueueScreen
from patchdesk.screens.quit_confirm import QuitAnswer, QuitScreen
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.simulation.demo import DemoDatabase
from patchdesk.store.db import Database
from tests.screens.conftest import AppFactory

DEMO_FILE = Path("/tmp/patchdesk-demo-test/demo.db")


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let the app run (workers, messages) until ``condition`` holds; a bounded number of
    rounds, not a time limit."""
    for _ in range(400):
        if condition():
            return
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError(f"never: {what}")


def burst(pilot: Pilot[Any], *keys: str) -> None:
    """Post the keys at once, as a paste or fast typing over SSH delivers them."""
    for key in keys:
        char = key if len(key) == 1 else {"colon": ":", "enter": "\r", "space": " "}.get(key)
        pilot.app.post_message(events.Key(key, char))


def help_entries(app: Any) -> list[HelpEntry]:
    screen = app.screen
    assert isinstance(screen, HelpScreen)
    return screen.entries


def refusals(app: Any) -> int:
    """How many times the app said a form must be closed first."""
    return sum(n.message == FINISH_FIRST for n in app._notifications)


def question_text(app: Any) -> str:
    return str(app.screen.query_one("#quit-question", Static).render())


# --- one confirmation for every way out -----------------------------------------------------


async def test_ctrl_q_asks_like_q_even_from_a_text_field(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        burst(pilot, "ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), "the quit question")
        assert not app._exit
        await pilot.press("n")
        assert isinstance(app.screen, BoardScreen)
        # In the queue's filter box ctrl+q is still the quit key (and asks).
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), "the queue")
        burst(pilot, "slash", *"DC", "ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), "the quit question")
        assert not app._exit
        await pilot.press("n")
        box = app.screen.focused
        assert isinstance(box, Input)
        assert box.value == "DC"  # typed into the filter, not taken as keys
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), "the quit question")
        await pilot.press("y")
        await until(pilot, lambda: app._exit, "the app quitting")
    assert app.return_code == 0
    assert app.quit_answer is QuitAnswer.QUIT


async def test_textual_quit_action_and_system_commands_ask_first(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Quit" not in titles  # Textual's, which quit at once; ":quit" asks
        assert "Keys" in titles
        await app.action_quit()  # whoever calls Textual's quit action
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), "the quit question")
        assert not app._exit
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)


async def test_the_palettes_quit_asks_first(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        burst(pilot, *"quit")

        def quit_listed() -> bool:
            options = app.screen.query_one(CommandList)
            return options.option_count > 0 and ":quit" in str(
                options.get_option_at_index(0).prompt
            )

        await until(pilot, quit_listed, "the palette offering :quit first")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), "the quit question")
        assert not app._exit
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "back on the board")


async def test_the_demo_says_its_database_is_deleted_or_kept(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db, simulated=True)
    app.demo_database = DemoDatabase(DEMO_FILE, temporary=True)
    async with app.run_test(size=(80, 24)) as pilot:
        burst(pilot, "colon", *"quit", "enter")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), "the quit question")
        text = question_text(app)
        assert "Quit the demo?" in text
        assert "deleted" in text
        assert str(DEMO_FILE) in text.replace("\n", "")
        assert "k          quit, keep the database" in text
        await pilot.press("k")
        await until(pilot, lambda: app._exit, "the app quitting")
    assert app.quit_answer is QuitAnswer.KEEP


async def test_a_demo_on_its_own_file_says_the_file_stays(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db, simulated=True)
    app.demo_database = DemoDatabase(DEMO_FILE, temporary=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), "the quit question")
        text = question_text(app)
        assert "Its database stays" in text
        assert "deleted" not in text
        assert "keep" not in text
        await pilot.press("k")  # no such choice here: nothing happens
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        assert not app._exit
        await pilot.press("enter")
        await until(pilot, lambda: app._exit, "the app quitting")
    assert app.quit_answer is QuitAnswer.QUIT


# --- the mode keys show their screen's root -------------------------------------------------


async def open_queue(pilot: Pilot[Any]) -> QueueScreen:
    app = pilot.app
    await pilot.press("2")
    await until(
        pilot,
        lambda: isinstance(app.screen, QueueScreen) and app.screen.query_one(QueueTable).loaded,
        "the queue loaded",
    )
    screen = app.screen
    assert isinstance(screen, QueueScreen)
    return screen


async def test_a_mode_key_shows_its_root_not_a_page_stacked_there(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        queue = await open_queue(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DeviceDetailScreen), "a device page")
        burst(pilot, "1", "2")  # board, then back to the queue
        await until(pilot, lambda: app.screen is queue, "the queue shown")
        assert app.screen_stack == [queue]
        # esc still walks back within the mode: device page -> queue.
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DeviceDetailScreen), "a device page")
        await pilot.press("escape")
        assert app.screen is queue
        # The key of the mode one is in closes its stacked pages too.
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DeviceDetailScreen), "a device page")
        await pilot.press("2")
        assert app.screen is queue


async def test_clients_key_shows_the_list_not_a_client_opened_earlier(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, ClientsScreen), "the clients list")
        clients = app.screen
        table = clients.query_one("#clients-table", DataTable)
        await until(pilot, lambda: table.row_count > 0, "the clients read")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ClientDetailScreen), "a client")
        burst(pilot, "4", "5")  # approvals (mounted for the first time), clients again
        await until(pilot, lambda: app.screen is clients, "the clients list shown")
        assert app.current_mode == "clients"
        assert app.screen_stack == [clients]


async def test_a_client_opened_from_a_device_page_walks_back_to_it(
    demo_db: Database, make_app: AppFactory
) -> None:
    """``esc`` walks back across modes where a screen was opened from another mode (not a
    mode key): the device page one came from is still there."""
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_queue(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DeviceDetailScreen), "a device page")
        device = app.screen
        burst(pilot, "colon", *"client northwind-dental", "enter")
        await until(pilot, lambda: isinstance(app.screen, ClientDetailScreen), "the client")
        await pilot.press("escape")
        await until(pilot, lambda: app.current_mode == "queue", "back in the queue mode")
        assert app.screen is device


async def test_a_mode_key_typed_into_a_form_is_text_and_the_palette_cannot_hide_it(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_queue(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NoteModal), "the note form")
        note = app.screen
        burst(pilot, *"site 2 called, ring 1-5")
        area = note.query_one(TextArea)
        await until(pilot, lambda: area.text == "site 2 called, ring 1-5", "the text typed")
        assert app.current_mode == "queue"
        # The palette runs over a form; a mode command there does not hide the form.
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        burst(pilot, *"board")

        def board_listed() -> bool:
            options = app.screen.query_one(CommandList)
            return options.option_count > 0 and ":board" in str(
                options.get_option_at_index(0).prompt
            )

        await until(pilot, board_listed, "the palette offering :board")
        await pilot.press("enter")
        await until(pilot, lambda: refusals(app) == 1, "the command refused")
        assert app.screen is note
        assert app.current_mode == "queue"
        # Nor does going to a device (the palette's "go to device" runs this).
        app.run_command(Command("device", "NDP-DC01"))
        await until(pilot, lambda: refusals(app) == 2, "the command refused")
        await app.workers.wait_for_complete()
        assert app.screen is note
        assert area.text == "site 2 called, ring 1-5"


# --- ? groups the keys ------------------------------------------------------------------------


async def test_help_groups_this_screen_row_actions_and_global_keys(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    app.user_keymap = {"queue.acknowledge": "ctrl+a"}  # a remapped row action stays one
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        entries = help_screen.entries
        by_description = {(e.description, e.group): e for e in entries}
        assert by_description[("Filter", HelpGroup.SCREEN)].binding_id == "queue.search"
        assert by_description[("Ack", HelpGroup.ROW)].key == "ctrl+a"
        assert by_description[("Ack", HelpGroup.ROW)].binding_id == "queue.acknowledge"
        assert by_description[("Remediate", HelpGroup.ROW)].key == "r"
        assert by_description[("Device", HelpGroup.ROW)].key == "enter"
        assert by_description[("Queue", HelpGroup.GLOBAL)].key == "2"
        quit_entry = by_description[("Quit", HelpGroup.GLOBAL)]
        assert (quit_entry.key, quit_entry.binding_id) == (
            "q, ctrl+q",
            "app.quit, app.quit_anywhere",
        )
        assert [e.group for e in entries] == sorted(
            (e.group for e in entries),
            key=[HelpGroup.SCREEN, HelpGroup.ROW, HelpGroup.GLOBAL].index,
        )
        # Each key once; none of Textual's plumbing.
        keys = [key for e in entries for key in e.key.split(", ")]
        assert len(keys) == len(set(keys)), keys
        for plumbing in ("Copy selected text", "Focus Next", "palette", "Select", "help_quit"):
            assert plumbing not in {e.description for e in entries}
        for key in ("super+c", "ctrl+c", "ctrl+pageup", "ctrl+home"):
            assert key not in keys
        # The three groups are shown, each under its heading.
        headings = [str(s.render()) for s in help_screen.query(".help-group").results(Static)]
        assert headings == [
            "This screen: Exception queue",
            "Row actions (on the selected row)",
            "Global (every screen)",
        ]


async def test_help_on_a_screen_without_rows_has_no_row_actions(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, ApprovalsScreen), "the approvals")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        groups = {e.description: e.group for e in help_entries(app)}
        assert groups["Approve"] is HelpGroup.ROW
        assert groups["Filter"] is HelpGroup.SCREEN
        assert groups["Command palette"] is HelpGroup.GLOBAL
        await pilot.press("escape")
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        assert HelpGroup.ROW not in {e.group for e in help_entries(app)}


def test_every_row_action_names_a_binding() -> None:
    assert sorted(ROW_ACTIONS - all_binding_ids()) == []
