"""Opening the terminal UI: on the configured database, or on a fresh demo database."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from patchdesk.commands.context import CliContext, get_context


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
@click.option("--mouse", is_flag=True, help="Enable the mouse.")
def demo(demo_db: Path | None, mouse: bool) -> None:
    """Open the UI on a fresh simulated MSP (a temporary database unless --db is given)."""
    ctx = get_context()
    with tempfile.TemporaryDirectory(prefix="patchdesk-demo-") as scratch:
        path = demo_db if demo_db is not None else Path(scratch) / "demo.db"
        ctx.settings = ctx.settings.model_copy(update={"database_url": f"sqlite:///{path}"})
        try:
            open_tui(ctx, demo=True, mouse=mouse)
        finally:
            ctx.close()  # release the file before the scratch directory goes
