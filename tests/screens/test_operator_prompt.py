"""On a shared login (root ...) the UI asks who is at the keyboard before anything can be
done; the name goes into the header and into every record written from then on."""

from __future__ import annotations

from textual import events
from textual.widgets import Input, Static

from patchdesk.app import PatchdeskApp
from patchdesk.screens.board import BoardScreen
from patchdesk.screens.operator_prompt import OperatorPrompt
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.store.db import Database
from tests import factories
from tests.screens.conftest import frozen_clock
from tests.screens.typing import quiet


def app_as(database: Database, login: str, *, readonly: bool = False) -> PatchdeskApp:
    given = factories.services(database, login, frozen_clock(), readonly=readonly)
    return factories.app(given)


def burst(app: PatchdeskApp, text: str, *, enter: bool = True) -> None:
    """Keys posted at once, as a paste or fast typing over SSH delivers them."""
    for char in text:
        app.post_message(events.Key(char if char != " " else "space", char))
    if enter:
        app.post_message(events.Key("enter", "\r"))


def error_text(app: PatchdeskApp) -> str:
    return str(app.screen.query_one("#operator-error", Static).render())


def header_text(app: PatchdeskApp) -> str:
    header = app.screen.query_one(ClockHeader)
    return str(header.operator_text()) + str(header.clock_text())


async def test_root_is_asked_for_a_name_before_anything_else(empty_db: Database) -> None:
    app = app_as(empty_db, "root")
    async with app.run_test(size=(100, 30)) as pilot:
        await quiet(pilot)
        assert isinstance(app.screen, OperatorPrompt)
        assert "You are logged in as root, a shared login" in str(
            app.screen.query(Static)[1].render()
        )
        # Keys that would act elsewhere go into the name (2: the queue, q: quit, esc: back).
        burst(app, "2q", enter=False)
        app.post_message(events.Key("escape", None))
        await quiet(pilot)
        assert isinstance(app.screen, OperatorPrompt)
        assert app.screen.query_one(Input).value == "2q"
        assert "A name is needed" in error_text(app)
        assert app.current_mode == "board"
        app.screen.query_one(Input).value = ""
        burst(app, "Alice Meyer")
        await quiet(pilot)
        assert isinstance(app.screen, BoardScreen)
        assert app.services.operator == "Alice Meyer"
        assert "operator Alice Meyer" in header_text(app)


async def test_the_name_is_checked(empty_db: Database) -> None:
    app = app_as(empty_db, "root")
    async with app.run_test(size=(100, 30)) as pilot:
        await quiet(pilot)
        burst(app, "   ")
        await quiet(pilot)
        assert "the operator name is blank" in error_text(app)
        app.screen.query_one(Input).value = ""
        burst(app, "Administrator")
        await quiet(pilot)
        assert "'Administrator' is a shared login, not a person" in error_text(app)
        assert isinstance(app.screen, OperatorPrompt)
        app.screen.query_one(Input).value = ""
        app.post_message(events.Paste("bob\x1b[31m"))
        app.post_message(events.Key("enter", "\r"))
        await quiet(pilot)
        assert isinstance(app.screen, OperatorPrompt)
        assert "control characters" in error_text(app)
        assert app.services.operator == "root"
        app.screen.query_one(Input).value = ""
        burst(app, " bob ")
        await quiet(pilot)
        assert not isinstance(app.screen, OperatorPrompt)
        assert app.services.operator == "bob"


async def test_the_palette_waits_for_the_name(empty_db: Database) -> None:
    app = app_as(empty_db, "root")
    async with app.run_test(size=(100, 30)) as pilot:
        await quiet(pilot)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, OperatorPrompt)
        burst(app, "kim")
        await quiet(pilot)
        assert app.use_command_palette


async def test_a_personal_login_or_a_read_only_session_is_not_asked(empty_db: Database) -> None:
    for app in (app_as(empty_db, "kim"), app_as(empty_db, "root", readonly=True)):
        async with app.run_test(size=(100, 30)) as pilot:
            await quiet(pilot)
            assert isinstance(app.screen, BoardScreen)
            assert f"operator {app.services.operator}" in header_text(app)
