"""`patchdesk demo` fills its database with a simulated MSP before opening the UI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from patchdesk.commands.context import CliContext
from patchdesk.commands.tui import DEMO_CLIENTS, DEMO_DEVICES, load_demo_msp
from patchdesk.engine.windows import in_range, load_windows
from patchdesk.settings import load_settings
from patchdesk.store.models import Client, Device


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
