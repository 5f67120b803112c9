"""Opening the terminal UI: on the configured database, or on a fresh demo database."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from patchdesk.commands.context import CliContext, get_context

DEMO_CLIENTS = 6
DEMO_DEVICES = 400


def load_demo_msp(ctx: CliContext, seed: int) -> None:
    """Put a simulated MSP (windows opening now and within minutes) into the demo database."""
    from patchdesk.engine.simulation.builder import build_msp, load_msp

    now = datetime.now(UTC)
    msp = build_msp(seed, clients=DEMO_CLIENTS, devices=DEMO_DEVICES, start=now, demo=True)
    with ctx.database().writer() as session:
        load_msp(session, msp, now=now)


def open_tui(ctx: CliContext, *, demo: bool = False, mouse: bool = False) -> None:
    from patchdesk.app import PatchdeskApp  # textual loads only when a UI is wanted

    database = ctx.database()
    PatchdeskApp(database=database, operator=ctx.settings.operator, demo=demo).run(mouse=mouse)


@click.command()
@click.option(
    "--db",
    "demo_db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file for the demo (default: a new temporary file).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Reproduces a demo MSP.")
@click.option("--mouse", is_flag=True, help="Enable the mouse.")
def demo(demo_db: Path | None, seed: int, mouse: bool) -> None:
    """Open the UI on a fresh simulated MSP (a temporary database unless --db is given)."""
    ctx = get_context()
    with tempfile.TemporaryDirectory(prefix="patchdesk-demo-") as scratch:
        path = demo_db if demo_db is not None else Path(scratch) / "demo.db"
        ctx.settings = ctx.settings.model_copy(update={"database_url": f"sqlite:///{path}"})
        try:
            load_demo_msp(ctx, seed)
            open_tui(ctx, demo=True, mouse=mouse)
        finally:
            ctx.close()  # release the file before the scratch directory goes
