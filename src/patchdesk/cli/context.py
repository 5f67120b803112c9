"""What every subcommand shares: settings, the database, and error conventions.

Exit status: 0 success, 1 a runtime failure, 2 bad input or usage.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

import click

from patchdesk.settings import Settings
from patchdesk.store.db import Database, open_database, sqlite_file

EXIT_RUNTIME = 1
EXIT_BAD_INPUT = 2


class BadInput(click.ClickException):
    """Bad input: one line per problem on stderr, exit status 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: str | list[str]) -> None:
        lines = [problems] if isinstance(problems, str) else problems
        super().__init__("\n".join(lines))
        self.problems = lines

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


class RuntimeFailure(click.ClickException):
    """A runtime failure (database unreachable, backup failed ...): exit status 1."""

    exit_code = EXIT_RUNTIME

    def show(self, file: Any = None) -> None:
        click.echo(f"patchdesk: {self.format_message()}", err=True)


@dataclass
class CliContext:
    settings: Settings
    database_url_given: bool = False  # --db was given on the command line
    # Say on stderr when this command created the audit key file (not for a throwaway one).
    announce_new_key: bool = True
    _database: Database | None = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    @property
    def default_database(self) -> bool:
        """The built-in default (the user data directory's), named by no flag or setting."""
        return "database_url" not in self.settings.model_fields_set

    def database(self, *, create: bool = False) -> Database:
        """The configured database, opened (and migrated) on first use. A SQLite file that
        does not exist is refused (exit 2, ``no patchdesk database at PATH``) unless
        ``create``: only the commands that create state pass it (``db upgrade``, ``policy apply``,
        ``demo``, ``simulate``; see ``check_creatable``)."""
        if self._database is None:
            if create:
                self.check_creatable()
            self._database = open_database(
                self.database_url, create=create, audit_key_file=self.settings.audit_key_file
            )
        return self._database

    def check_creatable(self) -> None:
        """A SQLite file may be created in an existing directory; only the default
        database's directory (the user data directory) is created when missing, so that a
        mistyped directory is refused rather than made."""
        path = sqlite_file(self.database_url)
        if path is None or path.exists() or self.default_database:
            return
        if not path.parent.is_dir():
            raise BadInput(f"patchdesk: no directory {path.parent} for the database {path}")

    def now(self) -> datetime:
        """What time it is for this command, resolved once: the clock a simulated database
        records (the demo's or ``patchdesk simulate``'s, said on stderr), else the real time.
        Every command takes its time from here. It opens the database (a command that may
        create it opens it with ``create`` first)."""
        if self._now is None:
            from patchdesk.engine.live import simulated_now

            with self.database().session() as session:
                simulated = simulated_now(session)
            if simulated is not None:
                click.echo(
                    "patchdesk: a simulated database: using its clock, "
                    f"{simulated:%Y-%m-%d %H:%M} UTC",
                    err=True,
                )
            self._now = simulated or datetime.now(UTC)
        return self._now

    def close(self) -> None:
        if self._database is not None:
            keyring = self._database.keyring
            self._database.dispose()
            self._database = None
            if keyring.created and keyring.key is not None and self.announce_new_key:
                keyring.created = False
                click.echo(
                    f"patchdesk: created the remediation log's key file {keyring.path} (key "
                    f"{keyring.key.fingerprint}): every host that writes this database needs "
                    "a copy of it; keep one offline too",
                    err=True,
                )


def get_context() -> CliContext:
    obj = click.get_current_context().find_object(CliContext)
    if obj is None:  # pragma: no cover - the group always sets it
        raise RuntimeError("patchdesk CLI context missing")
    return obj


def print_json(document: Any) -> None:
    """Print exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")


def fail(message: str) -> NoReturn:
    raise RuntimeFailure(message)
