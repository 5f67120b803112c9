"""Shared fixtures.

``database`` runs a store test on SQLite always, and also on PostgreSQL when
``PATCHDESK_TEST_POSTGRES_URL`` is set (the schema is dropped and re-created for each test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from patchdesk.store.db import Database, open_database

POSTGRES_URL = os.environ.get("PATCHDESK_TEST_POSTGRES_URL")

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


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'patchdesk.db'}"
    assert POSTGRES_URL
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated, empty database on each backend."""
    db = open_database(database_url)
    yield db
    db.dispose()


@pytest.fixture(autouse=True)
def _isolated_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads the developer's own config file or database."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("PATCHDESK_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    for name in list(os.environ):
        if name.startswith("PATCHDESK_") and name not in (
            "PATCHDESK_CONFIG",
            "PATCHDESK_TEST_POSTGRES_URL",
        ):
            monkeypatch.delenv(name)
