"""What the Clients screens look like at 120x40 and 80x24: the seeded demo at its launch
instant, a frozen clock (operator in Berlin), no engine running, no animation. Update with
``pytest --snapshot-update`` and read each SVG's text before accepting it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from patchdesk.app import PatchdeskApp
from patchdesk.store.db import open_database
from tests.screens.conftest import build_app
from tests.screens.test_clients import settle

SnapCompare = Callable[..., bool]


def _app(demo_template: Path, tmp_path: Path) -> PatchdeskApp:
    path = tmp_path / "snap.db"
    path.write_bytes(demo_template.read_bytes())
    return build_app(open_database(f"sqlite:///{path}"))


def keys(*pressed: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("5")
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_clients_list(
    snap_compare: SnapCompare, demo_template: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=keys())
    app.services.database.dispose()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_client_detail(
    snap_compare: SnapCompare, demo_template: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    """Northwind Dental (New York): a window open now, open exceptions, rings."""
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=keys("down", "down", "enter"))
    app.services.database.dispose()


def test_client_detail_windows_80x24(
    snap_compare: SnapCompare, demo_template: Path, tmp_path: Path
) -> None:
    """The same client at 80x24 with ``]`` twice: its windows and their next occurrences."""
    app = _app(demo_template, tmp_path)
    run_before = keys("down", "down", "enter", "right_square_bracket", "right_square_bracket")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    app.services.database.dispose()


def test_clients_filtered_80x24(
    snap_compare: SnapCompare, demo_template: Path, tmp_path: Path
) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("slash", "e", "u", "r"))
    app.services.database.dispose()
