"""Which key file a command keys a new log with, and what it says when it made one."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchdesk.cli import main
from patchdesk.store.db import open_database
from patchdesk.store.log_key import read_key_file
from patchdesk.store.remediation_log import verify_chain

SIMULATE = ["simulate", "--clients", "1", "--devices", "4", "--days", "0.05"]
SIMULATE += ["--start", "2026-11-10T00:00Z"]


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The technician's key file, not made yet."""
    path = tmp_path / "state" / "audit.key"
    monkeypatch.setenv("PATCHDESK_AUDIT_KEY_FILE", str(path))
    return path


def test_a_throwaway_simulation_never_makes_the_technicians_key(
    own_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(SIMULATE) == 0
    assert not own_key.exists()
    assert "key file" not in capsys.readouterr().err


def test_a_kept_simulation_is_keyed_with_the_technicians_key_and_says_it_made_it(
    own_key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = tmp_path / "kept.db"
    assert run([*SIMULATE, "--db", str(kept)]) == 0
    key = read_key_file(own_key)
    assert key is not None
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"patchdesk: created the remediation log's key file {own_key} (key {key.fingerprint}): "
        "every host that writes this database needs a copy of it; keep one offline too"
    )
    database = open_database(f"sqlite:///{kept}", audit_key_file=own_key)
    try:
        with database.session() as session:
            report = verify_chain(session)
    finally:
        database.dispose()
    assert report.ok
    assert report.count > 0
    assert run(["--db", str(kept), "--operator", "alice", "audit", "rekey"]) == 0
    assert "created" not in capsys.readouterr().err  # said once, when it was made
