"""`patchdesk demo` fills its database with a simulated MSP before opening the UI; quitting
deletes a temporary database unless the technician keeps it, and says where a kept one is."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patchdesk.app import PatchdeskApp
from patchdesk.cli import main
from patchdesk.cli.context import CliContext
from patchdesk.cli.tui import DEFAULT_SPEED, DEMO_CLIENTS, DEMO_DEVICES, load_demo_msp
from patchdesk.domain import PATCH_FAILURE_CLASSES
from patchdesk.screens.quit_confirm import QuitScreen
from patchdesk.settings import load_settings
from patchdesk.simulation.demo import demo_engine, load_demo
from patchdesk.store.db import open_database
from patchdesk.store.models import Client, Device, PatchException
from patchdesk.store.remediation_log import verify_chain
from patchdesk.store.window_views import in_range, load_windows


def test_demo_database_holds_a_simulated_msp_with_a_window_open(tmp_path: Path) -> None:
    ctx = CliContext(settings=load_settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}"))
    load_demo_msp(ctx, seed=3)
    now = datetime.now(UTC)
    with ctx.database().session() as session:
        assert session.scalar(select(func.count()).select_from(Client)) == DEMO_CLIENTS
        assert session.scalar(select(func.count()).select_from(Device)) == DEMO_DEVICES
        zones = set(session.scalars(select(Client.timezone)))
        windows = load_windows(session)
    assert len(zones) >= 4
    assert any(item.occurrence.is_open(now) for item in in_range(windows, now, now))
    ctx.close()


@pytest.mark.parametrize(
    ("seed", "launch"),
    [
        (1, datetime(2026, 11, 27, 14, 0, tzinfo=UTC)),  # the default seed
        (2, datetime(2026, 11, 27, 3, 30, tzinfo=UTC)),
        (6, datetime(2026, 12, 8, 21, 16, tzinfo=UTC)),
    ],
)
def test_every_failure_class_arrives_within_the_first_minute(
    tmp_path: Path, seed: int, launch: datetime
) -> None:
    """At the default speed (60x) the first wall minute is one virtual hour: by then the
    queue holds an exception of every class (what `make demo` promises)."""
    database = open_database(f"sqlite:///{tmp_path / 'demo.db'}")
    msp = load_demo(database, seed, launch)
    engine = demo_engine(database, msp, launch=launch, speed=DEFAULT_SPEED, holder="t")
    minute = timedelta(seconds=60 * DEFAULT_SPEED)
    engine.run_until(launch + minute)
    engine.stop()
    with database.session() as session:
        classes = set(session.scalars(select(PatchException.failure_class)))
    database.dispose()
    assert classes >= set(PATCH_FAILURE_CLASSES)


def answering(*keys: str) -> Callable[..., None]:
    """A stand-in for ``PatchdeskApp.run``: the real app, headless, where the technician
    presses ``q`` and then ``keys`` at the quit question."""

    def run(app: PatchdeskApp, *, mouse: bool = False) -> None:
        async def drive() -> None:
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.press("q")
                for _ in range(400):
                    if isinstance(app.screen, QuitScreen):
                        break
                    await pilot.pause()
                await pilot.press(*keys)

        asyncio.run(drive())

    return run


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temporary files, the log and the UI state under ``tmp_path``; the log handler the
    demo adds is taken away again."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for variable in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    logger = logging.getLogger("patchdesk")
    handlers = list(logger.handlers)
    yield tmp_path
    for handler in logger.handlers[:]:
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()


def demo_dirs(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("patchdesk-demo-*"))


def run_demo(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(["--operator", "alice", "demo", "--start", "2026-11-27T14:00", *argv])
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


@pytest.mark.parametrize(("answer", "kept"), [("k", True), ("y", False)])
def test_quitting_the_demo_deletes_its_database_or_keeps_it_and_says_where(
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    kept: bool,
) -> None:
    monkeypatch.setattr(PatchdeskApp, "run", answering(answer))
    assert run_demo([]) == 0
    err = capsys.readouterr().err
    assert "unless you keep it" in err  # said before the UI opened
    found = [d / "demo.db" for d in demo_dirs(isolated) if (d / "demo.db").exists()]
    if kept:
        assert len(found) == 1
        assert f"patchdesk --db {found[0]} exceptions" in err.splitlines()[-1]
        # Its log is keyed with the configured key file (the session's), so it verifies.
        database = open_database(f"sqlite:///{found[0]}")
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(Client)) == DEMO_CLIENTS
            report = verify_chain(session)
        database.dispose()
        assert report.ok
        assert report.count > 0
    else:
        assert found == []
        assert demo_dirs(isolated) == []  # its directory went too
        assert "the database was deleted" in err.splitlines()[-1]


def test_a_demo_on_its_own_file_keeps_it(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(PatchdeskApp, "run", answering("y"))
    path = isolated / "mine.db"
    assert run_demo(["--db", str(path)]) == 0
    err = capsys.readouterr().err
    assert path.exists()
    assert f"database {path} (kept)" in err
    assert (
        err.splitlines()[-1]
        == f"patchdesk demo: the database is kept: patchdesk --db {path} exceptions"
    )
