"""A second UI on a simulated database (`patchdesk --db PATH` beside the demo, or on a kept
demo database) shows and acts at the clock the database records, runs no engine of its own,
and follows the demo's clock while the demo runs."""

from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from patchdesk.app import PatchdeskApp
from patchdesk.cli import main, tui
from patchdesk.engine.live import RUNNER_KEY, simulated_now
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.store.db import Database
from tests.screens.conftest import DEMO_LAUNCH


def _record(database: Database, at: datetime) -> None:
    """What the demo's live runner writes after a step."""
    from patchdesk.engine import state

    with database.writer() as session:
        state.write(session, RUNNER_KEY, {"at": at.isoformat(), "simulated": True}, at)


def _recorded(database: Database) -> datetime:
    with database.session() as session:
        at = simulated_now(session)
    assert at is not None
    return at


@pytest.fixture
def kept_demo(demo_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "kept-demo.db"
    shutil.copyfile(demo_template, path)
    return path


async def test_a_second_ui_uses_the_recorded_clock_and_runs_no_engine(
    kept_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[PatchdeskApp] = []
    monkeypatch.setattr(PatchdeskApp, "run", lambda app, **_: opened.append(app))
    monkeypatch.setattr(tui, "_log_to_file", lambda: tmp_path / "tui.log")
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(kept_demo), "--operator", "bob"])
    assert exit_info.value.code == 0
    [app] = opened
    recorded = _recorded(app.services.database)
    assert recorded <= DEMO_LAUNCH  # the warm-up's last step
    assert app.engine is None  # no real-clock engine stepping the simulation
    assert app.services.simulated
    assert app.services.clock() == recorded

    app.animation_level = "none"
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        header = app.screen.query_one(ClockHeader)
        text = header.clock_text().plain
        assert f"UTC {recorded:%a %d %b %H:%M}" in text
        assert "SIMULATED" in text
    app.services.database.dispose()


def test_the_recorded_clock_follows_the_database_and_never_goes_back(
    demo_db: Database,
) -> None:
    from patchdesk.engine.live import RecordedClock

    start = _recorded(demo_db)
    clock = RecordedClock(demo_db, start)
    assert clock.now() == start
    _record(demo_db, start + timedelta(minutes=5))
    assert clock.now() == start  # nothing read on the caller's thread until a refresh
    assert clock.refresh() == start + timedelta(minutes=5)
    assert clock.now() == start + timedelta(minutes=5)
    _record(demo_db, start)  # (a stale writer)
    assert clock.refresh() == start + timedelta(minutes=5)


def test_a_started_recorded_clock_follows_a_demo_running_elsewhere(demo_db: Database) -> None:
    from patchdesk.engine.live import RecordedClock

    start = _recorded(demo_db)
    clock = RecordedClock(demo_db, start, every=0.05)
    clock.start()
    try:
        later = start + timedelta(minutes=30)
        _record(demo_db, later)
        idle = threading.Event()  # (never set: waits between looks at the condition)
        for _ in range(6000):  # up to a minute under any load; usually a few looks
            if clock.now() == later:
                break
            idle.wait(0.01)
        assert clock.now() == later
    finally:
        clock.stop()


def test_a_second_ui_on_a_database_that_is_not_simulated_runs_the_engine(
    empty_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[PatchdeskApp] = []
    monkeypatch.setattr(PatchdeskApp, "run", lambda app, **_: opened.append(app))
    monkeypatch.setattr(tui, "_log_to_file", lambda: tmp_path / "tui.log")
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", empty_db.url, "--operator", "bob"])
    assert exit_info.value.code == 0
    [app] = opened
    assert app.engine is not None
    assert not app.services.simulated
    assert app.clock_note == ""
