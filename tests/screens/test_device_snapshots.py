"""What the device screen looks like at 120x40 and 80x24: the seeded demo at its launch
instant (frozen clock, no engine running, no animation), the queue's top exception's device
opened with ``enter``; at 80x24 also scrolled to its exceptions with ``]``. Update with
``pytest --snapshot-update`` and look at each SVG before accepting it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from patchdesk.store.db import open_database
from tests.screens.conftest import build_app
from tests.screens.queue_fixtures import settle
from tests.screens.test_device_detail import device_screen, settle_device


def _app(demo_template: Path, tmp_path: Path) -> Any:
    path = tmp_path / "snap.db"
    path.write_bytes(demo_template.read_bytes())
    return build_app(open_database(f"sqlite:///{path}"))


def _device(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("enter")
        await settle_device(pilot)
        device_screen(pilot.app)
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


def test_device_120x40(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_device())
    app.services.database.dispose()


def test_device_80x24(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_device())
    app.services.database.dispose()


def test_device_80x24_exceptions(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_device("right_square_bracket"))
    app.services.database.dispose()
