"""Options shared by the reporting commands: ``--db`` after the subcommand, ``--now``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from patchdesk.cli.context import get_context
from patchdesk.cli.windows import parse_instant
from patchdesk.store.db import database_url_from

F = TypeVar("F", bound=Callable[..., Any])


def _use_database(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    url = database_url_from(value)
    context = get_context()
    context.settings = context.settings.model_copy(update={"database_url": url})
    context.database_url_given = True


def database_option(function: F) -> F:
    """``--db URL|FILE``: the same as the global ``--db``, accepted after the subcommand too
    (a plain path means that SQLite file)."""
    return click.option(
        "--db",
        "db_url",
        metavar="URL",
        expose_value=False,
        is_eager=True,
        callback=_use_database,
        help="Database URL (or SQLite file); overrides the configuration.",
    )(function)


def now_option(function: F) -> F:
    return click.option(
        "--now", "now_text", hidden=True, help="Pretend it is this time (tests, reruns)."
    )(function)


def now_from(now_text: str | None) -> datetime:
    """``--now`` if given; else the command's time (``CliContext.now``: a simulated
    database's recorded clock, or the real time)."""
    if now_text:
        return parse_instant(now_text, "--now")
    return get_context().now()
