"""The ``patchdesk`` console script (the README's "The command line")."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from pydantic import ValidationError

from patchdesk.cli.approvals import approvals
from patchdesk.cli.audit import audit
from patchdesk.cli.context import EXIT_BAD_INPUT, EXIT_RUNTIME, CliContext
from patchdesk.cli.db import db
from patchdesk.cli.engine import engine
from patchdesk.cli.exceptions import exceptions, remediate
from patchdesk.cli.exceptions_export import export as exceptions_export
from patchdesk.cli.exclusions import exclusions
from patchdesk.cli.handover import handover
from patchdesk.cli.inventory import inventory
from patchdesk.cli.metrics import metrics
from patchdesk.cli.policy import policy
from patchdesk.cli.report import report
from patchdesk.cli.simulate import simulate
from patchdesk.cli.tui import demo, open_tui
from patchdesk.cli.windows import windows
from patchdesk.settings import ConfigFileError, MissingConfigFile, load_settings
from patchdesk.store.db import BadDatabaseUrl, DatabaseError, NoDatabase, database_url_from
from patchdesk.store.errors import SQLAlchemyError
from patchdesk.store.log_key import AuditKeyError


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Database URL (or SQLite file); overrides the configuration.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $PATCHDESK_CONFIG or config.toml in the user config dir).",
)
@click.option("--operator", metavar="NAME", help="Who you are in the remediation log.")
@click.option("--mouse", is_flag=True, help="Enable the mouse in the terminal UI.")
@click.option(
    "--readonly",
    is_flag=True,
    help="Terminal UI for watching only (wall display, handover review): every "
    "state-changing action is refused and no engine runs in it.",
)
@click.version_option(package_name="patchdesk")
@click.pass_context
def cli(
    ctx: click.Context,
    db_url: str | None,
    config_path: Path | None,
    operator: str | None,
    mouse: bool,
    readonly: bool,
) -> None:
    """patchdesk: the MSP patch workflow in a terminal.

    Without a command, opens the terminal UI on the configured database.
    """
    if db_url is not None:
        db_url = database_url_from(db_url)
    settings = load_settings(config_path, database_url=db_url, operator=operator)
    obj = CliContext(settings=settings, database_url_given=db_url is not None)
    ctx.obj = obj
    ctx.call_on_close(obj.close)
    if ctx.invoked_subcommand is None:
        open_tui(obj, mouse=mouse, readonly=readonly)


cli.add_command(db)
cli.add_command(policy)
cli.add_command(inventory)
cli.add_command(audit)
cli.add_command(approvals)
cli.add_command(demo)
cli.add_command(windows)
cli.add_command(simulate)
cli.add_command(engine)
exceptions.add_command(exceptions_export)
cli.add_command(exceptions)
cli.add_command(remediate)
cli.add_command(exclusions)
cli.add_command(metrics)
cli.add_command(report)
cli.add_command(handover)


def _settings_problems(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "settings"
        lines.append(f"patchdesk: configuration: {where}: {error['msg']}")
    return lines


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps known failures to exit codes with a one-line reason, no traceback."""
    try:
        status = cli.main(args=argv, prog_name="patchdesk", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_RUNTIME)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ValidationError as exc:
        for line in _settings_problems(exc):
            click.echo(line, err=True)
        sys.exit(EXIT_BAD_INPUT)
    except (MissingConfigFile, ConfigFileError, BadDatabaseUrl, NoDatabase, AuditKeyError) as exc:
        click.echo(f"patchdesk: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except DatabaseError as exc:
        click.echo(f"patchdesk: {exc}", err=True)
        sys.exit(EXIT_RUNTIME)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        click.echo(f"patchdesk: database error: {' '.join(str(cause).split())}", err=True)
        sys.exit(EXIT_RUNTIME)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
