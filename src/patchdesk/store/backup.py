"""Online backup of a SQLite database: a consistent copy taken while others write."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup could not be made; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    pages: int


def backup_sqlite(url: str, destination: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the SQLite database at ``url`` to ``destination`` using SQLite's backup API.

    The copy is one read transaction (WAL lets writers carry on), written to a temporary
    file beside the destination, checked with ``PRAGMA integrity_check`` and then renamed
    into place, so a failed backup never leaves a half-written file at ``destination``.
    """
    source_path = make_url(url).database
    if not source_path or source_path == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    source = Path(source_path)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    destination = destination.expanduser()
    if destination.exists() and not overwrite:
        raise BackupError(f"{destination} exists (use --force to replace it)")
    if destination.resolve() == source.resolve():
        raise BackupError("the backup must not overwrite the database itself")
    if not destination.parent.is_dir():
        raise BackupError(f"directory {destination.parent} does not exist")

    fd, tmp_name = tempfile.mkstemp(prefix=".patchdesk-backup-", dir=destination.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=10)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
            check = dst.execute("PRAGMA integrity_check").fetchone()
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
            src.close()
        if check is None or check[0] != "ok":
            raise BackupError(f"the copy failed its integrity check: {check}")
        os.replace(tmp, destination)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(path=destination, size_bytes=destination.stat().st_size, pages=pages)
