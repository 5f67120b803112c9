"""What the approvals screen looks like: the seeded demo at its launch instant (six patches
of Northwind Dental waiting for a technician), a frozen clock, no engine running, no
animation; at 120x40 and 80x24, the emergency form and the global block list. Update with
``pytest --snapshot-update`` and look at each SVG before accepting it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from patchdesk.store.db import open_database
from tests.screens.conftest import build_app
from tests.screens.test_approvals import settle


def _app(demo_template: Path, tmp_path: Path) -> Any:
    path = tmp_path / "snap.db"
    path.write_bytes(demo_template.read_bytes())
    return build_app(open_database(f"sqlite:///{path}"))


def approvals(*stages: tuple[str, ...]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Mode 4, then each stage's keys, settling after each (a form opens after a read)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await pilot.press("4")
        await settle(pilot)
        for keys in stages:
            await pilot.press(*keys)
            await settle(pilot)
        await pilot.pause()

    return run_before


def test_approvals_120x40(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(120, 40), run_before=approvals(("down",)))
    app.services.database.dispose()


def test_approvals_80x24(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=approvals())
    app.services.database.dispose()


def test_emergency_form_120x40(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    # The second device left out: its box is not ticked.
    stages = (("down", "E"), (*"actively exploited", "tab", "down", "space"))
    assert snap_compare(app, terminal_size=(120, 40), run_before=approvals(*stages))
    app.services.database.dispose()


def test_block_list_80x24(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=approvals(("g",)))
    app.services.database.dispose()
