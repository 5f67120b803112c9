"""`patchdesk db backup`: a consistent online copy while something writes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from patchdesk.cli import main
from patchdesk.store.backup import BackupError, backup_sqlite
from patchdesk.store.db import open_database
from patchdesk.store.events import record_event
from patchdesk.store.migrate import head_revision
from tests.conftest import NOW, POSTGRES_URL, postgres_url


def test_backup_while_writing_is_consistent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    db = open_database(url)
    stop = threading.Event()
    written = 0

    def engine_like_writer() -> None:
        nonlocal written
        while not stop.is_set():
            with db.session() as session:
                for _ in range(20):
                    record_event(session, at=NOW, kind="tick", entity="t", entity_id=written)
            written += 20

    thread = threading.Thread(target=engine_like_writer)
    thread.start()
    try:
        while written < 200:
            stop.wait(0.01)
        copies = [backup_sqlite(url, tmp_path / f"copy{n}.db") for n in range(3)]
    finally:
        stop.set()
        thread.join()
    db.dispose()

    for copy in copies:
        conn = sqlite3.connect(copy.path)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        # whole transactions only: the writer commits 20 events at a time
        assert count > 0
        assert count % 20 == 0
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            head_revision(),
        )
        conn.close()
    assert not list(tmp_path.glob(".patchdesk-backup-*"))


def test_backup_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    open_database(url).dispose()
    target = tmp_path / "b.db"
    target.write_text("keep me")
    with pytest.raises(BackupError, match="exists"):
        backup_sqlite(url, target)
    assert target.read_text() == "keep me"
    backup_sqlite(url, target, overwrite=True)
    assert target.read_bytes().startswith(b"SQLite format 3")


def test_cli_backup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with pytest.raises(SystemExit) as missing:
        main(["--db", url, "db", "backup", str(tmp_path / "copy.db")])
    assert missing.value.code == 2
    assert "no patchdesk database at" in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == []
    open_database(url).dispose()
    with pytest.raises(SystemExit) as done:
        main(["--db", url, "db", "backup", str(tmp_path / "copy.db")])
    assert done.value.code == 0
    assert "backed up to" in capsys.readouterr().out
    with pytest.raises(SystemExit) as again:
        main(["--db", url, "db", "backup", str(tmp_path / "copy.db")])
    assert again.value.code == 1
    assert "exists" in capsys.readouterr().err


@pytest.mark.skipif(not POSTGRES_URL, reason="PATCHDESK_TEST_POSTGRES_URL is not set")
def test_cli_backup_on_postgres_points_to_pg_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--db", postgres_url(), "db", "backup", str(tmp_path / "x.db")])
    assert done.value.code == 2
    assert "pg_dump" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()
