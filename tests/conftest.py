"""Shared fixtures.

``database`` runs a store test on SQLite always, and also on PostgreSQL when
``PATCHDESK_TEST_POSTGRES_URL`` is set: a copy of a template migrated once per test process
(``tests.databases``). Under pytest-xdist (``make test`` runs two workers) each worker has a
PostgreSQL database of its own beside that one, ``<database>_<worker>``, created when
missing, and a template ``<database>_<worker>_template``.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from patchdesk.store.db import Database, open_database, sqlite_file
from patchdesk.store.log_key import KEY_FILE_ENV as AUDIT_KEY_ENV
from patchdesk.store.log_key import create_key_file
from tests.databases import (
    POSTGRES_URL,
    fresh_postgres,
    migrated_sqlite,
    postgres_url,
    reset_postgres,
)

__all__ = ["BACKENDS", "NOW", "POSTGRES_URL", "postgres_url", "reset_postgres"]

# CI runs on a 2-core machine that other work may be loading: a property test's examples
# may take any time there. No deadline, and no health check that measures speed; the number
# of examples is each test's own.
settings.register_profile(
    "loaded", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("PATCHDESK_HYPOTHESIS_PROFILE", "loaded"))

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="PATCHDESK_TEST_POSTGRES_URL is not set"),
        ],
    ),
]

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL on each backend (no schema: for the tests of the migrations
    and of commands that create their database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'patchdesk.db'}"
    url = postgres_url()
    reset_postgres(url)
    return url


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """``database_url``, migrated: a copy of the test process's template (``tests.databases``),
    for the tests whose commands fill a new database."""
    if database_url.startswith("sqlite"):
        file = sqlite_file(database_url)
        assert file is not None
        migrated_sqlite(file)
    else:
        fresh_postgres(database_url)
    return database_url


@pytest.fixture
def database(migrated_url: str) -> Iterator[Database]:
    """A migrated, empty database on each backend, at ``database_url``."""
    db = open_database(migrated_url)
    yield db
    db.dispose()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, a worker's last act is pytest's five full garbage collections
    (looking for unraisable exceptions), and execnet interrupts a worker that has not
    finished five seconds after the end: with the objects a whole run leaves behind (SQLAlchemy
    keeps each test's dialect, and so its migrated schema, in mappers' compiled-statement
    caches) those took 8 s and ended in a KeyboardInterrupt printed after the results.
    Collections during and after each test are untouched; the objects still alive at the
    end are set aside so that those last five are quick (the cost: an unraisable exception
    from a cycle that only those last collections would have freed goes unreported)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        gc.freeze()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say it in one line when the PostgreSQL half of the store tests did not run."""
    if not POSTGRES_URL:
        terminalreporter.write_line(
            "PostgreSQL tests skipped: set PATCHDESK_TEST_POSTGRES_URL "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run them",
            yellow=True,
        )


@pytest.fixture(scope="session", autouse=True)
def audit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The remediation log's key file of every test (and of the session's and modules'
    fixtures, set up before any test's own): one per session, in a temporary directory,
    never the developer's state directory. Made here, so that no command run by a test
    announces a key file it created."""
    path = tmp_path_factory.mktemp("audit-key") / "audit.key"
    create_key_file(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(AUDIT_KEY_ENV, str(path))
        yield path


@pytest.fixture(autouse=True)
def _log_handlers_put_back() -> Iterator[None]:
    """A command run in-process (``patchdesk engine``) adds handlers to the ``patchdesk``
    logger that write to the test's captured stderr; left behind, a later test's warning
    meets a closed stream ("--- Logging error ---" in its stderr)."""
    loggers = [logging.getLogger("patchdesk")]  # the root logger is pytest's to manage
    before = [(logger, list(logger.handlers), logger.level) for logger in loggers]
    yield
    for logger, handlers, level in before:
        for handler in logger.handlers:
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(level)


@pytest.fixture(autouse=True)
def _isolated_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads the developer's own config file, database or audit key, and every test
    runs as the login ``root`` whoever runs the suite (a shared login: a test that writes as
    an operator names one)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("LOGNAME", "root")  # getpass.getuser() reads LOGNAME first
    config = home / "config.toml"
    config.write_text("")  # a named config file must exist
    monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    for name in list(os.environ):
        if name.startswith("PATCHDESK_") and name not in (
            "PATCHDESK_CONFIG",
            "PATCHDESK_TEST_POSTGRES_URL",
            AUDIT_KEY_ENV,  # the session's (audit_key_file)
        ):
            monkeypatch.delenv(name)
