"""Opening the terminal UI: on the configured database (with the engine embedded), or on a
fresh demo MSP whose engine runs in accelerated virtual time."""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
import platformdirs

from patchdesk.cli.context import BadInput, CliContext, get_context
from patchdesk.settings import APP_NAME
from patchdesk.simulation.demo import (
    DEMO_CLIENTS,
    DEMO_DEVICES,
    HEAD_START,
    DemoDatabase,
    demo_engine,
    load_demo,
)
from patchdesk.store.db import database_url_from, shown_url, sqlite_file, sqlite_url
from patchdesk.store.remediation_log import key_problem
from patchdesk.text import PrintableFormatter
from patchdesk.timezones import operator_zone
from patchdesk.ui_state import default_ui_state_path

if TYPE_CHECKING:
    from patchdesk.engine.live import LiveEngine
    from patchdesk.simulation.builder import SimulatedMsp

__all__ = ["DEMO_CLIENTS", "DEMO_DEVICES", "demo", "load_demo_msp", "open_tui"]

DEFAULT_SPEED = 60.0


def _log_to_file() -> Path:
    """The engine logs while the UI owns the terminal: to a file, never to stderr."""
    path = platformdirs.user_log_path(APP_NAME) / "tui.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("patchdesk")
    if not any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        handler = logging.FileHandler(path)
        handler.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return path


def load_demo_msp(ctx: CliContext, seed: int, launch: datetime | None = None) -> SimulatedMsp:
    """Put the demo MSP (first windows open, others opening within minutes of ``launch``)
    into the context's database."""
    return load_demo(ctx.database(create=True), seed, launch or datetime.now(UTC))


def _embedded_engine(ctx: CliContext) -> LiveEngine | None:
    """The engine for the configured database, on the real clock; None when the configured
    connector cannot run here (the board then says no engine runs)."""
    from patchdesk.cli.engine import engine_config
    from patchdesk.engine.connector import ConnectorNotAvailable, make_connector
    from patchdesk.engine.driver import utc_now
    from patchdesk.engine.lease import holder_id
    from patchdesk.engine.live import LiveEngine
    from patchdesk.engine.reconcile import Reconciler

    database = ctx.database()
    try:
        connector = make_connector(ctx.settings, database, utc_now)
    except ConnectorNotAvailable as exc:
        logging.getLogger(__name__).warning("no engine in the UI: %s", exc)
        return None
    reconciler = Reconciler(
        database,
        connector,
        holder=holder_id(ctx.settings.operator),
        config=engine_config(ctx.settings.engine),
    )
    interval = timedelta(seconds=ctx.settings.engine.interval_seconds)
    return LiveEngine(reconciler, interval=interval, clock=utc_now)


def open_tui(ctx: CliContext, *, mouse: bool = False, readonly: bool = False) -> None:
    """The UI on the configured database, the engine running beside it (none when
    ``readonly``: a read-only UI writes nothing, the engine's steps included).

    Only the default database (the user data directory's, named by no flag or setting) is
    created when missing, on the first run; a named one must exist. On a simulated database
    (the demo's, ``patchdesk simulate``'s) the UI runs no engine and its clock is the one the
    database records (``RecordedClock``), following a demo that runs elsewhere."""
    from patchdesk.app import PatchdeskApp  # textual loads only when a UI is wanted
    from patchdesk.cli.report import branding_of
    from patchdesk.engine.driver import utc_now
    from patchdesk.engine.live import RecordedClock, simulated_now
    from patchdesk.screens.services import Services

    database = ctx.database(create=ctx.default_database and not readonly)
    _log_to_file()
    with database.session() as session:
        recorded = simulated_now(session)
        problem = None if readonly else key_problem(session)
    if problem is not None:  # every action, and the engine's every step, would be refused
        raise BadInput(f"patchdesk: {problem} (patchdesk --readonly opens it to read)")
    follower = RecordedClock(database, recorded) if recorded is not None else None
    engine = None if readonly or follower is not None else _embedded_engine(ctx)
    clock = follower.now if follower else engine.now if engine else utc_now
    services = Services(
        database=database,
        operator=ctx.settings.operator,
        clock=clock,
        local_zone=operator_zone(ctx.settings.timezone),
        simulated=follower is not None,
        readonly=readonly,
        reports_dir=ctx.settings.reports_dir,
        branding=branding_of(ctx.settings.report),
        shared_logins=tuple(ctx.settings.shared_logins),
        stale_after=ctx.settings.stale_after(),
    )
    app = PatchdeskApp(
        services,
        engine=engine,
        theme=ctx.settings.theme,
        clock_note="SIMULATED" if follower is not None else "",
        ui_state=default_ui_state_path(),
        keymap=ctx.settings.keys,
    )
    if follower is not None:
        follower.start()
    try:
        app.run(mouse=mouse)
    finally:
        if engine is not None:
            engine.stop()
        if follower is not None:
            follower.stop()


