"""What ``?`` and the demo's quit question look like at 80x24: the board's keys in their
groups, and the question naming the demo's temporary database. The seeded demo at its
launch instant, a frozen clock, no engine, no animation."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from patchdesk.screens.board import BoardScreen
from patchdesk.screens.help import HelpScreen
from patchdesk.screens.quit_confirm import QuitScreen
from patchdesk.simulation.demo import DemoDatabase
from patchdesk.store.db import open_database
from tests.screens.conftest import build_app
from tests.screens.test_navigation import until

# Shown in the question only (the app's database is a copy in `scratch`): a fixed path
# keeps the snapshot the same from run to run.
SHOWN_PATH = Path("/tmp/patchdesk-demo-snapshot/demo.db")


def _app(demo_template: Path, scratch: Path) -> Any:
    path = scratch / "snap.db"
    path.write_bytes(demo_template.read_bytes())
    app = build_app(open_database(f"sqlite:///{path}"), simulated=True)
    app.demo_database = DemoDatabase(SHOWN_PATH, temporary=True)
    return app


def _board_then(key: str, screen: type) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        board = app.screen
        assert isinstance(board, BoardScreen)
        await until(pilot, lambda: board.updates >= 1 and app.focused is not None, "the board read")
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, screen), f"the {screen.__name__}")
        await app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory whose path is as long in every run: the help's note (below the fold)
    names the database, and its length moves the help's scrollbar (pytest's tmp_path is
    longer under xdist)."""
    with tempfile.TemporaryDirectory(prefix="patchdesk-snap-") as directory:
        yield Path(directory)


def test_help_80x24(snap_compare: Any, demo_template: Path, scratch: Path) -> None:
    app = _app(demo_template, scratch)
    run_before = _board_then("question_mark", HelpScreen)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    app.services.database.dispose()


def test_demo_quit_question_80x24(snap_compare: Any, demo_template: Path, scratch: Path) -> None:
    app = _app(demo_template, scratch)
    run_before = _board_then("q", QuitScreen)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    app.services.database.dispose()
