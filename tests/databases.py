"""Test databases: migrated once per test process into a template, copied for each test.

Running the migrations is most of what opening a new database costs, and nearly every test
needs a migrated, empty database. So each test process (each pytest-xdist worker) migrates
one template and every test gets a copy of it:

- SQLite: the template is one file in a temporary directory of the process; a test's
  database is a copy of that file (``migrated_sqlite``, ``open_migrated``);
- PostgreSQL: the template is a database ``<test database>_template`` beside the process's
  own test database (``postgres_url``), and a test's database is re-created from it with
  ``CREATE DATABASE … TEMPLATE`` (``fresh_postgres``).

The copies are the schema the migrations make, byte for byte: tests that exercise the
migrations themselves start from an empty database instead (the ``database_url`` fixture).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from patchdesk.store.db import Database, open_database

POSTGRES_URL = os.environ.get("PATCHDESK_TEST_POSTGRES_URL")
# Any constant: the test processes on one server create databases one at a time.
_PG_CREATE_LOCK = 73110


@functools.cache
def sqlite_template() -> Path:
    """A migrated, empty SQLite file, made at the first call of this process."""
    directory = Path(tempfile.mkdtemp(prefix="patchdesk-template-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "template.db"
    open_database(f"sqlite:///{path}").dispose()
    return path


def copy_sqlite(template: Path, path: Path) -> str:
    """Copy the SQLite database ``template`` (closed) to ``path``; the copy's URL."""
    # Everything in the one file first (a closed database may have left a write-ahead log),
    # so that a copy of the file is the whole database.
    connection = sqlite3.connect(template)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def migrated_sqlite(path: Path) -> str:
    """The URL of a new migrated, empty SQLite database at ``path`` (a copy of the
    template)."""
    return copy_sqlite(sqlite_template(), path)


def open_migrated(path: Path) -> Database:
    """A new migrated, empty SQLite database at ``path``, opened."""
    return open_database(migrated_sqlite(path))


@functools.cache
def postgres_url() -> str:
    """The PostgreSQL database this test process may empty: the given one, or under
    pytest-xdist a database of the worker's own (two workers dropping one schema would drop
    each other's tables mid-test)."""
    assert POSTGRES_URL
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return POSTGRES_URL
    given = make_url(POSTGRES_URL)
    name = f"{given.database}_{worker}"
    _create_postgres(name, if_missing=True)
    return given.set(database=name).render_as_string(hide_password=False)


def _admin_url() -> str:
    """A database to stay connected to while creating and dropping the test databases: the
    given one under pytest-xdist (the workers' are beside it), else the server's maintenance
    database (the given one is then the process's own test database)."""
    assert POSTGRES_URL
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return POSTGRES_URL
    return make_url(POSTGRES_URL).set(database="postgres").render_as_string(hide_password=False)


def _create_postgres(name: str, *, if_missing: bool = False, template: str | None = None) -> None:
    engine = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f"SELECT pg_advisory_lock({_PG_CREATE_LOCK})"))
            try:
                found = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
                if found is not None and if_missing:
                    return
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                copy = f' TEMPLATE "{template}"' if template else ""
                connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
            finally:
                connection.execute(text(f"SELECT pg_advisory_unlock({_PG_CREATE_LOCK})"))
    finally:
        engine.dispose()


@functools.cache
def postgres_template() -> str:
    """The name of this process's migrated, empty PostgreSQL template database, made (afresh:
    the migrations may have changed since the last run) at the first call."""
    name = f"{make_url(postgres_url()).database}_template"
    _create_postgres(name)
    url = make_url(postgres_url()).set(database=name).render_as_string(hide_password=False)
    open_database(url).dispose()
    return name


def reset_postgres(url: str) -> None:
    """Empty the database at ``url`` (no schema at all)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_postgres(url: str) -> None:
    """Re-create the database at ``url`` as a copy of the migrated template."""
    name = make_url(url).database
    assert name
    _create_postgres(name, template=postgres_template())