def _open_demo(
    ctx: CliContext,
    demo_database: DemoDatabase,
    *,
    seed: int,
    speed: float,
    launch: datetime,
    mouse: bool,
    readonly: bool,
) -> bool:
    """The demo's UI until the technician quits; True when they chose to keep its
    temporary database."""
    from patchdesk.app import PatchdeskApp
    from patchdesk.cli.report import branding_of
    from patchdesk.engine.lease import holder_id
    from patchdesk.screens.quit_confirm import QuitAnswer
    from patchdesk.screens.services import Services

    database = ctx.database(create=True)
    _log_to_file()
    click.echo(
        f"patchdesk demo: a simulated MSP (seed {seed}, start {launch:%Y-%m-%dT%H:%M}Z); "
        f"running its first {int(HEAD_START.total_seconds() // 60)} minutes …",
        err=True,
    )
    msp = load_demo(database, seed, launch)
    engine = demo_engine(
        database, msp, launch=launch, speed=speed, holder=holder_id(ctx.settings.operator)
    )
    services = Services(
        database=database,
        operator=ctx.settings.operator,
        clock=engine.now,
        local_zone=operator_zone(ctx.settings.timezone),
        simulated=True,
        readonly=readonly,
        reports_dir=ctx.settings.reports_dir,
        branding=branding_of(ctx.settings.report),
        shared_logins=tuple(ctx.settings.shared_logins),
        stale_after=ctx.settings.stale_after(),
    )
    note = f"SIMULATED ×{speed:g}"
    app = PatchdeskApp(
        services,
        engine=engine,
        theme=ctx.settings.theme,
        clock_note=note,
        ui_state=default_ui_state_path(),
        keymap=ctx.settings.keys,
        demo_database=demo_database,
    )
    try:
        app.run(mouse=mouse)
    finally:
        engine.stop()
    return demo_database.temporary and app.quit_answer is QuitAnswer.KEEP


def _parse_start(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(second=0, microsecond=0)
    try:
        start = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date-time: {value!r}") from exc
    return start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)


def _demo_file(value: str | None, ctx: CliContext) -> Path | None:
    """The SQLite file the demo is to create: its ``--db``, else the global ``--db``;
    None: a temporary one."""
    if value is not None:
        url = database_url_from(value, "--db")
    elif ctx.database_url_given:
        url = ctx.database_url
    else:
        return None
    path = sqlite_file(url)
    if path is None:
        where = shown_url(url)
        raise BadInput(f"patchdesk: the demo needs a new SQLite file, not {where}")
    return path


@click.command()
@click.option(
    "--db",
    "demo_db",
    metavar="FILE",
    help="SQLite file for the demo, which must not exist yet (default: a new temporary "
    "file, deleted when the demo quits unless you keep it then).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Reproduces a demo MSP.")
@click.option(
    "--speed",
    type=click.FloatRange(1, 3600),
    default=DEFAULT_SPEED,
    show_default=True,
    help="How many times faster than real time the simulated clock runs.",
)
@click.option(
    "--start",
    metavar="ISO",
    help="The simulated launch instant (UTC unless it says; default: now). With --seed, "
    "reproduces a run event for event.",
)
@click.option("--mouse", is_flag=True, help="Enable the mouse.")
@click.option(
    "--readonly",
    is_flag=True,
    help="Every state-changing action is refused (the demo's engine still runs).",
)
def demo(
    demo_db: str | None, seed: int, speed: float, start: str | None, mouse: bool, readonly: bool
) -> None:
    """Open the UI on a fresh simulated MSP (a temporary database unless --db is given).

    One client's maintenance windows are open at launch, the others open within minutes;
    the engine runs in virtual time, --speed times faster than real time.
    """
    ctx = get_context()
    launch = _parse_start(start)
    kept_file = _demo_file(demo_db, ctx)
    if kept_file is not None and kept_file.exists():
        raise click.BadParameter(
            f"{kept_file} exists; the demo needs a new file", param_hint="--db"
        )
    # A temporary database lives in a directory of its own, removed when the demo quits
    # unless the technician keeps it (the quit confirmation offers to).
    scratch: Path | None = None
    if kept_file is None:
        scratch = Path(tempfile.mkdtemp(prefix="patchdesk-demo-"))
        database = DemoDatabase(scratch / "demo.db", temporary=True)
    else:
        database = DemoDatabase(kept_file.resolve(), temporary=False)
    path = database.path
    keep = False
    try:
        url = sqlite_url(path)
        ctx.settings = ctx.settings.model_copy(update={"database_url": url})
        # Its remediation log is keyed with the configured key file, as any database's: so
        # that commands run beside the demo (and a kept demo) can write and verify it. A key
        # file made for a throwaway database is not announced.
        ctx.announce_new_key = not database.temporary
        ctx.check_creatable()
        fate = "deleted when the demo quits unless you keep it" if database.temporary else "kept"
        click.echo(f"patchdesk demo: database {path} ({fate})", err=True)
        keep = _open_demo(
            ctx, database, seed=seed, speed=speed, launch=launch, mouse=mouse, readonly=readonly
        )
    finally:
        ctx.close()  # release the file before its directory goes
        if scratch is not None and not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    click.echo(demo_farewell(database, kept=keep), err=True)


def demo_farewell(database: DemoDatabase, *, kept: bool) -> str:
    """The line printed when the demo's UI has closed: where its database is, if anywhere."""
    if database.temporary and not kept:
        return f"patchdesk demo: the database was deleted ({database.path})"
    again = f"patchdesk --db {database.path} exceptions"
    if database.temporary:
        return (
            f"patchdesk demo: the database is kept in a temporary directory (move it to keep "
            f"it past a reboot): {again}"
        )
    return f"patchdesk demo: the database is kept: {again}"
