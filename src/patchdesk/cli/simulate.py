"""``patchdesk simulate``: a simulated MSP patched in virtual time, as fast as possible."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from patchdesk.cli.context import get_context, print_json
from patchdesk.cli.windows import parse_instant
from patchdesk.engine.gc_tuning import engine_collection
from patchdesk.rules.calendar import patch_tuesday
from patchdesk.simulation.run import SimulationResult, run_simulation
from patchdesk.store.db import database_url_from


def default_start(today: datetime) -> datetime:
    """Midnight UTC of this month's Patch Tuesday (the start of the cycle)."""
    day = patch_tuesday(today.year, today.month)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@click.command()
@click.option("--clients", type=click.IntRange(1, 500), default=6, show_default=True)
@click.option("--devices", type=click.IntRange(1, 200_000), default=400, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--start",
    "start_text",
    metavar="ISO",
    help="Virtual start (default: this month's Patch Tuesday, 00:00 UTC).",
)
@click.option("--days", type=click.FloatRange(0.01, 62), default=7, show_default=True)
@click.option(
    "--db",
    "db_path",
    metavar="FILE|URL",
    help="SQLite file (or database URL) to keep the run in (default: a temporary file).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def simulate(
    clients: int,
    devices: int,
    seed: int,
    start_text: str | None,
    days: float,
    db_path: str | None,
    as_json: bool,
) -> None:
    """Build a simulated MSP, run the engine over it in virtual time, print a summary.

    The same seed, start and size give the same summary (except the wall time).
    """
    start = parse_instant(start_text, "--start") if start_text else default_start(datetime.now(UTC))
    ctx = get_context()
    with tempfile.TemporaryDirectory(prefix="patchdesk-simulate-") as scratch:
        if db_path is not None:
            url = database_url_from(db_path, "--db")
        elif ctx.database_url_given:
            url = ctx.database_url
        else:
            url = f"sqlite:///{Path(scratch) / 'simulate.db'}"
            # A throwaway database, keyed with a throwaway key (not the technician's).
            ctx.settings = ctx.settings.model_copy(
                update={"audit_key_file": Path(scratch) / "audit.key"}
            )
            ctx.announce_new_key = False
        ctx.settings = ctx.settings.model_copy(update={"database_url": url})
        try:
            database = ctx.database(create=True)
            with engine_collection():  # (this process is the engine's: see engine.gc_tuning)
                result = run_simulation(
                    database, seed=seed, clients=clients, devices=devices, start=start, days=days
                )
        finally:
            ctx.close()  # release the file before the scratch directory goes
    if as_json:
        print_json(result.as_json())
    else:
        for line in summary_lines(result):
            click.echo(line)


def summary_lines(result: SimulationResult) -> list[str]:
    failures = ", ".join(f"{n} {c}" for c, n in result.failures_by_class.items()) or "none"
    lines = [
        f"simulated {result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC "
        f"(seed {result.seed}): {result.clients} clients, {result.devices} devices",
        f"targets {result.targets}, verified {result.verified}; failures: {failures}",
        "targets by state: "
        + ", ".join(f"{state} {n}" for state, n in result.targets_by_state.items()),
        "open and resolved exceptions by tier:",
    ]
    for tier, classes in result.exceptions_by_tier_and_class.items():
        lines.append(f"  {tier}: " + ", ".join(f"{c} {n}" for c, n in classes.items()))
    lines.append(
        f"dispatches {result.dispatches}, install calls {result.install_calls}, "
        f"engine steps {result.steps}, wall time {result.wall_seconds:.1f} s"
    )
    return lines
