"""Alembic, driven from code: the migration scripts ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Execution option read by the SQLite "begin" hook in patchdesk.store.db: how to BEGIN.
SQLITE_BEGIN_OPTION = "patchdesk_sqlite_begin"
# Any constant; PostgreSQL sessions that migrate serialise on this advisory lock.
_PG_MIGRATION_LOCK = 0x5041_5443


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> bool:
    """Upgrade to the newest schema. Returns whether anything was applied.

    Safe when several processes open a new database at once: the check and the upgrade run
    under the write lock (SQLite) or an advisory lock (PostgreSQL), so one migrates and the
    others find the schema current.
    """
    head = head_revision()
    if current_revision(engine) == head:
        return False
    config = alembic_config()
    with engine.connect() as connection:
        connection = connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            if MigrationContext.configure(connection).get_current_revision() == head:
                return False
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return True
