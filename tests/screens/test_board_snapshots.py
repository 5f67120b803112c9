"""What the board looks like at 120x40 and 80x24: the seeded demo at its launch instant,
a frozen clock, no engine running, no animation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from patchdesk.screens.board import BoardScreen
from patchdesk.store.db import open_database
from tests.screens.conftest import build_app


async def _board_loaded(pilot: Pilot[Any]) -> None:
    board = pilot.app.screen
    assert isinstance(board, BoardScreen)
    for _ in range(200):
        if board.updates >= 1:
            break
        await pilot.pause(0.02)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _app(demo_template: Path, tmp_path: Path) -> Any:
    path = tmp_path / "snap.db"
    path.write_bytes(demo_template.read_bytes())
    return build_app(open_database(f"sqlite:///{path}"))


def test_board_120x40(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_board_loaded)
    app.services.database.dispose()


def test_board_80x24(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_board_loaded)
    app.services.database.dispose()
