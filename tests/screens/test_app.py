"""The application shell: modes, help, quit confirmation, the too-small message, the
welcome on an empty database, and the demo engine running beside the UI."""

from __future__ import annotations

from datetime import timedelta

from textual.geometry import Region
from textual.widgets import Static

from patchdesk.screens.board import BoardScreen
from patchdesk.screens.help import HelpGroup, HelpScreen
from patchdesk.screens.quit_confirm import QuitScreen
from patchdesk.screens.too_small import TooSmallScreen
from patchdesk.simulation.demo import HEAD_START, demo_engine, load_demo
from patchdesk.store.board_views import read_engine
from patchdesk.store.db import Database
from tests.screens.conftest import DEMO_LAUNCH, AppFactory


async def test_q_asks_before_quitting(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("n")
        assert isinstance(app.screen, BoardScreen)
        await pilot.press("q")
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


async def test_help_lists_every_binding_of_the_board(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        entries = {(e.key, e.description, e.group) for e in app.screen.entries}
        for wanted in (
            ("r", "Refresh", HelpGroup.SCREEN),
            ("tab", "Next panel", HelpGroup.SCREEN),
            ("1", "Board", HelpGroup.GLOBAL),
            ("2", "Queue", HelpGroup.GLOBAL),
            ("?", "Help", HelpGroup.GLOBAL),
            ("q, ctrl+q", "Quit", HelpGroup.GLOBAL),
        ):
            assert wanted in entries
        note = str(app.screen.query_one("#help-note", Static).render())
        assert f"Database: {demo_db.url.removeprefix('sqlite:///')}" in note
        assert "patchdesk --db " in note
        assert " exceptions" in note
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)


async def test_number_keys_switch_between_board_and_queue(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.current_mode == "board"
        await pilot.press("2")
        assert app.current_mode == "queue"
        await pilot.press("1")
        assert app.current_mode == "board"
        assert isinstance(app.screen, BoardScreen)


async def test_below_80x24_a_message_replaces_the_screens(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        shown = str(app.screen.query_one("#too-small", Static).render())
        assert "terminal too small: needs 80x24, have 70x20" in shown
        await pilot.press("2")  # no screen switching meanwhile
        assert app.current_mode == "board"
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)


async def test_an_empty_database_explains_policy_apply_and_demo(
    empty_db: Database, make_app: AppFactory
) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=(80, 24)) as pilot:
        board = app.screen
        assert isinstance(board, BoardScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        welcome = board.query_one("#welcome", Static)
        assert welcome.display
        assert not board.query_one("#board-body").display
        lines = [
            strip.text.rstrip(" │")
            for strip in welcome.render_lines(Region(0, 0, welcome.size.width, welcome.size.height))
        ]
        text = "\n".join(lines)
        assert "patchdesk policy apply" in text
        assert "patchdesk demo" in text
        # At 80 columns the first description wraps: under its own column, not under the
        # commands (seen in tmux before the two columns were a table).
        wrapped = next(line for line in lines if "validate" in line and "policy apply" not in line)
        indent = len(wrapped) - len(wrapped.lstrip(" │"))
        assert indent > len("  patchdesk inventory import FILE")


async def test_demo_engine_runs_in_virtual_time_beside_the_ui(
    empty_db: Database, make_app: AppFactory
) -> None:
    msp = load_demo(empty_db, 2, DEMO_LAUNCH)
    engine = demo_engine(
        empty_db, msp, launch=DEMO_LAUNCH, speed=3600, holder="demo-test", warm_up=False
    )
    start = engine.now()
    assert start == DEMO_LAUNCH - HEAD_START
    app = make_app(empty_db, clock=engine.now, engine=engine, simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if engine.status().steps >= 4:
                break
        status = engine.status()
        assert status.running
        assert status.steps >= 4
        assert status.last_step_at is not None
        assert status.last_step_at >= start + 3 * engine.interval  # virtual, not wall, time
        assert engine.now() > start
        with empty_db.session() as session:
            view = read_engine(session)
        assert view.lease_holder == "demo-test"
        assert view.last_step_holder == "demo-test"
    assert not engine.status().running  # the app stopped it on exit ...
    with empty_db.session() as session:
        assert read_engine(session).lease_holder is None  # ... and released the lease
    assert engine.interval == timedelta(minutes=5)  # 3600x: five virtual minutes a step
