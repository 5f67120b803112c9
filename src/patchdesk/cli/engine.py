"""``patchdesk engine``: the engine alone, headless, until SIGTERM, SIGINT or SIGHUP (what
each does: ``engine.signals``)."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from pathlib import Path

import click
import platformdirs

from patchdesk.cli.context import BadInput, get_context
from patchdesk.domain import RebootPolicy
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.connector import ConnectorNotAvailable, make_connector
from patchdesk.engine.driver import describe, utc_now
from patchdesk.engine.gc_tuning import engine_collection
from patchdesk.engine.lease import holder_id
from patchdesk.engine.live import simulated_now
from patchdesk.engine.reconcile import Reconciler
from patchdesk.engine.runner import EngineRunner
from patchdesk.engine.signals import SignalWatch, Stopping
from patchdesk.settings import APP_NAME, EngineSettings
from patchdesk.store.db import Database
from patchdesk.store.remediation_log import key_problem
from patchdesk.text import PrintableFormatter

log = logging.getLogger(__name__)


def default_log_file() -> Path:
    return platformdirs.user_log_path(APP_NAME) / "engine.log"


def setup_logging(log_file: Path) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    formatter = PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger("patchdesk")
    root.setLevel(logging.INFO)
    for handler in (logging.StreamHandler(sys.stderr), logging.FileHandler(log_file)):
        handler.setFormatter(formatter)
        root.addHandler(handler)


@click.command()
@click.option("--once", is_flag=True, help="Run one reconcile step and exit.")
@click.option(
    "--interval",
    type=click.FloatRange(0.1, 3600),
    help="Seconds between steps (default: engine.interval_seconds, 15); the engine also "
    "wakes at window boundaries.",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to log as well as stderr (default: engine.log in the user log directory).",
)
def engine(once: bool, interval: float | None, log_file: Path | None) -> None:
    """Run the engine without the UI: dispatch if it holds the lease, otherwise attach."""
    stopping = Stopping()
    # From the start: a signal during set-up stops it before its first step. Once stopped
    # by a signal, the process ignores further ones on its way out (its lease released).
    with SignalWatch(stopping, ignore_after_stop=True):
        _run_engine(stopping, once, interval, log_file)


def _run_engine(
    stopping: Stopping, once: bool, interval: float | None, log_file: Path | None
) -> None:
    ctx = get_context()
    database = ctx.database()
    refuse_simulated(database)
    with database.session() as session:
        problem = key_problem(session)
    if problem is not None:  # every step would fail to log what it does
        raise BadInput(f"patchdesk: {problem}")
    setup_logging(log_file or default_log_file())
    try:
        connector = make_connector(ctx.settings, database, utc_now)
    except ConnectorNotAvailable as exc:
        raise BadInput(f"patchdesk: {exc}") from exc
    reconciler = Reconciler(
        database,
        connector,
        holder=holder_id(ctx.settings.operator),
        config=engine_config(ctx.settings.engine),
    )
    stopping.release = reconciler.release_lease
    if stopping.requested.is_set():
        log.info("stopped before the first step")
        return
    if once:
        try:
            report = reconciler.step(utc_now())
        finally:
            reconciler.release_lease()
        lease = reconciler.last_lease
        if lease is not None and not lease.held:
            click.echo(
                f"attached: the lease is held by {lease.holder} until "
                f"{lease.expires_at:%Y-%m-%d %H:%M:%S} UTC; nothing dispatched"
            )
        else:
            click.echo(describe(report))
        return
    seconds = interval if interval is not None else ctx.settings.engine.interval_seconds
    runner = EngineRunner(reconciler, interval=timedelta(seconds=seconds), stop=stopping.requested)
    with engine_collection():
        runner.run()


def refuse_simulated(database: Database) -> None:
    """A simulated database's time is its simulation's (the demo's, ``patchdesk
    simulate``'s): an engine on the real clock, with a fleet of its own, would write real
    instants and another fleet's facts into it."""
    with database.session() as session:
        simulated = simulated_now(session)
    if simulated is not None:
        raise BadInput(
            "patchdesk: this is a simulated database (its clock is at "
            f"{simulated:%Y-%m-%d %H:%M} UTC): only its simulation runs its engine; "
            "`patchdesk --db PATH` shows it"
        )


def engine_config(settings: EngineSettings) -> EngineConfig:
    return EngineConfig(
        install_retries=settings.install_retries,
        retry_min_remaining=timedelta(minutes=settings.retry_min_remaining_minutes),
        reboot_timeout=timedelta(minutes=settings.reboot_timeout_minutes),
        observation_period=timedelta(hours=settings.observation_hours),
        servers_per_client=settings.servers_per_client,
        emergency_duration=timedelta(hours=settings.emergency_hours),
        emergency_reboot_policy=RebootPolicy(settings.emergency_reboot),
        emergency_max_concurrent=settings.emergency_max_concurrent,
        emergency_checkin_timeout=timedelta(minutes=settings.emergency_checkin_timeout_minutes),
    )
