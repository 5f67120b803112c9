"""What every subcommand shares: settings, the database, and error conventions.

Exit status (DESIGN section 3): 0 success, 1 a runtime failure, 2 bad input or usage.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, NoReturn

import click

from patchdesk.settings import Settings
from patchdesk.store.db import Database, open_database

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
    _database: Database | None = field(default=None, repr=False)

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def database(self) -> Database:
        """The configured database, opened (and migrated) on first use."""
        if self._database is None:
            self._database = open_database(self.database_url)
        return self._database

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()
            self._database = None


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
