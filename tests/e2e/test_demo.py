"""`patchdesk demo` fills its database with a simulated MSP before opening the UI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patchdesk.commands.context import CliContext
from patchdesk.commands.tui import DEFAULT_SPEED, DEMO_CLIENTS, DEMO_DEVICES, load_demo_msp
from patchdesk.demo import demo_engine, load_demo
from patchdesk.domain import FailureClass
from patchdesk.engine.windows import in_range, load_windows
from patchdesk.settings import load_settings
from patchdesk.store.db import open_database
from patchdesk.store.models import Client, Device, PatchException


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
    queue holds an exception of every class (the issue's promise for `make demo`)."""
    database = open_database(f"sqlite:///{tmp_path / 'demo.db'}")
    msp = load_demo(database, seed, launch)
    engine = demo_engine(database, msp, launch=launch, speed=DEFAULT_SPEED, holder="t")
    minute = timedelta(seconds=60 * DEFAULT_SPEED)
    engine.run_until(launch + minute)
    engine.stop()
    with database.session() as session:
        classes = set(session.scalars(select(PatchException.failure_class)))
    database.dispose()
    assert classes == set(FailureClass)
