"""The exception queue in each bundled theme, seeded and frozen as in
``test_queue_snapshots``. Update with ``pytest --snapshot-update`` and look at each SVG
before accepting it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from patchdesk.screens.services import Services
from patchdesk.screens.themes import bundled_themes
from patchdesk.store.db import Database
from tests.databases import open_migrated
from tests.screens.queue_fixtures import QueueApp, seed_queue, services
from tests.screens.test_queue_snapshots import settled

SnapCompare = Callable[..., bool]


class ThemedQueueApp(QueueApp):
    def __init__(self, services: Services, theme: str) -> None:
        super().__init__(services)
        self.wanted_theme = theme

    def on_mount(self) -> None:
        for theme in bundled_themes():
            self.register_theme(theme)
        self.theme = self.wanted_theme
        super().on_mount()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = open_migrated(tmp_path / "snap.db")
    yield database
    database.dispose()


@pytest.mark.parametrize("theme", ["noc-dark", "noc-contrast", "noc-light"])
def test_queue_in_each_theme(snap_compare: SnapCompare, sqlite_db: Database, theme: str) -> None:
    seed_queue(sqlite_db)
    app = ThemedQueueApp(services(sqlite_db), theme)
    assert snap_compare(app, terminal_size=(120, 40), run_before=settled)


def test_queue_high_contrast_80x24(snap_compare: SnapCompare, sqlite_db: Database) -> None:
    seed_queue(sqlite_db)
    app = ThemedQueueApp(services(sqlite_db), "noc-contrast")
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled)
