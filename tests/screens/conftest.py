"""Shared fixtures of the terminal UI tests.

- ``demo_template``: a demo MSP (seed 1) whose engine ran deterministically in virtual time
  up to ``DEMO_LAUNCH``, built once per session into a SQLite file;
- ``demo_db``: a private copy of it, opened (tests may write to it);
- ``empty_db``: a migrated database with no clients;
- ``approvals_world``: a copy of the approvals screen's small simulated client
  (``tests.screens.approvals_world``), built once per session;
- ``make_app``: builds a ``PatchdeskApp`` on a database with a frozen clock at
  ``DEMO_LAUNCH``, the operator ``alice`` in Europe/Berlin, no engine, no animation.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.app import App

from patchdesk.app import PatchdeskApp
from patchdesk.engine.live import LiveEngine
from patchdesk.simulation.demo import demo_engine, load_demo
from patchdesk.store.db import Database, open_database
from tests.databases import copy_sqlite, open_migrated
from tests.factories import OPERATOR, OPERATOR_ZONE, app, services
from tests.screens.approvals_world import SimWorld, build_world, copy_world

DEMO_SEED = 1
DEMO_LAUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)

AppFactory = Callable[..., PatchdeskApp]


@pytest.fixture(autouse=True)
def _lasting_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    """Toasts stay until the test ends. They expire after 5 s by default, which a loaded
    machine can take between the notification and the assertion that reads it (a key-remap
    warning was seen gone at load 8)."""
    monkeypatch.setattr(App, "NOTIFICATION_TIMEOUT", 3600.0)


def frozen_clock(at: datetime = DEMO_LAUNCH) -> Callable[[], datetime]:
    return lambda: at


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    db = open_migrated(path)
    msp = load_demo(db, DEMO_SEED, DEMO_LAUNCH)
    engine = demo_engine(db, msp, launch=DEMO_LAUNCH, speed=60, holder="warm-up")
    engine.stop()  # releases the lease: the board shows no engine running
    db.dispose()
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "demo.db"
    shutil.copyfile(demo_template, path)
    db = open_database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[Database]:
    db = open_migrated(tmp_path / "empty.db")
    yield db
    db.dispose()


def build_app(
    database: Database,
    *,
    clock: Callable[[], datetime] | None = None,
    engine: LiveEngine | None = None,
    simulated: bool = False,
    clock_note: str = "",
    readonly: bool = False,
) -> PatchdeskApp:
    given = services(
        database,
        OPERATOR,
        clock or frozen_clock(),
        zone=OPERATOR_ZONE,
        simulated=simulated,
        readonly=readonly,
    )
    return app(given, engine=engine, clock_note=clock_note)


@pytest.fixture
def make_app() -> AppFactory:
    return build_app


@pytest.fixture(scope="session")
def approvals_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimWorld]:
    """The world, built once per test process; its database closed (never used again: the
    tests get copies)."""
    path = tmp_path_factory.mktemp("approvals") / "approvals.db"
    db = open_migrated(path)
    world = build_world(db)
    db.dispose()
    return path, world


@pytest.fixture
def approvals_world(
    approvals_template: tuple[Path, SimWorld], tmp_path: Path
) -> Iterator[SimWorld]:
    """A copy of the world of the test's own, as ``build_world`` on a new database leaves it."""
    template, world = approvals_template
    db = open_database(copy_sqlite(template, tmp_path / "approvals.db"))
    yield copy_world(world, db)
    db.dispose()
