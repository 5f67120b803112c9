"""Opening the database: engine set-up per backend, migrations, sessions.

SQLite gets WAL, foreign keys, a busy timeout, a 64 MiB page cache, and real transactions:
pysqlite's own transaction handling starts a transaction only before a write, so a read
followed by a write would not be atomic. We take it over (``isolation_level=None`` plus an
explicit ``BEGIN``), and sessions that read and then write what they read use
``Database.writer()``, which begins with ``BEGIN IMMEDIATE`` on SQLite so concurrent writers
queue instead of failing mid-transaction.

A SQLite file that does not exist is created (with its directory) only when the caller says
so (``create``): a command that only reads refuses a missing file rather than leave an empty
database behind a typo. ``database_url_from`` reads a ``--db`` value: a URL, as SQLAlchemy's
own parser reads it, or else a file path; a value that is neither (``sqlite:/x.db``) is
refused rather than taken for a path.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session as Session  # the handle the layers above hold
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from patchdesk.store.log_key import KEYRING_INFO, Keyring, default_key_path
from patchdesk.store.migrate import SQLITE_BEGIN_OPTION, upgrade

BUSY_TIMEOUT_MS = 10_000
# SQLite's page cache per connection, in KiB (negative: a size, not a page count). The
# default, 2 MiB, holds little of a large MSP's database (180 MB at 50,000 devices): the
# engine's step then reads most pages back through the OS at every statement.
CACHE_KIB = 65_536
# WAL pages written before a commit copies them back into the database file (SQLite's
# default: 1,000, about 4 MB). Each such checkpoint syncs the file; the engine commits once
# a step and rewrites the same pages (targets, events) step after step, so a larger WAL
# means fewer, larger checkpoints writing each page once (docs/performance.md). The WAL file
# grows to about 40 MB.
WAL_CHECKPOINT_PAGES = 10_000
# Prepared statements the driver keeps per connection, by SQL text (Python's default: 128).
# A statement with an IN list has one text per list length (``direct`` rounds the lengths
# up): a large simulated fleet uses several hundred texts, and at 128 the cache turned over,
# preparing statements again and again; at 1,024 each text is prepared once.
STATEMENT_CACHE = 1_024


class DatabaseError(Exception):
    """The database could not be opened or used; the message says why, for a person."""


class BadDatabaseUrl(DatabaseError):
    """A database URL (or ``--db`` value) that names no usable database: bad input."""


class NoDatabase(DatabaseError):
    """No database at a SQLite path that was not to be created: bad input."""


URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
# What a mistyped URL looks like when it is not a URL: a scheme and a colon (sqlite:/x.db,
# sqlite:x.db, postgres:/...), or a database's name and two slashes (sqlite//x.db).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_LOST_COLON = re.compile(r"(sqlite|postgres|postgresql|mysql)(\+\w+)?//", re.IGNORECASE)


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BadDatabaseUrl(f"not a database URL: {url!r} (use {URL_FORMS})") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise BadDatabaseUrl(
            f"unsupported database {parsed.get_backend_name()!r} in "
            f"{parsed.render_as_string(hide_password=True)!r}: use {URL_FORMS}"
        )
    if parsed.get_backend_name() == "sqlite" and parsed.host:
        raise BadDatabaseUrl(
            f"{parsed.render_as_string(hide_password=True)!r} names a host: a SQLite URL is "
            "sqlite:///PATH (three slashes, four before an absolute path)"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def database_url_from(value: str, where: str = "--db") -> str:
    """A ``--db`` value as a database URL: the value itself when SQLAlchemy's parser reads it
    as a URL (of a supported database), else the URL of the SQLite file at that path.

    Raises BadDatabaseUrl for an empty value, an unsupported or malformed URL, and a value
    that looks like a URL without being one (``sqlite:/x.db``, ``sqlite:x.db``,
    ``sqlite//x.db``): such a value never becomes a file or directory named after it."""
    if not value.strip():
        raise BadDatabaseUrl(f"{where} is empty: give a SQLite file or a URL ({URL_FORMS})")
    try:
        make_url(value)
    except ArgumentError:
        pass
    else:
        try:
            parse_url(value)
        except BadDatabaseUrl as exc:
            raise BadDatabaseUrl(f"{where}: {exc}") from exc
        return value
    if _SCHEME.match(value) or _LOST_COLON.match(value):
        raise BadDatabaseUrl(
            f"{where} {value!r} is not a database URL: use {URL_FORMS}, or a plain file path "
            "(./NAME for a file whose name has a colon)"
        )
    path = Path(value).expanduser()
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL and in-memory SQLite."""
    parsed = parse_url(url)
    return _sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None


def _sqlite_path(url: URL) -> Path | None:
    if url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An Engine configured for the backend (no migrations run). A SQLite file that does
    not exist is created, with its directory, when ``create``; otherwise NoDatabase."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None and not create and not path.exists():
            raise NoDatabase(
                f"no patchdesk database at {path} (policy apply or db upgrade creates one)"
            )
        if path is None:
            engine = create_engine(
                parsed,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False, "cached_statements": STATEMENT_CACHE},
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                parsed,
                connect_args={
                    "timeout": BUSY_TIMEOUT_MS / 1000,
                    "check_same_thread": False,
                    "cached_statements": STATEMENT_CACHE,
                },
            )
        _configure_sqlite(engine, wal=path is not None)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@dataclass
class Database:
    """An open, migrated database, its session factories, and the remediation log's key
    (``keyring``, also in every session's ``info``: ``store.remediation_log`` appends with
    it)."""

    url: str
    engine: Engine
    _sessions: sessionmaker[Session]
    _writers: sessionmaker[Session]
    keyring: Keyring

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reads and simple writes; commits on success, rolls back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def writer(self) -> Iterator[Session]:
        """A session for read-then-write work: holds the write lock from its first statement."""
        with self._writers.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


M = TypeVar("M")


def locked(session: Session, model: type[M], row_id: int) -> M | None:
    """The row with this id, read afresh and locked for the session's transaction (FOR
    UPDATE on PostgreSQL; on SQLite a writer session's BEGIN IMMEDIATE already serialises
    writers); None when there is none."""
    return session.scalars(
        select(model)
        .filter_by(id=row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def open_database(
    url: str,
    *,
    migrate: bool = True,
    create: bool = True,
    audit_key_file: Path | None = None,
) -> Database:
    """Open ``url``, bringing its schema up to date unless ``migrate`` is false. A missing
    SQLite file is created when ``create``, else refused (NoDatabase).

    The remediation log's key is read from ``audit_key_file`` (default:
    ``audit_key.default_key_path()``), once, here: AuditKeyError when the file is unusable.
    A missing file is no error (it is created when a log is first keyed)."""
    keyring = Keyring.open(audit_key_file or default_key_path())
    engine = make_engine(url, create=create)
    try:
        if migrate:
            upgrade(engine)
    except DatabaseError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise DatabaseError(f"cannot open {shown_url(url)}: {_one_line(exc)}") from exc
    writer_bind = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    info = {KEYRING_INFO: keyring}
    return Database(
        url=url,
        engine=engine,
        _sessions=sessionmaker(engine, expire_on_commit=False, info=info),
        _writers=sessionmaker(writer_bind, expire_on_commit=False, info=info),
        keyring=keyring,
    )


def _one_line(exc: BaseException) -> str:
    """The driver's own message (not SQLAlchemy's wrapper), on one line."""
    cause = getattr(exc, "orig", None) or exc
    return " ".join(str(cause).split())


def shown_url(url: str) -> str:
    """The URL as a person may see it, in messages and on screen: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite file at ``path``."""
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
