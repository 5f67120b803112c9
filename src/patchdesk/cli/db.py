"""``patchdesk db``: migrations and backups."""

from __future__ import annotations

from pathlib import Path

import click

from patchdesk.cli.context import BadInput, fail, get_context
from patchdesk.store.backup import BackupError, backup_sqlite
from patchdesk.store.db import make_engine, parse_url
from patchdesk.store.migrate import current_revision, head_revision, upgrade


@click.group()
def db() -> None:
    """The database: schema migrations and online backups."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (a no-op when it already is); creates a new
    database when none is there."""
    context = get_context()
    context.check_creatable()
    url = context.database_url
    engine = make_engine(url, create=True)
    try:
        before = current_revision(engine)
        applied = upgrade(engine)
    finally:
        engine.dispose()
    where = parse_url(url).render_as_string(hide_password=True)
    if applied:
        click.echo(f"upgraded {where} from {before or 'empty'} to {head_revision()}")
    else:
        click.echo(f"{where} is already at {head_revision()}; nothing to do")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def db_backup(path: Path, force: bool) -> None:
    """Write a consistent copy of the SQLite database to PATH, even while an engine writes."""
    url = get_context().database_url
    if parse_url(url).get_backend_name() != "sqlite":
        raise BadInput(
            "patchdesk: db backup copies SQLite databases only; for PostgreSQL use its own "
            "online backup, e.g. pg_dump --format=custom --file=patchdesk.dump DBNAME"
        )
    get_context().database()  # the file must exist; its schema is brought up to date
    try:
        result = backup_sqlite(url, path, overwrite=force)
    except BackupError as exc:
        fail(str(exc))
    click.echo(f"backed up to {result.path} ({result.size_bytes:,} bytes, {result.pages} pages)")
