"""What the queue and the remediation form look like (pytest-textual-snapshot): the seeded
queue at 120x40 and 80x24, the form at 120x40. Deterministic: a frozen clock, seeded data,
no cursor blink, nothing animated. Update with ``pytest --snapshot-update`` and look at
each SVG before accepting it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from patchdesk.store.db import Database
from tests.databases import open_migrated
from tests.screens.queue_fixtures import QueueApp, seed_queue, services, settle

SnapCompare = Callable[..., bool]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = open_migrated(tmp_path / "snap.db")
    yield database
    database.dispose()


def queue_app(database: Database) -> QueueApp:
    seed_queue(database)
    return QueueApp(services(database))


def no_blink(pilot: Pilot[Any]) -> None:
    for area in pilot.app.screen.query(TextArea):
        area.cursor_blink = False


async def settled(pilot: Pilot[Any]) -> None:
    await settle(pilot)


def remediating(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("down", "down", "r")  # FRONTDESK's regression: two patches
        await settle(pilot)
        await pilot.press(*keys)
        no_blink(pilot)
        await pilot.pause()

    return run_before


def test_queue_120x40(snap_compare: SnapCompare, sqlite_db: Database) -> None:
    assert snap_compare(queue_app(sqlite_db), terminal_size=(120, 40), run_before=settled)


def test_queue_80x24(snap_compare: SnapCompare, sqlite_db: Database) -> None:
    assert snap_compare(queue_app(sqlite_db), terminal_size=(80, 24), run_before=settled)


def test_remediation_form_120x40(snap_compare: SnapCompare, sqlite_db: Database) -> None:
    app = queue_app(sqlite_db)
    run_before = remediating("2", "tab", "tab", "tab", *"breaks the kiosk printer")
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_remediation_form_refused_80x24(snap_compare: SnapCompare, sqlite_db: Database) -> None:
    """Block a patch with no reason at 80x24: the form scrolls to the action list, the
    refusal shows above the key hints at the bottom."""
    app = queue_app(sqlite_db)
    run_before = remediating("2", "ctrl+s")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
