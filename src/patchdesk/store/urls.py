"""Database URLs as the commands show and make them (``store.db`` parses and checks them)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite file at ``path``."""
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def shown_url(url: str) -> str:
    """A valid URL for messages, its password (if any) hidden."""
    return make_url(url).render_as_string(hide_password=True)
